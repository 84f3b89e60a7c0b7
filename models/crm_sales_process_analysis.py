# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Sales Process Analysis: the figures behind the dashboard, its PDF and its XLSX.

The dashboard (an OWL client action), the PDF and the XLSX all read one dict built here from
``crm.sales.process.get_kpis`` and the steps' fixed and observed percentages, so the three
always show the same figures for the same filters. Filters travel as a plain dict (JSON-able)::

    {"date_from": "2026-01-01" | False, "date_to": ... | False, "process_ids": [ids],
     "team_ids": [ids], "department_ids": [ids], "user_ids": [ids]}

Empty lists mean "no filter". Every figure respects the user's record rules and companies.
"""

import io

import xlsxwriter

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_date, formatLang

from .tools import parse_date_argument, parse_ids_argument, xlsx_sheet_name

# KPI keys of get_kpis copied into the analysis, in the order the screens show them.
KPI_KEYS = (
    "opportunity_count",
    "won_count",
    "lost_count",
    "win_rate",
    "avg_cycle_days",
    "avg_won_amount",
    "pipeline_value",
    "weighted_value",
    "velocity_per_day",
    "conversion_rate",
)
STEP_KEYS = (
    "reached",
    "moved_on",
    "conversion_rate",
    "win_rate_from_step",
    "avg_days",
    "median_days",
    "open_count",
)
FILTER_MODELS = {
    "process_ids": "crm.sales.process",
    "team_ids": "crm.team",
    "department_ids": "hr.department",
    "user_ids": "res.users",
}


class CrmSalesProcessAnalysis(models.AbstractModel):
    _name = "crm.sales.process.analysis"
    _description = "Sales Process Analysis"

    # ------------------------------------------------------------------
    # Entry points of the dashboard
    # ------------------------------------------------------------------

    @api.model
    @api.readonly
    def get_filter_options(self):
        """Choices of the dashboard's filters: processes, teams, departments, salespeople."""
        salesman_group = self.env.ref("sales_team.group_sale_salesman")
        company_ids = self.env.companies.ids
        users = self.env["res.users"].search(
            [
                ("share", "=", False),
                ("all_group_ids", "in", salesman_group.ids),
                ("company_ids", "in", company_ids),
            ]
        )
        return {
            "processes": self._get_options(self.env["crm.sales.process"].search([])),
            "teams": self._get_options(self.env["crm.team"].search([])),
            "departments": self._get_options(
                self.env["hr.department"].search([("company_id", "in", [*company_ids, False])])
            ),
            "users": self._get_options(users),
        }

    @api.model
    @api.readonly
    def get_analysis(self, filters=None):
        """Everything the dashboard shows for these filters (see the module docstring)."""
        filters = self._normalize_filters(filters)
        processes = self._get_processes(filters)
        kpis_by_process = {
            kpis["process_id"]: kpis
            for kpis in processes.get_kpis(
                date_from=filters["date_from"] or False,
                date_to=filters["date_to"] or False,
                team_ids=filters["team_ids"] or None,
                user_ids=filters["user_ids"] or None,
                department_ids=filters["department_ids"] or None,
            )
        }
        company = self.env.company
        return {
            "filters": filters,
            "filter_descriptions": self._get_filter_descriptions(filters),
            "currency_id": company.currency_id.id,
            "company_name": company.name,
            "processes": [
                self._prepare_process(process, kpis_by_process.get(process.id, {}))
                for process in processes
            ],
        }

    @api.model
    @api.readonly
    def action_print_pdf(self, filters=None):
        """The PDF of the analysis for these filters (the dashboard's Print button)."""
        filters = self._normalize_filters(filters)
        report = self.env.ref("crm_sales_process.crm_sales_process_analysis_report_action")
        # config=False: print at once, without the first-time document layout dialog.
        return report.report_action(
            self._get_processes(filters), data={"filters": filters}, config=False
        )

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------

    @api.model
    def _get_options(self, records):
        return [{"id": record.id, "name": record.display_name} for record in records]

    @api.model
    def _normalize_filters(self, filters):
        """Filters as the helpers expect them; a clear error for a reversed period."""
        if filters and not isinstance(filters, dict):
            raise UserError(self.env._("The analysis filters must be a dictionary of filters."))
        filters = dict(filters or {})
        normalized = {}
        for key in ("date_from", "date_to"):
            value = parse_date_argument(self.env, filters.get(key))
            normalized[key] = fields.Date.to_string(value) if value else False
        if (
            normalized["date_from"]
            and normalized["date_to"]
            and normalized["date_from"] > normalized["date_to"]
        ):
            raise UserError(
                self.env._(
                    "The period starts on %(date_from)s, after its end %(date_to)s. Choose a "
                    "start date on or before the end date.",
                    date_from=format_date(self.env, normalized["date_from"]),
                    date_to=format_date(self.env, normalized["date_to"]),
                )
            )
        labels = {
            "process_ids": self.env._("Sales Processes"),
            "team_ids": self.env._("Sales Teams"),
            "department_ids": self.env._("Departments"),
            "user_ids": self.env._("Salespeople"),
        }
        for key in FILTER_MODELS:
            normalized[key] = parse_ids_argument(self.env, filters.get(key), labels[key]) or []
        return normalized

    @api.model
    def _get_processes(self, filters):
        """The processes to analyse, in their own order: the chosen ones (archived included),
        else every active process the user may read."""
        Process = self.env["crm.sales.process"]
        if filters["process_ids"]:
            processes = Process.with_context(active_test=False).browse(filters["process_ids"])
            processes = processes.exists()
            processes.check_access("read")
            return processes.sorted().with_context(active_test=True)
        return Process.search([])

    @api.model
    def _prepare_process(self, process, kpis):
        values = {key: kpis.get(key) or 0 for key in KPI_KEYS}
        step_kpis = {line["step_id"]: line for line in kpis.get("steps", [])}
        steps = [
            self._prepare_step(step, step_kpis.get(step.id, {}))
            for step in process._get_ordered_steps()
        ]
        for index, step in enumerate(steps):
            step["info"] = self._get_step_info(step, last=index == len(steps) - 1)
        open_count, won_count = values["opportunity_count"], values["won_count"]
        lost_count = values["lost_count"]
        values.update(
            {
                "process_id": process.id,
                "name": process.display_name,
                # Amounts are in the currency of the process's company
                "currency_id": process.company_id.currency_id.id,
                "steps": steps,
                "won_lost_label": self.env._(
                    "%(won)s won, %(lost)s lost", won=won_count, lost=lost_count
                ),
                "summary_label": self.env._(
                    "%(open)s open · %(won)s won · %(lost)s lost",
                    open=open_count,
                    won=won_count,
                    lost=lost_count,
                ),
                "max_reached": max((step["reached"] for step in steps), default=0),
                "closed_count": values["won_count"] + values["lost_count"],
            }
        )
        return values

    @api.model
    def _prepare_step(self, step, kpis):
        values = {key: kpis.get(key) or 0 for key in STEP_KEYS}
        sample = step.observed_sample or 0
        observed = step.observed_probability if sample else False
        values.update(
            {
                "step_id": step.id,
                "number": step.number,
                "name": step.name,
                "is_won": step.is_won,
                "probability": step.probability,
                "probability_label": step._get_probability_label(),
                "observed_probability": observed,
                "observed_sample": sample,
                # Observed and fixed % more than 10 points apart (the step's own rule)
                "deviates": step.observed_deviates,
            }
        )
        return values

    @api.model
    def _get_step_info(self, step, last=False):
        """ "60 % to next · 4.5 days" shown beside a step's funnel bar (days only for the last)."""
        days = self.env._("%(days)s days", days=formatLang(self.env, step["avg_days"], digits=1))
        if last:
            return days
        return self.env._(
            "%(rate)s %% to next · %(days)s",
            rate=formatLang(self.env, step["conversion_rate"], digits=0),
            days=days,
        )

    @api.model
    def _get_filter_descriptions(self, filters):
        """[(label, value)] describing the filters, for the report headers."""
        if filters["date_from"] or filters["date_to"]:
            date_from = format_date(self.env, filters["date_from"]) or "…"
            date_to = format_date(self.env, filters["date_to"]) or "…"
            period = f"{date_from} – {date_to}"
        else:
            period = self.env._("All time")
        descriptions = [(self.env._("Period"), period)]
        # A dict, not (key, label) tuples: the term extractor misreads consecutive tuples
        labels = {
            "process_ids": self.env._("Sales processes"),
            "team_ids": self.env._("Sales teams"),
            "department_ids": self.env._("Departments"),
            "user_ids": self.env._("Salespeople"),
        }
        for key, label in labels.items():
            if filters[key]:
                # Names only: the figures themselves follow the user's rules.
                records = self.env[FILTER_MODELS[key]].sudo().browse(filters[key]).exists()
                descriptions.append((label, ", ".join(records.mapped("display_name"))))
        return descriptions

    @api.model
    def _get_file_name(self, extension):
        today = fields.Date.context_today(self).isoformat()
        name = self.env._("sales-process-analysis")  # file name: translated, without spaces
        return f"{name}-{today}.{extension}"

    # ------------------------------------------------------------------
    # Spreadsheet
    # ------------------------------------------------------------------

    # Bytes: no RPC answer; the download route (controllers/analysis.py) serves them
    @api.private
    @api.model
    @api.readonly
    def get_xlsx(self, filters=None):
        """The analysis as XLSX bytes: a KPI sheet and a steps sheet."""
        analysis = self.get_analysis(filters)
        output = io.BytesIO()
        workbook = xlsxwriter.Workbook(output, {"in_memory": True})
        currency = self.env["res.currency"].browse(analysis["currency_id"])
        # Company currency precision (processes of other currencies rarely differ)
        digits = currency.decimal_places
        money_format = "#,##0" + ("." + "0" * digits if digits else "")
        styles = {
            "title": workbook.add_format({"bold": True, "font_size": 14}),
            "bold": workbook.add_format({"bold": True}),
            "header": workbook.add_format(
                {"bold": True, "bottom": 1, "bg_color": "#DDE5F0", "text_wrap": True}
            ),
            "money": workbook.add_format({"num_format": money_format}),
            "number": workbook.add_format({"num_format": "0.0"}),
            "integer": workbook.add_format({"num_format": "0"}),
            "percent": workbook.add_format({"num_format": "0.0"}),
            "deviates": workbook.add_format({"num_format": "0.0", "bg_color": "#FCE8B2"}),
        }
        self._write_xlsx_kpis(workbook, styles, analysis)
        self._write_xlsx_steps(workbook, styles, analysis)
        workbook.close()
        return output.getvalue()

    @api.model
    def _get_kpi_columns(self):
        """(key, header, style) of the KPI sheet's columns after the process name."""
        _ = self.env._
        # A dict, not (key, header, style) tuples: the term extractor misreads those
        headers = {
            "win_rate": _("Win Rate (%)"),
            "avg_cycle_days": _("Sales Cycle (days)"),
            "avg_won_amount": _("Average Deal"),
            "velocity_per_day": _("Velocity per Day"),
            "conversion_rate": _("Conversion (%)"),
            "opportunity_count": _("Open Opportunities"),
            "pipeline_value": _("Pipeline"),
            "weighted_value": _("Weighted Pipeline"),
            "won_count": _("Won"),
            "lost_count": _("Lost"),
        }
        styles = {
            "win_rate": "percent",
            "conversion_rate": "percent",
            "avg_cycle_days": "number",
            "opportunity_count": "integer",
            "won_count": "integer",
            "lost_count": "integer",
        }
        return [(key, header, styles.get(key, "money")) for key, header in headers.items()]

    @api.model
    def _write_xlsx_kpis(self, workbook, styles, analysis):
        sheet = workbook.add_worksheet(xlsx_sheet_name(self.env._("KPIs")))
        sheet.write(0, 0, self.env._("Sales Process Analysis"), styles["title"])
        row = 2
        for label, value in analysis["filter_descriptions"]:
            sheet.write(row, 0, label, styles["bold"])
            sheet.write(row, 1, value)
            row += 1
        row += 1
        columns = self._get_kpi_columns()
        sheet.set_column(0, 0, 34)
        sheet.set_column(1, len(columns) + 1, 16)
        header_row = row
        headers = [self.env._("Sales Process"), *(c[1] for c in columns), self.env._("Currency")]
        sheet.write_row(row, 0, headers, styles["header"])
        currencies = self.env["res.currency"].browse(
            {process["currency_id"] for process in analysis["processes"]}
        )
        for process in analysis["processes"]:
            row += 1
            sheet.write(row, 0, process["name"])
            for col, (key, _label, style) in enumerate(columns, start=1):
                sheet.write_number(row, col, process[key], styles[style])
            currency = currencies.filtered(lambda c, p=process: c.id == p["currency_id"])
            sheet.write(row, len(columns) + 1, currency.name)
        sheet.freeze_panes(header_row + 1, 1)

    @api.model
    def _write_xlsx_steps(self, workbook, styles, analysis):
        _ = self.env._
        sheet = workbook.add_worksheet(xlsx_sheet_name(_("Steps")))
        columns = [
            (_("Sales Process"), 30),
            (_("No."), 6),
            (_("Step"), 28),
            (_("Reached"), 10),
            (_("Moved On"), 10),
            (_("Conversion to Next (%)"), 14),
            (_("Win Rate from Step (%)"), 14),
            (_("Average Days"), 12),
            (_("Median Days"), 12),
            (_("Open"), 8),
            (_("Fixed %"), 10),
            (_("Observed %"), 11),
            (_("Closed Behind Observed %"), 14),
        ]
        for col, (title, width) in enumerate(columns):
            sheet.set_column(col, col, width)
            sheet.write(0, col, title, styles["header"])
        row = 0
        for process in analysis["processes"]:
            for step in process["steps"]:
                row += 1
                sheet.write_row(row, 0, [process["name"], step["number"], step["name"]])
                for col, key, style in (
                    (3, "reached", "integer"),
                    (4, "moved_on", "integer"),
                    (5, "conversion_rate", "percent"),
                    (6, "win_rate_from_step", "percent"),
                    (7, "avg_days", "number"),
                    (8, "median_days", "number"),
                    (9, "open_count", "integer"),
                    (10, "probability", "percent"),
                ):
                    sheet.write_number(row, col, step[key], styles[style])
                if step["observed_sample"]:
                    style = styles["deviates"] if step["deviates"] else styles["percent"]
                    sheet.write_number(row, 11, step["observed_probability"], style)
                sheet.write_number(row, 12, step["observed_sample"], styles["integer"])
        sheet.freeze_panes(1, 3)
        sheet.autofilter(0, 0, max(row, 1), len(columns) - 1)
