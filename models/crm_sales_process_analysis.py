# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Sales Process Analysis: the figures behind the dashboard, its PDF and its XLSX.

The dashboard (an OWL client action), the PDF and the XLSX all read one dict built here from
``crm.sales.process.get_kpis`` and the steps' fixed and observed percentages, so the three
always show the same figures for the same filters: the KPI tiles and the steps table's columns
are those of ``crm.sales.process._get_kpi_definitions``, with their labels and units. Filters
travel as a plain dict (JSON-able)::

    {"date_from": "2026-01-01" | False, "date_to": ... | False, "process_ids": [ids],
     "team_ids": [ids], "department_ids": [ids], "user_ids": [ids]}

Empty lists mean "no filter". Every figure respects the user's record rules and companies.
"""

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_date, formatLang

from .tools import parse_date_argument, parse_ids_argument

FILTER_MODELS = {
    "company_id": "res.company",
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
        """Everything the dashboard shows for these filters (see the module docstring): per
        process its KPIs, its ``tiles``, its ``forecast`` figures, its ``sources`` (lead
        quality per origin, see ``crm.sales.process._read_kpi_origins``) and its ``steps``
        (with the KPIs of ``step_columns``)."""
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
        definitions = self.env["crm.sales.process"]._get_kpi_definitions()
        company = self.env.company
        return {
            "filters": filters,
            "filter_descriptions": self._get_filter_descriptions(filters),
            "currency_id": company.currency_id.id,
            "company_name": company.name,
            "step_columns": [
                {
                    "key": definition["key"],
                    "label": definition["label"],
                    "unit": definition["unit"],
                    "help": definition.get("help", ""),
                    "skip_last": bool(definition.get("skip_last")),
                }
                for definition in self._get_shown_kpis(definitions, "step", "column")
            ],
            "processes": [
                self._prepare_process(process, kpis_by_process.get(process.id, {}), definitions)
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
        for key in labels:
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
    def _get_shown_kpis(self, definitions, level, place):
        """The KPI definitions of ``level`` shown in ``place`` ("tile", "forecast", "sheet",
        "column"), in their order (or their position where the place gives one: forecast)."""
        shown = [
            definition
            for definition in definitions
            if definition["level"] == level and definition.get(place)
        ]
        return sorted(shown, key=lambda definition: definition[place])

    @api.model
    def _prepare_process(self, process, kpis, definitions):
        values = {key: value for key, value in kpis.items() if key != "steps"}
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
                "tiles": self._prepare_kpi_items(definitions, values, "tile"),
                # commit, best case, pipeline, weighted, won: the forecast wizard's figures
                "forecast": self._prepare_kpi_items(definitions, values, "forecast"),
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
                "closed_count": won_count + lost_count,
            }
        )
        return values

    @api.model
    def _prepare_kpi_items(self, definitions, values, place):
        """The process KPIs shown in ``place`` (tile, forecast) with their labels and values."""
        return [
            {
                "key": definition["key"],
                "label": definition["label"],
                "unit": definition["unit"],
                "value": values[definition["key"]],
                # a hint may name other KPIs of the process: %(won_count)s
                "hint": definition.get("hint", "") % values,
            }
            for definition in self._get_shown_kpis(definitions, "process", place)
        ]

    @api.model
    def _prepare_step(self, step, kpis):
        values = {key: value for key, value in kpis.items() if key not in ("step_id", "name")}
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
    def _get_filter_descriptions(self, filters, period_label=None, all_time_label=None):
        """[(label, value)] describing ``filters`` (those of the analysis, and optionally a
        ``company_id``) for the headers of the reports: the analysis's and the forecast's."""
        _ = self.env._
        if filters.get("date_from") or filters.get("date_to"):
            date_from = format_date(self.env, filters.get("date_from")) or "…"
            date_to = format_date(self.env, filters.get("date_to")) or "…"
            period = f"{date_from} – {date_to}"
        else:
            period = all_time_label or _("All time")
        descriptions = [(period_label or _("Period"), period)]
        # A dict, not (key, label) tuples: the term extractor misreads consecutive tuples
        labels = {
            "company_id": _("Company"),
            "process_ids": _("Sales processes"),
            "team_ids": _("Sales teams"),
            "department_ids": _("Departments"),
            "user_ids": _("Salespeople"),
        }
        for key, label in labels.items():
            if filters.get(key):
                # Names only: the figures themselves follow the user's rules.
                records = self.env[FILTER_MODELS[key]].sudo().browse(filters[key]).exists()
                description = (label, ", ".join(records.mapped("display_name")))
                if key == "company_id":
                    descriptions.insert(0, description)
                else:
                    descriptions.append(description)
        return descriptions
