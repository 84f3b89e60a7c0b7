# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Sales forecast report: the weighted pipeline per salesperson, department and sales team.

The forecast covers the *open pipeline*: active opportunities that are neither won nor lost
(``won_status = 'pending'``). Lost opportunities are archived with probability 0 and won ones are
no longer a forecast but a result, so both stay out of every figure. The weighted revenue is
Odoo's stored ``prorated_revenue`` (expected revenue × probability / 100), which for
opportunities following a sales process is the fixed percentage of their step.

The figures are aggregated by PostgreSQL (``_read_group``), so the number of queries and the
Python work do not grow with the number of opportunities. The opportunity details behind the
figures are read with one ``search_fetch``: all of them in the XLSX, and in the PDF only up to a
limit (system parameter ``crm_sales_process.forecast_pdf_detail_limit``, default 500), because a
PDF of 100,000 lines is useless and slow to render; above the limit the PDF says so.
"""

from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.fields import Domain
from odoo.tools import SQL, format_date

from ..models.crm_lead_forecast import CATEGORY_FIGURES
from ..models.tools import ensure_one_record

# Lead fields the summary is grouped by, in report order.
SUMMARY_GROUPBYS = ("user_id", "department_id", "team_id")
SUMMARY_AGGREGATES = ["__count", "expected_revenue:sum", "prorated_revenue:sum"]
# Lead fields shown for each opportunity behind the figures.
DETAIL_FIELDS = [
    "name",
    "partner_id",
    "user_id",
    "department_id",
    "team_id",
    "sales_process_id",
    "stage_id",
    "date_deadline",
    "expected_revenue",
    "probability",
    "prorated_revenue",
]
# The same as columns of the spreadsheet's opportunities sheet: the salesperson comes from the
# summary line they are listed under.
DETAIL_COLUMNS = [name for name in DETAIL_FIELDS if name != "user_id"]


class CrmSalesForecastWizard(models.TransientModel):
    _name = "crm.sales.forecast.wizard"
    _inherit = ["crm.sales.process.checked.values"]
    _description = "Sales Forecast Report"
    _check_company_auto = True

    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        help="Opportunities of this company (and those without a company), in its currency.",
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    # Filters
    date_from = fields.Date(
        string="Expected Closing From",
        help="Only opportunities expected to close on or after this date. Opportunities "
        "without an expected closing date are left out when a period is given.",
    )
    date_to = fields.Date(
        string="Expected Closing To",
        help="Only opportunities expected to close on or before this date. Opportunities "
        "without an expected closing date are left out when a period is given.",
    )
    team_ids = fields.Many2many(
        "crm.team",
        "crm_sales_forecast_wizard_team_rel",
        "wizard_id",
        "team_id",
        string="Sales Teams",
        check_company=True,
    )
    department_ids = fields.Many2many(
        "hr.department",
        "crm_sales_forecast_wizard_department_rel",
        "wizard_id",
        "department_id",
        string="Departments",
        check_company=True,
    )
    user_ids = fields.Many2many(
        "res.users",
        "crm_sales_forecast_wizard_user_rel",
        "wizard_id",
        "user_id",
        string="Salespeople",
        domain="[('share', '=', False)]",
        check_company=True,
    )
    process_ids = fields.Many2many(
        "crm.sales.process",
        "crm_sales_forecast_wizard_process_rel",
        "wizard_id",
        "process_id",
        string="Sales Processes",
        check_company=True,
        context={"active_test": False},
    )

    @api.constrains("date_from", "date_to")
    def _check_period(self):
        for wizard in self:
            if wizard.date_from and wizard.date_to and wizard.date_from > wizard.date_to:
                raise ValidationError(
                    self.env._(
                        "The expected closing period starts on %(date_from)s, after its end "
                        "%(date_to)s. Choose a start date on or before the end date.",
                        date_from=format_date(self.env, wizard.date_from),
                        date_to=format_date(self.env, wizard.date_to),
                    )
                )

    @api.constrains("company_id")
    def _check_company_allowed(self):
        """The forecast is of a company of the user: another company's name and currency
        are not for them (its opportunities are hidden by the record rules anyway)."""
        # constraints run as superuser: the user is still the one saving
        user = self.env.user
        if user._is_superuser():
            return
        for wizard in self:
            if wizard.company_id not in user.company_ids:
                raise ValidationError(
                    self.env._(
                        "You cannot make a sales forecast of company %(company)s: you have no "
                        "access to it.",
                        company=wizard.company_id.sudo().name,
                    )
                )

    @api.readonly
    def action_print_pdf(self):
        ensure_one_record(self)
        self.check_access("read")  # a deleted or another user's wizard: a clear error now
        # config=False: print right away, without Odoo's first-time document layout dialog.
        report = self.env.ref("crm_sales_process.crm_sales_forecast_report_action")
        action = report.report_action(self, config=False)
        # XML-RPC cannot carry None (e.g. "data"): leave unset keys out
        return {key: value for key, value in action.items() if value is not None}

    def action_export_xlsx(self):
        """Download the spreadsheet of this forecast (report/crm_sales_forecast_xlsx.py): made
        by the download itself, which reads this wizard (only its creator may)."""
        ensure_one_record(self)
        self.check_access("read")
        return self.env["report.crm_sales_process.forecast_xlsx"]._get_download_action(
            self.ids, target="self"
        )

    # ------------------------------------------------------------------
    # Figures
    # ------------------------------------------------------------------

    @api.model
    def _get_open_pipeline_domain(self):
        """The open pipeline: active opportunities neither won nor lost."""
        return Domain(
            [
                ("type", "=", "opportunity"),
                ("active", "=", True),
                ("won_status", "=", "pending"),
            ]
        )

    def _get_forecast_domain(self):
        """Open pipeline of the wizard's company, narrowed by the wizard's filters."""
        self.ensure_one()
        domain = self._get_open_pipeline_domain() & Domain(
            "company_id", "in", [self.company_id.id, False]
        )
        if self.date_from:
            domain &= Domain("date_deadline", ">=", self.date_from)
        if self.date_to:
            domain &= Domain("date_deadline", "<=", self.date_to)
        return domain & self._get_filters_domain()

    def _get_filters_domain(self):
        """The wizard's filters on teams, departments, salespeople and processes."""
        domain = Domain.TRUE
        for field_name, records in (
            ("team_id", self.team_ids),
            ("department_id", self.department_ids),
            ("user_id", self.user_ids),
            ("sales_process_id", self.process_ids),
        ):
            if records:
                domain &= Domain(field_name, "in", records.ids)
        return domain

    def _get_forecast_summary(self):
        """Weighted pipeline per salesperson, department and sales team, plus the total.

        Three SQL aggregations whatever the number of opportunities; the user's record rules
        apply (a salesperson sees the figures of the opportunities they may read). Returns::

            {"user_id": [line, ...], "department_id": [...], "team_id": [...], "total": line}

        where a line is a dict with ``record`` (empty recordset for "none"), ``name``,
        ``count``, ``expected_revenue`` and ``prorated_revenue``, sorted by name with the
        "none" line last.
        """
        self.ensure_one()
        domain = self._get_forecast_domain()
        Lead = self.env["crm.lead"]
        summary = {}
        for groupby in SUMMARY_GROUPBYS:
            groups = Lead._read_group(domain, [groupby], SUMMARY_AGGREGATES)
            lines = [
                self._prepare_summary_line(record, count, expected, prorated, groupby)
                for record, count, expected, prorated in groups
            ]
            summary[groupby] = sorted(
                lines, key=lambda line: (not line["record"], line["name"].lower())
            )
        # Every opportunity has exactly one salesperson (or none): the salesperson lines
        # partition the pipeline, so their sum is the grand total without another query.
        user_lines = summary["user_id"]
        currency = self.currency_id
        summary["total"] = {
            "record": Lead.browse(),
            "name": self.env._("Total"),
            "count": sum(line["count"] for line in user_lines),
            "expected_revenue": currency.round(
                sum(line["expected_revenue"] for line in user_lines)
            ),
            "prorated_revenue": currency.round(
                sum(line["prorated_revenue"] for line in user_lines)
            ),
        }
        self._add_stalled_figures(summary, domain)
        self._add_category_figures(summary, domain)
        self._add_won_figures(summary)
        return summary

    def _add_category_figures(self, summary, domain):
        """Add the forecast categories' figures to every summary line (three aggregations):
        ``commit_revenue``, ``best_case_revenue`` (commit and best case), ``pipeline_revenue``
        (every category but omitted)."""
        Lead = self.env["crm.lead"]
        for groupby in SUMMARY_GROUPBYS:
            figures = {}
            for record, category, expected in Lead._read_group(
                domain, [groupby, "forecast_category"], ["expected_revenue:sum"]
            ):
                line = figures.setdefault(record.id, dict.fromkeys(CATEGORY_FIGURES, 0.0))
                for figure, categories in CATEGORY_FIGURES.items():
                    if (category or "pipeline") in categories:
                        line[figure] += expected or 0.0
            for line in summary[groupby]:
                line.update(figures.get(line["record"].id, dict.fromkeys(CATEGORY_FIGURES, 0.0)))
        self._add_total_figures(summary, CATEGORY_FIGURES)

    def _add_won_figures(self, summary):
        """Add ``won_revenue`` to every summary line: the expected revenue of the
        opportunities won in the period (closing date from ``date_from`` to ``date_to``), in one
        aggregation; a group with only won opportunities gets a line of its own."""
        Lead = self.env["crm.lead"]
        won = {groupby: {} for groupby in SUMMARY_GROUPBYS}
        for *records, expected in Lead._read_group(
            self._get_won_domain(), list(SUMMARY_GROUPBYS), ["expected_revenue:sum"]
        ):
            for groupby, record in zip(SUMMARY_GROUPBYS, records, strict=True):
                won[groupby][record] = won[groupby].get(record, 0.0) + (expected or 0.0)
        for groupby in SUMMARY_GROUPBYS:
            lines = summary[groupby]
            known = {line["record"] for line in lines}
            for record in won[groupby].keys() - known:
                line = self._prepare_summary_line(record, 0, 0.0, 0.0, groupby)
                line.update(stalled_count=0, stalled_prorated_revenue=0.0)
                line.update(dict.fromkeys(CATEGORY_FIGURES, 0.0))
                lines.append(line)
            for line in lines:
                line["won_revenue"] = won[groupby].get(line["record"], 0.0)
            lines.sort(key=lambda line: (not line["record"], line["name"].lower()))
        self._add_total_figures(summary, ["won_revenue"])

    def _add_total_figures(self, summary, figures):
        """The total of ``figures``: the sum of the salesperson lines (they partition it)."""
        for figure in figures:
            summary["total"][figure] = self.currency_id.round(
                sum(line[figure] for line in summary["user_id"])
            )

    def _get_won_domain(self):
        """Opportunities won in the period, of the company, inside the filters."""
        self.ensure_one()
        domain = Domain(
            [
                ("type", "=", "opportunity"),
                ("won_status", "=", "won"),
                ("company_id", "in", [self.company_id.id, False]),
            ]
        )
        if self.date_from:
            domain &= Domain("date_closed", ">=", fields.Datetime.to_datetime(self.date_from))
        if self.date_to:
            domain &= Domain(
                "date_closed", "<", fields.Datetime.to_datetime(self.date_to) + timedelta(days=1)
            )
        return domain & self._get_filters_domain()

    def _add_stalled_figures(self, summary, domain):
        """Add ``stalled_count`` and ``stalled_prorated_revenue`` to every summary line: the
        stalled opportunities among the line's: the stalled ones are searched once, then
        three more aggregations."""
        Lead = self.env["crm.lead"]
        stalled_domain = domain & Domain("id", "in", Lead._search([("is_stalled", "=", True)]))
        for groupby in SUMMARY_GROUPBYS:
            stalled = {
                record.id: (count, prorated or 0.0)
                for record, count, prorated in Lead._read_group(
                    stalled_domain, [groupby], ["__count", "prorated_revenue:sum"]
                )
            }
            for line in summary[groupby]:
                count, prorated = stalled.get(line["record"].id, (0, 0.0))
                line["stalled_count"] = count
                line["stalled_prorated_revenue"] = prorated
        user_lines = summary["user_id"]
        summary["total"]["stalled_count"] = sum(line["stalled_count"] for line in user_lines)
        summary["total"]["stalled_prorated_revenue"] = self.currency_id.round(
            sum(line["stalled_prorated_revenue"] for line in user_lines)
        )

    def _prepare_summary_line(self, record, count, expected, prorated, groupby):
        # Group labels are read as superuser: the group exists because the user may read its
        # opportunities, while a department of another company may not be readable itself.
        return {
            "record": record,
            "name": record.sudo().display_name if record else self._get_none_label(groupby),
            "count": count,
            "expected_revenue": expected or 0.0,
            "prorated_revenue": prorated or 0.0,
        }

    def _get_none_label(self, groupby):
        if groupby == "user_id":
            return self.env._("No salesperson")
        if groupby == "department_id":
            return self.env._("No department")
        return self.env._("No sales team")

    def _get_forecast_leads(self, limit=None):
        """The opportunities behind the figures, in one query for their own fields.

        Ordered by expected closing date; callers regroup them by salesperson.
        """
        self.ensure_one()
        return self.env["crm.lead"].search_fetch(
            self._get_forecast_domain(),
            DETAIL_FIELDS,
            order="date_deadline, id",
            limit=limit,
        )

    def _get_forecast_detail_rows(self):
        """Every opportunity behind the figures as a tuple, for the spreadsheet.

        One SQL query (the user's record rules apply, as in the ORM) for the lead columns, and
        one batch per related model for the names, instead of an ORM record per opportunity:
        the spreadsheet may hold 100,000 of them. Returns ``({user id: [row, ...]}, {field:
        {id: name}})``, rows in DETAIL_COLUMNS order, by expected closing date.
        """
        self.ensure_one()
        Lead = self.env["crm.lead"]
        Lead.flush_model(["user_id", *DETAIL_COLUMNS])
        query = Lead._search(self._get_forecast_domain(), order="date_deadline, id")
        columns = [Lead._field_to_sql(query.table, name, query) for name in DETAIL_COLUMNS]
        self.env.cr.execute(query.select(SQL.identifier(query.table, "user_id"), *columns))
        rows_by_user = {}
        for user_id, *row in self.env.cr.fetchall():
            rows_by_user.setdefault(user_id, []).append(row)
        names = {}
        for index, field_name in enumerate(DETAIL_COLUMNS):
            field = Lead._fields[field_name]
            if field.type != "many2one":
                continue
            ids = {row[index] for rows in rows_by_user.values() for row in rows} - {None}
            # departments of other companies' salespeople may be unreadable: only names leave
            records = self.env[field.comodel_name].browse(ids)
            if field_name == "department_id":
                records = records.sudo()
            names[field_name] = dict(zip(records.ids, records.mapped("display_name"), strict=True))
        return rows_by_user, names

    def _get_pdf_detail_limit(self):
        return self.env["res.config.settings"]._get_sales_process_setting(
            "sales_process_forecast_pdf_detail_limit"
        )

    def _get_report_data(self):
        """Everything the PDF shows: summary, filters and (below the limit) details."""
        self.ensure_one()
        summary = self._get_forecast_summary()
        count = summary["total"]["count"]
        limit = self._get_pdf_detail_limit()
        with_details = count <= limit
        details = []
        if with_details and count:
            leads_by_user = self._get_forecast_leads().grouped("user_id")
            details = [(line, leads_by_user.get(line["record"], [])) for line in summary["user_id"]]
        return {
            "summary": summary,
            "filters": self._get_filter_descriptions(),
            "with_details": with_details,
            "detail_limit": limit,
            "details": details,
        }

    def _get_filter_descriptions(self):
        """[(label, value)] describing the filters, for the report headers."""
        self.ensure_one()
        return self.env["crm.sales.process.analysis"]._get_filter_descriptions(
            {
                "company_id": self.company_id.ids,
                "date_from": self.date_from,
                "date_to": self.date_to,
                "team_ids": self.team_ids.ids,
                "department_ids": self.department_ids.ids,
                "user_ids": self.user_ids.ids,
                "process_ids": self.process_ids.ids,
            },
            period_label=self.env._("Expected closing"),
            all_time_label=self.env._("Any"),
        )

    def _get_summary_sections(self):
        # (groupby, title, column); a dict: the term extractor misreads consecutive tuples
        sections = {
            "user_id": (self.env._("Per salesperson"), self.env._("Salesperson")),
            "department_id": (self.env._("Per department"), self.env._("Department")),
            "team_id": (self.env._("Per sales team"), self.env._("Sales Team")),
        }
        return [(groupby, title, column) for groupby, (title, column) in sections.items()]
