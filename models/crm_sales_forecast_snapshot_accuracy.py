# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Forecast accuracy: the forecasts the snapshots held against what was won.

For each calendar month M of the period, the call is the latest snapshot (of each current
company) taken on or before the first day of M; its lines expected to close in M give three
forecasts, scored against the opportunities won with a closing date in M:

* ``process``: Σ expected revenue × the step's percentage (the line's probability),
* ``predictive``: Σ expected revenue × Odoo's predictive probability,
* ``commit``: Σ expected revenue of the lines in forecast category Commit.

Forecast lines are grouped as they were in the call, won opportunities as they are now.
"""

from datetime import timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.tools import SQL, format_date

from .crm_sales_forecast_snapshot_review import ID_FILTERS, to_decimal
from .tools import parse_date_argument

FORECASTS = ["process", "predictive", "commit"]
# Groupings of the accuracy: the column (of the lines and of the opportunities) and its model
ACCURACY_GROUPBY = {
    "user_id": "res.users",
    "team_id": "crm.team",
    "department_id": "hr.department",
    "sales_process_id": "crm.sales.process",
}


class CrmSalesForecastSnapshot(models.Model):
    _inherit = "crm.sales.forecast.snapshot"

    @api.model
    @api.readonly
    def get_forecast_accuracy(self, date_from, date_to, groupby="user_id", filters=None):
        """The three forecasts of each month from ``date_from`` to ``date_to`` (ISO dates,
        whole calendar months) against the won revenue, per group (``groupby``: user_id,
        team_id, department_id, sales_process_id, or False for the total).

        :returns: ``{"forecasts": FORECASTS, "months": ["YYYY-MM"], "missing_months":
            ["YYYY-MM"], "rows": [{"group_id", "group_name", "month", "actual", "process",
            "predictive", "commit", "<forecast>_error", "<forecast>_error_pct"}],
            "summaries": [{"group_id", "group_name", "actual", <forecasts>,
            "<forecast>_mape", "closest"}]}``; an error percentage is None when nothing was
            won, a MAPE None without such a percentage, ``closest`` the forecast with the
            lowest MAPE.
        """
        months = self._get_accuracy_months(date_from, date_to)
        if groupby and groupby not in ACCURACY_GROUPBY:
            raise UserError(
                self.env._(
                    "The forecast accuracy cannot be grouped by “%(groupby)s”; choose one of "
                    "%(choices)s.",
                    groupby=groupby,
                    choices=", ".join(ACCURACY_GROUPBY),
                )
            )
        filters = self._normalize_review_filters(filters)
        calls = self._get_accuracy_calls(months)
        forecasts = self._read_accuracy_forecasts(calls, months, groupby, filters)
        actuals = self._read_accuracy_actuals(months, groupby, filters)
        covered = [month for month in months if calls[month]]
        group_ids = sorted(
            {group for group, month in forecasts.keys() | actuals.keys() if month in covered},
            key=lambda group: (group is None, group or 0),
        )
        names = self._get_accuracy_group_names(groupby, group_ids)
        rows, summaries = [], []
        for group_id in group_ids:
            group_rows = [
                self._prepare_accuracy_row(
                    group_id,
                    names,
                    month,
                    actuals.get((group_id, month), Decimal(0)),
                    forecasts.get((group_id, month), {}),
                )
                for month in covered
            ]
            rows += group_rows
            summaries.append(self._prepare_accuracy_summary(group_id, names, group_rows))
        return {
            "forecasts": FORECASTS,
            "months": [self._month_key(month) for month in months],
            "missing_months": [self._month_key(month) for month in months if not calls[month]],
            "rows": rows,
            "summaries": summaries,
        }

    # ------------------------------------------------------------
    # HELPERS
    # ------------------------------------------------------------

    @api.model
    def _get_accuracy_months(self, date_from, date_to):
        """First days of the calendar months from ``date_from`` to ``date_to``."""
        start = parse_date_argument(self.env, date_from)
        end = parse_date_argument(self.env, date_to)
        if not start or not end:
            raise UserError(self.env._("Give the first and the last month of the period."))
        if start > end:
            raise UserError(
                self.env._(
                    "The period starts on %(date_from)s, after its end %(date_to)s. Choose a "
                    "start date on or before the end date.",
                    date_from=format_date(self.env, start),
                    date_to=format_date(self.env, end),
                )
            )
        month, months = start.replace(day=1), []
        while month <= end:
            months.append(month)
            month += relativedelta(months=1)
        return months

    @api.model
    def _get_accuracy_labels(self):
        """Labels of the forecasts (FORECASTS) and of the groupings (ACCURACY_GROUPBY, and
        ``total``) in the review's reports."""
        _ = self.env._
        return {
            "process": _("Process"),
            "predictive": _("Predictive"),
            "commit": _("Commit"),
            "user_id": _("Per Salesperson"),
            "team_id": _("Per Sales Team"),
            "department_id": _("Per Department"),
            "sales_process_id": _("Per Sales Process"),
            "total": _("Total"),
        }

    @api.model
    def _month_key(self, month):
        return f"{month:%Y-%m}"

    @api.model
    def _get_accuracy_calls(self, months):
        """{month: snapshot}: the current company's latest snapshot taken on or before the
        first day of the month (readable snapshots, in one search). One company: its figures
        are in its currency, as the screen and the reports show them."""
        last_day = fields.Datetime.to_datetime(months[-1]) + timedelta(days=1)
        snapshots = self.search(
            [("company_id", "=", self.env.company.id), ("date", "<", last_day)],
            order="date desc, id desc",
        )
        calls = {}
        for month in months:
            until = fields.Datetime.to_datetime(month) + timedelta(days=1)
            calls[month] = next(
                (snapshot for snapshot in snapshots if snapshot.date < until), self.browse()
            )
        return calls

    @api.model
    def _get_filter_domain(self, filters, prefix=""):
        """The id filters as a domain on the lines (or on the opportunities)."""
        domain = Domain.TRUE
        for key, column in ID_FILTERS.items():
            if filters[key]:
                domain &= Domain(prefix + column, "in", filters[key])
        return domain

    @api.model
    def _read_accuracy_forecasts(self, calls, months, groupby, filters):
        """{(group, month): {forecast: Decimal}} of the calls' lines expected to close in the
        month of their call, in one query."""
        call_months = [(snapshot.id, month) for month in months for snapshot in calls[month]]
        if not call_months:
            return {}
        Line = self.env["crm.sales.forecast.snapshot.line"]
        query = Line._search(
            Domain("snapshot_id", "in", [snapshot_id for snapshot_id, _month in call_months])
            & Domain("date_deadline", ">=", months[0])
            & Domain("date_deadline", "<", months[-1] + relativedelta(months=1))
            & self._get_filter_domain(filters)
        )
        group = SQL.identifier("line", groupby) if groupby else SQL("NULL::int")
        self.env.cr.execute(
            SQL(
                """
                SELECT %(group)s, call.month,
                       SUM(line.expected_revenue * line.probability::numeric / 100),
                       SUM(line.expected_revenue * line.automated_probability::numeric / 100),
                       SUM(CASE WHEN line.forecast_category = 'commit'
                                THEN line.expected_revenue ELSE 0 END)
                  FROM crm_sales_forecast_snapshot_line line
                  JOIN (VALUES %(calls)s) AS call (snapshot_id, month)
                    ON call.snapshot_id = line.snapshot_id
                   AND date_trunc('month', line.date_deadline)::date = call.month
                 WHERE line.id IN %(lines)s
                 GROUP BY 1, 2
                """,
                group=group,
                calls=SQL(", ").join(
                    SQL("(%s, %s::date)", snapshot_id, month) for snapshot_id, month in call_months
                ),
                lines=query.subselect(),
            )
        )
        return {
            (group_id, month): dict(zip(FORECASTS, map(to_decimal, sums), strict=True))
            for group_id, month, *sums in self.env.cr.fetchall()
        }

    @api.model
    def _read_accuracy_actuals(self, months, groupby, filters):
        """{(group, month): Decimal}: expected revenue of the opportunities won in the month,
        in one query (those the user may read, of the current company)."""
        start = fields.Datetime.to_datetime(months[0])
        end = fields.Datetime.to_datetime(months[-1] + relativedelta(months=1))
        query = self.env["crm.lead"]._search(
            Domain("type", "=", "opportunity")
            & Domain("won_status", "=", "won")
            & Domain("company_id", "=", self.env.company.id)
            & Domain("date_closed", ">=", start)
            & Domain("date_closed", "<", end)
            & self._get_filter_domain(filters)
        )
        group = SQL.identifier("lead", groupby) if groupby else SQL("NULL::int")
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT %s, date_trunc('month', lead.date_closed)::date,
                       SUM(COALESCE(lead.expected_revenue, 0))
                  FROM crm_lead lead
                 WHERE lead.id IN %s
                 GROUP BY 1, 2
                """,
                group,
                query.subselect(),
            )
        )
        return {
            (group_id, month): to_decimal(total)
            for group_id, month, total in self.env.cr.fetchall()
        }

    @api.model
    def _get_accuracy_group_names(self, groupby, group_ids):
        if not groupby:
            return {None: self.env._("Total")}
        records = (
            self.env[ACCURACY_GROUPBY[groupby]]
            .sudo()
            .browse([group_id for group_id in group_ids if group_id])
        )
        names = {record.id: record.display_name for record in records.exists()}
        names[None] = self.env._("None")
        return names

    @api.model
    def _prepare_accuracy_row(self, group_id, names, month, actual, forecasts):
        row = {
            "group_id": group_id or False,
            "group_name": names.get(group_id, ""),
            "month": self._month_key(month),
            "actual": float(actual),
        }
        for forecast in FORECASTS:
            value = forecasts.get(forecast) or Decimal(0)
            error = value - actual
            row[forecast] = float(value)
            row[f"{forecast}_error"] = float(error)
            row[f"{forecast}_error_pct"] = float(error / actual * 100) if actual else None
        return row

    @api.model
    def _prepare_accuracy_summary(self, group_id, names, rows):
        """The group's totals and each forecast's mean absolute percentage error."""
        summary = {
            "group_id": group_id or False,
            "group_name": names.get(group_id, ""),
            "actual": sum(row["actual"] for row in rows),
        }
        for forecast in FORECASTS:
            summary[forecast] = sum(row[forecast] for row in rows)
            errors = [
                abs(row[f"{forecast}_error_pct"])
                for row in rows
                if row[f"{forecast}_error_pct"] is not None
            ]
            summary[f"{forecast}_mape"] = sum(errors) / len(errors) if errors else None
        scored = [forecast for forecast in FORECASTS if summary[f"{forecast}_mape"] is not None]
        summary["closest"] = (
            min(scored, key=lambda forecast: summary[f"{forecast}_mape"]) if scored else False
        )
        return summary
