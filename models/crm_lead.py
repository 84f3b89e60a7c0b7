# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict
from collections.abc import Collection
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain
from odoo.orm.domains import DomainAnd, DomainCondition
from odoo.tools import SQL, float_compare, format_date

from .tools import (
    MODULE,
    check_field_values,
    check_record_ids,
    ensure_one_record,
    format_percentage,
)

# Fields whose change can break "probability = step percentage": checked after a write.
PROBABILITY_SYNC_FIELDS = {"probability", "automated_probability", "active"}
# Fields whose change can put a lead in a stage that is not a step of its process.
STAGE_CHECK_FIELDS = {"stage_id", "sales_process_id", "sales_process_step_id"}
# Fields whose change can make an opportunity enter a step (and get its key activities).
STEP_ENTRY_FIELDS = STAGE_CHECK_FIELDS | {"type"}
# How many refused opportunities a batch error message lists by name.
MOVE_ERROR_LIMIT = 20
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
    # No index: a company has few departments, each holding a large share of the
    # opportunities (the planner reads the table rather than such an index), while every
    # insert and stage move would pay for keeping it.
    department_id = fields.Many2one(
        "hr.department",
        compute="_compute_department_id",
        store=True,
        help="Department of the salesperson, for the forecast.",
    )
    is_my_sales_process = fields.Boolean(
        string="My Sales Process",
        compute="_compute_is_my_sales_process",
        search="_search_is_my_sales_process",
        help="Follows the sales process that new opportunities of the current user get.",
    )
    # Step playbook
    sales_process_guidance = fields.Html(
        string="Step Guidance", related="sales_process_step_id.guidance"
    )
    sales_process_checklist = fields.Html(
        string="Step Checklist",
        compute="_compute_sales_process_checklist",
        sanitize=False,
        help="Key activities of the current step with their state, and its exit criteria.",
    )
    sales_process_checklist_progress = fields.Char(
        string="Exit Criteria Met",
        compute="_compute_sales_process_checklist_progress",
        help="Exit criteria of the current step already met, e.g. 2/3.",
    )
    # Stored copies of the step's figures the pipeline cards need: the cards' checklist
    # counter and stalled highlight then read no step.
    sales_process_exit_criteria_count = fields.Integer(
        string="Step Exit Criteria", compute="_compute_sales_process_step_figures", store=True
    )
    sales_process_stall_days = fields.Integer(
        string="Step Stall Days", compute="_compute_sales_process_step_figures", store=True
    )
    is_stalled = fields.Boolean(
        string="Stalled",
        compute="_compute_is_stalled",
        search="_search_is_stalled",
        help="Open opportunity on its step (or, without a sales process, its stage) for "
        "longer than the step's stall days (the stage's days to rot).",
    )
    # When the stall reminder was posted, as the stage-change date it was posted for: a later
    # stage change makes a new stall, reminded again.
    sales_process_stall_reminded = fields.Datetime(copy=False, readonly=True)
    sales_process_history_ids = fields.One2many(
        "crm.sales.process.history",
        "lead_id",
        string="Step History",
        readonly=True,
    )

    # ------------------------------------------------------------
    # COMPUTE / SEARCH
    # ------------------------------------------------------------

    # No dependencies on purpose: the rules give a process to NEW leads only (computed before
    # insertion, in batch). Existing leads keep theirs when salesperson or team change; the
    # form proposes a process for new leads through _onchange_sales_process_proposal.
    @api.depends()
    def _compute_sales_process_id(self):
        new_leads = self.filtered(lambda lead: not lead._origin)
        processes = new_leads._get_locked_sales_process_by_rules()
        for lead in new_leads:
            lead.sales_process_id = processes.get(lead, False)

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

    @api.depends("sales_process_step_id.exit_criteria_count", "sales_process_step_id.stall_days")
    def _compute_sales_process_step_figures(self):
        # once per step (a related field reads the step lead by lead): bulk moves and imports
        # compute thousands at once
        for step, leads in self.grouped("sales_process_step_id").items():
            leads.sales_process_exit_criteria_count = step.exit_criteria_count
            leads.sales_process_stall_days = step.stall_days

    @api.depends_context("uid", "company")
    @api.depends("sales_process_id")
    def _compute_is_my_sales_process(self):
        my_process = self._get_my_sales_process()
        for lead in self:
            lead.is_my_sales_process = bool(my_process) and lead.sales_process_id == my_process

    def _search_is_my_sales_process(self, operator, value):
        if operator != "in":
            return NotImplemented
        domain = Domain("sales_process_id", "in", self._get_my_sales_process().ids)
        if True in value and False in value:
            return Domain.TRUE
        return domain if True in value else ~domain

    @api.depends("user_id", "company_id")
    def _compute_department_id(self):
        departments = self._get_user_departments(self.user_id)
        # once per salesperson and company: imports compute thousands at once
        for (user, company), leads in self.grouped(
            lambda lead: (lead.user_id, lead.company_id)
        ).items():
            leads.department_id = self._pick_department(departments, user, company)

    @api.depends("sales_process_step_id", "activity_ids")
    def _compute_sales_process_checklist(self):
        leads = self.filtered(lambda lead: lead.sales_process_step_id and lead.type != "lead")
        (self - leads).sales_process_checklist = False
        for lead, (states, criteria) in leads._get_sales_process_checklist_data().items():
            lead.sales_process_checklist = lead._render_sales_process_checklist(states, criteria)

    @api.depends("sales_process_exit_criteria_count", "activity_ids")
    def _compute_sales_process_checklist_progress(self):
        # Only steps with exit criteria have a counter: the others cost no query at all
        leads = self.filtered(
            lambda lead: lead.sales_process_exit_criteria_count and lead.type != "lead"
        )
        (self - leads).sales_process_checklist_progress = False
        for lead, (_states, criteria) in leads._get_sales_process_checklist_data().items():
            lead.sales_process_checklist_progress = (
                f"{sum(met for _label, met in criteria)}/{len(criteria)}" if criteria else False
            )

    @api.depends("is_rotting")
    def _compute_is_stalled(self):
        for lead in self:
            lead.is_stalled = lead.is_rotting

    def _search_is_stalled(self, operator, value):
        return [("is_rotting", operator, value)]

    # Stalled opportunities are Odoo's rotting ones: a step's stall days replace the stage's
    # days to rot for opportunities on a step, so cards, column counters and the "Rotting"
    # filter work the same for both. The step is a dependency too: reading the cards then
    # fetches its column with them (the ORM fetches the stored dependencies of computed
    # fields), so the pipeline costs no query more than stock's.
    def _get_rotting_depends_fields(self):
        return super()._get_rotting_depends_fields() + [
            "sales_process_step_id",
            "sales_process_stall_days",
        ]

    def _get_rotting_domain(self):
        return super()._get_rotting_domain() & Domain("sales_process_step_id", "=", False)

    def _is_rotting_feature_enabled(self):
        return super()._is_rotting_feature_enabled() or any(self.mapped("sales_process_stall_days"))

    def _compute_rotting(self):
        step_leads = self.filtered("sales_process_step_id")
        result = super(CrmLead, self - step_leads)._compute_rotting()
        # most steps have no stall days: their leads never stall, set at once
        stalling = step_leads.filtered("sales_process_stall_days")
        (step_leads - stalling).is_rotting = False
        (step_leads - stalling).rotting_days = 0
        if not stalling:
            return result
        now = self.env.cr.now()
        for lead in stalling:
            days = lead.sales_process_stall_days
            since = lead.date_last_stage_update or lead.create_date or now
            stalled = (
                bool(days)
                and lead.won_status == "pending"
                and lead.type == "opportunity"
                and since + timedelta(days=days) < now
            )
            lead.is_rotting = stalled
            lead.rotting_days = (now - since).days if stalled else 0
        return result

    def _search_is_rotting(self, operator, value):
        domain = Domain(super()._search_is_rotting(operator, value))
        step_ids = self._get_stalled_step_lead_ids()
        if operator == "in":
            return domain | Domain("id", "in", step_ids)
        return domain & Domain("id", "not in", step_ids)

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

    @api.onchange("user_id", "team_id")
    def _onchange_sales_process_proposal(self):
        """Propose the default process of the salesperson / team on a new lead."""
        new_leads = self.filtered(lambda lead: not lead._origin)
        processes = new_leads._get_sales_process_by_rules()
        for lead in new_leads:
            lead.sales_process_id = processes.get(lead, False)

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

    def _write_sales_process_change(self, vals, process, moving):
        """Write ``vals`` giving ``moving`` leads ``process``: each goes to the step with the
        nearest percentage (ties: the earlier step), with a note in its chatter."""
        targets = {}
        for lead in moving:
            current = (
                lead.sales_process_step_id.probability
                if lead.sales_process_step_id
                else lead.probability
            )
            targets[lead] = process._get_nearest_step(current)
        groups = self.grouped(lambda lead: targets[lead].stage_id.id if lead in targets else None)
        result = True
        for stage_id, leads in groups.items():
            group_vals = dict(vals, stage_id=stage_id) if stage_id else vals
            result = super(CrmLead, leads).write(group_vals) and result
        bodies = {
            lead.id: Markup("<p>%s</p>")
            % self.env._(
                "Sales process changed to “%(process)s”: moved to step “%(step)s” "
                "(%(percentage)s %%), the step with the nearest percentage.",
                process=process.display_name,
                step=step.name,
                percentage=format_percentage(self.env, step.probability),
            )
            for lead, step in targets.items()
        }
        moving._message_log_batch(bodies=bodies)
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

    @api.readonly
    def action_view_sales_process_history(self):
        """The opportunity's stays in the steps of its processes, latest first."""
        ensure_one_record(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_sales_process.crm_sales_process_history_action"
        )
        action["domain"] = [("lead_id", "=", self.id)]
        return action

    def action_set_automated_probability(self):
        """For a lead following a process the "automated" probability is its step's."""
        ensure_one_record(self)
        if self.sales_process_step_id:
            self._sync_sales_process_probability()
            return True
        result = super().action_set_automated_probability()
        return True if result is None else result  # XML-RPC cannot carry None

    def convert_opportunity(self, partner, user_ids=False, team_id=False):
        """Leads keep their process when converted; those without get one by the rules.

        Callable over RPC: the customer, salespeople and team may come as ids. Their types
        are checked, not their existence: lead assignment converts lead by lead, a query
        each would slow it down (a deleted id is refused by the foreign key).
        """
        _ = self.env._
        env = self.env
        partner = check_record_ids(
            env, "res.partner", partner, _("The customer"), check_exists=False
        )
        if user_ids:
            user_ids = check_record_ids(
                env, "res.users", user_ids, _("The salespeople"), many=True, check_exists=False
            ).ids
        if team_id:
            team_id = check_record_ids(
                env, "crm.team", team_id, _("The sales team"), check_exists=False
            ).id
        without_process = self.filtered(lambda lead: not lead.sales_process_id)
        result = super().convert_opportunity(partner, user_ids=user_ids, team_id=team_id)
        converted = without_process.filtered(lambda lead: lead.type == "opportunity")
        converted._assign_sales_process_by_rules()
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
    # HELPERS
    # ------------------------------------------------------------

    def _get_sales_process_by_rules(self, lock=False):
        """{lead: process} for the leads a default-process rule applies to.

        Most specific rule of the lead's company first: salesperson > sales team > the
        salesperson's department > everyone. Costs one query for the rules (none for
        companies without default processes) and one for departments when a department rule
        exists, whatever the number of leads. ``lock``: the companies' default processes are
        share-locked until commit (see crm.sales.process._get_default_process_rules).
        """
        if not self:
            return {}
        # A lead without company cannot follow a process: processes belong to one company.
        companies = {lead: lead.company_id for lead in self}
        rules = self.env["crm.sales.process"]._get_default_process_rules(
            {company.id for company in companies.values() if company}, lock=lock
        )
        if not rules:
            return {}
        departments = {}
        if any(rule["department"] for rule in rules.values()):
            departments = self._get_user_departments(self.user_id)
        Process = self.env["crm.sales.process"]
        result = {}
        for lead in self:
            rule = rules.get(companies[lead].id)
            if not rule:
                continue
            department = self._pick_department(departments, lead.user_id, lead.company_id)
            process_id = (
                rule["user"].get(lead.user_id.id)
                or rule["team"].get(lead.team_id.id)
                or rule["department"].get(department.id)
                or rule["all"]
            )
            if process_id:
                result[lead] = Process.browse(process_id)
        return result

    def _get_locked_sales_process_by_rules(self):
        """_get_sales_process_by_rules, the default processes share-locked until commit: a
        process archived or a rule changed concurrently makes one of the two transactions
        fail and be retried by Odoo, never an opportunity created on a process that is no
        longer the default."""
        return self._get_sales_process_by_rules(lock=True)

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

    def _assign_sales_process_by_rules(self):
        """Give leads without a process the one of the rules, keeping their stage if it is a
        step of it, else on its first step (one write per process and stage)."""
        processes = self.filtered(
            lambda lead: not lead.sales_process_id
        )._get_sales_process_by_rules()

        def target(lead):
            stages = processes[lead]._get_step_stages()
            return processes[lead], lead.stage_id if lead.stage_id in stages else stages[:1]

        groups = self.filtered(lambda lead: lead in processes).grouped(target)
        for (process, stage), leads in groups.items():
            leads.write({"sales_process_id": process.id, "stage_id": stage.id})

    @api.model
    def _get_my_sales_process(self):
        """The process the rules give the current user's new opportunities."""
        lead = self.new({"user_id": self.env.uid, "type": "opportunity"})
        return lead._get_sales_process_by_rules().get(lead, self.env["crm.sales.process"])

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

    def _get_sales_process_history_leads(self, vals):
        """Leads whose stays a write of ``vals`` may open or close: those on a process, and
        all of them when the write takes their process away."""
        if "sales_process_id" in vals and not vals["sales_process_id"]:
            return self
        return self.filtered("sales_process_id")

    def _sales_process_history_update(self, created=False):
        """Close the stays these leads have left and open those they entered, in SQL.

        One query whatever the number of leads: a stay closes when its lead is on another
        step or process, or archived; a stay opens for an active lead on a step without an
        open stay. A lead created archived (e.g. imported lost) gets a closed stay at once.
        ``created``: the leads were just created, they have no stay to close (imports).
        """
        if not self:
            return
        self.env["crm.sales.process.step"].flush_model(["process_id", "sequence", "stage_id"])
        self.env["crm.stage"].flush_model(["is_won"])
        # all fields: flushing only some would split the lead's pending UPDATE in two
        self.flush_recordset()
        self.env["crm.sales.process.history"].flush_model()
        now = self.env.cr.now()
        lost = bool(self.env.context.get("crm_sales_process_history_lost"))
        # The leads are read once (a materialized CTE, used by both parts); their stays are
        # reached through the lead index, never by scanning the whole history.
        leads = SQL(
            """
            lead AS MATERIALIZED (
                SELECT id, sales_process_id, sales_process_step_id, active, probability,
                       user_id, team_id, department_id, expected_revenue
                  FROM crm_lead
                 WHERE id = ANY(%(ids)s)
            )
            """,
            ids=list(self.ids),
        )
        insert = SQL(
            """
            INSERT INTO crm_sales_process_history
                   (lead_id, step_id, user_id, team_id, department_id,
                    expected_revenue, probability, date_in, date_out, duration_days,
                    exit_reason)
            SELECT lead.id, lead.sales_process_step_id, lead.user_id, lead.team_id,
                   lead.department_id, lead.expected_revenue, lead.probability, %(now)s,
                   CASE WHEN lead.active THEN NULL ELSE %(now)s END,
                   0.0,
                   CASE WHEN lead.active THEN NULL
                        WHEN %(lost)s OR lead.probability = 0 THEN 'lost'
                        ELSE 'archived' END
              FROM lead
             WHERE lead.sales_process_step_id IS NOT NULL
            """,
            now=now,
            lost=lost,
        )
        # Without JIT: PostgreSQL would compile the statement of a bulk move (its estimated
        # cost is above jit_above_cost) for a tenth of its run time, to run it once. The
        # setting is put back right after, in the same round trip.
        no_jit, jit_back = SQL("SET LOCAL jit = off;"), SQL("; RESET jit")
        if created:
            # New leads have no stay yet, unless a write of create() opened it already
            self.env.cr.execute(
                SQL(
                    """
                    %(no_jit)s
                    WITH %(leads)s
                    %(insert)s
                       AND NOT EXISTS (SELECT 1 FROM crm_sales_process_history stay
                                        WHERE stay.lead_id = lead.id)
                    %(jit_back)s
                    """,
                    no_jit=no_jit,
                    jit_back=jit_back,
                    leads=leads,
                    insert=insert,
                )
            )
        else:
            # One statement: the INSERT sees the stays as they were before the UPDATE, hence
            # the stays it closes (RETURNING) count as closed. The lead ids are repeated on the
            # stays: PostgreSQL then reads them through the lead index (a bulk move would
            # otherwise scan every open stay). "known": whether each lead had
            # stays, and an open one, grouped from its stays (no subquery per lead).
            self.env.cr.execute(
                SQL(
                    """
                    %(no_jit)s
                    WITH %(leads)s,
                    closed AS (
                        UPDATE crm_sales_process_history stay
                           SET date_out = %(now)s,
                               duration_days = EXTRACT(EPOCH FROM %(now)s - stay.date_in)
                                               / 86400.0,
                               exit_reason = CASE
                                   WHEN NOT lead.active THEN
                                       CASE WHEN %(lost)s OR lead.probability = 0 THEN 'lost'
                                            ELSE 'archived' END
                                   WHEN lead.sales_process_id
                                        IS DISTINCT FROM old_step.process_id
                                       THEN 'process_change'
                                   WHEN new_stage.is_won THEN 'won'
                                   WHEN (new_step.sequence, new_step.id)
                                        > (old_step.sequence, old_step.id) THEN 'forward'
                                   ELSE 'backward'
                               END
                          FROM lead
                     LEFT JOIN crm_sales_process_step new_step
                            ON new_step.id = lead.sales_process_step_id
                     LEFT JOIN crm_stage new_stage ON new_stage.id = new_step.stage_id,
                               crm_sales_process_step old_step
                         WHERE stay.lead_id = lead.id
                           AND stay.lead_id = ANY(%(ids)s)
                           AND old_step.id = stay.step_id
                           AND stay.date_out IS NULL
                           AND (NOT lead.active
                                OR lead.sales_process_step_id IS DISTINCT FROM stay.step_id)
                     RETURNING stay.lead_id
                    ),
                    known AS (
                        SELECT stay.lead_id, bool_or(stay.date_out IS NULL) AS has_open
                          FROM lead
                          JOIN crm_sales_process_history stay ON stay.lead_id = lead.id
                      GROUP BY stay.lead_id
                    )
                    %(insert)s
                       AND (lead.active
                            OR NOT EXISTS (SELECT 1 FROM known WHERE known.lead_id = lead.id))
                       AND (lead.id IN (SELECT closed.lead_id FROM closed)
                            OR NOT EXISTS (SELECT 1 FROM known
                                            WHERE known.lead_id = lead.id AND known.has_open))
                    %(jit_back)s
                    """,
                    no_jit=no_jit,
                    jit_back=jit_back,
                    leads=leads,
                    ids=list(self.ids),
                    now=now,
                    lost=lost,
                    insert=insert,
                )
            )
        self.env["crm.sales.process.history"].invalidate_model()
        self.invalidate_recordset(["sales_process_history_ids"])

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

    @api.model
    def _pick_department(self, departments, user, company):
        """The department of ``user`` in ``company`` from _get_user_departments' result.

        Without a company on the lead, the salesperson's department in any company is used.
        """
        if not user:
            return self.env["hr.department"]
        if company:
            return departments.get((user.id, company.id), self.env["hr.department"])
        return (
            departments.get((user.id, user.company_id.id))
            or departments.get((user.id, False))
            or self.env["hr.department"]
        )

    def _get_user_departments(self, users):
        """{(user id, company id): department} in one query.

        Reads the public employee view (employee joined with its current version, where the
        department lives), as superuser: salespeople may not read HR data, and only the
        department is returned. The view is SQL: pending employee changes are flushed first.
        The (user, False) key holds any company's department, for leads without a company.
        """
        if not users:
            return {}
        self.env["hr.employee"].flush_model()
        self.env["hr.version"].flush_model()
        employees = (
            self.env["hr.employee.public"]
            .sudo()
            .search_fetch(
                [("user_id", "in", users.ids), ("department_id", "!=", False)],
                ["user_id", "company_id", "department_id"],
                order="id",
            )
        )
        departments = {}
        for employee in employees:
            department = employee.department_id.sudo(False)
            departments.setdefault((employee.user_id.id, employee.company_id.id), department)
            departments.setdefault((employee.user_id.id, False), department)
        return departments

    # ------------------------------------------------------------
    # STEP PLAYBOOK: exit criteria, key activities, stalled opportunities
    # ------------------------------------------------------------

    def action_schedule_key_activities(self):
        """Schedule the key activities of the current step that are not open yet, e.g. on an
        opportunity that entered its step before the step had key activities."""
        self._schedule_sales_process_key_activities(skip_done=True)
        return True

    def _check_sales_process_move(self, vals):
        """Refuse, before anything is written, forward moves that leave a step with open exit
        criteria or skip steps of a process enforcing the step order.

        Forward = to a later step of the same process, won included. Backward moves, lost and
        process changes are free. The criteria of the step left and of the steps skipped must
        be met; a value written together with the move counts. One error lists every refused
        opportunity of the batch.
        """
        if "stage_id" not in vals:
            return
        # nothing to check lead by lead unless a process enforces its step order or has a step
        # with exit criteria (most have neither)
        processes = self.sales_process_id
        if not any(processes.mapped("enforce_step_order")) and not any(
            processes.step_ids.mapped("exit_criteria_count")
        ):
            return
        moves = self._get_sales_process_forward_moves(vals)
        # what may refuse a move depends on the steps it leaves and skips: looked at once per
        # process, step and target, then lead by lead only where a criterion applies
        checked = {}
        for key in set(moves.values()):
            steps, current, target = key
            checked[key] = (steps[0].process_id.enforce_step_order and target > current + 1) or any(
                step.require_activities_done or step._get_required_fields()
                for step in steps[current:target]
            )
        moves = {lead: key for lead, key in moves.items() if checked[key]}
        if not moves:
            return
        check_activities = self.browse(
            [
                lead.id
                for lead, (steps, current, target) in moves.items()
                if any(steps[current:target].mapped("require_activities_done"))
            ]
        )
        open_activities = check_activities._get_key_activities(open_only=True)
        errors = []
        for lead, (steps, current, target) in moves.items():
            reasons = lead._get_sales_process_move_problems(
                steps, current, target, vals, open_activities
            )
            if reasons:
                errors.append(
                    self.env._(
                        "“%(lead)s” cannot move forward from step “%(step)s” to “%(target)s”: "
                        "%(reasons)s.",
                        lead=lead.display_name,
                        step=steps[current].name,
                        target=steps[target].name,
                        reasons="; ".join(reasons),
                    )
                )
        if not errors:
            return
        if len(self) == 1:
            raise UserError(errors[0])
        lines = errors[:MOVE_ERROR_LIMIT]
        if len(errors) > MOVE_ERROR_LIMIT:
            lines.append(self.env._("… and %(count)s more.", count=len(errors) - MOVE_ERROR_LIMIT))
        raise UserError(
            self.env._(
                "Nothing was moved: %(count)s of %(total)s opportunities do not meet the exit "
                "criteria of their step.\n%(lines)s",
                count=len(errors),
                total=len(self),
                lines="\n".join(lines),
            )
        )

    def _get_sales_process_forward_moves(self, vals):
        """{lead: (ordered steps, index of its step, index of the target step)} for the leads
        ``vals`` moves forward within their process."""
        if "stage_id" not in vals:
            return {}
        leads = self.filtered("sales_process_step_id")
        if "sales_process_id" in vals:
            leads = leads.filtered(
                lambda lead: lead.sales_process_id.id == vals["sales_process_id"]
            )
        # per process: its ordered steps and the position of each step's stage, once
        positions = {}
        for process in leads.sales_process_id:
            steps = process._get_ordered_steps()
            positions[process] = (
                steps,
                {step.stage_id.id: index for index, step in enumerate(steps)},
            )
        moves = {}
        for lead in leads:
            steps, stage_positions = positions[lead.sales_process_id]
            target = stage_positions.get(vals["stage_id"])
            if target is None:
                continue  # not a step: _check_sales_process_stage refuses it
            current = stage_positions[lead.sales_process_step_id.stage_id.id]
            if target > current:
                moves[lead] = (steps, current, target)
        return moves

    def _get_sales_process_move_problems(self, steps, current, target, vals, open_activities):
        """What keeps the lead from moving from ``steps[current]`` to ``steps[target]``."""
        self.ensure_one()
        problems = []
        if self.sales_process_id.enforce_step_order and target > current + 1:
            problems.append(
                self.env._(
                    "its sales process goes one step at a time, next is “%(step)s”",
                    step=steps[current + 1].name,
                )
            )
        missing_fields, open_summaries = [], []
        for step in steps[current:target]:
            for name, label in step._get_required_fields().items():
                if label not in missing_fields and not self._is_field_set(name, vals):
                    missing_fields.append(label)
            if step.require_activities_done:
                open_summaries += [
                    template.summary
                    for template in step.key_activity_ids
                    if (self.id, template.id) in open_activities
                ]
        if missing_fields:
            problems.append(self.env._("fill in %(fields)s", fields=", ".join(missing_fields)))
        if open_summaries:
            problems.append(
                self.env._(
                    "finish the key activities %(activities)s",
                    activities=", ".join(f"“{summary}”" for summary in open_summaries),
                )
            )
        return problems

    def _is_field_set(self, name, vals):
        """Whether field ``name`` of the lead is filled in, ``vals`` being about to be written.

        Zero amounts count as not filled in, like an empty text.
        """
        if name not in vals:
            return bool(self.sudo()[name])
        field = self._fields[name]
        try:
            return bool(field.convert_to_cache(vals[name], self, validate=False))
        except (TypeError, ValueError):
            return bool(vals[name])

    def _get_sales_process_checklist_data(self):
        """{lead: (key activity states, exit criteria)} of the current steps, from prefetched
        data: the required fields are read for all leads at once and the key activities in one
        query, so a pipeline of many cards costs no query per card.

        States are (key activity, its latest mail.activity or None); criteria (label, met).
        """
        activities = self._get_key_activities()
        result = {}
        for lead in self:
            step = lead.sales_process_step_id
            states = [
                (template, activities.get((lead._origin.id, template.id)))
                for template in step.key_activity_ids
            ]
            # as superuser: only whether the field is filled in shows, whoever may read it
            criteria = [
                (label, bool(lead.sudo()[name]))
                for name, label in step._get_required_fields().items()
            ]
            if step.require_activities_done:
                criteria += [
                    (template.summary, not (activity and activity.active))
                    for template, activity in states
                ]
            result[lead] = (states, criteria)
        return result

    def _get_key_activities(self, open_only=False):
        """{(lead id, key activity id): mail.activity} in one query: the latest activity each
        key activity scheduled on these leads, done (archived) ones included unless
        ``open_only``. As superuser: only the state is shown, whoever the activity is for."""
        lead_ids = [lead_id for lead_id in self._origin.ids if lead_id]
        templates = self.sales_process_step_id.key_activity_ids
        if not lead_ids or not templates:
            return {}
        activities = (
            self.env["mail.activity"]
            .sudo()
            .with_context(active_test=open_only)
            .search_fetch(
                [
                    ("res_model", "=", self._name),
                    ("res_id", "in", lead_ids),
                    ("sales_process_step_activity_id", "in", templates.ids),
                ],
                ["res_id", "sales_process_step_activity_id", "active", "date_deadline"],
                order="id",
            )
        )
        return {
            (activity.res_id, activity.sales_process_step_activity_id.id): activity.sudo(False)
            for activity in activities
        }

    def _get_sales_process_entry_keys(self, vals):
        """Step of each opportunity before a write that may make it enter a step, else None."""
        if not STEP_ENTRY_FIELDS & vals.keys():
            return None
        # entering a step only matters for its key activities: none in the processes the
        # leads follow or get, nothing to compare lead by lead
        processes = self.sales_process_id | self.sales_process_id.browse(
            vals.get("sales_process_id") or []
        )
        if not processes.step_ids.key_activity_ids:
            return None
        return {lead.id: lead._get_sales_process_entry_key() for lead in self}

    def _get_sales_process_entry_key(self):
        # Leads (not yet opportunities) do not work their step: conversion is their entry.
        return self.sales_process_step_id.id if self.type == "opportunity" else False

    def _schedule_sales_process_entries(self, keys_before):
        """After a write: schedule the key activities of the step each opportunity entered."""
        # most steps have no key activities: then nothing to compare, lead by lead
        if keys_before is None or not self.sales_process_step_id.key_activity_ids:
            return
        entered = self.filtered(
            lambda lead: lead._get_sales_process_entry_key()
            and lead._get_sales_process_entry_key() != keys_before.get(lead.id)
        )
        entered._schedule_sales_process_key_activities()

    def _schedule_sales_process_key_activities(self, skip_done=False):
        """Schedule the key activities of their step on these open opportunities.

        One ``mail.activity`` create for all opportunities and activities. A key activity
        still open on the opportunity (e.g. from an earlier visit of the step) is not
        scheduled twice (with ``skip_done``, nor one already done). Deadline: today + the
        key activity's delay. No notification e-mail per activity: they are the playbook's
        routine, listed in each user's activities.
        """
        # most steps have no key activities: then no lead to look at
        if not self.sales_process_step_id.key_activity_ids:
            return self.env["mail.activity"]
        leads = self.filtered(
            lambda lead: lead.active
            and lead.type == "opportunity"
            and lead.sales_process_step_id.key_activity_ids
        )
        if not leads:
            return self.env["mail.activity"]
        existing = leads._get_key_activities(open_only=not skip_done)
        # the activities' document name: read for all leads at once
        leads.fetch(["name"])
        today = fields.Date.context_today(self)
        res_model_id = self.env["ir.model"]._get_id(self._name)
        vals_list = [
            template._prepare_mail_activity_vals(lead, today, res_model_id)
            for lead in leads
            for template in lead.sales_process_step_id.key_activity_ids
            if (lead.id, template.id) not in existing
        ]
        return (
            self.env["mail.activity"]
            .with_context(mail_activity_quick_update=True)
            .create(vals_list)
        )

    def _render_sales_process_checklist(self, states, criteria):
        """The form's checklist: key activities with their state, then the exit criteria."""
        today = fields.Date.context_today(self)
        items = []
        for template, activity in states:
            if not activity:
                icon, state = "fa-circle-o text-muted", self.env._("not scheduled")
            elif not activity.active:
                icon, state = "fa-check-circle text-success", self.env._("done")
            elif activity.date_deadline < today:
                icon, state = (
                    "fa-exclamation-circle text-danger",
                    self.env._(
                        "overdue since %(date)s", date=format_date(self.env, activity.date_deadline)
                    ),
                )
            else:
                icon, state = (
                    "fa-clock-o text-warning",
                    self.env._("due %(date)s", date=format_date(self.env, activity.date_deadline)),
                )
            items.append(
                Markup(
                    '<li><i class="fa %s me-1" role="img"></i>%s <span class="text-muted">'
                    "(%s)</span></li>"
                )
                % (icon, template.summary, state)
            )
        parts = []
        if items:
            parts.append(
                Markup(
                    '<div class="o_crm_sales_process_key_activities"><strong>%s</strong>'
                    '<ul class="list-unstyled mb-2">%s</ul></div>'
                )
                % (self.env._("Key activities"), Markup().join(items))
            )
        if criteria:
            rows = Markup().join(
                Markup('<li class="%s"><i class="fa %s me-1" role="img"></i>%s</li>')
                % (
                    "o_criterion_met" if met else "o_criterion_open",
                    "fa-check-square-o text-success" if met else "fa-square-o text-danger",
                    label,
                )
                for label, met in criteria
            )
            parts.append(
                Markup(
                    '<div class="o_crm_sales_process_exit_criteria"><strong>%s</strong>'
                    '<ul class="list-unstyled mb-0">%s</ul></div>'
                )
                % (self.env._("To move forward"), rows)
            )
        return Markup().join(parts) or False

    @api.model
    def _get_stalled_step_lead_ids(self):
        """Ids of open opportunities on a step for longer than its stall days (one query)."""
        self.flush_model(["date_last_stage_update", "sales_process_step_id", "won_status", "type"])
        self.env["crm.sales.process.step"].flush_model(["stall_days"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT lead.id
                  FROM crm_lead lead
                  JOIN crm_sales_process_step step ON step.id = lead.sales_process_step_id
                 WHERE step.stall_days > 0
                   AND lead.won_status = 'pending'
                   AND lead.type = 'opportunity'
                   AND COALESCE(lead.date_last_stage_update, lead.create_date)
                       + step.stall_days * INTERVAL '1 day' < %s
                """,
                self.env.cr.now(),
            )
        )
        return [row[0] for row in rows]

    @api.model
    def _cron_remind_stalled_opportunities(self):
        """Daily: one activity for the salesperson of each newly stalled opportunity.

        Newly: not yet reminded for its current stay on the step. Never a second open
        reminder on the same opportunity.
        """
        activity_type = self.env.ref(
            "crm_sales_process.mail_activity_type_stalled", raise_if_not_found=False
        )
        if not activity_type:
            return
        leads = self.search(
            [("id", "in", self._get_stalled_step_lead_ids()), ("active", "=", True)]
        )
        leads = leads.filtered(
            lambda lead: lead.sales_process_stall_reminded
            != (lead.date_last_stage_update or lead.create_date)
        )
        if not leads:
            return
        reminded = set(
            self.env["mail.activity"]
            .sudo()
            .search_fetch(
                [
                    ("res_model", "=", self._name),
                    ("res_id", "in", leads.ids),
                    ("activity_type_id", "=", activity_type.id),
                ],
                ["res_id"],
            )
            .mapped("res_id")
        )
        leads.fetch(["name"])
        res_model_id = self.env["ir.model"]._get_id(self._name)
        today = fields.Date.context_today(self)
        vals_list = []
        # One statement for all: each lead gets its own date, a write() per lead otherwise
        self.flush_model(["date_last_stage_update"])
        self.env.cr.execute(
            SQL(
                "UPDATE crm_lead SET sales_process_stall_reminded = "
                "COALESCE(date_last_stage_update, create_date) WHERE id = ANY(%s)",
                leads.ids,
            )
        )
        leads.invalidate_recordset(["sales_process_stall_reminded"])
        for lead in leads:
            if lead.id in reminded:
                continue
            vals_list.append(
                {
                    "res_model_id": res_model_id,
                    "res_id": lead.id,
                    "activity_type_id": activity_type.id,
                    "summary": self.env._(
                        "Stalled for %(days)s days on step “%(step)s”",
                        days=lead.rotting_days,
                        step=lead.sales_process_step_id.name,
                    ),
                    "date_deadline": today,
                    "user_id": (lead.user_id or lead.team_id.user_id).id,
                }
            )
        self.env["mail.activity"].with_context(mail_activity_quick_update=True).create(vals_list)

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
