# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    """Cadence: the key activities already scheduled keep the step that scheduled them, and
    the opportunities on a process get their first response from their past (done
    activities, messages sent, moves forward), each in one statement."""
    if not version:
        return
    cr.execute(
        """
        UPDATE mail_activity activity
           SET sales_process_step_id = template.step_id
          FROM crm_sales_process_step_activity template
         WHERE template.id = activity.sales_process_step_activity_id
           AND activity.sales_process_step_id IS NULL
        """
    )
    cr.execute(
        """
        UPDATE crm_sales_process SET response_target_hours = 24
         WHERE response_target_hours IS NULL
        """
    )
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["crm.lead"]._backfill_sales_process_responses()
