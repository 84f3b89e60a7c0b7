# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Small pure helpers shared by the models (no ORM state)."""

import re
import unicodedata

from odoo import fields, models
from odoo.exceptions import UserError
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
# Arguments of public methods sent by clients (RPC)
# ------------------------------------------------------------


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
    if not all(is_record_id(item) for item in values):
        raise UserError(
            env._(
                "%(argument)s must be given as %(expected)s of %(model)s, not %(value)s.",
                argument=label,
                expected=env._("ids") if many else env._("an id"),
                model=Model._description,
                value=short_repr(value),
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
    """A date a client gave (date, datetime or "YYYY-MM-DD"), None when empty; what the
    ORM's own date parsing refuses is refused with a clear error."""
    if not value:
        return None
    try:
        return fields.Date.to_date(value)
    except (TypeError, ValueError):
        raise UserError(
            env._("“%(value)s” is not a valid date (YYYY-MM-DD).", value=short_repr(value))
        ) from None


def parse_ids_argument(env, value, label):
    """Record ids a client gave as a filter (a list of ids, one id or a recordset), None
    when empty; anything else is refused with a clear error naming the filter (``label``).
    Ids of records that do not exist simply match nothing."""
    if isinstance(value, models.BaseModel):
        return value.ids or None
    if value is None or value is False:
        return None
    values = value if isinstance(value, (list, tuple)) else [value]
    if not all(is_record_id(item) for item in values):
        raise UserError(
            env._(
                "The filter %(filter)s must be a list of record ids, not %(value)s.",
                filter=label,
                value=short_repr(value),
            )
        )
    return list(values) or None


def short_repr(value, limit=60):
    """``value`` as the errors quote it: its repr, cut at ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def is_record_id(value):
    """Whether ``value`` can be a record's id: a positive PostgreSQL integer."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= INT4_MAX
