# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The KPI definitions of ``get_kpis``: the one place to add a KPI (see the docstring of
``crm_sales_process_kpi``, which computes them)."""

from odoo import api, models

from .crm_lead_forecast import CATEGORY_FIGURES
from .crm_sales_process_kpi import kpi_rate


def category_figure_sql(figure):
    """The SQL of one figure of the forecast categories (CATEGORY_FIGURES): the expected
    revenue of the open opportunities in its categories."""
    categories = ", ".join(f"'{category}'" for category in sorted(CATEGORY_FIGURES[figure]))
    return (
        "SUM(lead.expected_revenue) FILTER (WHERE %(open)s"
        f" AND COALESCE(lead.forecast_category, 'pipeline') IN ({categories}))"
    )


class CrmSalesProcess(models.Model):
    _inherit = "crm.sales.process"

    @api.model
    def _get_kpi_definitions(self):
        """The KPIs of ``get_kpis``, in the order the analysis shows them (see the module's
        docstring); override and append to add one. Long because it is the list itself: one
        entry per KPI, nothing else."""
        _ = self.env._
        return [
            *self._get_kpi_outcome_definitions(),
            *self._get_kpi_cadence_definitions(),
            *self._get_kpi_forecast_definitions(),
        ]

    @api.model
    def _get_kpi_outcome_definitions(self):
        """The KPIs of the outcome: win rate, cycle, pipeline; per step, the path."""
        _ = self.env._
        return [
            # Process KPIs: the opportunities of the process
            {
                "key": "win_rate",
                "level": "process",
                "label": _("Win Rate"),
                "unit": "percent",
                "tile": True,
                "sheet": True,
                "hint": _("%(won_count)s won, %(lost_count)s lost"),
                "formula": lambda kpi: kpi_rate(
                    kpi["won_count"], kpi["won_count"] + kpi["lost_count"]
                ),
            },
            {
                "key": "avg_cycle_days",
                "level": "process",
                "label": _("Sales Cycle"),
                "unit": "days",
                "tile": True,
                "sheet": True,
                "hint": _("from creation to won"),
                "sql": "AVG(%(cycle_days)s) FILTER (WHERE %(won)s)",
            },
            {
                "key": "avg_won_amount",
                "level": "process",
                "label": _("Average Deal"),
                "unit": "monetary",
                "tile": True,
                "sheet": True,
                "hint": _("won opportunities"),
                "sql": "AVG(lead.expected_revenue) FILTER (WHERE %(won)s)",
            },
            {
                "key": "velocity_per_day",
                "level": "process",
                "label": _("Pipeline Velocity"),
                "unit": "monetary",
                "tile": True,
                "sheet": True,
                "hint": _("won revenue per day"),
                # open opportunities × win rate × average deal / sales cycle
                "formula": lambda kpi: (
                    kpi["opportunity_count"]
                    * kpi["win_rate"]
                    / 100.0
                    * kpi["avg_won_amount"]
                    / kpi["avg_cycle_days"]
                    if kpi["avg_cycle_days"]
                    else 0.0
                ),
            },
            {
                "key": "conversion_rate",
                "level": "process",
                "label": _("Conversion"),
                "unit": "percent",
                "tile": True,
                "sheet": True,
                "hint": _("created in the period and won"),
                "formula": lambda kpi: kpi_rate(kpi["created_won_count"], kpi["created_count"]),
            },
            {
                "key": "opportunity_count",
                "level": "process",
                "label": _("Open Opportunities"),
                "unit": "count",
                "tile": True,
                "sheet": True,
                "hint": _("neither won nor lost"),
                "sql": "COUNT(*) FILTER (WHERE %(open)s)",
            },
            {
                "key": "pipeline_value",
                "level": "process",
                "label": _("Pipeline"),
                "unit": "monetary",
                "tile": True,
                "sheet": True,
                "hint": _("expected revenue"),
                "sql": "SUM(lead.expected_revenue) FILTER (WHERE %(open)s)",
            },
            {
                "key": "weighted_value",
                "level": "process",
                "label": _("Weighted Pipeline"),
                "unit": "monetary",
                "tile": True,
                "sheet": True,
                "hint": _("expected revenue × probability"),
                "forecast": 4,
                "sql": "SUM(lead.prorated_revenue) FILTER (WHERE %(open)s)",
            },
            {
                "key": "won_count",
                "level": "process",
                "label": _("Won"),
                "unit": "count",
                "sheet": True,
                "sql": "COUNT(*) FILTER (WHERE %(won)s)",
            },
            {
                "key": "lost_count",
                "level": "process",
                "label": _("Lost"),
                "unit": "count",
                "sheet": True,
                "sql": "COUNT(*) FILTER (WHERE %(lost)s)",
            },
            {
                "key": "created_count",
                "level": "process",
                "unit": "count",
                "sql": "COUNT(*) FILTER (WHERE %(created)s)",
            },
            {
                "key": "created_won_count",
                "level": "process",
                "unit": "count",
                "internal": True,
                "sql": "COUNT(*) FILTER (WHERE %(created)s AND lead.won_status = 'won')",
            },
            # Step KPIs: the stays on the step
            {
                "key": "reached",
                "level": "step",
                "label": _("Reached"),
                "unit": "count",
                "column": True,
                "help": _("Opportunities that were on the step in the period"),
                "sql": "COUNT(*) FILTER (WHERE %(first_in_period)s)",
            },
            {
                "key": "moved_on",
                "level": "step",
                "label": _("Moved On"),
                "unit": "count",
                "column": True,
                "help": _("Went on to a later step or were won"),
                "sql": "COUNT(*) FILTER (WHERE %(first_in_period)s"
                " AND (stay.moved_on OR %(won_here)s))",
            },
            {
                "key": "conversion_rate",
                "level": "step",
                "label": _("Conversion to Next"),
                "unit": "percent",
                "column": True,
                "skip_last": True,
                "formula": lambda kpi: kpi_rate(kpi["moved_on"], kpi["reached"]),
            },
            {
                "key": "win_rate_from_step",
                "level": "step",
                "label": _("Win Rate from Step"),
                "unit": "percent",
                "column": True,
                "help": _("Closed opportunities that reached the step and were won"),
                "formula": lambda kpi: kpi_rate(kpi["closed_won"], kpi["closed_count"]),
            },
            {
                "key": "avg_days",
                "level": "step",
                "label": _("Average Days"),
                "unit": "days",
                "column": True,
                "sql": "AVG(stay.duration_days) FILTER (WHERE %(left)s)",
            },
            {
                "key": "median_days",
                "level": "step",
                "label": _("Median Days"),
                "unit": "days",
                "column": True,
                "median": "stay.duration_days",
                "where": "%(left)s",
            },
            {
                "key": "open_count",
                "level": "step",
                "source": "lead",
                "label": _("Open"),
                "unit": "count",
                "column": True,
                "sql": "COUNT(*) FILTER (WHERE %(open)s)",
            },
            {
                "key": "closed_count",
                "level": "step",
                "unit": "count",
                "sql": "COUNT(*) FILTER (WHERE %(first_on_step)s AND %(closed_here)s)",
            },
            {
                "key": "closed_won",
                "level": "step",
                "unit": "count",
                "internal": True,
                "sql": "COUNT(*) FILTER (WHERE %(first_on_step)s AND %(closed_here)s"
                " AND lead.won_status = 'won')",
            },
        ]

    @api.model
    def _get_kpi_forecast_definitions(self):
        """The forecast categories' figures, as the forecast wizard has them per salesperson:
        commit, best case, pipeline (beside the weighted pipeline) and won in the period."""
        _ = self.env._
        return [
            {
                "key": "commit_revenue",
                "level": "process",
                "label": _("Commit"),
                "unit": "monetary",
                "forecast": 1,
                "sheet": True,
                "hint": _("open, in Commit"),
                "sql": category_figure_sql("commit_revenue"),
            },
            {
                "key": "best_case_revenue",
                "level": "process",
                "label": _("Best Case"),
                "unit": "monetary",
                "forecast": 2,
                "sheet": True,
                "hint": _("Commit and Best Case"),
                "sql": category_figure_sql("best_case_revenue"),
            },
            {
                "key": "pipeline_revenue",
                "level": "process",
                "label": _("Forecast Pipeline"),
                "unit": "monetary",
                "forecast": 3,
                "sheet": True,
                "hint": _("open, all but Omitted"),
                "sql": category_figure_sql("pipeline_revenue"),
            },
            {
                "key": "won_revenue",
                "level": "process",
                "label": _("Won in Period"),
                "unit": "monetary",
                "forecast": 5,
                "sheet": True,
                "hint": _("expected revenue of the won"),
                "sql": "SUM(lead.expected_revenue) FILTER (WHERE %(won)s)",
            },
        ]

    @api.model
    def _get_kpi_cadence_definitions(self):
        """The KPIs of speed and cadence: time to respond, key activities done on time and
        the win rate it buys, stalled deals, customer value."""
        _ = self.env._
        return [
            {
                "key": "avg_response_hours",
                "level": "process",
                "label": _("Time to Respond"),
                "unit": "hours",
                "tile": True,
                "sheet": True,
                "hint": _("working hours, median %(median_response_hours)s"),
                "sql": "AVG(lead.response_hours) FILTER (WHERE %(responded)s)",
            },
            {
                "key": "median_response_hours",
                "level": "process",
                "label": _("Median Time to Respond"),
                "unit": "hours",
                "sheet": True,
                # one sort of the period's answered opportunities, in the lead query
                "sql": "PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY lead.response_hours)"
                " FILTER (WHERE %(responded)s)",
            },
            {
                "key": "response_on_target_rate",
                "level": "process",
                "label": _("Answered on Target"),
                "unit": "percent",
                "tile": True,
                "sheet": True,
                "hint": _("within the process's response target"),
                "formula": lambda kpi: kpi_rate(
                    kpi["response_on_target_count"], kpi["response_due_count"]
                ),
            },
            {
                "key": "response_due_count",
                "level": "process",
                "unit": "count",
                "internal": True,
                "sql": "COUNT(*) FILTER (WHERE %(response_due)s)",
            },
            {
                "key": "response_on_target_count",
                "level": "process",
                "unit": "count",
                "internal": True,
                "sql": "COUNT(*) FILTER (WHERE %(response_on_target)s)",
            },
            {
                "key": "key_activities_due",
                "level": "process",
                "source": "cadence",
                "label": _("Key Activities Due"),
                "unit": "count",
                "sheet": True,
                "sql": "SUM(cadence.due)",
            },
            {
                "key": "key_activities_on_time",
                "level": "process",
                "source": "cadence",
                "label": _("Key Activities on Time"),
                "unit": "count",
                "sheet": True,
                "sql": "SUM(cadence.on_time)",
            },
            {
                "key": "cadence_compliance",
                "level": "process",
                "label": _("Cadence Compliance"),
                "unit": "percent",
                "tile": True,
                "sheet": True,
                "hint": _("%(key_activities_on_time)s of %(key_activities_due)s on time"),
                "formula": lambda kpi: kpi_rate(
                    kpi["key_activities_on_time"], kpi["key_activities_due"]
                ),
            },
            {
                "key": "stalled_count",
                "level": "process",
                "label": _("Stalled"),
                "unit": "count",
                "tile": True,
                "sheet": True,
                "hint": _("open, past their step's stall days"),
                "sql": "COUNT(*) FILTER (WHERE %(stalled)s)",
            },
            {
                "key": "stalled_value",
                "level": "process",
                "label": _("Stalled Value"),
                "unit": "monetary",
                "sheet": True,
                "sql": "SUM(lead.expected_revenue) FILTER (WHERE %(stalled)s)",
            },
            {
                "key": "avg_customer_value",
                "level": "process",
                "label": _("Customer Value"),
                "unit": "monetary",
                "tile": True,
                "sheet": True,
                "hint": _("won revenue per customer, all time"),
                "sql": "SUM(lead.expected_revenue) FILTER (WHERE %(won_customer)s)"
                " / NULLIF(COUNT(DISTINCT partner.commercial_partner_id)"
                " FILTER (WHERE %(won_customer)s), 0)",
            },
            # Step KPIs: the key activities the step scheduled, per opportunity
            {
                "key": "key_activities_due",
                "level": "step",
                "source": "cadence",
                "label": _("Key Activities Due"),
                "unit": "count",
                "column": True,
                "help": _("Key activities of the step with their deadline in the period"),
                "sql": "SUM(cadence.due)",
            },
            {
                "key": "key_activities_on_time",
                "level": "step",
                "source": "cadence",
                "unit": "count",
                "internal": True,
                "sql": "SUM(cadence.on_time)",
            },
            {
                "key": "cadence_compliance",
                "level": "step",
                "label": _("Cadence Compliance"),
                "unit": "percent",
                "column": True,
                "help": _("Key activities due in the period done on or before their deadline"),
                "formula": lambda kpi: kpi_rate(
                    kpi["key_activities_on_time"], kpi["key_activities_due"]
                ),
            },
            {
                "key": "win_rate_on_time",
                "level": "step",
                "label": _("Win Rate on Time"),
                "unit": "percent",
                "column": True,
                "help": _(
                    "Closed opportunities that did all of the step's key activities on time "
                    "and were won"
                ),
                "formula": lambda kpi: kpi_rate(kpi["won_on_time"], kpi["closed_on_time"]),
            },
            {
                "key": "win_rate_late",
                "level": "step",
                "label": _("Win Rate Late"),
                "unit": "percent",
                "column": True,
                "help": _(
                    "Closed opportunities with a key activity of the step late or not done, and won"
                ),
                "formula": lambda kpi: kpi_rate(kpi["won_late"], kpi["closed_late"]),
            },
            *(
                {
                    "key": f"{outcome}_{timing}",
                    "level": "step",
                    "source": "cadence",
                    "unit": "count",
                    "internal": True,
                    "sql": f"COUNT(*) FILTER (WHERE %(closed_here)s AND {condition}{won})",
                }
                for outcome, won in (("closed", ""), ("won", " AND lead.won_status = 'won'"))
                for timing, condition in (
                    ("on_time", "cadence.all_on_time"),
                    ("late", "NOT cadence.all_on_time"),
                )
            ),
        ]
