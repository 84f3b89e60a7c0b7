# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The pipeline review: what changed between two snapshots.

``get_pipeline_changes`` walks the lines of two snapshots opportunity by opportunity and puts
each in one change (see CHANGE_KEYS), so that the start value plus the changes' values is the
end value, whatever the filters; beside them it counts moves, slips and category changes,
which do not change the value. Only the lines the user may read count (they follow their
opportunity, see crm.sales.forecast.snapshot.line).

Filters are the analysis's dict (``team_ids``, ``user_ids``, ``department_ids``,
``process_ids``) with an optional ``date_deadline_from`` / ``date_deadline_to``: they apply to
each line as it was in its snapshot.
"""

from datetime import timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, format_date

from .tools import check_record_ids, parse_date_argument

# The changes, in the order the review shows them: in the end snapshot only (new, pulled in),
# in both (increased, decreased), in the start snapshot only (won, lost, pushed out, removed)
CHANGE_KEYS = [
    "new",
    "pulled_in",
    "increased",
    "decreased",
    "won",
    "lost",
    "pushed_out",
    "removed",
]
# Counted beside the changes, without a value of their own
COUNT_KEYS = ["moved_forward", "moved_backward", "slipped", "category_changed"]
# Snapshots the review screen offers: two years of weekly ones
REVIEW_SNAPSHOTS = 104
# Line columns the review reads, in this order
LINE_COLUMNS = [
    "id",
    "snapshot_id",
    "lead_id",
    "user_id",
    "team_id",
    "department_id",
    "sales_process_id",
    "sales_process_step_id",
    "expected_revenue",
    "forecast_category",
    "date_deadline",
]
# Filters on ids: the line's column for each
ID_FILTERS = {
    "team_ids": "team_id",
    "user_ids": "user_id",
    "department_ids": "department_id",
    "process_ids": "sales_process_id",
}


def to_decimal(amount):
    """An amount as read from the database (Odoo reads numeric columns as floats) as the
    decimal it stands for, so that sums and differences are exact."""
    return Decimal(str(amount or 0))


class CrmSalesForecastSnapshot(models.Model):
    _inherit = "crm.sales.forecast.snapshot"

    @api.model
    @api.readonly
    def get_pipeline_changes(self, snapshot_from, snapshot_to, filters=None):
        """What changed between two snapshots (ids) of a company, inside ``filters``.

        :returns: ``{"snapshot_from": {"id", "name", "date"}, "snapshot_to": {…},
            "currency_id", "start_value", "end_value", "changes": [{"key", "label", "count",
            "value", "details"}] (CHANGE_KEYS order), "counts": [{"key", "label", "count",
            "details"}] (COUNT_KEYS order)}``; ``start_value + Σ value = end_value``.
            ``details`` is a window action opening the opportunities behind the figure.
        """
        start, end = self._get_review_snapshots(snapshot_from, snapshot_to)
        filters = self._normalize_review_filters(filters)
        groups, values, start_value, end_value = self._classify_pipeline_changes(
            start, end, filters
        )
        labels = self._get_change_labels()
        return {
            "snapshot_from": start._get_review_snapshot_info(),
            "snapshot_to": end._get_review_snapshot_info(),
            "currency_id": start.currency_id.id,
            "start_value": float(start_value),
            "end_value": float(end_value),
            "changes": [
                {
                    "key": key,
                    "label": labels[key],
                    "count": len(groups[key]),
                    "value": float(values[key]),
                    "details": self._get_change_action(labels[key], groups[key]),
                }
                for key in CHANGE_KEYS
            ],
            "counts": [
                {
                    "key": key,
                    "label": labels[key],
                    "count": len(groups[key]),
                    "details": self._get_change_action(labels[key], groups[key]),
                }
                for key in COUNT_KEYS
            ],
        }

    @api.model
    @api.readonly
    def get_review_options(self):
        """What the Pipeline Review screen offers: the snapshots of the current company (latest
        first, at most two years of weekly ones), the two it compares first (the latest and the
        latest taken four weeks or more before it, else the oldest), the analysis's filters, and
        the trend of the pipeline over those snapshots."""
        snapshots = self.search([("company_id", "=", self.env.company.id)], limit=REVIEW_SNAPSHOTS)
        latest = snapshots[:1]
        earlier = (
            snapshots.filtered(lambda snapshot: snapshot.date <= latest.date - timedelta(weeks=4))[
                :1
            ]
            or snapshots[-1:]
        )
        return {
            "snapshots": [snapshot._get_review_snapshot_info() for snapshot in snapshots],
            "snapshot_from": earlier.id or False,
            "snapshot_to": latest.id or False,
            "currency_id": self.env.company.currency_id.id,
            "filters": self.env["crm.sales.process.analysis"].get_filter_options(),
            "trend": [
                {
                    "id": snapshot.id,
                    "date": fields.Datetime.to_string(snapshot.date),
                    "pipeline_value": snapshot.pipeline_value,
                    "weighted_value": snapshot.weighted_value,
                }
                for snapshot in reversed(snapshots)
            ],
        }

    @api.model
    @api.readonly
    def action_open_pipeline_change(self, snapshot_from, snapshot_to, key, filters=None):
        """The opportunities behind one change or count of ``get_pipeline_changes``."""
        if key not in CHANGE_KEYS + COUNT_KEYS:
            raise UserError(
                self.env._(
                    "“%(key)s” is no change of the pipeline review; choose one of %(keys)s.",
                    key=key,
                    keys=", ".join(CHANGE_KEYS + COUNT_KEYS),
                )
            )
        start, end = self._get_review_snapshots(snapshot_from, snapshot_to)
        groups = self._classify_pipeline_changes(
            start, end, self._normalize_review_filters(filters)
        )[0]
        return self._get_change_action(self._get_change_labels()[key], groups[key])

    @api.model
    @api.readonly
    def action_print_review_pdf(self, snapshot_from, snapshot_to, filters=None, groupby="user_id"):
        """The PDF of the review for the screen's choices (its Print PDF button)."""
        start, end = self._get_review_snapshots(snapshot_from, snapshot_to)
        report = self.env.ref("crm_sales_process.crm_sales_forecast_review_report_action")
        data = {
            "snapshot_from": start.id,
            "snapshot_to": end.id,
            "filters": filters or {},
            "groupby": groupby or False,
        }
        # config=False: print at once, without the first-time document layout dialog.
        return report.report_action(start | end, data=data, config=False)

    # ------------------------------------------------------------
    # HELPERS
    # ------------------------------------------------------------

    @api.model
    def _get_review_report_data(self, data):
        """What the review's PDF and XLSX show for the screen's choices ``data``
        (``snapshot_from``, ``snapshot_to``, ``filters``, ``groupby``): the ``changes``
        between the snapshots, the ``accuracy`` of the last 12 months (this one included),
        the ``descriptions`` of the header [(label, value)] and the forecasts' ``labels``."""
        _ = self.env._
        filters = data.get("filters") or {}
        groupby = data.get("groupby", "user_id") or False
        month = fields.Date.context_today(self).replace(day=1)
        changes = self.get_pipeline_changes(
            data.get("snapshot_from"), data.get("snapshot_to"), filters
        )
        accuracy = self.get_forecast_accuracy(
            month - relativedelta(months=11),
            month + relativedelta(months=1, days=-1),
            groupby,
            filters,
        )
        normalized = self._normalize_review_filters(filters)
        # the analysis's header, its period being the expected closing one
        descriptions = self.env["crm.sales.process.analysis"]._get_filter_descriptions(
            dict(
                normalized,
                date_from=normalized["date_deadline_from"],
                date_to=normalized["date_deadline_to"],
            ),
            period_label=_("Expected closing"),
            all_time_label=_("Any date"),
        )
        labels = self._get_accuracy_labels()
        return {
            "changes": changes,
            "accuracy": accuracy,
            "labels": labels,
            "descriptions": [
                (_("Start snapshot"), changes["snapshot_from"]["name"]),
                (_("End snapshot"), changes["snapshot_to"]["name"]),
                *descriptions,
                (_("Forecast accuracy"), labels[groupby or "total"]),
            ],
        }

    @api.model
    def _get_review_snapshots(self, snapshot_from, snapshot_to):
        """The two snapshots compared, readable, of one company, the first not later."""
        start = check_record_ids(self.env, self._name, snapshot_from, self.env._("Start snapshot"))
        end = check_record_ids(self.env, self._name, snapshot_to, self.env._("End snapshot"))
        if not start or not end:
            raise UserError(self.env._("Choose two pipeline snapshots to compare."))
        (start | end).check_access("read")
        if start.company_id != end.company_id:
            raise UserError(
                self.env._(
                    "Snapshots of %(company_from)s and %(company_to)s cannot be compared: "
                    "choose two snapshots of the same company.",
                    company_from=start.company_id.display_name,
                    company_to=end.company_id.display_name,
                )
            )
        if start.date > end.date:
            raise UserError(
                self.env._(
                    "The start snapshot (%(start)s) is later than the end snapshot (%(end)s): "
                    "choose the earlier one first.",
                    start=start.display_name,
                    end=end.display_name,
                )
            )
        return start, end

    @api.model
    def _normalize_review_filters(self, filters):
        """The analysis's filters plus the expected closing period."""
        Analysis = self.env["crm.sales.process.analysis"]
        normalized = Analysis._normalize_filters(
            {key: value for key, value in (filters or {}).items() if key in ID_FILTERS}
            if isinstance(filters, dict)
            else filters
        )
        filters = filters or {}
        for key in ("date_deadline_from", "date_deadline_to"):
            normalized[key] = parse_date_argument(self.env, filters.get(key))
        if (
            normalized["date_deadline_from"]
            and normalized["date_deadline_to"]
            and normalized["date_deadline_from"] > normalized["date_deadline_to"]
        ):
            raise UserError(
                self.env._(
                    "The expected closing period starts on %(date_from)s, after its end "
                    "%(date_to)s. Choose a start date on or before the end date.",
                    date_from=format_date(self.env, normalized["date_deadline_from"]),
                    date_to=format_date(self.env, normalized["date_deadline_to"]),
                )
            )
        return normalized

    def _get_review_snapshot_info(self):
        self.ensure_one()
        return {
            "id": self.id,
            "name": self.display_name,
            "date": fields.Datetime.to_string(self.date),
        }

    def _read_review_lines(self, snapshots):
        """{snapshot id: {lead key: line dict}} of the lines of ``snapshots`` the user may read,
        in one query (a line of a deleted opportunity is keyed by its own id)."""
        Line = self.env["crm.sales.forecast.snapshot.line"]
        query = Line._search([("snapshot_id", "in", snapshots.ids)])
        self.env.cr.execute(
            SQL(
                "SELECT %s FROM crm_sales_forecast_snapshot_line WHERE id IN %s",
                SQL(", ").join(SQL.identifier(column) for column in LINE_COLUMNS),
                query.subselect(),
            )
        )
        lines = {snapshot.id: {} for snapshot in snapshots}
        for row in self.env.cr.fetchall():
            line = dict(zip(LINE_COLUMNS, row, strict=True))
            key = line["lead_id"] or ("line", line["id"])
            lines[line["snapshot_id"]][key] = line
        return lines

    @api.model
    def _line_in_filters(self, line, filters):
        if line is None:
            return False
        for key, column in ID_FILTERS.items():
            if filters[key] and line[column] not in filters[key]:
                return False
        deadline = line["date_deadline"]
        date_from, date_to = filters["date_deadline_from"], filters["date_deadline_to"]
        if (date_from or date_to) and not deadline:
            return False
        return not (date_from and deadline < date_from or date_to and deadline > date_to)

    def _classify_pipeline_changes(self, start, end, filters):
        """``(groups, values, start_value, end_value)``: the lead ids of each change and
        count, the value of each change (Decimal, exact), the start and end values."""
        lines = self._read_review_lines(start | end)
        start_lines, end_lines = lines[start.id], lines[end.id]
        groups = {key: [] for key in CHANGE_KEYS + COUNT_KEYS}
        values = dict.fromkeys(CHANGE_KEYS, Decimal(0))
        start_value = end_value = Decimal(0)
        leads = self._get_review_lead_states(start_lines.keys() ^ end_lines.keys())
        step_order = self._get_review_step_order(start_lines, end_lines)
        for key in start_lines.keys() | end_lines.keys():
            before, after = start_lines.get(key), end_lines.get(key)
            was_in, is_in = (
                self._line_in_filters(before, filters),
                self._line_in_filters(after, filters),
            )
            if not (was_in or is_in):
                continue
            amount_before = to_decimal(before["expected_revenue"] if was_in else 0)
            amount_after = to_decimal(after["expected_revenue"] if is_in else 0)
            start_value += amount_before
            end_value += amount_after
            change = self._get_line_change(before, after, was_in, is_in, leads.get(key), start, end)
            lead_id = key if isinstance(key, int) else None
            if change == "increased" and amount_after == amount_before:
                change = None
            elif change == "increased" and amount_after < amount_before:
                change = "decreased"
            if change:
                groups[change].append(lead_id)
                values[change] += amount_after - amount_before
            if before and after:
                for count in self._get_line_counts(before, after, step_order):
                    groups[count].append(lead_id)
        return groups, values, start_value, end_value

    @api.model
    def _get_line_change(self, before, after, was_in, is_in, lead, start, end):
        """The change of one opportunity (CHANGE_KEYS), None when its value did not change."""
        if was_in and is_in:
            return "increased"  # or decreased, by the sign of the difference
        if is_in:
            if before or (lead and lead["create_date"] < start.date):
                return "pulled_in"
            return "new"
        if after:
            return "pushed_out"
        closed = lead and lead["date_closed"] and lead["date_closed"] <= end.date
        if closed and lead["won_status"] in ("won", "lost"):
            return lead["won_status"]
        return "removed"

    @api.model
    def _get_line_counts(self, before, after, step_order):
        """The counts (COUNT_KEYS) one opportunity in both snapshots adds to."""
        counts = []
        step_before, step_after = before["sales_process_step_id"], after["sales_process_step_id"]
        if (
            step_before
            and step_after
            and step_before != step_after
            and before["sales_process_id"] == after["sales_process_id"]
            and step_before in step_order
            and step_after in step_order
        ):
            forward = step_order[step_after] > step_order[step_before]
            counts.append("moved_forward" if forward else "moved_backward")
        if (
            before["date_deadline"]
            and after["date_deadline"]
            and after["date_deadline"] > before["date_deadline"]
        ):
            counts.append("slipped")
        if before["forecast_category"] != after["forecast_category"]:
            counts.append("category_changed")
        return counts

    @api.model
    def _get_review_lead_states(self, keys):
        """{lead id: {"create_date", "won_status", "date_closed"}} of the opportunities in one
        snapshot only, archived ones included. In SQL: the user reads their snapshot lines,
        which follow the opportunities' own access."""
        lead_ids = sorted(key for key in keys if isinstance(key, int))
        if not lead_ids:
            return {}
        self.env["crm.lead"].flush_model(["create_date", "won_status", "date_closed"])
        self.env.cr.execute(
            SQL(
                "SELECT id, create_date, won_status, date_closed FROM crm_lead WHERE id = ANY(%s)",
                lead_ids,
            )
        )
        return {
            lead_id: {"create_date": created, "won_status": status, "date_closed": closed}
            for lead_id, created, status, closed in self.env.cr.fetchall()
        }

    @api.model
    def _get_review_step_order(self, *line_sets):
        """{step id: position} of the steps of the lines, in their process's order."""
        step_ids = {
            line["sales_process_step_id"]
            for lines in line_sets
            for line in lines.values()
            if line["sales_process_step_id"]
        }
        steps = self.env["crm.sales.process.step"].sudo().browse(step_ids).exists()
        return {step.id: (step.sequence, step.id) for step in steps}

    @api.model
    def _get_change_labels(self):
        _ = self.env._
        return {
            "new": _("New"),
            "pulled_in": _("Pulled In"),
            "increased": _("Increased"),
            "decreased": _("Decreased"),
            "won": _("Won"),
            "lost": _("Lost"),
            "pushed_out": _("Pushed Out"),
            "removed": _("Removed"),
            "moved_forward": _("Moved Forward"),
            "moved_backward": _("Moved Back"),
            "slipped": _("Slipped"),
            "category_changed": _("Category Changed"),
        }

    @api.model
    def _get_change_action(self, label, lead_ids):
        """A window action on the opportunities (lost and archived ones included)."""
        return {
            "type": "ir.actions.act_window",
            "name": label,
            "res_model": "crm.lead",
            "views": [[False, "list"], [False, "form"]],
            "domain": [("id", "in", sorted({lead_id for lead_id in lead_ids if lead_id}))],
            "context": {"active_test": False},
        }
