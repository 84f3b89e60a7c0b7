# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import Command, api, fields, models

from ..models.tools import ensure_one_record


class CrmSalesProcessCalibrationWizard(models.TransientModel):
    """Confirmation before the steps of a process get their observed percentages."""

    _name = "crm.sales.process.calibration.wizard"
    _inherit = ["crm.sales.process.checked.values"]
    _description = "Apply Observed Step Percentages"
    _rec_name = "process_id"

    process_id = fields.Many2one("crm.sales.process", required=True, ondelete="cascade")
    calibration_months = fields.Integer(
        string="Calibration Window (Months)", compute="_compute_line_ids", store=True
    )
    line_ids = fields.One2many(
        "crm.sales.process.calibration.wizard.line",
        "wizard_id",
        string="Steps",
        compute="_compute_line_ids",
        store=True,
        readonly=True,
    )

    @api.depends("process_id")
    def _compute_line_ids(self):
        for wizard in self:
            process = wizard.process_id
            wizard.calibration_months = process._get_calibration_months()
            wizard.line_ids = [Command.clear()] + [
                Command.create(
                    {
                        "step_id": step.id,
                        "current_probability": current,
                        "new_probability": observed,
                        "observed_sample": sample,
                    }
                )
                for step, current, observed, sample in (
                    process._get_observed_percentages() if process else []
                )
            ]

    def action_apply(self):
        ensure_one_record(self)
        self.process_id._apply_observed_percentages(
            {line.step_id: line.new_probability for line in self.line_ids}
        )
        return {"type": "ir.actions.act_window_close"}


class CrmSalesProcessCalibrationWizardLine(models.TransientModel):
    _name = "crm.sales.process.calibration.wizard.line"
    _inherit = ["crm.sales.process.checked.values"]
    _description = "Apply Observed Step Percentages: Step"
    _order = "id"

    wizard_id = fields.Many2one(
        "crm.sales.process.calibration.wizard", required=True, ondelete="cascade"
    )
    step_id = fields.Many2one("crm.sales.process.step", readonly=True)
    current_probability = fields.Float(string="Current %", digits=(5, 2), readonly=True)
    new_probability = fields.Float(string="New %", digits=(5, 2), readonly=True)
    observed_sample = fields.Integer(string="Closed Opportunities", readonly=True)
