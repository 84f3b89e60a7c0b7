# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models


class ReportCrmSalesProcess(models.AbstractModel):
    """Values of Print > Sales Processes: every selected process in one document."""

    _name = "report.crm_sales_process.crm_sales_process_report_template"
    _description = "Sales Processes Report"

    @api.model
    def _get_report_values(self, docids, data=None):
        processes = self.env["crm.sales.process"].with_context(active_test=False).browse(docids)
        return {
            "doc_ids": processes.ids,
            "doc_model": processes._name,
            "docs": processes,
            "lines": [self._prepare_process_line(process) for process in processes],
        }

    @api.model
    def _prepare_process_line(self, process):
        return {
            "process": process,
            "name": process.name,
            "default_for": process.default_for,
            "active": process.active,
            "note": process.note,
            "steps": [
                {
                    "number": step.number,
                    "name": step.name,
                    "percentage": step._get_probability_label(),
                }
                for step in process._get_ordered_steps()
            ],
        }
