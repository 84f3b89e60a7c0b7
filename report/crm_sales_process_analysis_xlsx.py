# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models

# KPI units → the spreadsheet's cell formats
UNIT_FORMATS = {
    "count": "integer",
    "percent": "percent",
    "days": "number",
    "hours": "number",
    "monetary": "money",
    "number": "number",
}


class ReportCrmSalesProcessAnalysisXlsx(models.AbstractModel):
    """The Sales Process Analysis as XLSX (the dashboard's Export button, with its filters as
    ``data``): a KPI sheet, one row per process, a steps sheet, one row per step, and a sources
    sheet, one row per process and origin; the KPI columns are those of the KPI definitions
    shown in a "sheet" or a steps "column"."""

    _name = "report.crm_sales_process.analysis_xlsx"
    _inherit = "report.crm_sales_process.abstract_xlsx"
    _description = "Sales Process Analysis Spreadsheet"

    @api.model
    def _get_objects(self, docids, data):
        return self.env["crm.sales.process.analysis"].get_analysis(data)

    @api.model
    def generate_xlsx_report(self, workbook, data, objs):
        analysis = objs
        formats = self._add_formats(
            workbook, self.env["res.currency"].browse(analysis["currency_id"])
        )
        self._write_kpi_sheet(workbook, formats, analysis)
        self._write_step_sheet(workbook, formats, analysis)
        self._write_source_sheet(workbook, formats, analysis)

    @api.model
    def _get_column_title(self, definition):
        if definition["unit"] == "percent":
            return self.env._("%(label)s (%%)", label=definition["label"])
        if definition["unit"] == "days" and definition["level"] == "process":
            return self.env._("%(label)s (days)", label=definition["label"])
        if definition["unit"] == "hours":
            return self.env._("%(label)s (hours)", label=definition["label"])
        return definition["label"]

    @api.model
    def _write_kpi_sheet(self, workbook, formats, analysis):
        _ = self.env._
        sheet = self._add_sheet(workbook, _("KPIs"))
        row = self._write_heading(
            sheet, formats, _("Sales Process Analysis"), analysis["filter_descriptions"]
        )
        Analysis = self.env["crm.sales.process.analysis"]
        definitions = Analysis._get_shown_kpis(
            self.env["crm.sales.process"]._get_kpi_definitions(), "process", "sheet"
        )
        currencies = self.env["res.currency"].browse(
            {process["currency_id"] for process in analysis["processes"]}
        )
        names = {currency.id: currency.name for currency in currencies}
        rows = [
            [
                process["name"],
                *(process[definition["key"]] for definition in definitions),
                names[process["currency_id"]],
            ]
            for process in analysis["processes"]
        ]
        columns = [(_("Sales Process"), 34, "text")]
        columns += [
            (self._get_column_title(definition), 16, UNIT_FORMATS[definition["unit"]])
            for definition in definitions
        ]
        columns.append((_("Currency"), 10, "text"))
        self._write_table(
            sheet, formats, columns, rows, row=row + 1, freeze=(1, 1), autofilter=False
        )

    @api.model
    def _write_step_sheet(self, workbook, formats, analysis):
        _ = self.env._
        columns = analysis["step_columns"]
        rows = []
        for process in analysis["processes"]:
            last = len(process["steps"]) - 1
            for index, step in enumerate(process["steps"]):
                observed = None
                if step["observed_sample"]:
                    style = "deviates" if step["deviates"] else "percent"
                    observed = (step["observed_probability"], style)
                rows.append(
                    [
                        process["name"],
                        step["number"],
                        step["name"],
                        *(
                            None if column["skip_last"] and index == last else step[column["key"]]
                            for column in columns
                        ),
                        step["probability"],
                        observed,
                        step["observed_sample"],
                    ]
                )
        self._write_table(
            self._add_sheet(workbook, _("Steps")),
            formats,
            [
                (_("Sales Process"), 30, "text"),
                (_("No."), 6, "text"),
                (_("Step"), 28, "text"),
                *(
                    (
                        self._get_column_title(dict(column, level="step")),
                        12,
                        UNIT_FORMATS[column["unit"]],
                    )
                    for column in columns
                ),
                (_("Fixed %"), 10, "percent"),
                (_("Observed %"), 11, "percent"),
                (_("Closed Behind Observed %"), 14, "integer"),
            ],
            rows,
            freeze=(1, 3),
        )

    @api.model
    def _write_source_sheet(self, workbook, formats, analysis):
        """Lead quality: one row per process and origin (get_kpis' ``sources``)."""
        _ = self.env._
        currencies = self.env["res.currency"].browse(
            {process["currency_id"] for process in analysis["processes"]}
        )
        names = {currency.id: currency.name for currency in currencies}
        rows = [
            [
                process["name"],
                origin["source"],
                origin["medium"],
                origin["campaign"],
                origin["created_count"],
                origin["won_count"],
                origin["lost_count"],
                origin["win_rate"],
                origin["conversion_rate"],
                origin["avg_won_amount"],
                names[process["currency_id"]],
            ]
            for process in analysis["processes"]
            for origin in process["sources"]
        ]
        self._write_table(
            self._add_sheet(workbook, _("Sources")),
            formats,
            [
                (_("Sales Process"), 30, "text"),
                (_("Source"), 20, "text"),
                (_("Medium"), 16, "text"),
                (_("Campaign"), 20, "text"),
                (_("Created"), 10, "integer"),
                (_("Won"), 10, "integer"),
                (_("Lost"), 10, "integer"),
                (_("Win Rate (%)"), 12, "percent"),
                (_("Conversion (%)"), 12, "percent"),
                (_("Average Won"), 16, "money"),
                (_("Currency"), 10, "text"),
            ],
            rows,
            freeze=(1, 1),
        )

    @api.model
    def _get_file_title(self, data, objs):
        return self.env._("sales-process-analysis"), True  # translated, without spaces
