# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models

# PDF reports of the addon whose pages run no script: wkhtmltopdf lays them out as soon as the
# page and its style sheets are loaded, instead of first waiting the print delay (the
# "report.print_delay" parameter, one second by default) that scripts drawing charts need.
SCRIPTLESS_REPORTS = ("crm_sales_process.crm_sales_process_report_template",)


class IrActionsReport(models.Model):
    _inherit = "ir.actions.report"

    @api.model
    def _run_wkhtmltopdf(self, bodies, report_ref=False, **kwargs):
        if report_ref and self._get_report(report_ref).report_name in SCRIPTLESS_REPORTS:
            self = self.with_context(crm_sales_process_scriptless=True)
        return super()._run_wkhtmltopdf(bodies, report_ref=report_ref, **kwargs)

    @api.model
    def _build_wkhtmltopdf_args(self, *args, **kwargs):
        command_args = super()._build_wkhtmltopdf_args(*args, **kwargs)
        if (
            self.env.context.get("crm_sales_process_scriptless")
            and "--javascript-delay" in command_args
        ):
            command_args[command_args.index("--javascript-delay") + 1] = "0"
        return command_args
