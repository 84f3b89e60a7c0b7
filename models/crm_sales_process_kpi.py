# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""KPIs of the sales processes: the public ``get_kpis`` contract and the SQL behind it."""

from datetime import date, datetime, time, timedelta

from odoo import api, models
from odoo.fields import Domain
from odoo.tools import SQL

from .tools import parse_date_argument, parse_ids_argument

# The KPI statements read every opportunity and stay once: above jit_above_cost PostgreSQL
# would spend a large part of their run time compiling them (measured: the step statement
# 0.6 s without, 1.3 s with), to run them once. Sent in the same round trip as each
# statement (no query more); it lasts until the end of the transaction, where Odoo's short
# queries lose nothing without JIT.
KPI_NO_JIT = SQL("SET LOCAL jit = off;")
# Steps per bigint word of the KPI bit sets (three sets of 21 bits each)
WORD_STEPS = 21


class CrmSalesProcess(models.Model):
    _inherit = "crm.sales.process"

    @api.readonly
    def get_kpis(
        self, date_from=False, date_to=False, team_ids=None, user_ids=None, department_ids=None
    ):
        """Figures of each process in ``self``, as a list of plain dicts in recordset order.

        The period (dates or ISO strings, both included, either may be left open) selects the
        opportunities closed, won or created in it and the stays overlapping it; open figures
        (pipeline, open counts) are today's. Filters apply to the opportunity's current team,
        salesperson and department. Only opportunities the user may read count (record rules
        and companies), in a constant number of SQL queries whatever the data.

        :returns: ``[{"process_id", "opportunity_count", "won_count", "lost_count",
            "win_rate", "avg_cycle_days", "avg_won_amount", "pipeline_value",
            "weighted_value", "velocity_per_day", "created_count", "conversion_rate",
            "steps": [{"step_id", "name", "probability", "is_won", "reached", "moved_on",
            "conversion_rate", "win_rate_from_step", "closed_count", "avg_days",
            "median_days", "open_count"}]}]`` with rates in percent (0-100), amounts in the
            company currency and durations in days.
        """
        if not self:
            return []
        period = self._get_kpi_period(date_from, date_to)
        _ = self.env._
        team_ids = parse_ids_argument(self.env, team_ids, _("Sales Teams"))
        user_ids = parse_ids_argument(self.env, user_ids, _("Salespeople"))
        department_ids = parse_ids_argument(self.env, department_ids, _("Departments"))
        query = self._get_kpi_lead_query(team_ids, user_ids, department_ids)
        if query.is_empty():
            lead_figures, step_figures = {}, {}
        else:
            lead_figures, open_counts = self._read_kpi_lead_figures(query, period)
            step_figures = self._read_kpi_step_figures(
                query, period, prefilter=bool(team_ids or user_ids or department_ids)
            )
            for step_id, count in open_counts.items():
                step_figures.setdefault(step_id, {})["open_count"] = count
        result = []
        for process in self:
            figures = lead_figures.get(process.id, {})
            result.append(
                process._prepare_kpis(figures, step_figures),
            )
        return result

    @api.model
    def _get_kpi_period(self, date_from, date_to):
        """(start, end) datetimes in UTC of the period, end excluded; None when open."""
        start = end = None
        date_from = parse_date_argument(self.env, date_from)
        date_to = parse_date_argument(self.env, date_to)
        if date_from:
            start = datetime.combine(date_from, time.min)
        if date_to and date_to < date.max:  # the last day there is: open-ended
            end = datetime.combine(date_to, time.min) + timedelta(days=1)
        return start, end

    @api.model
    def _kpi_in_period(self, column, period):
        """SQL condition: ``column`` (a datetime) lies in the period."""
        start, end = period
        conditions = [SQL("%s IS NOT NULL", column)]
        if start:
            conditions.append(SQL("%s >= %s", column, start))
        if end:
            conditions.append(SQL("%s < %s", column, end))
        return SQL(" AND ").join(conditions)

    @api.model
    def _get_kpi_lead_query(self, team_ids, user_ids, department_ids):
        """Query of the opportunities the user may read, given the filters.

        Built by the ORM, so that the opportunity's record rules and companies apply; the
        KPI queries select from its FROM and WHERE clauses (no sub-select of ids to join).
        """
        domain = Domain("type", "=", "opportunity")
        if team_ids:
            domain &= Domain("team_id", "in", list(team_ids))
        if user_ids:
            domain &= Domain("user_id", "in", list(user_ids))
        if department_ids:
            domain &= Domain("department_id", "in", list(department_ids))
        Lead = self.env["crm.lead"].with_context(active_test=False)
        Lead.flush_model()
        self.env["crm.sales.process.history"].flush_model()
        self.env["crm.sales.process.step"].flush_model()
        return Lead._search(domain, active_test=False)

    def _read_kpi_lead_figures(self, query, period):
        """({process id: figures of its opportunities}, {step id: open opportunities}) in one
        query: one pass over the opportunities grouped by process and step (which PostgreSQL
        may split between workers), then the few step rows added up per process. Averages
        are sums divided by counts, as AVG computes them."""
        lead = SQL.identifier(query.table)
        closed = self._kpi_in_period(SQL("%s.date_closed", lead), period)
        created = self._kpi_in_period(SQL("%s.create_date", lead), period)
        is_open = SQL("%s.active AND %s.won_status = 'pending'", lead, lead)
        won = SQL("%s.won_status = 'won' AND %s", lead, closed)
        cycle = SQL("EXTRACT(EPOCH FROM %s.date_closed - %s.create_date) / 86400.0", lead, lead)
        self.env.cr.execute(
            SQL(
                """
                %(no_jit)s
                WITH by_step AS (
                    SELECT %(lead)s.sales_process_id AS process_id,
                           %(lead)s.sales_process_step_id AS step_id,
                           COUNT(*) FILTER (WHERE %(is_open)s) AS open_count,
                           SUM(%(lead)s.expected_revenue) FILTER (WHERE %(is_open)s) AS pipeline,
                           SUM(%(lead)s.prorated_revenue) FILTER (WHERE %(is_open)s) AS weighted,
                           COUNT(*) FILTER (WHERE %(won)s) AS won_count,
                           COUNT(*) FILTER (WHERE %(lead)s.won_status = 'lost' AND %(closed)s)
                               AS lost_count,
                           SUM(%(cycle)s) FILTER (WHERE %(won)s) AS cycle_sum,
                           COUNT(%(cycle)s) FILTER (WHERE %(won)s) AS cycle_count,
                           SUM(%(lead)s.expected_revenue) FILTER (WHERE %(won)s) AS won_sum,
                           COUNT(%(lead)s.expected_revenue) FILTER (WHERE %(won)s) AS won_amounts,
                           COUNT(*) FILTER (WHERE %(created)s) AS created_count,
                           COUNT(*) FILTER (WHERE %(created)s AND %(lead)s.won_status = 'won')
                               AS created_won_count
                      FROM %(from_clause)s
                     WHERE %(where_clause)s
                       AND %(lead)s.sales_process_id = ANY(%(process_ids)s)
                  GROUP BY 1, 2
                )
                SELECT process_id, step_id, FALSE, open_count,
                       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
                  FROM by_step
                 UNION ALL
                SELECT process_id, NULL, TRUE,
                       SUM(open_count)::bigint,
                       COALESCE(SUM(pipeline), 0),
                       COALESCE(SUM(weighted), 0),
                       SUM(won_count)::bigint,
                       SUM(lost_count)::bigint,
                       SUM(cycle_sum) / NULLIF(SUM(cycle_count), 0),
                       SUM(won_sum) / NULLIF(SUM(won_amounts), 0),
                       SUM(created_count)::bigint,
                       SUM(created_won_count)::bigint
                  FROM by_step
              GROUP BY process_id
                """,
                no_jit=KPI_NO_JIT,
                lead=lead,
                is_open=is_open,
                won=won,
                closed=closed,
                created=created,
                cycle=cycle,
                process_ids=list(self.ids),
                from_clause=query.from_clause,
                where_clause=query.where_clause or SQL("TRUE"),
            )
        )
        keys = (
            "opportunity_count",
            "pipeline_value",
            "weighted_value",
            "won_count",
            "lost_count",
            "avg_cycle_days",
            "avg_won_amount",
            "created_count",
            "created_won_count",
        )
        lead_figures, open_counts = {}, {}
        for process_id, step_id, process_row, *figures in self.env.cr.fetchall():
            if process_row:
                lead_figures[process_id] = dict(zip(keys, figures, strict=True))
            elif step_id:
                open_counts[step_id] = figures[0]
        return lead_figures, open_counts

    def _read_kpi_step_figures(self, query, period, prefilter=False):
        """{step id: figures of its stays} in two queries, one pass over the history each.

        A stay counts as reached when it overlaps the period; it moved on when a later stay
        of the same opportunity in the same process is on a later step, or the opportunity
        was won in this process. Closed counts (for the win rate from the step) take the
        opportunities closed in the period that were on the step at any time. Durations
        (average, median) are those of the stays left in the period.

        Each opportunity counts once per step: the history is read once in the order of the
        opportunity's stays (latest first, so the highest later step is a running maximum),
        folded into one row per opportunity and process holding its steps as bits (see
        ``WORD_STEPS``), joined to the opportunities only then, and those rows grouped by
        their bits before counting per step.
        """
        start, end = period
        overlap = [SQL("TRUE")]
        if start:
            # an open stay lasts until now
            overlap.append(SQL("COALESCE(history.date_out, %s) >= %s", self.env.cr.now(), start))
        if end:
            overlap.append(SQL("history.date_in < %s", end))
        overlap = SQL(" AND ").join(overlap)
        lead = SQL.identifier(query.table)
        closed = self._kpi_in_period(SQL("%s.date_closed", lead), period)
        left = self._kpi_in_period(SQL("history.date_out"), period)
        # Position of each step in its process, looked up by step id in an array (one
        # subscript per stay, where a join would cost a hash probe per stay and keep the
        # planner from reading the stays in the order the window needs)
        step_ids, step_processes, positions = [], [], []
        for process in self.browse(dict.fromkeys(self.ids)):  # each process once
            for position, step in enumerate(process._get_ordered_steps()):
                step_ids.append(step.id)
                step_processes.append(process.id)
                positions.append(position)
        offset = min(step_ids, default=1) - 1
        by_id = [None] * (max(step_ids, default=0) - offset)
        process_by_id = list(by_id)
        for step_id, process_id, position in zip(step_ids, step_processes, positions, strict=True):
            by_id[step_id - offset - 1] = position
            process_by_id[step_id - offset - 1] = process_id
        # The steps of an opportunity as bits, three sets in one bigint word per 21 steps:
        # bits 0-20 the steps it was ever on, 21-41 those reached in the period, 42-62 those
        # it moved on from. One aggregate per stay, and one bigint per opportunity when no
        # process has more than 21 steps (else an array of words).
        words = range(max(positions, default=0) // WORD_STEPS + 1)
        single = len(words) == 1

        def stay_bits():
            step_bit = SQL("(stay.position %% %s)", WORD_STEPS)
            value = SQL(
                "(1::bigint << %(bit)s)"
                " | CASE WHEN stay.in_period THEN 1::bigint << (%(bit)s + %(size)s) ELSE 0 END"
                " | CASE WHEN stay.in_period AND stay.highest_from_here > stay.position"
                " THEN 1::bigint << (%(bit)s + 2 * %(size)s) ELSE 0 END",
                bit=step_bit,
                size=WORD_STEPS,
            )
            if single:
                return SQL("BIT_OR(%s)", value)
            return SQL(
                "ARRAY[%s]",
                SQL(", ").join(
                    SQL(
                        "COALESCE(BIT_OR(%s) FILTER (WHERE stay.position / %s = %s), 0)",
                        value,
                        WORD_STEPS,
                        word,
                    )
                    for word in words
                ),
            )

        def has_bit(kind):
            """The step's bit in set ``kind`` (0: ever on, 1: reached, 2: moved on)."""
            bit = SQL(
                "(1::bigint << (step_rank.position %% %s + %s))", WORD_STEPS, kind * WORD_STEPS
            )
            if single:
                return SQL("sets.steps & %s <> 0", bit)
            return SQL("sets.steps[step_rank.position / %s + 1] & %s <> 0", WORD_STEPS, bit)

        self.env.cr.execute(
            SQL(
                """
                %(no_jit)s
                WITH stays AS (
                    SELECT history.lead_id, stay_step.process_id, stay_step.position,
                           %(overlap)s AS in_period,
                           -- highest step of this stay and the later ones: above the
                           -- stay's own step when the opportunity moved on from it
                           MAX(stay_step.position) OVER (
                               PARTITION BY history.lead_id, stay_step.process_id
                               ORDER BY history.date_in DESC, history.id DESC
                               ROWS UNBOUNDED PRECEDING
                           ) AS highest_from_here
                      FROM crm_sales_process_history history
                     CROSS JOIN LATERAL (
                         SELECT (%(by_id)s::int[])[history.step_id - %(offset)s] AS position,
                                (%(process_by_id)s::int[])[history.step_id - %(offset)s]
                                    AS process_id
                     ) stay_step
                     WHERE stay_step.position IS NOT NULL
                       AND %(prefilter)s
                ), lead_steps AS (
                    SELECT stay.lead_id, stay.process_id,
                           %(stay_bits)s AS steps
                      FROM stays stay
                  GROUP BY stay.lead_id, stay.process_id
                ), step_sets AS (
                    SELECT lead_step.process_id, lead_step.steps,
                           %(lead)s.sales_process_id = lead_step.process_id
                               AND %(lead)s.won_status = 'won' AS won_here,
                           %(lead)s.sales_process_id = lead_step.process_id
                               AND %(lead)s.won_status IN ('won', 'lost')
                               AND %(closed)s AS closed,
                           %(lead)s.sales_process_id = lead_step.process_id
                               AND %(lead)s.won_status = 'won' AND %(closed)s AS closed_won,
                           COUNT(*) AS leads
                      FROM %(from_clause)s
                      JOIN lead_steps lead_step ON lead_step.lead_id = %(lead)s.id
                     WHERE %(where_clause)s
                  GROUP BY 1, 2, 3, 4, 5
                ), step_rank AS (
                    SELECT *
                      FROM UNNEST(%(step_ids)s::int[], %(step_processes)s::int[],
                                  %(positions)s::int[]) AS step_rank(id, process_id, position)
                )
                SELECT step_rank.id,
                       COALESCE(SUM(sets.leads) FILTER (WHERE %(reached)s), 0)::bigint,
                       COALESCE(SUM(sets.leads) FILTER (
                           WHERE %(moved)s OR (sets.won_here AND %(reached)s)), 0)::bigint,
                       COALESCE(SUM(sets.leads) FILTER (WHERE sets.closed AND %(any)s), 0)::bigint,
                       COALESCE(SUM(sets.leads) FILTER (
                           WHERE sets.closed_won AND %(any)s), 0)::bigint
                  FROM step_rank
                  JOIN step_sets sets ON sets.process_id = step_rank.process_id
              GROUP BY step_rank.id
                """,
                # Filtered figures read only the stays of the selected opportunities; without
                # filters, joining the opportunities once per opportunity (after folding
                # their stays) is cheaper than filtering every stay.
                prefilter=(
                    SQL("history.lead_id IN %s", query.subselect()) if prefilter else SQL("TRUE")
                ),
                no_jit=KPI_NO_JIT,
                by_id=by_id,
                process_by_id=process_by_id,
                offset=offset,
                step_ids=step_ids,
                step_processes=step_processes,
                positions=positions,
                overlap=overlap,
                stay_bits=stay_bits(),
                lead=lead,
                closed=closed,
                from_clause=query.from_clause,
                where_clause=query.where_clause or SQL("TRUE"),
                any=has_bit(0),
                reached=has_bit(1),
                moved=has_bit(2),
            )
        )
        keys = ("reached", "moved_on", "closed_count", "closed_won")
        figures = {row[0]: dict(zip(keys, row[1:], strict=True)) for row in self.env.cr.fetchall()}
        # Average and median of the stays left in the period, from their durations counted
        # by step and value: the median is read from the running counts (as
        # PERCENTILE_CONT(0.5) takes it: the middle value, or halfway between the two middle
        # ones) without sorting every stay.
        self.env.cr.execute(
            SQL(
                """
                %(no_jit)s
                WITH durations AS (
                    SELECT history.step_id, history.duration_days AS days, COUNT(*) AS stays
                      FROM %(from_clause)s
                      JOIN crm_sales_process_history history
                        ON history.lead_id = %(lead)s.id
                     WHERE %(where_clause)s
                       AND history.step_id = ANY(%(step_ids)s::int[])
                       AND history.duration_days IS NOT NULL
                       AND %(left)s
                  GROUP BY history.step_id, history.duration_days
                ), running AS (
                    SELECT duration.step_id, duration.days, duration.stays,
                           SUM(duration.stays) OVER (PARTITION BY duration.step_id
                                                     ORDER BY duration.days) AS upto,
                           SUM(duration.stays) OVER (PARTITION BY duration.step_id) AS total
                      FROM durations duration
                )
                SELECT running.step_id,
                       SUM(running.days * running.stays) / SUM(running.stays),
                       MIN(running.days) FILTER (
                           WHERE running.upto >= FLOOR((running.total - 1) / 2) + 1),
                       MIN(running.days) FILTER (
                           WHERE running.upto >= CEIL((running.total - 1) / 2.0) + 1)
                  FROM running
              GROUP BY running.step_id
                """,
                no_jit=KPI_NO_JIT,
                from_clause=query.from_clause,
                where_clause=query.where_clause or SQL("TRUE"),
                lead=lead,
                step_ids=step_ids,
                left=left,
            )
        )
        for step_id, avg_days, low, high in self.env.cr.fetchall():
            low, high = float(low), float(high)
            figures.setdefault(step_id, {}).update(
                avg_days=avg_days,
                # as PostgreSQL interpolates (in double precision)
                median_days=low + 0.5 * (high - low),
            )
        return figures

    def _prepare_kpis(self, figures, step_figures):
        """The dict get_kpis returns for this process, from the raw SQL figures."""
        self.ensure_one()

        def number(value, digits=2):
            return round(float(value or 0.0), digits)

        def rate(part, whole):
            return number(100.0 * part / whole) if whole else 0.0

        won, lost = figures.get("won_count", 0), figures.get("lost_count", 0)
        win_rate = rate(won, won + lost)
        cycle = number(figures.get("avg_cycle_days"))
        avg_won = number(figures.get("avg_won_amount"))
        open_count = figures.get("opportunity_count", 0)
        velocity = number(open_count * win_rate / 100.0 * avg_won / cycle) if cycle else 0.0
        steps = []
        for step in self._get_ordered_steps():
            values = step_figures.get(step.id, {})
            reached, moved_on = values.get("reached", 0), values.get("moved_on", 0)
            closed = values.get("closed_count", 0)
            steps.append(
                {
                    "step_id": step.id,
                    "name": step.name or "",
                    "probability": number(step.probability),
                    "is_won": bool(step.is_won),
                    "reached": reached,
                    "moved_on": moved_on,
                    "conversion_rate": rate(moved_on, reached),
                    "win_rate_from_step": rate(values.get("closed_won", 0), closed),
                    "closed_count": closed,
                    "avg_days": number(values.get("avg_days")),
                    "median_days": number(values.get("median_days")),
                    "open_count": values.get("open_count", 0),
                }
            )
        return {
            "process_id": self.id,
            "name": self.name,
            "currency_id": self.company_id.currency_id.id,
            "opportunity_count": open_count,
            "won_count": won,
            "lost_count": lost,
            "win_rate": win_rate,
            "avg_cycle_days": cycle,
            "avg_won_amount": avg_won,
            "pipeline_value": number(figures.get("pipeline_value")),
            "weighted_value": number(figures.get("weighted_value")),
            "velocity_per_day": velocity,
            "created_count": figures.get("created_count", 0),
            "conversion_rate": rate(
                figures.get("created_won_count", 0), figures.get("created_count", 0)
            ),
            "steps": steps,
        }
