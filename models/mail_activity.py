# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from .crm_sales_process_checked_values import check_field_values


class MailActivity(models.Model):
    _inherit = "mail.activity"

    # Which key activity of a sales process step scheduled it: exit criteria and the
    # opportunity's checklist look for the open ones.
    sales_process_step_activity_id = fields.Many2one(
        "crm.sales.process.step.activity",
        string="Key Activity",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
    )

    # The step that scheduled it, kept apart from the key activity: a done activity stays
    # (archived, with its date_done) and counts for the step's cadence even after its key
    # activity is removed from the playbook.
    sales_process_step_id = fields.Many2one(
        "crm.sales.process.step",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
    )

    # Types only: key activities are scheduled in bulk with ids just read, and an existence
    # query per batch would cost every move into a step (a deleted id is refused by the
    # foreign key)
    @api.model_create_multi
    def create(self, vals_list):
        check_field_values(self, vals_list, check_exists=False)
        return super().create(vals_list)

    def write(self, vals):
        check_field_values(self, vals, check_exists=False)
        return super().write(vals)

    def _action_done(self, feedback=False, attachment_ids=None):
        """An activity done on an opportunity answers it (see crm_lead_response)."""
        messages, next_activities = super()._action_done(
            feedback=feedback, attachment_ids=attachment_ids
        )
        # the messages "done" are posted on the documents that still exist
        lead_ids = [message.res_id for message in messages if message.model == "crm.lead"]
        if lead_ids:
            self.env["crm.lead"].browse(lead_ids)._set_sales_process_first_response()
        return messages, next_activities
