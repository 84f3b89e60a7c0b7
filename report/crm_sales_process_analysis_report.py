# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models


class ReportCrmSalesProcessAnalysis(models.AbstractModel):
    """Values of the Sales Process Analysis PDF: all processes in one document.

    Debian's wkhtmltopdf (unpatched Qt) fails on several external layouts in one PDF, so every
    process is a section of the same document. The filters come in ``data`` (the dashboard's
    Print button); printed from elsewhere, the given processes are analysed over all time.
    """

    _name = "report.crm_sales_process.crm_sales_process_analysis_document"
    _description = "Sales Process Analysis Report"

    @api.model
    @api.readonly
    def _get_report_values(self, docids, data=None):
        filters = dict((data or {}).get("filters") or {})
        if docids and not filters.get("process_ids"):
            filters["process_ids"] = list(docids)
        Analysis = self.env["crm.sales.process.analysis"]
        analysis = Analysis.get_analysis(filters)
        processes = self.env["crm.sales.process"].browse(
            [process["process_id"] for process in analysis["processes"]]
        )
        return {
            "doc_ids": processes.ids,
            "doc_model": "crm.sales.process",
            "docs": processes,
            "analysis": analysis,
            "currency": self.env["res.currency"].browse(analysis["currency_id"]),
            "currencies": {
                currency.id: currency
                for currency in self.env["res.currency"].browse(
                    {process["currency_id"] for process in analysis["processes"]}
                )
            },
        }
