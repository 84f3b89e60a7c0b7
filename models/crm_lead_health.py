# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Deal health: a score from 0 to 100 for open opportunities on a sales process, with its
reasons, computed for a batch at once (a constant number of queries).

The score starts at 100 and loses, for each reason that applies (``HEALTH_PENALTIES``):

* **slow in its step**: 15 when it has been on its step longer than the step's median stay
  (of the stays that left it, from the step history), 30 when more than twice as long;
* **overdue key activities**: 15 per key activity of its step still open past its deadline,
  at most 30;
* **expected closing**: 20 when the expected closing date is past; 10 when it was pushed
  later more than once (``sales_process_deadline_slips``);
* **exit criteria missing**: 5 per exit criterion of its step not met yet, at most 20.

At or above 75 it is healthy (green), from 50 orange, below 50 at risk (red).
"""

from math import isfinite

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.tools import SQL

HEALTH_PENALTIES = {
    "slow": 15,
    "very_slow": 30,
    "overdue_activity": 15,
    "overdue_activities_max": 30,
    "closing_past": 20,
    "closing_slipped": 10,
    "criterion_missing": 5,
    "criteria_missing_max": 20,
}
# Score bands: green from HEALTHY, orange from AT_RISK, red below.
HEALTHY = 75
AT_RISK = 50
SEARCH_OPERATORS = {
    "<": lambda score, value: score < value,
    "<=": lambda score, value: score <= value,
    ">": lambda score, value: score > value,
    ">=": lambda score, value: score >= value,
    "=": lambda score, value: score == value,
    "!=": lambda score, value: score != value,
}


class CrmLead(models.Model):
    _inherit = "crm.lead"

    health_score = fields.Integer(
        string="Health",
        compute="_compute_health",
        search="_search_health_score",
        help="0-100 for open opportunities on a sales process: 100 less a penalty for each "
        "warning sign (slow in its step, overdue key activities, expected closing past or "
        "pushed back more than once, exit criteria missing). Below 50: at risk.",
    )
    health_reasons = fields.Text(string="Health Warnings", compute="_compute_health")
    health_color = fields.Selection(
        [("green", "Healthy"), ("orange", "Watch"), ("red", "At Risk")],
        string="Health Colour",
        compute="_compute_health",
    )
    # How many times the expected closing date was pushed later (deal health)
    sales_process_deadline_slips = fields.Integer(
        string="Expected Closing Pushed Back", copy=False, readonly=True
    )

    @api.depends(
        "sales_process_step_id",
        "won_status",
        "active",
        "date_deadline",
        "date_last_stage_update",
        "sales_process_deadline_slips",
        "activity_ids",
    )
    def _compute_health(self):
        reasons = self._get_health_reasons()
        for lead in self:
            lead_reasons = reasons.get(lead._origin.id)
            if lead_reasons is None:
                lead.health_score, lead.health_reasons, lead.health_color = 0, False, False
                continue
            score = max(0, 100 - sum(penalty for penalty, _text in lead_reasons))
            lead.health_score = score
            lead.health_reasons = "\n".join(text for _penalty, text in lead_reasons) or False
            lead.health_color = (
                "green" if score >= HEALTHY else "orange" if score >= AT_RISK else "red"
            )

    def _search_health_score(self, operator, value):
        """Open opportunities on a process whose score compares to ``value`` (a number):
        their scores computed in batch (the score depends on today, it is not stored).
        Opportunities without a health (closed, without a process) match no condition. The
        ORM hands ``=``/``!=`` over as ``in``/``not in``."""
        if operator in ("in", "not in"):
            values = {self._parse_health_value(item or 0) for item in value}
            positive = operator == "in"

            def matches(score):
                return (score in values) == positive

        elif operator in SEARCH_OPERATORS:
            number = self._parse_health_value(value)

            def matches(score):
                return SEARCH_OPERATORS[operator](score, number)

        else:
            raise UserError(self._get_health_search_error())
        reasons = self.search(self._get_health_domain())._get_health_reasons()
        return Domain(
            "id",
            "in",
            [
                lead_id
                for lead_id, lead_reasons in reasons.items()
                if matches(max(0, 100 - sum(penalty for penalty, _text in lead_reasons)))
            ],
        )

    def _parse_health_value(self, value):
        if isinstance(value, bool) or not isinstance(value, int | float) or not isfinite(value):
            raise UserError(self._get_health_search_error())
        return value

    def _get_health_search_error(self):
        return self.env._("Health can only be compared with >=, <=, >, <, = or != and a number.")

    def write(self, vals):
        slipped = self.browse()
        if isinstance(vals, dict) and vals.get("date_deadline"):
            try:
                new_deadline = fields.Date.to_date(vals["date_deadline"])
            except (TypeError, ValueError):
                new_deadline = None  # refused by the values' check in write()
            if new_deadline:
                slipped = self.filtered(
                    lambda lead: lead.sales_process_id
                    and lead.date_deadline
                    and new_deadline > lead.date_deadline
                )
        result = super().write(vals)
        if slipped:
            self.env.execute_query(
                SQL(
                    "UPDATE crm_lead SET sales_process_deadline_slips ="
                    " COALESCE(sales_process_deadline_slips, 0) + 1 WHERE id = ANY(%s)",
                    slipped.ids,
                )
            )
            slipped.invalidate_recordset(["sales_process_deadline_slips"])
        return result

    @api.model
    def _get_health_domain(self):
        """The opportunities that have a health: open, on a sales process."""
        return [
            ("type", "=", "opportunity"),
            ("sales_process_step_id", "!=", False),
            ("won_status", "=", "pending"),
            ("active", "=", True),
        ]

    def _get_health_reasons(self):
        """{lead id: [(penalty, reason)]} for those of these leads that have a health (see
        ``_get_health_domain``): the medians of their steps in one grouped query, their key
        activities in one, their exit criteria per step."""
        leads = self.filtered(
            lambda lead: lead._origin.id
            and lead.type == "opportunity"
            and lead.sales_process_step_id
            and lead.won_status == "pending"
            and lead.active
        )
        if not leads:
            return {}
        _ = self.env._
        medians = leads.sales_process_step_id._origin._get_median_stay_days()
        today = fields.Date.context_today(self)
        now = fields.Datetime.now()
        checklists = leads._get_sales_process_checklist_data()
        result = {}
        for lead in leads:
            reasons = []
            median = medians.get(lead.sales_process_step_id.id)
            days = (now - (lead.date_last_stage_update or lead.create_date)).total_seconds() / 86400
            if median and days > median:
                very = days > 2 * median
                reasons.append(
                    (
                        HEALTH_PENALTIES["very_slow" if very else "slow"],
                        _(
                            "%(days)s days on its step, the median stay is %(median)s",
                            days=int(days),
                            median=round(median, 1),
                        ),
                    )
                )
            states, criteria = checklists.get(lead, ([], []))
            overdue = [
                template.summary
                for template, activity in states
                if activity and activity.active and activity.date_deadline < today
            ]
            if overdue:
                reasons.append(
                    (
                        min(
                            HEALTH_PENALTIES["overdue_activity"] * len(overdue),
                            HEALTH_PENALTIES["overdue_activities_max"],
                        ),
                        _("Overdue key activities: %(names)s", names=", ".join(overdue)),
                    )
                )
            reasons += lead._get_health_closing_reasons(today)
            missing = [label for label, met in criteria if not met]
            if missing:
                reasons.append(
                    (
                        min(
                            HEALTH_PENALTIES["criterion_missing"] * len(missing),
                            HEALTH_PENALTIES["criteria_missing_max"],
                        ),
                        _("Exit criteria missing: %(names)s", names=", ".join(missing)),
                    )
                )
            result[lead._origin.id] = reasons
        return result

    def _get_health_closing_reasons(self, today):
        """The warnings of the expected closing date: past, pushed back more than once."""
        self.ensure_one()
        reasons = []
        if self.date_deadline and self.date_deadline < today:
            reasons.append(
                (HEALTH_PENALTIES["closing_past"], self.env._("Expected closing date is past"))
            )
        if self.sales_process_deadline_slips > 1:
            reasons.append(
                (
                    HEALTH_PENALTIES["closing_slipped"],
                    self.env._(
                        "Expected closing pushed back %(count)s times",
                        count=self.sales_process_deadline_slips,
                    ),
                )
            )
        return reasons
