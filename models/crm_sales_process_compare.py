# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Comparing two processes (a pilot against the standard, an A/B test).

``compare_kpis`` gives both processes' KPIs (``get_kpis``) and tests whether the differences
in win rate and in sales cycle are more than chance:

* win rate (won / (won + lost)): pooled two-proportion z-test;
* sales cycle (days from creation to won, as ``avg_cycle_days``): Welch's t-test, with the
  normal approximation of the t distribution (no SciPy in Odoo's requirements).

Both two-sided at α = 0.05; with fewer than 5 opportunities on a side (closed for the win
rate, won for the cycle) there is no p-value and nothing is significant.
"""

import math

from odoo import api, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from .tools import check_record_ids, parse_ids_argument

SIGNIFICANCE_LEVEL = 0.05
MIN_SAMPLE = 5


def two_sided_p_value(statistic):
    """P(|Z| ≥ |statistic|) for a standard normal Z: 1 − erf(|z| / √2), as erfc for
    precision in the tail."""
    return math.erfc(abs(statistic) / math.sqrt(2))


def proportion_z_test(successes_a, total_a, successes_b, total_b):
    """p-value of the pooled two-proportion z-test; None below the minimum sample."""
    if min(total_a, total_b) < MIN_SAMPLE:
        return None
    pooled = (successes_a + successes_b) / (total_a + total_b)
    error = math.sqrt(pooled * (1 - pooled) * (1 / total_a + 1 / total_b))
    difference = successes_b / total_b - successes_a / total_a
    if not error:  # all won or all lost on both sides: the same rate
        return 1.0
    return two_sided_p_value(difference / error)


def welch_test(mean_a, variance_a, count_a, mean_b, variance_b, count_b):
    """p-value of Welch's t-test (normal approximation); None below the minimum sample."""
    if min(count_a, count_b) < MIN_SAMPLE:
        return None
    error = math.sqrt(variance_a / count_a + variance_b / count_b)
    if not error:  # no spread: the means are equal or differ for certain
        return 1.0 if mean_a == mean_b else 0.0
    return two_sided_p_value((mean_b - mean_a) / error)


class CrmSalesProcess(models.Model):
    _inherit = "crm.sales.process"

    @api.model
    @api.readonly
    def compare_kpis(
        self,
        process_a,
        process_b,
        date_from=False,
        date_to=False,
        team_ids=None,
        user_ids=None,
        department_ids=None,
    ):
        """Both processes' KPIs and the significance of their differences.

        :returns: ``{"a": kpis, "b": kpis, "tests": {"win_rate": test, "avg_cycle_days":
            test}}``, the KPIs those of ``get_kpis``, each test ``{"difference" (B − A, in
            points or days), "p_value" (None below 5 on a side), "significant",
            "sample_too_small"}``.
        """
        _ = self.env._
        process_a = check_record_ids(self.env, self._name, process_a, _("Process A"))
        process_b = check_record_ids(self.env, self._name, process_b, _("Process B"))
        if not process_a or not process_b or process_a == process_b:
            raise UserError(_("Choose two different sales processes to compare."))
        processes = process_a | process_b
        processes.check_access("read")
        kpis = processes.get_kpis(date_from, date_to, team_ids, user_ids, department_ids)
        kpi_a, kpi_b = kpis
        cycles = self._read_cycle_samples(
            processes, date_from, date_to, team_ids, user_ids, department_ids
        )
        cycle_a, cycle_b = cycles.get(process_a.id), cycles.get(process_b.id)
        win_rate_p = proportion_z_test(
            kpi_a["won_count"],
            kpi_a["won_count"] + kpi_a["lost_count"],
            kpi_b["won_count"],
            kpi_b["won_count"] + kpi_b["lost_count"],
        )
        cycle_p = welch_test(*cycle_a, *cycle_b) if cycle_a and cycle_b else None
        return {
            "a": kpi_a,
            "b": kpi_b,
            "tests": {
                "win_rate": self._prepare_test(kpi_a["win_rate"], kpi_b["win_rate"], win_rate_p),
                "avg_cycle_days": self._prepare_test(
                    kpi_a["avg_cycle_days"], kpi_b["avg_cycle_days"], cycle_p
                ),
            },
        }

    @api.model
    def _prepare_test(self, value_a, value_b, p_value):
        both = value_a is not None and value_b is not None
        return {
            "difference": value_b - value_a if both else None,
            "p_value": p_value,
            "significant": p_value is not None and p_value < SIGNIFICANCE_LEVEL,
            "sample_too_small": p_value is None,
        }

    @api.model
    def _read_cycle_samples(self, processes, date_from, date_to, team_ids, user_ids, dept_ids):
        """{process id: (mean, sample variance, count)} of the cycle days of the opportunities
        won in the period, as ``get_kpis`` defines them (its opportunities, ``won`` and
        ``cycle_days`` terms), in one query."""
        _ = self.env._
        query = self._get_kpi_lead_query(
            parse_ids_argument(self.env, team_ids, _("Sales Teams")),
            parse_ids_argument(self.env, user_ids, _("Salespeople")),
            parse_ids_argument(self.env, dept_ids, _("Departments")),
        )
        if query.is_empty():
            return {}
        terms = self._get_kpi_terms(self._get_kpi_period(date_from, date_to))
        self.env.cr.execute(
            SQL(
                """
                WITH lead AS NOT MATERIALIZED (SELECT %(table)s.* FROM %(from)s WHERE %(where)s)
                SELECT lead.sales_process_id, AVG(%(cycle)s), COALESCE(VAR_SAMP(%(cycle)s), 0),
                       COUNT(*)
                  FROM lead
                 WHERE lead.sales_process_id = ANY(%(ids)s) AND %(won)s
                 GROUP BY lead.sales_process_id
                """,
                table=SQL.identifier(query.table),
                cycle=terms["cycle_days"],
                won=terms["won"],
                ids=processes.ids,
                **{"from": query.from_clause, "where": query.where_clause or SQL("TRUE")},
            )
        )
        return {
            process_id: (float(mean), float(variance), count)
            for process_id, mean, variance, count in self.env.cr.fetchall()
        }
