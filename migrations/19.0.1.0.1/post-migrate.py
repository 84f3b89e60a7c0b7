# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import SUPERUSER_ID, api
from odoo.tools import SQL


def migrate(cr, version):
    """Earlier versions stored the text of an empty step ("crm.sales.process.step()") as the
    step percentage of opportunities without a process, shown as a badge on their pipeline
    cards: it goes, and every opportunity on a step (lost ones included) gets it again."""
    env = api.Environment(cr, SUPERUSER_ID, {})
    Lead = env["crm.lead"].with_context(active_test=False)
    cr.execute(
        SQL(
            "UPDATE crm_lead SET sales_process_percentage = NULL"
            " WHERE sales_process_step_id IS NULL AND sales_process_percentage IS NOT NULL"
        )
    )
    Lead.invalidate_model(["sales_process_percentage"])
    leads = Lead.search([("sales_process_step_id", "!=", False)])
    env.add_to_compute(Lead._fields["sales_process_percentage"], leads)
    Lead.flush_model(["sales_process_percentage"])
