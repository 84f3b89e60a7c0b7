# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models

from odoo.addons.base.models.ir_actions_report import _wkhtml

PROCESS_REPORT = "crm_sales_process.crm_sales_process_report_template"

# PDF reports of the addon whose pages run no script: wkhtmltopdf lays them out as soon as the
# page and its style sheets are loaded, instead of first waiting the print delay (the
# "report.print_delay" parameter, one second by default) that scripts drawing charts need.
SCRIPTLESS_REPORTS = (PROCESS_REPORT,)

# Reports laid out in a page of the addon's (one light style sheet, the company's header at
# the top of the document) with no per-page header and footer documents: those load the
# whole report bundle again and are laid out once per page (patched Qt), or are ignored
# (unpatched Qt) while the paper format keeps their room free on every page.
LIGHT_REPORTS = {
    PROCESS_REPORT: "crm_sales_process.crm_sales_process_report_layout",
}
# Page margins of those reports (mm): wkhtmltopdf's own, the page has none
LIGHT_MARGINS = {
    "--margin-top": 12,
    "--margin-bottom": 14,
    "--margin-left": 12,
    "--margin-right": 12,
}


class IrActionsReport(models.Model):
    _inherit = "ir.actions.report"

    def _get_layout(self):
        if len(self) == 1 and self.report_name in LIGHT_REPORTS:
            layout = self.env.ref(LIGHT_REPORTS[self.report_name], raise_if_not_found=False)
            if layout:
                return layout
        return super()._get_layout()

    @api.model
    def _run_wkhtmltopdf(self, bodies, report_ref=False, **kwargs):
        report_name = report_ref and self._get_report(report_ref).report_name
        if report_name in SCRIPTLESS_REPORTS:
            self = self.with_context(crm_sales_process_scriptless=True)
        if report_name in LIGHT_REPORTS:
            self = self.with_context(crm_sales_process_light=True)
            kwargs.update(header=None, footer=None)
        return super()._run_wkhtmltopdf(bodies, report_ref=report_ref, **kwargs)

    @api.model
    def _build_wkhtmltopdf_args(self, *args, **kwargs):
        command_args = super()._build_wkhtmltopdf_args(*args, **kwargs)
        if (
            self.env.context.get("crm_sales_process_scriptless")
            and "--javascript-delay" in command_args
        ):
            command_args[command_args.index("--javascript-delay") + 1] = "0"
        if self.env.context.get("crm_sales_process_light"):
            for option, value in LIGHT_MARGINS.items():
                if option in command_args:
                    command_args[command_args.index(option) + 1] = str(value)
                else:
                    command_args.extend([option, str(value)])
            if "--header-spacing" in command_args:
                index = command_args.index("--header-spacing")
                del command_args[index : index + 2]
            if _wkhtml().is_patched_qt:
                # page numbers drawn by wkhtmltopdf itself (plain text, no page to load);
                # builds with unpatched Qt have no header or footer options at all
                command_args.extend(
                    [
                        "--footer-font-size",
                        "8",
                        "--footer-right",
                        self.env._("Page [page] / [topage]"),
                    ]
                )
        return command_args
