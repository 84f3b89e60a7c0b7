# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models
from odoo.exceptions import UserError


class ReportCrmSalesForecast(models.AbstractModel):
    """Values of the forecast PDF: one wizard, one document (one external layout).

    Debian's wkhtmltopdf (unpatched Qt) fails on several external layouts in one PDF, so the
    report is built for a single wizard and all its tables live in that one document.
    """

    _name = "report.crm_sales_process.crm_sales_forecast_report_document"
    _description = "Sales Forecast Report"

    @api.model
    @api.readonly
    def _get_report_values(self, docids, data=None):
        wizards = self.env["crm.sales.forecast.wizard"].browse(docids)
        if len(wizards) != 1:
            raise UserError(
                self.env._("Print the sales forecast from one report wizard at a time.")
            )
        return {
            "doc_ids": wizards.ids,
            "doc_model": wizards._name,
            "docs": wizards,
            "forecast": wizards._get_report_data(),
            "currency": wizards.currency_id,
        }
