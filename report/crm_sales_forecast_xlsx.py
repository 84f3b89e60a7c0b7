# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models
from odoo.exceptions import MissingError

from ..models.tools import ensure_one_record


class ReportCrmSalesForecastXlsx(models.AbstractModel):
    """The forecast wizard's spreadsheet: a summary sheet (per salesperson, department and
    sales team, and the grand total) and every opportunity behind it."""

    _name = "report.crm_sales_process.forecast_xlsx"
    _inherit = "report.crm_sales_process.abstract_xlsx"
    _description = "Sales Forecast Spreadsheet"

    # The download reads the wizard the form saved in the request before, on the primary
    # database: a read replica (--db_replica_host) may not have it yet.
    _xlsx_readonly = False

    @api.model
    def _get_objects(self, docids, data):
        """The wizard, which only its creator may read."""
        wizard = self.env["crm.sales.forecast.wizard"].browse(docids).exists()
        if not wizard:
            raise MissingError(self.env._("This sales forecast no longer exists."))
        ensure_one_record(wizard)
        wizard.check_access("read")
        return wizard

    @api.model
    def _get_file_title(self, data, objs):
        return self.env._("sales-forecast"), True  # translated, without spaces

    @api.model
    def generate_xlsx_report(self, workbook, data, objs):
        wizard = objs
        summary = wizard._get_forecast_summary()
        formats = self._add_formats(workbook, wizard.currency_id)
        self._write_summary_sheet(workbook, formats, wizard, summary)
        self._write_detail_sheet(workbook, formats, wizard, summary)

    @api.model
    def _write_summary_sheet(self, workbook, formats, wizard, summary):
        _ = self.env._
        sheet = self._add_sheet(workbook, _("Forecast"))
        row = self._write_heading(
            sheet, formats, _("Sales Forecast"), wizard._get_filter_descriptions()
        )
        currency = wizard.currency_id.name
        headers = [
            (_("Opportunities"), 14, "integer"),
            (_("Expected Revenue (%s)", currency), 20, "money"),
            (_("Weighted Revenue (%s)", currency), 20, "money"),
            (_("Stalled"), 10, "integer"),
            (_("Stalled Weighted Revenue (%s)", currency), 24, "money"),
            (_("Commit (%s)", currency), 18, "money"),
            (_("Best Case (%s)", currency), 18, "money"),
            (_("Pipeline (%s)", currency), 18, "money"),
            (_("Won in Period (%s)", currency), 20, "money"),
        ]
        total = self._get_summary_row(summary["total"], total=True)
        for groupby, title, column in wizard._get_summary_sections():
            sheet.write(row + 1, 0, title, formats["bold"])
            row = self._write_table(
                sheet,
                formats,
                [(column, 34, "text"), *headers],
                [
                    *(self._get_summary_row(line) for line in summary[groupby]),
                    total,
                ],
                row=row + 2,
                freeze=None,
                autofilter=False,
            )
        self._write_table(
            sheet,
            formats,
            [(_("Grand Total"), 34, "text"), *headers],
            [total],
            row=row + 1,
            freeze=None,
            autofilter=False,
        )

    @api.model
    def _get_summary_row(self, line, total=False):
        values = [
            line["name"],
            line["count"],
            line["expected_revenue"],
            line["prorated_revenue"],
            line.get("stalled_count", 0),
            line.get("stalled_prorated_revenue", 0.0),
            line.get("commit_revenue", 0.0),
            line.get("best_case_revenue", 0.0),
            line.get("pipeline_revenue", 0.0),
            line.get("won_revenue", 0.0),
        ]
        if not total:
            return values
        styles = ["total", "total", "money_total", "money_total", "total", "money_total"]
        styles += ["money_total"] * 4
        return list(zip(values, styles, strict=True))

    @api.model
    def _write_detail_sheet(self, workbook, formats, wizard, summary):
        """Every opportunity behind the figures, per salesperson (in summary order), then by
        expected closing date; the total below."""
        _ = self.env._
        rows_by_user, names = wizard._get_forecast_detail_rows()
        partners, departments = names["partner_id"], names["department_id"]
        teams, processes, stages = names["team_id"], names["sales_process_id"], names["stage_id"]
        rows = (
            [
                name or None,
                partners.get(partner_id),
                line["name"],
                departments.get(department_id),
                teams.get(team_id),
                processes.get(process_id),
                stages.get(stage_id),
                deadline,
                expected or 0.0,
                probability or 0.0,
                prorated or 0.0,
            ]
            for line in summary["user_id"]
            for (
                name,
                partner_id,
                department_id,
                team_id,
                process_id,
                stage_id,
                deadline,
                expected,
                probability,
                prorated,
            ) in rows_by_user.get(line["record"].id or None, ())
        )
        sheet = self._add_sheet(workbook, _("Opportunities"))
        row = self._write_table(
            sheet,
            formats,
            [
                (_("Opportunity"), 36, "text"),
                (_("Customer"), 28, "text"),
                (_("Salesperson"), 22, "text"),
                (_("Department"), 22, "text"),
                (_("Sales Team"), 20, "text"),
                (_("Sales Process"), 24, "text"),
                (_("Stage"), 20, "text"),
                (_("Expected Closing"), 16, "date"),
                (_("Expected Revenue"), 18, "money"),
                (_("Probability (%)"), 14, "probability"),
                (_("Weighted Revenue"), 18, "money"),
            ],
            rows,
        )
        total = summary["total"]
        sheet.write(row, 0, total["name"], formats["total"])
        sheet.write_number(row, 8, total["expected_revenue"], formats["money_total"])
        sheet.write_number(row, 10, total["prorated_revenue"], formats["money_total"])
