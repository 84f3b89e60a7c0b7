# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections.abc import Mapping

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import SQL

# Stay columns the ORM writes only through create/write/unlink of the history itself, after which
# the path columns of the opportunities concerned are computed again (see _update_path_columns)
PATH_FIELDS = {"lead_id", "step_id", "date_in", "date_out"}
# Cursor data: processes whose steps changed order in this transaction (path columns pending)
PATH_PROCESSES_KEY = "crm_sales_process.path_processes"

EXIT_REASONS = [
    ("forward", "Moved Forward"),
    ("backward", "Moved Back"),
    ("won", "Won"),
    ("lost", "Lost"),
    ("process_change", "Process Changed"),
    ("archived", "Archived"),
    ("merged", "Merged"),
]


class CrmSalesProcessHistory(models.Model):
    """One stay of an opportunity on a step of its sales process.

    Written by the opportunity itself (create, write, won, lost, restore, process change) in
    SQL and in batch, never edited by users: the access rights give read access only. What a
    user may read follows the opportunity: its record rules apply to the history too.
    """

    _name = "crm.sales.process.history"
    _description = "Step History"
    _order = "date_in desc, id desc"
    _rec_name = "step_id"
    # An append-only log written in SQL by bulk moves: no create/write user and date columns
    # (two foreign-key checks less per stay; date_in / date_out say when)
    _log_access = False

    lead_id = fields.Many2one(
        "crm.lead",
        string="Opportunity",
        required=True,
        index=True,
        ondelete="cascade",
        readonly=True,
    )
    step_id = fields.Many2one(
        "crm.sales.process.step",
        required=True,
        index=True,
        ondelete="cascade",
        readonly=True,
    )
    # The step's, which never changes process: not stored, as a stored copy would cost a
    # foreign-key check and an index entry per stay on bulk moves and imports.
    process_id = fields.Many2one(related="step_id.process_id", string="Sales Process")
    stage_id = fields.Many2one(related="step_id.stage_id", string="Stage")
    # Few indexes on purpose: every stay is inserted and then closed by bulk moves, and
    # closing a stay without indexed columns is a cheap (HOT) update. The KPIs read the
    # history by process, the opportunity's paths go by lead.
    date_in = fields.Datetime(string="Entered", required=True, readonly=True)
    date_out = fields.Datetime(
        string="Left",
        readonly=True,
        help="Empty while the opportunity is still on the step.",
    )
    duration_days = fields.Float(
        string="Days in Step",
        compute="_compute_duration_days",
        store=True,
        aggregator="avg",
        digits=(16, 2),
        help="Days the opportunity stayed on the step (closed stays only).",
    )
    exit_reason = fields.Selection(
        EXIT_REASONS,
        readonly=True,
        help="How the opportunity left the step; empty while it is still there.",
    )
    is_open = fields.Boolean(
        string="Current Stay", compute="_compute_is_open", search="_search_is_open"
    )
    # The opportunity as it was when it entered the step
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    department_id = fields.Many2one("hr.department", readonly=True)
    expected_revenue = fields.Monetary(
        currency_field="company_currency", readonly=True, aggregator="sum"
    )
    probability = fields.Float(readonly=True, aggregator="avg", digits=(5, 2))
    # For the multi-company rule: the process's company (kept on its steps), which is its
    # opportunities' too. Not stored, for the same reason as the process.
    company_id = fields.Many2one(related="step_id.company_id")
    company_currency = fields.Many2one(
        "res.currency", related="company_id.currency_id", string="Currency"
    )
    # The opportunity's path as the KPIs read it, kept with each stay (see
    # _update_path_columns): each opportunity then counts once per step, and "moved on" is
    # known, without sorting every stay of the history.
    previous_date_out = fields.Datetime(
        string="Left Before",
        readonly=True,
        help="When the opportunity last left this step before this stay; empty on its first "
        "stay on the step.",
    )
    moved_on = fields.Boolean(
        readonly=True,
        help="The opportunity went on to a later step of the process after entering the step "
        "in this stay (at once or after going back).",
    )

    def init(self):
        # room in each page for closing stays in place (HOT updates, no index writes)
        self.env.cr.execute("ALTER TABLE crm_sales_process_history SET (fillfactor = 80)")

    @api.depends("date_in", "date_out")
    def _compute_duration_days(self):
        for stay in self:
            if stay.date_in and stay.date_out:
                stay.duration_days = (stay.date_out - stay.date_in).total_seconds() / 86400
            else:
                stay.duration_days = 0.0

    @api.depends("date_out")
    def _compute_is_open(self):
        for stay in self:
            stay.is_open = not stay.date_out

    def _search_is_open(self, operator, value):
        if operator != "in":
            return NotImplemented
        domain = Domain("date_out", "=", False)
        if True in value and False in value:
            return Domain.TRUE
        return domain if True in value else ~domain

    @api.model
    def _search(self, domain, offset=0, limit=None, order=None, **kwargs):
        """Users see the stays of the opportunities they may read (lost ones included)."""
        if not (self.env.su or kwargs.get("bypass_access")):
            leads = self.env["crm.lead"].with_context(active_test=False)._search([])
            domain = Domain(domain) & Domain("lead_id", "in", leads)
        return super()._search(domain, offset=offset, limit=limit, order=order, **kwargs)

    def _check_access(self, operation):
        """The opportunity's record rules apply to its stays."""
        result = super()._check_access(operation)
        if result or self.env.su or not self._ids:
            return result
        stays = self.sudo()
        leads = stays.lead_id.with_context(active_test=False)
        allowed = leads.sudo(False)._filtered_access("read")
        forbidden = stays.filtered(lambda stay: stay.lead_id not in allowed).sudo(False)
        if not forbidden:
            return None
        Rule = self.env["ir.rule"]
        return forbidden, lambda: Rule._make_access_error(operation, forbidden)

    @api.model_create_multi
    def create(self, vals_list):
        self.check_access("create")  # read-only for users, whatever they send
        stays = super().create(vals_list)
        self._update_path_columns(lead_ids=stays.lead_id.ids)
        return stays

    def write(self, vals):
        # (values of another type: the ORM refuses them with a clear error)
        path = isinstance(vals, Mapping) and PATH_FIELDS & vals.keys()
        leads = self.lead_id if path else self.lead_id.browse()
        result = super().write(vals)
        if leads:
            self._update_path_columns(lead_ids=(leads | self.lead_id).ids)
        return result

    def unlink(self):
        leads = self.lead_id
        result = super().unlink()
        self._update_path_columns(lead_ids=leads.ids)
        return result

    # ------------------------------------------------------------
    # PATH COLUMNS (what the KPIs read)
    # ------------------------------------------------------------

    @api.model
    def _update_path_columns(self, lead_ids=None, process_ids=None):
        """Compute ``previous_date_out`` and ``moved_on`` of the stays of these opportunities
        (or on the steps of these processes; of every stay when neither is given) from the
        order of their stays, in one statement.

        The opportunities' own writes keep both up to date as they open and close stays (see
        ``crm.lead._sales_process_history_update``); this is for what changes a path
        afterwards: the backfill, the demo history, stays given to another opportunity
        (merge), steps put in another order. A stay "moved on" when a later stay of its
        opportunity (by entry, then id) is on a later step of the same process.
        """
        if lead_ids is not None and not lead_ids or process_ids is not None and not process_ids:
            return
        self.flush_model()
        self.env["crm.sales.process.step"].flush_model(["process_id", "sequence"])
        scope = SQL("TRUE")
        if lead_ids is not None:
            scope = SQL("stay.lead_id = ANY(%s)", sorted(set(lead_ids)))
        elif process_ids is not None:
            scope = SQL("position.process_id = ANY(%s)", sorted(set(process_ids)))
        self.env.cr.execute(
            SQL(
                """
                WITH position AS (
                    SELECT step.id, step.process_id,
                           ROW_NUMBER() OVER (PARTITION BY step.process_id
                                              ORDER BY step.sequence, step.id) AS position
                      FROM crm_sales_process_step step
                ), path AS (
                    SELECT stay.id,
                           MAX(COALESCE(stay.date_out, %(now)s)) OVER (
                               PARTITION BY stay.lead_id, stay.step_id
                               ORDER BY stay.date_in, stay.id
                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
                           ) AS previous_date_out,
                           -- the highest step from this stay on, above the stay's own
                           MAX(position.position) OVER (
                               PARTITION BY stay.lead_id, position.process_id
                               ORDER BY stay.date_in DESC, stay.id DESC
                               ROWS UNBOUNDED PRECEDING
                           ) > position.position AS moved_on
                      FROM crm_sales_process_history stay
                      JOIN position ON position.id = stay.step_id
                     WHERE %(scope)s
                )
                UPDATE crm_sales_process_history stay
                   SET previous_date_out = path.previous_date_out,
                       moved_on = path.moved_on
                  FROM path
                 WHERE stay.id = path.id
                   AND (stay.previous_date_out IS DISTINCT FROM path.previous_date_out
                        -- the history writer leaves new stays' "moved on" empty (false)
                        OR COALESCE(stay.moved_on, FALSE) <> path.moved_on)
                """,
                now=self.env.cr.now(),
                scope=scope,
            )
        )
        self.invalidate_model(["previous_date_out", "moved_on"])

    @api.model
    def _update_path_columns_later(self, processes):
        """The steps of ``processes`` changed order: their stays' path columns are computed
        again before this transaction commits (or before the KPIs read them), once however
        many steps were moved."""
        pending = self.env.cr.precommit.data.setdefault(PATH_PROCESSES_KEY, set())
        if not pending:
            self.env.cr.precommit.add(self._flush_path_columns)
        pending.update(processes.ids)

    @api.model
    def _flush_path_columns(self):
        process_ids = self.env.cr.precommit.data.pop(PATH_PROCESSES_KEY, None)
        if process_ids:
            self._update_path_columns(process_ids=process_ids)

    # ------------------------------------------------------------
    # BACKFILL (install and upgrade)
    # ------------------------------------------------------------

    @api.model
    def _rebuild_from_tracking(self):
        """Rebuild the stays of opportunities on a process that have no history yet.

        Reads Odoo's stage tracking (``mail.tracking.value`` on ``stage_id``; one transaction
        keeps only its first and last stage) and the creation and closing dates: the first
        stay starts at creation, each tracked stage change closes a stay and opens the next.
        Stages that are no step of the opportunity's current process are skipped. The last
        stay stays open, or closes at the closing date for lost and archived opportunities.
        Runs as superuser; returns the number of stays written.
        """
        env = self.env(su=True)
        env.flush_all()
        cr = env.cr
        cr.execute(
            SQL(
                """
                SELECT lead.id, lead.sales_process_id, lead.stage_id, lead.active,
                       lead.probability, lead.create_date,
                       COALESCE(lead.date_closed, lead.write_date, lead.create_date),
                       lead.user_id,
                       lead.team_id, lead.department_id, lead.expected_revenue
                  FROM crm_lead lead
                  JOIN crm_sales_process process ON process.id = lead.sales_process_id
                 WHERE NOT EXISTS (SELECT 1 FROM crm_sales_process_history stay
                                    WHERE stay.lead_id = lead.id)
              ORDER BY lead.id
                """
            )
        )
        leads = cr.fetchall()
        if not leads:
            return 0
        changes = self._read_backfill_stage_changes([lead[0] for lead in leads])
        cr.execute(
            SQL(
                """
                SELECT step.process_id, step.stage_id, step.id, stage.is_won,
                       ROW_NUMBER() OVER (PARTITION BY step.process_id
                                          ORDER BY step.sequence, step.id),
                       step.probability
                  FROM crm_sales_process_step step
                  JOIN crm_stage stage ON stage.id = step.stage_id
                """
            )
        )
        steps = {(row[0], row[1]): row[2:] for row in cr.fetchall()}
        rows = []
        for lead in leads:
            rows += self._prepare_backfill_stays(lead, changes.get(lead[0], []), steps)
        self._insert_backfill_stays(rows)
        self.invalidate_model()
        self._update_path_columns(lead_ids=[lead[0] for lead in leads])
        return len(rows)

    @api.model
    def _read_backfill_stage_changes(self, lead_ids):
        """{lead id: [(date, old stage id, new stage id)]}: the stage tracking of the leads,
        oldest first."""
        cr = self.env.cr
        field = self.env["ir.model.fields"].sudo()._get("crm.lead", "stage_id")
        cr.execute(
            SQL(
                """
                SELECT message.res_id, message.date, tracking.old_value_integer,
                       tracking.new_value_integer
                  FROM mail_tracking_value tracking
                  JOIN mail_message message ON message.id = tracking.mail_message_id
                 WHERE message.model = 'crm.lead'
                   AND message.res_id = ANY(%s)
                   AND tracking.field_id = %s
              ORDER BY message.res_id, message.date, tracking.id
                """,
                lead_ids,
                field.id,
            )
        )
        changes = {}
        for lead_id, date, old_stage, new_stage in cr.fetchall():
            changes.setdefault(lead_id, []).append((date, old_stage, new_stage))
        return changes

    @api.model
    def _insert_backfill_stays(self, rows):
        """Insert the rows of ``_prepare_backfill_stays``, 10,000 per statement."""
        cr = self.env.cr
        for start in range(0, len(rows), 10_000):
            # one array per column: typed, so that all-empty columns (date_out) insert too
            columns = list(zip(*rows[start : start + 10_000], strict=True))
            cr.execute(
                SQL(
                    """
                    INSERT INTO crm_sales_process_history
                           (lead_id, step_id, user_id, team_id, department_id,
                            expected_revenue, probability, date_in, date_out, duration_days,
                            exit_reason)
                    SELECT *
                      FROM unnest(%(c0)s::int[], %(c1)s::int[], %(c2)s::int[], %(c3)s::int[],
                                  %(c4)s::int[], %(c5)s::numeric[], %(c6)s::float8[],
                                  %(c7)s::timestamp[], %(c8)s::timestamp[], %(c9)s::numeric[],
                                  %(c10)s::varchar[])
                    """,
                    **{f"c{index}": list(column) for index, column in enumerate(columns)},
                )
            )

    @api.model
    def _prepare_backfill_stays(self, lead, changes, steps):
        """Rows of stays for one opportunity (see _rebuild_from_tracking)."""
        (
            lead_id,
            process_id,
            stage_id,
            active,
            probability,
            create_date,
            close_date,
            user_id,
            team_id,
            department_id,
            revenue,
        ) = lead
        # (date, stage) periods: the stage before the first change, then each new stage
        periods = [(create_date, changes[0][1] if changes else stage_id)]
        periods += [(date, new_stage) for date, _old_stage, new_stage in changes]
        stays = []
        for date, stage in periods:
            step = steps.get((process_id, stage))
            if not step or (stays and stays[-1][0] == step):
                continue
            stays.append((step, max(date, stays[-1][1]) if stays else date))
        rows = []
        for index, (step, date_in) in enumerate(stays):
            step_id, is_won, rank, step_probability = step
            if index + 1 < len(stays):
                next_step, date_out = stays[index + 1]
                if next_step[1]:
                    reason = "won"
                else:
                    reason = "forward" if next_step[2] > rank else "backward"
            elif active:
                date_out, reason = None, None
            else:
                date_out = max(close_date, date_in)
                reason = "lost" if not probability else "archived"
            rows.append(
                (
                    lead_id,
                    step_id,
                    user_id,
                    team_id,
                    department_id,
                    revenue or 0.0,
                    step_probability,
                    date_in,
                    date_out,
                    (date_out - date_in).total_seconds() / 86400 if date_out else 0.0,
                    reason,
                )
            )
        return rows


class CrmSalesProcessStep(models.Model):
    """Steps put in another order change which stays "moved on" (see the history's path
    columns): those of their processes are computed again."""

    _inherit = "crm.sales.process.step"

    def write(self, vals):
        if not isinstance(vals, Mapping) or "sequence" not in vals:
            return super().write(vals)
        orders = {process: process._get_ordered_steps().ids for process in self.process_id}
        result = super().write(vals)
        moved = self.env["crm.sales.process"].union(
            *(
                process
                for process, order in orders.items()
                if process._get_ordered_steps().ids != order
            )
        )
        if moved:
            self.env["crm.sales.process.history"]._update_path_columns_later(moved)
        return result
