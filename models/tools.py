# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Small pure helpers shared by the models (no ORM state)."""

import math
import re
import unicodedata
from collections.abc import Mapping
from datetime import date

from odoo import fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain
from odoo.tools.misc import get_lang
from odoo.tools.sql import escape_psql

MODULE = "crm_sales_process"
# PostgreSQL "integer" (int4): Odoo's Integer columns and record ids
INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1
# Longest stall period and key activity deadline: a century is more than any sales cycle,
# and dates beyond year 9999 do not exist (Python's dates end there)
MAX_DAYS = 36500

# The first-letter buttons: Latin letters, then the Danish/Norwegian Æ, Ø, Å as letters of
# their own (as in their alphabets), and "#" for names starting with anything else.
NAME_INITIALS = [(letter, letter) for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZÆØÅ"] + [("#", "#")]
_OWN_LETTERS = {letter for letter, _label in NAME_INITIALS}


def name_initial(name):
    """The first-letter button a name belongs to."""
    first = (name or "").strip()[:1].upper()
    if first in _OWN_LETTERS:
        return first
    # É → E, Ü → U; Æ/Ø/Å were kept above before decomposition could fold them.
    base = unicodedata.normalize("NFD", first)[:1]
    return base if base in _OWN_LETTERS else "#"


def user_initials(user):
    """Initials of a user as the "By" columns show them (Mitchell Admin → MA)."""
    return "".join(word[0] for word in (user.name or "").split() if word[0].isalnum()).upper()


def format_percentage(env, value, lang=None):
    """A step percentage in the language's number format, without the % sign.

    Whole numbers without decimals ("50"), others with the field's two ("12.50", "12,50").
    ``lang`` (``get_lang(env)``) saves looking the language up again for long lists. At most
    100: no thousands separator.
    """
    value = round(value or 0.0, 2)
    text = f"{value:.{0 if value == int(value) else 2}f}"
    return text.replace(".", (lang or get_lang(env)).decimal_point)


def wildcard_domain(env, field_names, operator, value):
    """Domain for the % wildcard search on text fields, case-insensitive.

    ``AS%`` finds values starting with AS, ``%AS`` values ending with AS, and ``AS`` (no %)
    values containing AS. Odoo's ``ilike`` always wraps the value in %, so the pattern goes to
    ``=ilike`` as it is (``_`` escaped, so only % is a wildcard). ``not ilike`` negates.
    """
    if operator not in ("ilike", "not ilike", "like", "not like", "=", "!="):
        raise UserError(env._("This field can only be searched with text."))
    text = str(value or "").strip()
    if not text or text == "%":
        return Domain.TRUE if operator in ("ilike", "like", "=") else Domain.FALSE
    # only % is a wildcard: everything between the %s is matched literally
    pattern = "%".join(escape_psql(part) for part in text.split("%"))
    if not (text.startswith("%") or text.endswith("%")):
        pattern = f"%{pattern}%"
    domain = Domain.OR(Domain(field, "=ilike", pattern) for field in field_names)
    return ~domain if operator.startswith("not") or operator == "!=" else domain


def xlsx_sheet_name(name):
    """A valid Excel sheet name: no []:*?/\\ and at most 31 characters (translations may vary)."""
    return re.sub(r"[\[\]:*?/\\]", " ", name)[:31]


# ------------------------------------------------------------
# Values sent by clients (RPC, imports): checked before the ORM converts them
# ------------------------------------------------------------


def check_field_values(records, vals_list, module=None, check_exists=True):
    """Refuse values of the wrong type or beyond the database's range, before writing.

    The ORM converts values as it writes them: a text in an integer field is a Python error,
    2**31 a database error, 1.5 silently becomes 1, and a deleted record's id trips a foreign
    key whose message speaks of deleting. Here each such value gets a clear translated
    ValidationError and nothing is written. Only the fields of ``records``' model defined by
    ``module`` are checked when it is given (a model the addon extends); all fields
    otherwise. Linked records must exist (``check_exists``): one query per model whatever
    the number of values.
    """
    env = records.env
    linked = {}  # comodel name -> {id: field}
    for vals in vals_list if isinstance(vals_list, (list, tuple)) else [vals_list]:
        if not isinstance(vals, Mapping):
            raise ValidationError(
                env._(
                    "The values to save on %(model)s must map field names to values, not "
                    "%(value)s. Nothing was saved.",
                    model=records._description,
                    value=_short_repr(vals),
                )
            )
        for name, value in vals.items():
            field = records._fields.get(name) if isinstance(name, str) else None
            if field is None:
                # (the ORM would raise a ValueError: a server error for the client)
                raise ValidationError(
                    env._(
                        "%(model)s has no field “%(field)s”. Nothing was saved.",
                        model=records._description,
                        field=_short_repr(name),
                    )
                )
            if module and field._module != module:
                continue
            ids = _check_field_value(env, field, value)
            if ids is None:
                raise ValidationError(_invalid_value_message(env, records, field, value))
            if field.required and isinstance(value, str) and not value.strip():
                raise ValidationError(
                    env._(
                        "%(field)s (%(model)s) is required: it cannot be empty. Nothing was saved.",
                        field=field._description_string(env),
                        model=records._description,
                    )
                )
            for record_id in ids:
                linked.setdefault(field.comodel_name, {})[record_id] = field
    for comodel, ids in linked.items() if check_exists else ():
        Comodel = env[comodel].sudo().with_context(active_test=False)
        missing = set(ids) - set(Comodel.browse(ids).exists().ids)
        if missing:
            record_id = min(missing)
            field = ids[record_id]
            raise ValidationError(
                env._(
                    "%(field)s (%(model)s) refers to a record that does not exist or has been "
                    "deleted (%(comodel)s, id %(id)s). Reload the page and choose another one. "
                    "Nothing was saved.",
                    field=field._description_string(env),
                    model=records._description,
                    comodel=env[comodel]._description,
                    id=record_id,
                )
            )


def ensure_one_record(records):
    """``records.ensure_one()`` for public methods: a clear error, not a ValueError, when
    a client calls them on no record or several."""
    if len(records) != 1:
        raise UserError(
            records.env._(
                "This action works on one record of %(model)s at a time, not %(count)s.",
                model=records._description,
                count=len(records),
            )
        )
    return records


def check_record_ids(env, model_name, value, label, many=False, check_exists=True):
    """Records of ``model_name`` a client gave as an argument: an id (a list of ids when
    ``many``), a recordset or nothing. Anything else, or (``check_exists``) a record that
    does not exist, is refused with a clear error naming the argument (``label``)."""
    Model = env[model_name]
    if isinstance(value, models.BaseModel):
        return value
    if value is None or value is False:
        return Model
    values = value if many and isinstance(value, (list, tuple)) else [value]
    if not all(_is_record_id(item) for item in values):
        raise UserError(
            env._(
                "%(argument)s must be given as %(expected)s of %(model)s, not %(value)s.",
                argument=label,
                expected=env._("ids") if many else env._("an id"),
                model=Model._description,
                value=_short_repr(value),
            )
        )
    records = Model.browse(values)
    if not check_exists:
        return records
    missing = records - records.sudo().with_context(active_test=False).exists()
    if missing:
        raise UserError(
            env._(
                "%(argument)s refers to a record that does not exist or has been deleted "
                "(%(model)s, id %(id)s).",
                argument=label,
                model=Model._description,
                id=missing[0].id,
            )
        )
    return records


def parse_date_argument(env, value):
    """A date a client gave (date, datetime or "YYYY-MM-DD"), None when empty; anything
    else is refused with a clear error."""
    if not value:
        return None
    if _is_temporal_value("date", value):
        return fields.Date.to_date(value)
    raise UserError(
        env._("“%(value)s” is not a valid date (YYYY-MM-DD).", value=_short_repr(value))
    )


def parse_ids_argument(env, value, label):
    """Record ids a client gave as a filter (a list of ids, one id or a recordset), None
    when empty; anything else is refused with a clear error naming the filter (``label``).
    Ids of records that do not exist simply match nothing."""
    if isinstance(value, models.BaseModel):
        return value.ids or None
    if value is None or value is False:
        return None
    values = value if isinstance(value, (list, tuple)) else [value]
    if not all(_is_record_id(item) for item in values):
        raise UserError(
            env._(
                "The filter %(filter)s must be a list of record ids, not %(value)s.",
                filter=label,
                value=_short_repr(value),
            )
        )
    return list(values) or None


def _short_repr(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _is_record_id(value):
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= INT4_MAX


def _check_field_value(env, field, value):
    """Ids of the records ``value`` links (empty for scalar fields), or None when
    ``value`` does not fit ``field``."""
    if value is None or value is False:
        return ()
    kind = field.type
    if kind == "boolean":
        return () if isinstance(value, int) else None
    if kind == "integer":
        if isinstance(value, float) and math.isfinite(value) and value == int(value):
            value = int(value)
        return () if isinstance(value, int) and INT4_MIN <= value <= INT4_MAX else None
    if kind in ("float", "monetary"):
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return None
        limit = _float_limit(env, field)
        return () if limit is None or abs(value) < limit else None
    if kind in ("char", "text", "html"):
        return () if isinstance(value, str) and "\x00" not in value else None
    if kind == "selection":
        return () if isinstance(value, str) and value in field.get_values(env) else None
    if kind in ("date", "datetime"):
        return () if _is_temporal_value(kind, value) else None
    if kind == "binary":
        return () if isinstance(value, (str, bytes)) else None
    if kind == "many2one":
        if isinstance(value, models.BaseModel):
            return ()
        return (value,) if _is_record_id(value) else None
    if kind in ("one2many", "many2many"):
        return _check_commands(value)
    return ()


def _is_temporal_value(kind, value):
    """Whether ``value`` is a date ("date") or datetime ("datetime") or its text."""
    if isinstance(value, date):
        return True
    if not isinstance(value, str):
        return False
    try:
        (fields.Date.to_date if kind == "date" else fields.Datetime.to_datetime)(value)
    except ValueError:
        return False
    return True


def _float_limit(env, field):
    """The bound of a float field's values given its digits (5, 2 → 1000), or None."""
    digits = field.get_digits(env) if field.type == "float" else None
    if not digits or not digits[0]:
        return None
    precision, scale = digits
    return 10 ** (precision - scale)


def _check_commands(value):
    """Ids an x2many value links, or None when it is no list of ids or commands."""
    if isinstance(value, models.BaseModel):
        return ()
    if not isinstance(value, (list, tuple)):
        return None
    ids = []
    for command in value:
        if _is_record_id(command):
            ids.append(command)
            continue
        if not isinstance(command, (list, tuple)) or not command:
            return None
        code = command[0]
        if code == 5:  # CLEAR
            continue
        if len(command) < 2 or not isinstance(code, int) or code not in range(7):
            return None
        if code == 0:  # CREATE
            if len(command) != 3 or not isinstance(command[2], Mapping):
                return None
        elif code == 6:  # SET
            if len(command) != 3 or not isinstance(command[2], (list, tuple)):
                return None
            if not all(_is_record_id(record_id) for record_id in command[2]):
                return None
            ids += command[2]
        else:  # UPDATE, DELETE, UNLINK, LINK
            if not _is_record_id(command[1]):
                return None
            if code == 1 and (len(command) != 3 or not isinstance(command[2], Mapping)):
                return None
            ids.append(command[1])
    return ids


def _invalid_value_message(env, records, field, value):
    """The error for a value that does not fit ``field``: what it expects instead."""
    _ = env._
    kind = field.type
    if kind == "integer":
        expected = _("a whole number from %(min)s to %(max)s", min=INT4_MIN, max=INT4_MAX)
    elif kind in ("float", "monetary"):
        limit = _float_limit(env, field)
        if limit is None:
            expected = _("a number")
        else:
            expected = _(
                "a number greater than %(min)s and less than %(max)s", min=-limit, max=limit
            )
    elif kind in ("char", "text", "html"):
        expected = _("a text (without NUL characters)")
    elif kind == "boolean":
        expected = _("true or false")
    elif kind == "selection":
        expected = _(
            "one of %(values)s",
            values=", ".join(f"“{key}”" for key in field.get_values(env)),
        )
    elif kind == "date":
        expected = _("a date (YYYY-MM-DD)")
    elif kind == "datetime":
        expected = _("a date and time (YYYY-MM-DD HH:MM:SS)")
    elif kind == "many2one":
        expected = _(
            "the id of a record of %(comodel)s", comodel=env[field.comodel_name]._description
        )
    elif kind in ("one2many", "many2many"):
        expected = _(
            "a list of commands on records of %(comodel)s",
            comodel=env[field.comodel_name]._description,
        )
    elif kind == "binary":
        expected = _("a file (base64 text)")
    else:
        expected = _("a value of type %(type)s", type=kind)
    return _(
        "%(field)s (%(model)s) must be %(expected)s, not %(value)s. Nothing was saved.",
        field=field._description_string(env),
        model=records._description,
        expected=expected,
        value=_short_repr(value),
    )
