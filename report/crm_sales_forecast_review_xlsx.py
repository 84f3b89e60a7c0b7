# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models


class ReportCrmSalesForecastReviewXlsx(models.AbstractModel):
    """The Pipeline Review as XLSX (the screen's Export button, its choices as ``data``:
    ``snapshot_from``, ``snapshot_to``, ``filters``, ``groupby``): a sheet of the changes
    between the two snapshots, a sheet of the forecast accuracy of the last 12 months."""

    _name = "report.crm_sales_process.review_xlsx"
    _inherit = "report.crm_sales_process.abstract_xlsx"
    _description = "Pipeline Review Spreadsheet"

    @api.model
    def _get_objects(self, docids, data):
        # the same figures and header as the review's PDF
        return self.env["crm.sales.forecast.snapshot"]._get_review_report_data(data)

    @api.model
    def _get_file_title(self, data, objs):
        return self.env._("pipeline-review"), True  # translated, without spaces

    @api.model
    def generate_xlsx_report(self, workbook, data, objs):
        changes = objs["changes"]
        formats = self._add_formats(
            workbook, self.env["res.currency"].browse(changes["currency_id"])
        )
        self._write_changes_sheet(workbook, formats, changes, objs["descriptions"])
        self._write_accuracy_sheet(workbook, formats, objs["accuracy"], objs["labels"])

    @api.model
    def _write_changes_sheet(self, workbook, formats, changes, descriptions):
        _ = self.env._
        sheet = self._add_sheet(workbook, _("What Changed"))
        row = self._write_heading(sheet, formats, _("Pipeline Review"), descriptions)
        rows = [
            [(_("Start"), "total"), None, (changes["start_value"], "money_total")],
            *([change["label"], change["count"], change["value"]] for change in changes["changes"]),
            [(_("End"), "total"), None, (changes["end_value"], "money_total")],
            *([count["label"], count["count"], None] for count in changes["counts"]),
        ]
        self._write_table(
            sheet,
            formats,
            [
                (_("Change"), 24, "text"),
                (_("Opportunities"), 14, "integer"),
                (_("Value"), 18, "money"),
            ],
            rows,
            row=row + 1,
            freeze=None,
            autofilter=False,
        )

    @api.model
    def _write_accuracy_sheet(self, workbook, formats, accuracy, labels):
        _ = self.env._
        sheet = self._add_sheet(workbook, _("Forecast Accuracy"))
        forecasts = accuracy["forecasts"]
        columns = [(_("Group"), 28, "text"), (_("Month"), 10, "text"), (_("Won"), 16, "money")]
        for forecast in forecasts:
            columns += [
                (labels.get(forecast, forecast), 16, "money"),
                (
                    _("%(forecast)s Error (%%)", forecast=labels.get(forecast, forecast)),
                    14,
                    "percent",
                ),
            ]
        rows = [
            [
                row["group_name"],
                row["month"],
                row["actual"],
                *(
                    value
                    for forecast in forecasts
                    for value in (row[forecast], row[f"{forecast}_error_pct"])
                ),
            ]
            for row in accuracy["rows"]
        ]
        mape = _("MAPE")
        rows += [
            [
                (summary["group_name"], "total"),
                (mape, "total"),
                (summary["actual"], "money_total"),
                *(
                    value
                    for forecast in forecasts
                    for value in ((summary[forecast], "money_total"), summary[f"{forecast}_mape"])
                ),
            ]
            for summary in accuracy["summaries"]
        ]
        self._write_table(sheet, formats, columns, rows)
