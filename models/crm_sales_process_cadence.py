# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Cadence settings of a sales process: how fast its new opportunities must be answered."""

from odoo import api, fields, models
from odoo.exceptions import ValidationError


class CrmSalesProcess(models.Model):
    _inherit = "crm.sales.process"

    response_target_hours = fields.Integer(
        string="Response Target (Hours)",
        default=lambda self: self.env["res.config.settings"]._get_sales_process_setting(
            "sales_process_response_target_hours"
        ),
        help="New opportunities should get their first response (an activity done, a message "
        "sent to the customer, a move to a later step) within this many working hours.",
    )

    @api.constrains("response_target_hours")
    def _check_response_target_hours(self):
        for process in self:
            if process.response_target_hours < 1:
                raise ValidationError(
                    self.env._(
                        "The response target of sales process “%(process)s” must be at least "
                        "1 hour, not %(value)s.",
                        process=process.display_name,
                        value=process.response_target_hours,
                    )
                )
