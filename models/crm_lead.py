# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict
from collections.abc import Collection

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain
from odoo.orm.domains import DomainAnd, DomainCondition
from odoo.tools import SQL, float_compare

from .tools import (
    MODULE,
    check_field_values,
    ensure_one_record,
    format_percentage,
)

# Fields whose change can break "probability = step percentage": checked after a write.
PROBABILITY_SYNC_FIELDS = {"probability", "automated_probability", "active"}
# Fields whose change can put a lead in a stage that is not a step of its process.
STAGE_CHECK_FIELDS = {"stage_id", "sales_process_id", "sales_process_step_id"}
# Fields whose change can open or close a stay in the step history.
HISTORY_FIELDS = {"stage_id", "sales_process_id", "active"}
# Context key: write() leaves the step history to its caller (see action_set_lost).
HISTORY_DEFERRED = "crm_sales_process_history_deferred"
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
    # COMPUTE / SEARCH
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

    @api.depends("sales_process_step_id")
    def _compute_probabilities(self):
        """A lead on a step of its sales process has the step's percentage, always.

        Predictive lead scoring computes the others as in stock Odoo. A lost (archived) lead
        keeps its probability, as in stock Odoo, until restored.
        """
        groups = self.grouped("sales_process_step_id")
        no_step = groups.pop(self.env["crm.sales.process.step"], self.browse())
        result = super(CrmLead, no_step)._compute_probabilities() if no_step else None
        for step, leads in groups.items():
            leads.automated_probability = step.probability
            leads.filtered("active").probability = step.probability
        return result

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

        Called at the end of create() and write() rather than as @api.constrains: create() first
        puts new leads whose given stage is no step on the first step, which a constraint
        (checked inside the ORM's create) would not let it do.
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
            lead = off_step[0]
            if not stages:
                raise ValidationError(
                    self.env._(
                        "Sales process “%(process)s” has no steps yet: add steps to it before "
                        "opportunities can follow it.",
                        process=process.display_name,
                    )
                )
            if lead.stage_id not in stages:
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

    def _check_sales_process_probability(self, probability):
        """An active lead on a step has the step's percentage: another value is refused."""
        # once per step: imports give thousands of probabilities at once
        groups = self.filtered("active").grouped("sales_process_step_id")
        for step, leads in groups.items():
            if step and float_compare(probability or 0.0, step.probability, precision_digits=2):
                lead = leads[:1]
                raise ValidationError(
                    self.env._(
                        "The probability of “%(lead)s” is set by its sales process "
                        "“%(process)s”: step “%(step)s” gives %(percentage)s %%, not "
                        "%(probability)s %%. Move the opportunity to another step to change "
                        "its probability.",
                        lead=lead.display_name,
                        process=lead.sales_process_id.display_name,
                        step=step.name,
                        percentage=format_percentage(self.env, step.probability),
                        probability=format_percentage(self.env, probability),
                    )
                )

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
        check_field_values(self, vals_list, module=MODULE)
        vals_list = self._prepare_sales_process_create_vals(vals_list)
        leads = super().create(vals_list)
        process_leads = leads.filtered("sales_process_id")
        if process_leads:
            # A stage given with the values (e.g. the kanban column) may be no step of the
            # process the rules gave: such leads start on the process's first step, in one
            # write per process. Looked at once per process and stage, not lead by lead.
            off_step = defaultdict(list)
            for (process, stage), stage_leads in process_leads.grouped(
                lambda lead: (lead.sales_process_id, lead.stage_id)
            ).items():
                if not stage or stage not in process._get_step_stages():
                    off_step[process] += stage_leads.ids
            for process, lead_ids in off_step.items():
                stages = process._get_step_stages()
                if not stages:
                    # refused: the process has no step to put them on
                    self.browse(lead_ids)._check_sales_process_stage()
                self.browse(lead_ids).write({"stage_id": stages[:1].id})
            # a given probability must be the step's: checked once per value given
            given = defaultdict(list)
            process_lead_ids = set(process_leads.ids)
            for lead_id, vals in zip(leads.ids, vals_list, strict=True):
                if lead_id in process_lead_ids and "probability" in vals:
                    given[vals["probability"]].append(lead_id)
            for probability, lead_ids in given.items():
                self.browse(lead_ids)._check_sales_process_probability(probability)
            process_leads._sync_sales_process_probability()
            process_leads._lock_sales_process_steps()
            process_leads._schedule_sales_process_key_activities()
            process_leads._sales_process_history_update(created=True)
        return leads

    def write(self, vals):
        check_field_values(self, vals, module=MODULE)
        vals = self._sales_process_step_to_stage(vals)
        self._check_sales_process_move(vals)
        entry_keys = self._get_sales_process_entry_keys(vals)
        # A move (stage, process, won/lost) sets the probability itself; alone, it must agree.
        if "probability" in vals and not (STAGE_CHECK_FIELDS | {"active"}) & vals.keys():
            self._check_sales_process_probability(vals["probability"])
        process = self.env["crm.sales.process"].browse(vals.get("sales_process_id"))
        moving = self.env["crm.lead"]
        if process and "stage_id" not in vals:
            moving = self.filtered(lambda lead: lead.sales_process_id != process)
        if moving:
            result = self._write_sales_process_change(vals, process, moving)
        else:
            result = super().write(vals)
        if STAGE_CHECK_FIELDS & vals.keys():
            self._check_sales_process_stage()
        if PROBABILITY_SYNC_FIELDS & vals.keys():
            self._sync_sales_process_probability()
        if STAGE_CHECK_FIELDS & vals.keys():
            self._lock_sales_process_steps()
        elif PROBABILITY_SYNC_FIELDS & vals.keys():
            # A lost or archived lead that stays on its step does not depend on the step's
            # percentage (it keeps its probability): only active leads need the lock.
            self.filtered("active")._lock_sales_process_steps()
        self._schedule_sales_process_entries(entry_keys)
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
            won_steps = lead.sales_process_id._get_ordered_steps().filtered("is_won")
            if not won_steps:
                raise UserError(
                    self.env._(
                        "“%(lead)s” follows sales process “%(process)s”, which has no won "
                        "step: add a step with a won stage to the process first.",
                        lead=lead.display_name,
                        process=lead.sales_process_id.display_name,
                    )
                )
            won_stages[lead] = won_steps[0].stage_id
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
            self._sync_sales_process_probability()
            return True
        result = super().action_set_automated_probability()
        return True if result is None else result  # XML-RPC cannot carry None

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
    # HELPERS
    # ------------------------------------------------------------

    def _lock_sales_process_steps(self):
        """Share-lock the steps (with their processes) these leads are on until commit.

        Concurrency: under PostgreSQL's repeatable read, reading a step's percentage does not
        conflict with a manager changing it at the same time, and both would commit (the lead
        left at the old percentage). The lock makes them conflict: a change of the step (or
        process) committed after this transaction's snapshot, or still running, makes this
        transaction fail with a serialization error, which Odoo retries with fresh data. A
        change waiting behind the lock goes on once this transaction commits, and the step's
        write realigns such leads after its own commit (see crm.sales.process.step).

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

    def _sync_sales_process_probability(self):
        """Put active leads on a step back to the step's percentage (one write per step)."""
        groups = self.filtered("active").grouped("sales_process_step_id")
        groups.pop(self.env["crm.sales.process.step"], None)
        for step, leads in groups.items():
            percentage = step.probability
            # the group's values compared at once (exactly equal in nearly all cases), lead by
            # lead only when one differs
            values = set(leads.mapped("probability")) | set(leads.mapped("automated_probability"))
            if values == {percentage}:
                continue
            off_step = leads.filtered(
                lambda lead, percentage=percentage: float_compare(
                    lead.probability, percentage, precision_digits=2
                )
                or float_compare(lead.automated_probability, percentage, precision_digits=2)
            )
            if off_step:
                off_step.write({"probability": percentage, "automated_probability": percentage})

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
    def _recompute_sales_process_percentage(self):
        """Recompute the stored step percentage of every opportunity, lost ones included.

        Run on upgrade to 19.0.1.0.1: earlier versions stored the text of an empty step
        ("crm.sales.process.step()") on opportunities without a process, shown as a badge on
        their pipeline cards.
        """
        self.flush_model(["sales_process_step_id", "sales_process_percentage"])
        self.env.cr.execute(
            SQL(
                """
                UPDATE crm_lead SET sales_process_percentage = NULL
                 WHERE sales_process_step_id IS NULL AND sales_process_percentage IS NOT NULL
                """
            )
        )
        self.invalidate_model(["sales_process_percentage"])
        leads = self.with_context(active_test=False).search(
            [("sales_process_step_id", "!=", False)]
        )
        self.env.add_to_compute(self._fields["sales_process_percentage"], leads)
        self.flush_model(["sales_process_percentage"])

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

    # ------------------------------------------------------------
    # PREDICTIVE LEAD SCORING: leads on a step keep the step's percentage
    # ------------------------------------------------------------

    def _pls_get_naive_bayes_probabilities(self, batch_mode=False, is_tooltip=False):
        """Leads on a step of their process get the step's percentage, not a PLS estimate.

        Same return shape as stock: ``(probabilities by lead id, tooltip data)``. Covers the
        compute, the cron (which writes the result in SQL) and the form's tooltip.
        """
        process_leads = self.filtered("sales_process_step_id")
        if not process_leads:
            return super()._pls_get_naive_bayes_probabilities(
                batch_mode=batch_mode, is_tooltip=is_tooltip
            )
        if batch_mode:
            process_leads = process_leads.filtered(
                lambda lead: lead.active and lead.won_status == "pending"
            )
        other_leads = self - process_leads
        probabilities, tooltip_data = {}, {}
        if other_leads and not is_tooltip:
            result = super(CrmLead, other_leads)._pls_get_naive_bayes_probabilities(
                batch_mode=batch_mode
            )
            # stock returns a bare dict when it has nothing to compute
            probabilities, tooltip_data = result if isinstance(result, tuple) else (result, {})
        probabilities.update(
            {lead.id: lead.sales_process_step_id.probability for lead in process_leads}
        )
        if is_tooltip:
            tooltip_data = {"probability": self.sales_process_step_id.probability, "scores": []}
        return probabilities, tooltip_data

    def _update_automated_probabilities(self):
        """The cron writes PLS results in SQL: realign leads on a step afterwards.

        Nothing to do normally (the PLS hook already gives them the step's percentage); this
        also repairs probabilities written by any other SQL.
        """
        result = super()._update_automated_probabilities()
        self.env["crm.lead"].flush_model(["probability", "automated_probability", "active"])
        self.env.cr.execute(
            SQL(
                """
                SELECT lead.id
                  FROM crm_lead lead
                  JOIN crm_sales_process_step step ON step.id = lead.sales_process_step_id
                 WHERE lead.active
                   AND (lead.probability IS DISTINCT FROM step.probability
                        OR lead.automated_probability IS DISTINCT FROM step.probability)
                """
            )
        )
        lead_ids = [row[0] for row in self.env.cr.fetchall()]
        if lead_ids:
            self.env["crm.lead"].browse(lead_ids)._sync_sales_process_probability()
        # The cron commits batch by batch the leads it read at its start: one lost meanwhile
        # (probability and automated probability 0) gets the estimate back. Lost stays 0.
        self.env.cr.execute(
            SQL(
                """
                UPDATE crm_lead
                   SET probability = 0, automated_probability = 0
                 WHERE sales_process_id IS NOT NULL
                   AND NOT active
                   AND won_status = 'lost'
                   AND (probability != 0 OR automated_probability != 0)
                """
            )
        )
        if self.env.cr.rowcount:
            self.env["crm.lead"].invalidate_model(["probability", "automated_probability"])
        return result
