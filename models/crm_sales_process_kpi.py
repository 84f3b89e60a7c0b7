# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""KPIs of the sales processes: the public ``get_kpis`` contract, computed from one list.

Each KPI is one entry of ``CrmSalesProcess._get_kpi_definitions()``
(``crm_sales_process_kpi_definitions.py``). The SQL of ``get_kpis``,
its result, and the Sales Process Analysis (dashboard tiles and steps table, PDF, XLSX) are all
built by iterating over that list: adding a KPI is adding an entry (another addon overrides the
method and appends to its result), plus its test. A definition is a dict:

``key``
    Its name in ``get_kpis``' result (in each step's dict for a step KPI).
``level``
    ``"process"`` or ``"step"``.
``label``, ``unit``, ``tile``, ``forecast``, ``sheet``, ``column``, ``hint``, ``help``
    How the analysis shows it. ``unit`` is ``"count"`` (a whole number), ``"percent"``
    (0-100), ``"days"``, ``"monetary"`` (company currency) or ``"number"``; it also decides the
    rounding (counts are integers, the others 2 digits). Where it appears: ``tile`` (a process
    tile of the dashboard and the PDF), ``forecast`` (its position, 1, 2…, in a process's
    forecast row of the dashboard and the PDF), ``sheet`` (a column of the XLSX's KPI sheet),
    ``column`` (a column of the steps table: dashboard, PDF, XLSX).
    ``hint`` is the text under a tile and may name other KPIs of the process
    (``"%(won_count)s won"``); ``help`` the tooltip of a steps-table column. ``skip_last``:
    left blank on the last step.
``internal``
    Computed for other KPIs only, left out of the result.

and how it is computed, one of:

``sql``
    An aggregate expression over the rows of its ``source`` (see ``_get_kpi_sources``):
    ``"lead"`` (default of process KPIs), the opportunities, alias ``lead``, grouped by their
    process (or, for a step KPI, their current step); ``"stay"`` (default of step KPIs), the
    stays on the steps, alias ``stay``, with their step (``step``) and opportunity (``lead``),
    grouped by step; ``"cadence"``, the key activities a step scheduled on an opportunity,
    one row per opportunity and step (alias ``cadence``: ``due``, ``on_time`` in the period,
    ``all_on_time`` ever). ``%(name)s`` inserts a term of ``_get_kpi_terms`` (the period's
    conditions); a literal ``%`` is written ``%%``.
``median``
    A value expression over the rows of its source: the median of it where ``where`` (a
    condition, terms allowed) holds, as ``PERCENTILE_CONT(0.5)`` takes it.
``formula``
    A function of the values of the same level computed before it (a dict, already rounded);
    SQL values are all computed before the formulas.

Each source costs one query (one more for its medians), whatever the number of KPIs and of
opportunities.
"""

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from odoo import api, models
from odoo.fields import Domain
from odoo.tools import SQL

from .tools import parse_date_argument, parse_ids_argument

# The KPI statements read every opportunity and stay once: above jit_above_cost PostgreSQL
# would spend a large part of their run time compiling them, to run them once. Sent in the
# same round trip as each statement (no query more); it lasts until the end of the
# transaction, where Odoo's short queries lose nothing without JIT.
KPI_NO_JIT = SQL("SET LOCAL jit = off;")
LEVELS = ("process", "step")


def kpi_rate(part, whole):
    """``part`` as a percentage of ``whole`` (0 when there is no whole)."""
    return 100.0 * part / whole if whole else 0.0


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

        :returns: ``[{"process_id", "name", "currency_id", <process KPIs>, "steps":
            [{"step_id", "name", "probability", "is_won", <step KPIs>}]}]``, the KPIs being
            those of ``_get_kpi_definitions`` (``opportunity_count``, ``won_count``,
            ``lost_count``, ``win_rate``, ``avg_cycle_days``, ``avg_won_amount``,
            ``pipeline_value``, ``weighted_value``, ``velocity_per_day``, ``created_count``,
            ``conversion_rate``; per step ``reached``, ``moved_on``, ``conversion_rate``,
            ``win_rate_from_step``, ``closed_count``, ``avg_days``, ``median_days``,
            ``open_count``; speed and cadence: ``avg_response_hours``,
            ``median_response_hours``, ``response_on_target_rate``, ``key_activities_due``,
            ``key_activities_on_time``, ``cadence_compliance``, ``stalled_count``,
            ``stalled_value``, ``avg_customer_value``; per step ``key_activities_due``,
            ``cadence_compliance``, ``win_rate_on_time``, ``win_rate_late``; the forecast
            categories' ``commit_revenue``, ``best_case_revenue``, ``pipeline_revenue`` and
            ``won_revenue``, as the forecast wizard has them), rates in percent
            (0-100), amounts in the company currency, durations in days (response times in
            working hours); and ``sources``, lead quality per origin (see
            ``_read_kpi_origins``).
        """
        if not self:
            return []
        period = self._get_kpi_period(date_from, date_to)
        _ = self.env._
        team_ids = parse_ids_argument(self.env, team_ids, _("Sales Teams"))
        user_ids = parse_ids_argument(self.env, user_ids, _("Salespeople"))
        department_ids = parse_ids_argument(self.env, department_ids, _("Departments"))
        definitions = self._get_kpi_definitions()
        query = self._get_kpi_lead_query(team_ids, user_ids, department_ids)
        figures, origins = {}, {}
        if not query.is_empty():
            figures = self._read_kpi_figures(definitions, query, period)
            origins = self._read_kpi_origins(query, period)
        return [
            {**process._prepare_kpis(definitions, figures), "sources": origins.get(process.id, [])}
            for process in self
        ]

    @api.model
    def _get_kpi_sources(self):
        """Rows the SQL KPIs aggregate, by source: their FROM clause (``lead`` is the
        opportunities the user may read, given the filters), the condition selecting the
        analysed processes' rows (``%(process_ids)s``, ``%(step_ids)s``) and the expression
        grouping them per process and per step. Override to add a source (one query)."""
        return {
            "lead": {
                "from": "lead JOIN crm_sales_process process ON process.id = lead.sales_process_id"
                " LEFT JOIN res_partner partner ON partner.id = lead.partner_id",
                "where": "lead.sales_process_id = ANY(%(process_ids)s)",
                "process": "lead.sales_process_id",
                "step": "lead.sales_process_step_id",
            },
            "stay": {
                "from": "crm_sales_process_history stay"
                " JOIN crm_sales_process_step step ON step.id = stay.step_id"
                " JOIN lead ON lead.id = stay.lead_id",
                "where": "stay.step_id = ANY(%(step_ids)s)",
                "process": "step.process_id",
                "step": "stay.step_id",
            },
            # the key activities each step scheduled on each opportunity (done ones are
            # archived, cancelled ones deleted): one row per opportunity and step
            "cadence": {
                "from": """
                    (SELECT activity.res_id AS lead_id,
                            activity.sales_process_step_id AS step_id,
                            COUNT(*) FILTER (WHERE %(activity_due)s) AS due,
                            COUNT(*) FILTER (WHERE %(activity_due)s
                                               AND %(activity_on_time)s) AS on_time,
                            BOOL_AND(%(activity_on_time)s) AS all_on_time
                       FROM mail_activity activity
                      WHERE activity.res_model = 'crm.lead'
                        AND activity.sales_process_step_id = ANY(%(step_ids)s)
                   GROUP BY 1, 2) cadence
                    JOIN crm_sales_process_step step ON step.id = cadence.step_id
                    JOIN lead ON lead.id = cadence.lead_id
                """,
                "where": "TRUE",
                "process": "step.process_id",
                "step": "cadence.step_id",
            },
        }

    @api.model
    def _get_kpi_terms(self, period):
        """Named SQL conditions and expressions the KPI definitions may use.

        Opportunities (``lead``): ``open`` (active, neither won nor lost), ``won`` / ``lost``
        (closed in the period), ``closed`` (closing date in the period), ``created`` (created
        in the period), ``cycle_days`` (creation to closing, in days).
        Stays (``stay`` on ``step`` of opportunity ``lead``): ``in_period`` (the stay
        overlaps the period; an open one lasts until now), ``first_in_period`` (the
        opportunity's first such stay on the step: counts each opportunity once per step),
        ``first_on_step`` (its first stay on the step ever), ``left`` (left the step in the
        period), ``here`` (the opportunity still follows the step's process), ``won_here``
        (and was won on it), ``closed_here`` (and was closed in the period).
        """
        start, end = period
        overlap = [SQL("TRUE")]
        if start:
            overlap.append(SQL("COALESCE(stay.date_out, %s) >= %s", self.env.cr.now(), start))
        if end:
            overlap.append(SQL("stay.date_in < %s", end))
        in_period = SQL(" AND ").join(overlap)
        # the earlier stays on the step ended before the period: this is the first in it
        first_in_period = SQL("stay.previous_date_out IS NULL")
        if start:
            first_in_period = SQL(
                "(stay.previous_date_out IS NULL OR stay.previous_date_out < %s)", start
            )
        closed = self._kpi_in_period(SQL("lead.date_closed"), period)
        here = SQL("lead.sales_process_id = step.process_id")
        now = self.env.cr.now()
        created = self._kpi_in_period(SQL("lead.create_date"), period)
        responded = SQL("(%s AND lead.first_response_date IS NOT NULL)", created)
        activity_done = SQL("(activity.active IS NOT TRUE AND activity.date_done IS NOT NULL)")
        return {
            **self._get_kpi_cadence_terms(period, now, created, responded, activity_done),
            "open": SQL("(lead.active AND lead.won_status = 'pending')"),
            "won": SQL("(lead.won_status = 'won' AND %s)", closed),
            "lost": SQL("(lead.won_status = 'lost' AND %s)", closed),
            "closed": SQL("(%s)", closed),
            "created": SQL("(%s)", created),
            "cycle_days": SQL(
                "(EXTRACT(EPOCH FROM lead.date_closed - lead.create_date) / 86400.0)"
            ),
            "in_period": SQL("(%s)", in_period),
            "first_in_period": SQL("(%s AND %s)", in_period, first_in_period),
            "first_on_step": SQL("(stay.previous_date_out IS NULL)"),
            "left": SQL("(%s)", self._kpi_in_period(SQL("stay.date_out"), period)),
            "here": SQL("(%s)", here),
            "won_here": SQL("(%s AND lead.won_status = 'won')", here),
            "closed_here": SQL("(%s AND lead.won_status IN ('won', 'lost') AND %s)", here, closed),
        }

    @api.model
    def _get_kpi_cadence_terms(self, period, now, created, responded, activity_done):
        """The terms of speed and cadence (see ``_get_kpi_terms``).

        Opportunities: ``responded`` (created in the period and answered), ``response_due``
        (and answered, or unanswered past the process's target: plain hours, as it has not
        been answered yet), ``response_on_target`` (answered within the target),
        ``stalled`` (open, past its step's stall days), ``won_customer`` (won, for a
        customer, at any time). Key activities (``activity``): ``activity_due`` (deadline in
        the period, and done or past), ``activity_on_time`` (done on or before it).
        """
        return {
            "responded": responded,
            "response_due": SQL(
                "(%s AND (lead.first_response_date IS NOT NULL"
                " OR lead.create_date + process.response_target_hours * INTERVAL '1 hour' < %s))",
                created,
                now,
            ),
            "response_on_target": SQL(
                "(%s AND lead.response_hours <= process.response_target_hours)", responded
            ),
            "stalled": SQL(
                "(lead.active AND lead.won_status = 'pending' AND lead.sales_process_stall_days > 0"
                " AND COALESCE(lead.date_last_stage_update, lead.create_date)"
                " + lead.sales_process_stall_days * INTERVAL '1 day' < %s)",
                now,
            ),
            "won_customer": SQL(
                "(lead.won_status = 'won' AND partner.commercial_partner_id IS NOT NULL)"
            ),
            "activity_due": SQL(
                "(%s AND (%s OR activity.date_deadline < %s))",
                self._kpi_in_period(SQL("activity.date_deadline"), period),
                activity_done,
                now.date(),
            ),
            "activity_on_time": SQL(
                "(%s AND activity.date_done <= activity.date_deadline)", activity_done
            ),
        }

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
        History = self.env["crm.sales.process.history"]
        History._flush_path_columns()
        History.flush_model()
        self.env["crm.sales.process.step"].flush_model()
        self.flush_model(["response_target_hours"])
        self.env["mail.activity"].flush_model(
            ["active", "date_deadline", "date_done", "sales_process_step_id"]
        )
        return Lead._search(domain, active_test=False)

    # ------------------------------------------------------------------
    # The SQL built from the definitions
    # ------------------------------------------------------------------

    def _read_kpi_figures(self, definitions, query, period):
        """{(level, process or step id): {key: raw value}} of the SQL KPIs: one query per
        source, one more per source with medians."""
        steps = self.browse(dict.fromkeys(self.ids)).step_ids
        terms = {
            **self._get_kpi_terms(period),
            "process_ids": list(self.ids),
            "step_ids": steps.ids,
        }
        lead = self._get_kpi_lead_cte(query)
        figures = defaultdict(dict)
        sources = self._get_kpi_sources()
        for source_name, source in sources.items():
            aggregates = self._get_kpi_source_definitions(definitions, source_name, "sql")
            if aggregates:
                self._read_kpi_aggregates(figures, source, aggregates, lead, terms)
            medians = self._get_kpi_source_definitions(definitions, source_name, "median")
            if medians:
                self._read_kpi_medians(figures, source, medians, lead, terms)
        return figures

    @api.model
    def _get_kpi_lead_cte(self, query):
        """The CTE ``lead``: the opportunities of ``query``, selected where they are used."""
        return SQL(
            "lead AS NOT MATERIALIZED (SELECT %s.* FROM %s WHERE %s)",
            SQL.identifier(query.table),
            query.from_clause,
            query.where_clause or SQL("TRUE"),
        )

    def _read_kpi_origins(self, query, period):
        """Lead quality: {process id: [figures per origin]} in one query, an origin being the
        opportunities' source, medium and campaign (each may be empty), with their won and
        lost counts, win rate, conversion (created in the period and won) and average won
        amount; the origins with something in the period, most won first."""
        terms = self._get_kpi_terms(period)
        self.env.cr.execute(
            SQL(
                """
                %(no_jit)s
                WITH %(lead)s,
                -- grouped by ids, the names joined to the groups: half the time of grouping
                -- the leads by their names at 100,000 opportunities (45 against 95 ms)
                origin AS (
                    SELECT lead.sales_process_id, lead.source_id, lead.medium_id,
                           lead.campaign_id,
                           COUNT(*) FILTER (WHERE %(won)s) AS won,
                           COUNT(*) FILTER (WHERE %(lost)s) AS lost,
                           COUNT(*) FILTER (WHERE %(created)s) AS created,
                           COUNT(*) FILTER (WHERE %(created)s AND lead.won_status = 'won')
                               AS created_won,
                           AVG(lead.expected_revenue) FILTER (WHERE %(won)s) AS avg_won
                      FROM lead
                     WHERE lead.sales_process_id = ANY(%(process_ids)s)
                  GROUP BY 1, 2, 3, 4
                    HAVING COUNT(*) FILTER (WHERE %(closed)s OR %(created)s) > 0
                )
                SELECT origin.sales_process_id, origin.source_id, source.name,
                       origin.medium_id, medium.name, origin.campaign_id, campaign.name,
                       origin.won, origin.lost, origin.created, origin.created_won,
                       origin.avg_won
                  FROM origin
             LEFT JOIN utm_source source ON source.id = origin.source_id
             LEFT JOIN utm_medium medium ON medium.id = origin.medium_id
             LEFT JOIN utm_campaign campaign ON campaign.id = origin.campaign_id
              ORDER BY 8 DESC, 10 DESC, 3, 5, 7
                """,
                no_jit=KPI_NO_JIT,
                lead=self._get_kpi_lead_cte(query),
                process_ids=list(self.ids),
                **{name: terms[name] for name in ("won", "lost", "created", "closed")},
            )
        )
        origins = defaultdict(list)
        for row in self.env.cr.fetchall():
            process_id, source_id, source, medium_id, medium, campaign_id, campaign = row[:7]
            won, lost, created, created_won, avg_won = row[7:]
            origins[process_id].append(
                {
                    "source_id": source_id or False,
                    "source": source or "",
                    "medium_id": medium_id or False,
                    "medium": medium or "",
                    "campaign_id": campaign_id or False,
                    "campaign": campaign or "",
                    "won_count": won,
                    "lost_count": lost,
                    "win_rate": round(kpi_rate(won, won + lost), 2),
                    "created_count": created,
                    "conversion_rate": round(kpi_rate(created_won, created), 2),
                    "avg_won_amount": round(float(avg_won or 0.0), 2),
                }
            )
        return origins

    @api.model
    def _get_kpi_source_definitions(self, definitions, source, kind):
        """The definitions computed by ``kind`` over ``source``."""
        return [
            definition
            for definition in definitions
            if kind in definition
            and definition.get("source", "lead" if definition["level"] == "process" else "stay")
            == source
        ]

    @api.model
    def _read_kpi_aggregates(self, figures, source, definitions, lead, terms):
        """The aggregates of one source, grouped per process and per step at once."""
        levels = [level for level in LEVELS if any(d["level"] == level for d in definitions)]
        keys = {level: SQL(source[level]) for level in levels}
        grouping = [
            SQL("(%s)", SQL(", ").join(keys[level] for level in levels[: index + 1]))
            for index in range(len(levels))
        ]
        self.env.cr.execute(
            SQL(
                """
                %(no_jit)s
                WITH %(lead)s
                SELECT %(keys)s, %(aggregates)s
                  FROM %(from)s
                 WHERE %(where)s
              GROUP BY GROUPING SETS (%(grouping)s)
                """,
                no_jit=KPI_NO_JIT,
                lead=lead,
                keys=SQL(", ").join(SQL("%s, GROUPING(%s)", key, key) for key in keys.values()),
                aggregates=SQL(", ").join(
                    SQL(definition["sql"], **terms) for definition in definitions
                ),
                **{name: SQL(source[name], **terms) for name in ("from", "where")},
                grouping=SQL(", ").join(grouping),
            )
        )
        for row in self.env.cr.fetchall():
            level_ids, values = row[: 2 * len(levels)], row[2 * len(levels) :]
            # the grouping set of the row: the last level whose key is grouped (not rolled up)
            level = next(
                level
                for index, level in reversed(list(enumerate(levels)))
                if not level_ids[2 * index + 1]
            )
            record_id = level_ids[2 * levels.index(level)]
            if record_id is None:
                continue
            for definition, value in zip(definitions, values, strict=True):
                if definition["level"] == level:
                    figures[level, record_id][definition["key"]] = value

    @api.model
    def _read_kpi_medians(self, figures, source, definitions, lead, terms):
        """The medians of one source, as ``PERCENTILE_CONT(0.5)`` takes them (the middle
        value, or halfway between the two middle ones), read from the values counted per
        group instead of sorting every row."""
        counts = SQL(" UNION ALL ").join(
            SQL(
                """
                SELECT %(index)s AS kpi, %(group)s AS group_id, %(value)s AS value,
                       COUNT(*) AS count
                  FROM %(from)s
                 WHERE %(where)s AND %(condition)s AND %(value)s IS NOT NULL
              GROUP BY 2, 3
                """,
                index=index,
                group=SQL(source[definition["level"]]),
                value=SQL(definition["median"], **terms),
                condition=SQL(definition.get("where", "TRUE"), **terms),
                **{name: SQL(source[name], **terms) for name in ("from", "where")},
            )
            for index, definition in enumerate(definitions)
        )
        self.env.cr.execute(
            SQL(
                """
                %(no_jit)s
                WITH %(lead)s,
                counts AS (%(counts)s),
                running AS (
                    SELECT kpi, group_id, value,
                           SUM(count) OVER (PARTITION BY kpi, group_id ORDER BY value) AS upto,
                           SUM(count) OVER (PARTITION BY kpi, group_id) AS total
                      FROM counts
                )
                SELECT kpi, group_id,
                       MIN(value) FILTER (WHERE upto >= FLOOR((total - 1) / 2) + 1),
                       MIN(value) FILTER (WHERE upto >= CEIL((total - 1) / 2.0) + 1)
                  FROM running
              GROUP BY kpi, group_id
                """,
                no_jit=KPI_NO_JIT,
                lead=lead,
                counts=counts,
            )
        )
        for index, group_id, low, high in self.env.cr.fetchall():
            definition = definitions[index]
            low, high = float(low), float(high)
            # as PostgreSQL interpolates (in double precision)
            figures[definition["level"], group_id][definition["key"]] = low + 0.5 * (high - low)

    def _prepare_kpis(self, definitions, figures):
        """The dict ``get_kpis`` returns for this process, from the SQL figures."""
        self.ensure_one()
        steps = []
        for step in self._get_ordered_steps():
            values = self._compute_kpi_values(definitions, "step", figures.get(("step", step.id)))
            steps.append(
                {
                    "step_id": step.id,
                    "name": step.name or "",
                    "probability": round(float(step.probability or 0.0), 2),
                    "is_won": bool(step.is_won),
                    **values,
                }
            )
        values = self._compute_kpi_values(definitions, "process", figures.get(("process", self.id)))
        return {
            "process_id": self.id,
            "name": self.name,
            "currency_id": self.company_id.currency_id.id,
            **values,
            "steps": steps,
        }

    @api.model
    def _compute_kpi_values(self, definitions, level, raw):
        """The KPIs of one process or step: its SQL figures rounded (counts as integers,
        others to 2 digits), then the formulas in order; internal KPIs left out."""
        raw = raw or {}
        values = {}
        definitions = [definition for definition in definitions if definition["level"] == level]
        for definition in sorted(definitions, key=lambda definition: "formula" in definition):
            value = (
                definition["formula"](values)
                if "formula" in definition
                else raw.get(definition["key"])
            )
            if definition.get("unit") == "count":
                values[definition["key"]] = int(value or 0)
            else:
                values[definition["key"]] = round(float(value or 0.0), 2)
        return {
            definition["key"]: values[definition["key"]]
            for definition in definitions
            if not definition.get("internal")
        }
