# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The one boundary between the values clients send (RPC, imports) and the ORM.

What a value means and which ones are allowed belongs to the fields and the models: field
definitions (required, selection, ondelete, check_company) and ``@api.constrains`` (ranges,
names that must not be blank, rules between fields). What remains is what only a generic check
can do, for the fields this addon defines (on its models and on those it extends):

* the ORM's own refusal of a value (the ValueError or TypeError its conversion raises: a
  selection value that does not exist, a text that is no date, a NaN it cannot round) or of an
  unknown field name is a server error for the client: it becomes a ValidationError naming the
  field, raised before anything is written;
* a value that is not of the type ``BaseModel.write`` documents for its field is refused
  rather than silently turned into another one by the ORM (True for "abc", 1 for 1.5, "123" for
  123, no record for "abc"), and so are NaN, infinite numbers and numbers beyond a float
  field's digits;
* what PostgreSQL cannot hold and the ORM passes on is refused before it is a database error:
  integers and ids beyond its int4, NUL characters (the constraints would be too late for a
  create, which runs them after its INSERT);
* x2many values are lists of ``Command``, and linked records must exist (one query per
  comodel), rather than a foreign key's error about deleting.

Converting, parsing and rounding stay the ORM's: it converts the value again when it writes it.
"""

import math
from collections.abc import Mapping
from datetime import date

from odoo import Command, api, models
from odoo.exceptions import ValidationError

from .tools import INT4_MAX, INT4_MIN, MODULE, is_record_id, short_repr

# The type of a field's value in BaseModel.write (see its docstring), by field type: numbers,
# texts, dates as date or text, record ids; booleans also as 0 and 1. x2many: a list of Command.
WRITE_TYPES = {
    "boolean": (bool, int),
    "integer": int,
    "float": (int, float),
    "monetary": (int, float),
    "char": str,
    "text": str,
    "html": str,
    "selection": str,
    "date": (date, str),
    "datetime": (date, str),
    "binary": (str, bytes),
    "many2one": int,
}


def check_field_values(records, vals_list, check_exists=True):
    """Refuse, with a ValidationError and before anything is written, the values of
    ``vals_list`` (a list of dictionaries, or one for a write) that the addon's fields of
    ``records``' model cannot take (see the module's docstring). ``check_exists``: linked
    records must exist."""
    env = records.env
    if not isinstance(vals_list, (list, tuple)):
        vals_list = [vals_list]
    linked = {}  # comodel name -> {id: field}
    empty = records.browse()  # the record the ORM converts values for
    for vals in vals_list:
        if not isinstance(vals, Mapping):  # the ORM's AttributeError or AssertionError
            raise ValidationError(
                env._(
                    "The values to save on %(model)s must map field names to values, not "
                    "%(value)s. Nothing was saved.",
                    model=records._description,
                    value=short_repr(vals),
                )
            )
        for name, value in vals.items():
            field = records._fields.get(name) if isinstance(name, str) else None
            if field is None:  # the ORM's ValueError
                raise ValidationError(
                    env._(
                        "%(model)s has no field “%(field)s”. Nothing was saved.",
                        model=records._description,
                        field=short_repr(name),
                    )
                )
            if field._module != MODULE or value is None or value is False:
                continue
            for record_id in _check_value(empty, field, value):
                linked.setdefault(field.comodel_name, {})[record_id] = field
    for comodel, ids in linked.items() if check_exists else ():
        Comodel = env[comodel].sudo().with_context(active_test=False)
        missing = set(ids) - set(Comodel.browse(ids).exists().ids)
        if missing:
            record_id = min(missing)
            raise ValidationError(
                env._(
                    "%(field)s (%(model)s) refers to a record that does not exist or has been "
                    "deleted (%(comodel)s, id %(id)s). Reload the page and choose another "
                    "one. Nothing was saved.",
                    field=ids[record_id]._description_string(env),
                    model=records._description,
                    comodel=Comodel._description,
                    id=record_id,
                )
            )


def _check_value(empty, field, value):
    """Ids of the records ``value`` links (for relational fields); a ValidationError when
    ``field`` (of ``empty``'s model) cannot take it."""
    if isinstance(value, models.BaseModel):  # records given by the server's own code
        return []
    if field.type in ("one2many", "many2many"):
        try:
            return _command_ids(value)
        except (LookupError, TypeError, ValueError):
            raise _invalid(empty, field, value) from None
    types = WRITE_TYPES.get(field.type, object)
    valid = isinstance(value, types) and (field.type == "boolean" or not isinstance(value, bool))
    if valid:
        try:
            field.convert_to_cache(value, empty)  # the ORM's own conversion and checks
        except (TypeError, ValueError, OverflowError):
            valid = False
    if valid and isinstance(value, str):
        valid = "\x00" not in value
    elif valid and field.type == "integer":
        valid = INT4_MIN <= value <= INT4_MAX
    elif valid and field.type == "many2one":
        valid = is_record_id(value)
    elif valid and field.type in ("float", "monetary"):
        limit = _float_limit(empty.env, field)
        valid = math.isfinite(value) and (not limit or abs(value) < limit)
    if not valid:
        raise _invalid(empty, field, value)
    return [value] if field.type == "many2one" else []


def _command_ids(value):
    """Ids of the records an x2many value refers to: a list of Command, or of ids (which the
    ORM sets); a LookupError, TypeError or ValueError when ``value`` is neither."""
    if isinstance(value, (list, tuple)) and all(map(is_record_id, value)):
        return list(value)
    if not isinstance(value, list):
        raise TypeError(value)
    ids = []
    for command in value:
        kind = Command(command[0])
        if kind in (Command.CREATE, Command.UPDATE) and not isinstance(command[2], Mapping):
            raise TypeError(command)
        if kind == Command.SET:
            record_ids = command[2]
        else:
            record_ids = [] if kind in (Command.CREATE, Command.CLEAR) else [command[1]]
        if not isinstance(record_ids, (list, tuple)) or not all(map(is_record_id, record_ids)):
            raise ValueError(command)
        ids.extend(record_ids)
    return ids


def _float_limit(env, field):
    """The bound its digits give a float field's values ((5, 2): less than 1000), or None."""
    digits = field.get_digits(env) if field.type == "float" else None
    return 10 ** (digits[0] - digits[1]) if digits and digits[0] else None


def _invalid(records, field, value):
    """The error for a value ``field`` cannot take, saying what it takes."""
    env = records.env
    kind = field.type
    if kind in ("one2many", "many2many", "many2one"):
        comodel = env[field.comodel_name]._description
        if kind == "many2one":
            expected = env._("the id of a record of %(comodel)s", comodel=comodel)
        else:
            expected = env._("a list of commands on records of %(comodel)s", comodel=comodel)
    elif kind == "selection":
        values = ", ".join(f"“{key}”" for key in field.get_values(env))
        expected = env._("one of %(values)s", values=values)
    elif kind == "integer":
        expected = env._("a whole number from %(min)s to %(max)s", min=INT4_MIN, max=INT4_MAX)
    elif limit := _float_limit(env, field):
        expected = env._(
            "a number greater than %(min)s and less than %(max)s", min=-limit, max=limit
        )
    elif kind in ("char", "text", "html"):
        expected = env._("a text (without NUL characters)")
    else:
        expected = {
            "boolean": env._("true or false"),
            "float": env._("a finite number"),
            "monetary": env._("a finite number"),
            "date": env._("a date (YYYY-MM-DD)"),
            "datetime": env._("a date and time (YYYY-MM-DD HH:MM:SS)"),
            "binary": env._("a file (base64 text)"),
        }.get(kind) or env._("a value of type %(type)s", type=kind)
    return ValidationError(
        env._(
            "%(field)s (%(model)s) must be %(expected)s, not %(value)s. Nothing was saved.",
            field=field._description_string(env),
            model=records._description,
            expected=expected,
            value=short_repr(value),
        )
    )


class CrmSalesProcessCheckedValues(models.AbstractModel):
    """The addon's models without create and write of their own check the values sent to
    them at this boundary (``check_field_values``)."""

    _name = "crm.sales.process.checked.values"
    _description = "Sales Process Values Checked Before Saving"

    @api.model_create_multi
    def create(self, vals_list):
        check_field_values(self, vals_list)
        return super().create(vals_list)

    def write(self, vals):
        check_field_values(self, vals)
        return super().write(vals)
