# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Small pure helpers shared by the models (no ORM state)."""

import re
import unicodedata

from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.tools.misc import get_lang
from odoo.tools.sql import escape_psql

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
