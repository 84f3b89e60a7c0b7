# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import SUPERUSER_ID, api
from odoo.tools import SQL
from odoo.tools.sql import column_exists, table_exists

REQUIRED_FIELDS_TABLE = "crm_sales_process_step_required_field_rel"


def migrate(cr, version):
    """Exit criteria become records: a step's required fields and its "key activities done
    to leave" flag, stored by earlier versions, become criteria of its own; the old table
    and column go."""
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    vals_list = []
    if table_exists(cr, REQUIRED_FIELDS_TABLE):
        cr.execute(
            SQL(
                """
                SELECT rel.step_id, field.name
                  FROM %s rel
                  JOIN ir_model_fields field ON field.id = rel.field_id
                 WHERE field.model = 'crm.lead'
              ORDER BY rel.step_id, field.id
                """,
                SQL.identifier(REQUIRED_FIELDS_TABLE),
            )
        )
        vals_list += [
            {"step_id": step_id, "criterion_type": "field", "field_name": name}
            for step_id, name in cr.fetchall()
        ]
    if column_exists(cr, "crm_sales_process_step", "require_activities_done"):
        cr.execute("SELECT id FROM crm_sales_process_step WHERE require_activities_done")
        vals_list += [
            {"step_id": step_id, "criterion_type": "activities", "sequence": 20}
            for (step_id,) in cr.fetchall()
        ]
    env["crm.sales.process.exit.criterion"].create(vals_list)
    cr.execute(SQL("DROP TABLE IF EXISTS %s", SQL.identifier(REQUIRED_FIELDS_TABLE)))
    cr.execute("ALTER TABLE crm_sales_process_step DROP COLUMN IF EXISTS require_activities_done")
