# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The opportunity on its sales process: always on a step, with the step's percentage.

Two rules live here, each in one place:

* **On a step**: an opportunity following a process is on one of its steps
  (``_check_sales_process_stage``); a stage that only comes from a default (a kanban column's
  quick create, the team's first stage) gives way to the first step, a stage given with the
  values that is no step is refused.
* **Probability = the step's percentage** (``_compute_probabilities``, the owner): every path
  goes through the compute (create, move, process change, won, restore, a change of the
  step's percentage through the ORM dependency), ``_check_sales_process_probability``
  refuses another value and share-locks the steps, and predictive lead scoring does not
  score opportunities on a step. The concurrency guard of the step side is
  ``crm.sales.process.step._lock_against_concurrent_opportunities``.
"""

from collections.abc import Collection

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain
from odoo.orm.domains import DomainAnd, DomainCondition
from odoo.tools import SQL, float_compare

from .crm_sales_process_checked_values import check_field_values
from .tools import ensure_one_record, format_percentage

# Fields whose change can put a lead in a stage that is not a step of its process.
STAGE_CHECK_FIELDS = {"stage_id", "sales_process_id", "sales_process_step_id"}
# Fields whose change can open or close a stay in the step history.
HISTORY_FIELDS = {"stage_id", "sales_process_id", "active"}
# Context key: write() leaves the step history to its caller (see action_set_lost).
HISTORY_DEFERRED = "crm_sales_process_history_deferred"
# Context key: the opportunities being merged (see _merge_opportunity).
MERGING = "crm_sales_process_merging"
# Cursor cache key: ids of the steps share-locked in the current transaction.
LOCKED_STEPS_KEY = "crm_sales_process.locked_step_ids"


class CrmLead(models.Model):
    _inherit = "crm.lead"

    sales_process_id = fields.Many2one(
        "crm.sales.process",
        index="btree_not_null",
        tracking=True,
        ondelete="restrict",
        # Company consistency: _check_sales_process_company (in batch; check_company=True
        # costs a domain evaluation per opportunity, a tenth of an import's time)
        domain="[('company_id', 'in', [company_id or current_company_id, False])]",
        # Set once, on creation, by the default-process rules (see _compute_sales_process_id);
        # an explicit value is kept, and changing the salesperson later does not change it.
        compute="_compute_sales_process_id",
        store=True,
        readonly=False,
        precompute=True,
        copy=True,
    )
    sales_process_step_id = fields.Many2one(
        "crm.sales.process.step",
        compute="_compute_sales_process_step_id",
        index="btree_not_null",
        store=True,
        # Editable so the form's step path is clickable: choosing a step moves the stage.
        readonly=False,
    )
    sales_process_progress = fields.Char(
        string="Step",
        compute="_compute_sales_process_progress",
        help="Position of the opportunity in its sales process, e.g. Step 3/5 · 50 %.",
    )
    # Stored: the pipeline shows it on every card, and reading a column costs the kanban nothing
    sales_process_percentage = fields.Char(
        string="Step Percentage",
        compute="_compute_sales_process_percentage",
        store=True,
    )

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("sales_process_id.step_ids.stage_id", "stage_id")
    def _compute_sales_process_step_id(self):
        # one lookup table for all leads: bulk moves and imports compute thousands at once
        steps = {
            (process, step.stage_id): step
            for process in self.sales_process_id
            for step in process.step_ids
        }
        no_step = self.env["crm.sales.process.step"]

        groups = self.grouped(
            lambda lead: steps.get((lead.sales_process_id, lead.stage_id), no_step)
        )
        for step, leads in groups.items():
            leads.sales_process_step_id = step

    @api.depends(
        "sales_process_step_id.probability",
        "sales_process_step_id.sequence",
        "sales_process_id.step_ids",
    )
    def _compute_sales_process_progress(self):
        for lead in self:
            step = lead.sales_process_step_id
            if not step:
                lead.sales_process_progress = False
                continue
            percentage = format_percentage(self.env, step.probability)
            lead.sales_process_progress = self.env._(
                "Step %(number)s/%(count)s · %(percentage)s %%",
                number=step.number,
                count=len(lead.sales_process_id.step_ids),
                percentage=percentage,
            )

    @api.depends("sales_process_step_id.probability")
    def _compute_sales_process_percentage(self):
        # Stored: formatted the same for every reader, whatever their language; once per
        # step, as bulk moves and imports compute thousands at once.
        env = self.with_context(lang="en_US").env
        for step, leads in self.grouped("sales_process_step_id").items():
            leads.sales_process_percentage = (
                f"{format_percentage(env, step.probability)} %" if step else False
            )

    @api.depends("sales_process_step_id.probability")
    def _compute_probabilities(self):
        """An active lead on a step of its process has the step's percentage: the one owner
        of that rule. Stock leads get predictive lead scoring's estimate as in stock Odoo; a
        lost (archived) lead keeps its probability until it is restored.

        A change of a step's percentage reaches its leads through the dependency, in one
        UPDATE per value, without their write() (nothing else of theirs changes).
        """
        step_leads = self.filtered(lambda lead: lead.sales_process_step_id and lead.active)
        stock_leads = self.filtered(lambda lead: not lead.sales_process_step_id)
        for step, leads in step_leads.grouped("sales_process_step_id").items():
            leads.probability = leads.automated_probability = step.probability
        return super(CrmLead, stock_leads)._compute_probabilities() if stock_leads else None

    def _compute_stage_id(self):
        """A lead following a process stays on a step of it; the others as in stock Odoo."""
        process_leads = self._split_sales_process_leads("_compute_stage_id")
        for lead in process_leads:
            stages = lead.sales_process_id._get_step_stages()
            if lead.stage_id not in stages:
                lead.stage_id = stages[:1]

    # ------------------------------------------------------------
    # CONSTRAINTS AND ONCHANGE
    # ------------------------------------------------------------

    def _check_sales_process_stage(self):
        """An opportunity following a process is always on one of its steps.

        Called at the end of create() and write() rather than as @api.constrains: create()
        first puts new leads whose stage only came from a default on the first step, which a
        constraint (checked inside the ORM's create) would not let it do.
        """
        # per process and stage, not lead by lead: bulk moves and imports check thousands
        groups = self.grouped("sales_process_id")
        groups.pop(self.env["crm.sales.process"], None)
        for process, leads in groups.items():
            stages = process._get_step_stages()
            off_step = [
                stage_leads[:1]
                for stage, stage_leads in leads.grouped("stage_id").items()
                if not stage or stage not in stages
            ]
            if not off_step:
                continue
            if not stages:
                raise ValidationError(
                    self.env._(
                        "Sales process “%(process)s” has no steps yet: add steps to it before "
                        "opportunities can follow it.",
                        process=process.display_name,
                    )
                )
            lead = off_step[0]
            raise ValidationError(
                self.env._(
                    "“%(lead)s” follows sales process “%(process)s”: stage “%(stage)s” is "
                    "not one of its steps. Choose one of: %(steps)s.",
                    lead=lead.display_name,
                    process=process.display_name,
                    stage=lead.stage_id.display_name or self.env._("none"),
                    steps=", ".join(stages.mapped("display_name")),
                )
            )

    @api.constrains("sales_process_id", "company_id")
    def _check_sales_process_company(self):
        """An opportunity follows a process of its own company."""
        # per process and company, not lead by lead: imports check thousands at once
        groups = self.grouped(lambda lead: (lead.sales_process_id, lead.company_id))
        for (process, company), leads in groups.items():
            if process and process.company_id != company:
                lead = leads[:1]
                raise ValidationError(
                    self.env._(
                        "“%(lead)s” belongs to %(company)s: it cannot follow sales process "
                        "“%(process)s” of company %(process_company)s.",
                        lead=lead.display_name,
                        company=lead.company_id.display_name or self.env._("no company"),
                        process=process.display_name,
                        process_company=process.company_id.display_name,
                    )
                )

    # On the probability only, written or computed (the ORM checks a computed field's
    # constraints once computed): every move onto a step recomputes it. Not on the stage or
    # step, computed in chains where the probability would be read half computed.
    @api.constrains("probability")
    def _check_sales_process_probability(self):
        """An active lead on a step has the step's percentage: another value is refused.

        The steps checked are share-locked until commit (see _lock_sales_process_steps): the
        check reads their percentage, a concurrent change of it must not slip through. Won
        steps are not: their percentage is always 100 (see crm.sales.process.step).
        """
        # The step first: the probability's compute has read it (cached), and leads without
        # one (stock's) then cost no read of ``active`` after each predictive scoring
        leads = self.filtered(lambda lead: lead.sales_process_step_id and lead.active)
        # once per step: imports give thousands of probabilities at once
        for step, step_leads in leads.grouped("sales_process_step_id").items():
            percentage = step.probability
            off_step = [
                value
                for value in set(step_leads.mapped("probability"))
                if float_compare(value, percentage, precision_digits=2)
            ]
            if not off_step:
                continue
            lead = step_leads.filtered(lambda lead, value=off_step[0]: lead.probability == value)[
                :1
            ]
            raise ValidationError(
                self.env._(
                    "The probability of “%(lead)s” is set by its sales process "
                    "“%(process)s”: step “%(step)s” gives %(percentage)s %%, not "
                    "%(probability)s %%. Move the opportunity to another step to change "
                    "its probability.",
                    lead=lead.display_name,
                    process=lead.sales_process_id.display_name,
                    step=step.name,
                    percentage=format_percentage(self.env, percentage),
                    probability=format_percentage(self.env, off_step[0]),
                )
            )
        leads.filtered(
            lambda lead: not lead.sales_process_step_id.is_won
        )._lock_sales_process_steps()

    @api.onchange("sales_process_id")
    def _onchange_sales_process_id(self):
        """Show a new lead on the first step of its process.

        An existing lead moves to the step with the nearest percentage when saved (write()).
        """
        for lead in self.filtered(lambda lead: not lead._origin and lead.sales_process_id):
            stages = lead.sales_process_id._get_step_stages()
            if lead.stage_id not in stages:
                lead.stage_id = stages[:1]

    @api.onchange("sales_process_step_id")
    def _onchange_sales_process_step_id(self):
        for lead in self.filtered("sales_process_step_id"):
            lead.stage_id = lead.sales_process_step_id.stage_id

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        check_field_values(self, vals_list)
        vals_list = self._prepare_sales_process_create_vals(vals_list)
        given_stage = [self._is_sales_process_stage_given(vals) for vals in vals_list]
        leads = super().create(vals_list)
        process_leads = leads.filtered("sales_process_id")
        if process_leads:
            defaulted = leads.browse(
                lead.id for lead, given in zip(leads, given_stage, strict=True) if not given
            )
            (process_leads & defaulted)._put_on_first_step()
            process_leads._check_sales_process_stage()
            # a probability given (and checked) keeps the ORM from computing the automated
            # one with it: the owner sets it, to the step's percentage
            leads.browse(
                lead.id
                for lead, vals in zip(leads, vals_list, strict=True)
                if "probability" in vals and "automated_probability" not in vals
            ).filtered("sales_process_step_id")._compute_probabilities()
            process_leads._schedule_sales_process_key_activities()
            process_leads._sales_process_history_update(created=True)
        return leads

    def write(self, vals):
        check_field_values(self, vals)
        vals = self._prepare_sales_process_write_vals(vals)
        # before anything is written: the exit criteria of the steps left, and the step each
        # opportunity is on (those entering a step get its key activities)
        self._check_sales_process_move(vals)
        steps_before = self._get_sales_process_entry_keys(vals)
        targets = self._get_sales_process_change_targets(vals)
        result = True
        for leads, group_vals in self._get_sales_process_write_groups(vals, targets):
            result = super(CrmLead, leads).write(group_vals) and result
        self._log_sales_process_change(targets)
        if STAGE_CHECK_FIELDS & vals.keys():
            self._check_sales_process_stage()
        self._schedule_sales_process_entries(steps_before)
        if HISTORY_FIELDS & vals.keys() and not self.env.context.get(HISTORY_DEFERRED):
            self._get_sales_process_history_leads(vals)._sales_process_history_update()
        return result

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_set_won(self):
        """A lead following a process is won on its process's won step."""
        process_leads = self._split_sales_process_leads("action_set_won")
        won_stages = {}
        for lead in process_leads:
            # the process of an opportunity the user may write: read without the record
            # rules' check of the process (a query per win)
            process = lead.sales_process_id.sudo()
            won_steps = process._get_ordered_steps().filtered("is_won")
            if not won_steps:
                raise UserError(
                    self.env._(
                        "“%(lead)s” follows sales process “%(process)s”, which has no won "
                        "step: add a step with a won stage to the process first.",
                        lead=lead.display_name,
                        process=lead.sales_process_id.display_name,
                    )
                )
            won_stages[lead] = won_steps[0].stage_id.sudo(False)
        groups = process_leads.grouped(won_stages.get)
        # Exit criteria first: a refused lost lead must not be left restored but not won
        for stage, leads in groups.items():
            leads._check_sales_process_move({"stage_id": stage.id})
        process_leads.action_unarchive()
        for stage, leads in groups.items():
            leads.write({"stage_id": stage.id, "probability": 100})
        return True

    def action_set_lost(self, **additional_values):
        """Stays left by losing end as "lost" (archiving alone would say "archived")."""
        # The history once, after both of crm's writes (archive, then probability 0): in
        # between it would flush the first and split the lead's UPDATE in two. For the leads
        # those writes touch the history of: the archived ones, all if the values do.
        history_leads = (
            self if HISTORY_FIELDS & additional_values.keys() else self.filtered("active")
        )
        result = super(CrmLead, self.with_context(**{HISTORY_DEFERRED: True})).action_set_lost(
            **additional_values
        )
        history_leads.with_context(
            crm_sales_process_history_lost=True
        )._get_sales_process_history_leads(
            {**additional_values, "active": False}
        )._sales_process_history_update()
        # crm answers None, which XML-RPC cannot carry (the client got an error after the
        # opportunities were lost)
        return True if result is None else result

    def action_set_automated_probability(self):
        """For a lead following a process the "automated" probability is its step's."""
        ensure_one_record(self)
        if self.sales_process_step_id:
            return True
        result = super().action_set_automated_probability()
        return True if result is None else result  # XML-RPC cannot carry None

    # ------------------------------------------------------------
    # MERGE
    # ------------------------------------------------------------

    def _merge_opportunity(self, user_id=False, team_id=False, auto_unlink=True, max_length=5):
        """The merged opportunity keeps one process and step: those of the first opportunity
        (in crm's order of confidence) following a process, even when crm forces the first
        stage of a team on it (see _merge_data, _prepare_sales_process_write_vals)."""
        carrier = self._sort_by_confidence_level(reverse=True).filtered("sales_process_step_id")
        merging = self.with_context(**{MERGING: carrier[:1].stage_id.id})
        return super(CrmLead, merging)._merge_opportunity(
            user_id=user_id, team_id=team_id, auto_unlink=auto_unlink, max_length=max_length
        )

    def _merge_data(self, fnames=None):
        """The process and step of the first opportunity (in crm's order of confidence) that
        follows a process."""
        data = super()._merge_data(fnames=fnames)
        carrier = self.filtered("sales_process_step_id")[:1]
        if carrier:
            data.update(
                sales_process_id=carrier.sales_process_id.id,
                stage_id=carrier.stage_id.id,
            )
        return data

    def _merge_dependences(self, opportunities):
        """The step history of the merged opportunities goes to the one kept."""
        result = super()._merge_dependences(opportunities)
        self._merge_sales_process_history(opportunities)
        return result

    # ------------------------------------------------------------
    # PIPELINE (kanban columns)
    # ------------------------------------------------------------

    @api.model
    def _read_group_stage_ids(self, stages, domain):
        """A pipeline restricted to one sales process shows exactly its steps, in step order."""
        process = self._get_sales_process_from_domain(domain)
        if not process:
            return super()._read_group_stage_ids(stages, domain)
        return stages.browse(process.sudo()._get_step_stages().ids)

    @api.model
    def _get_sales_process_from_domain(self, domain):
        """The one sales process a search domain restricts leads to, if any.

        Understood: top-level conditions ``sales_process_id`` = / in (one id or one name
        matching one process) and ``is_my_sales_process``, else the context's
        ``default_sales_process_id``.
        """
        candidates = None
        domain = Domain(domain or [])
        conditions = domain.children if isinstance(domain, DomainAnd) else (domain,)
        for condition in conditions:
            if not isinstance(condition, DomainCondition):
                continue
            ids = self._get_condition_process_ids(condition)
            if ids is not None:
                candidates = ids if candidates is None else candidates & ids
        if candidates is None and self.env.context.get("default_sales_process_id"):
            candidates = {self.env.context["default_sales_process_id"]}
        if not candidates or len(candidates) != 1:
            return self.env["crm.sales.process"]
        return self.env["crm.sales.process"].browse(candidates.pop()).exists()

    @api.model
    def _get_condition_process_ids(self, condition):
        """Process ids a domain condition restricts to, or None when it does not."""
        field, operator, value = condition.field_expr, condition.operator, condition.value
        # the web client's domain arrives optimized: "=" became "in" with a set of values
        values = (
            list(value) if isinstance(value, Collection) and not isinstance(value, str) else [value]
        )
        if field == "is_my_sales_process" and operator in ("=", "in"):
            return set(self._get_my_sales_process().ids) if values == [True] else None
        if field != "sales_process_id" or operator not in ("=", "in", "ilike"):
            return None
        if operator == "ilike" and isinstance(value, str):
            return set(self.env["crm.sales.process"]._search([("name", "ilike", value)]))
        if values and all(isinstance(item, int) and item for item in values):
            return set(values)
        return None

    # ------------------------------------------------------------
    # PREDICTIVE LEAD SCORING: leads on a step are not scored
    # ------------------------------------------------------------

    def _pls_get_naive_bayes_probabilities(self, batch_mode=False, is_tooltip=False):
        """Leads on a step of their process get no estimate: their probability is the
        step's (see _compute_probabilities). So the nightly cron, which writes its estimates
        in SQL batch after batch (stock leads lost meanwhile included), never touches them,
        and the form's tooltip shows the step's percentage.

        Same return shape as stock: ``(probabilities by lead id, tooltip data)``.
        """
        step_leads = self.filtered("sales_process_step_id")
        if is_tooltip and step_leads:
            percentage = step_leads.sales_process_step_id.probability
            return {self.id: percentage}, {"probability": percentage, "scores": []}
        stock_leads = self - step_leads
        if not stock_leads:
            return {}, {}
        return super(CrmLead, stock_leads)._pls_get_naive_bayes_probabilities(
            batch_mode=batch_mode, is_tooltip=is_tooltip
        )

    # ------------------------------------------------------------
    # HELPERS
    # ------------------------------------------------------------

    def _get_sales_process_write_groups(self, vals, targets):
        """``[(leads, values)]``: the write split where leads need values of their own.

        ``targets`` ({lead: step}, see _get_sales_process_change_targets): given a new process,
        each lead goes to its step there. A lead back in the pipeline (restored, unarchived)
        that stays on its step takes the step's percentage: nothing its percentage depends on
        changes, so _compute_probabilities would not run (moves recompute it themselves).
        """
        if targets:
            groups = self.grouped(lambda lead: targets.get(lead))
            return [
                (leads, dict(vals, stage_id=step.stage_id.id) if step else vals)
                for step, leads in groups.items()
            ]
        if not vals.get("active") or "probability" in vals or STAGE_CHECK_FIELDS & vals.keys():
            return [(self, vals)]
        no_step = self.env["crm.sales.process.step"]

        groups = self.grouped(lambda lead: no_step if lead.active else lead.sales_process_step_id)
        return [
            (
                leads,
                dict(vals, probability=step.probability, automated_probability=step.probability)
                if step
                else vals,
            )
            for step, leads in groups.items()
        ]

    def _lock_sales_process_steps(self):
        """Share-lock the steps (with their processes) these leads are on until commit.

        Concurrency: under PostgreSQL's repeatable read, reading a step's percentage does not
        conflict with a manager changing it at the same time, and both would commit (the lead
        left at the old percentage). The lock makes them conflict: a change of the step (or
        process) committed after this transaction's snapshot, or still running, makes this
        transaction fail with a serialization error, which Odoo retries with fresh data; a
        change not yet started waits for this transaction, and then sees this lead (see
        crm.sales.process.step._lock_against_concurrent_opportunities).

        A step is locked once per transaction: crm's won, lost and restore actions write a
        lead several times. The steps locked are kept in the cursor's cache, which Odoo
        clears at commit, rollback and rollback to a (flushing) savepoint, when the locks go.
        """
        steps = self.sales_process_step_id
        if not steps or self.env.cr.readonly:
            return
        locked = self.env.cr.cache.setdefault(LOCKED_STEPS_KEY, set())
        steps = steps.filtered(lambda step: step.id not in locked)
        if not steps:
            return
        locked.update(steps.ids)
        self.env["crm.sales.process.step"].flush_model(["probability", "process_id"])
        self.env["crm.sales.process"].flush_model(["active"])
        self.env.cr.execute(
            SQL(
                """
                SELECT step.id
                  FROM crm_sales_process_step step
                  JOIN crm_sales_process process ON process.id = step.process_id
                 WHERE step.id = ANY(%s)
                 ORDER BY step.id
                   FOR SHARE
                """,
                sorted(steps.ids),
            )
        )

    def _split_sales_process_leads(self, method, field="sales_process_id"):
        """Run stock ``method`` on the leads without ``field``; return the leads with it."""
        process_leads = self.filtered(field)
        if self - process_leads:
            getattr(super(CrmLead, self - process_leads), method)()
        return process_leads

    @api.model
    def _is_sales_process_stage_given(self, vals):
        """Whether the values choose the stage (an import, a script, the form), rather than
        a default does: the context's default stage (the kanban column of a quick create),
        or the team's first stage when none is given."""
        if not vals.get("stage_id"):
            return False
        return vals["stage_id"] != self.env.context.get("default_stage_id")

    def _put_on_first_step(self):
        """Leads whose stage is no step of their process go to its first step (one write per
        process); a process without steps is refused by _check_sales_process_stage."""
        for process, leads in self.grouped("sales_process_id").items():
            stages = process._get_step_stages()
            off_step = leads.filtered(lambda lead, stages=stages: lead.stage_id not in stages)
            if off_step and stages:
                off_step.write({"stage_id": stages[:1].id})

    @api.model
    def _prepare_sales_process_create_vals(self, vals_list):
        """Values for create(): a chosen step means its stage; an import giving process, stage
        and probability also gets the step's percentage as automated probability.

        Without it the ORM leaves the automated probability at 0 (the probability, computed by
        the same method, is given), and a write per step would follow creation to realign it:
        crm's write hooks (won/lost statistics) made such imports half as slow again.
        """
        vals_list = [self._sales_process_step_to_stage(vals) for vals in vals_list]
        process_ids = {
            vals["sales_process_id"]
            for vals in vals_list
            if vals.get("sales_process_id")
            and vals.get("stage_id")
            and "probability" in vals
            and "automated_probability" not in vals
        }
        if not process_ids:
            return vals_list
        percentages = {
            (step.process_id.id, step.stage_id.id): step.probability
            for step in self.env["crm.sales.process"].browse(process_ids).sudo().step_ids
        }
        result = []
        for vals in vals_list:
            key = (vals.get("sales_process_id"), vals.get("stage_id"))
            if key in percentages and "probability" in vals and "automated_probability" not in vals:
                vals = dict(vals, automated_probability=percentages[key])
            result.append(vals)
        return result

    @api.model
    def _sales_process_step_to_stage(self, vals):
        """Choosing a step (the form's step path) means going to its stage."""
        if "sales_process_step_id" not in vals:
            return vals
        vals = dict(vals)
        step = self.env["crm.sales.process.step"].browse(vals.pop("sales_process_step_id"))
        if step and "stage_id" not in vals:
            vals["stage_id"] = step.stage_id.id
        return vals

    def _prepare_sales_process_write_vals(self, vals):
        """Values for write(): a chosen step means its stage; a merge keeps the step of the
        opportunity whose process the merged one keeps, whatever stage crm chose for the
        team (see _merge_opportunity)."""
        vals = self._sales_process_step_to_stage(vals)
        merge_stage_id = self.env.context.get(MERGING)
        if merge_stage_id and "stage_id" in vals and vals.get("sales_process_id"):
            vals = dict(vals, stage_id=merge_stage_id)
        return vals
