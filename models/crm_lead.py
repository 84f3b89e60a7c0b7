# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict
from collections.abc import Collection

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain
from odoo.orm.domains import DomainAnd, DomainCondition
from odoo.tools import SQL, float_compare

# Fields whose change can break "probability = step percentage": checked after a write.
PROBABILITY_SYNC_FIELDS = {"probability", "automated_probability", "active"}
# Fields whose change can put a lead in a stage that is not a step of its process.
STAGE_CHECK_FIELDS = {"stage_id", "sales_process_id", "sales_process_step_id"}
# Fields whose change can open or close a stay in the step history.
HISTORY_FIELDS = {"stage_id", "sales_process_id", "active"}


def format_percentage(value):
    """50.0 → "50", 12.5 → "12.5": step percentages have at most two decimals."""
    return f"{round(value or 0.0, 2):g}"


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
        store=True,
        index="btree_not_null",
        # Editable so the form's step path is clickable: choosing a step moves the stage.
        readonly=False,
    )
    sales_process_progress = fields.Char(
        compute="_compute_sales_process_progress",
        help="Position of the opportunity in its sales process, e.g. Step 3/5 · 50 %.",
    )
    # Stored: the pipeline shows it on every card, and reading a column costs the kanban nothing
    sales_process_percentage = fields.Char(
        string="Step Percentage",
        compute="_compute_sales_process_percentage",
        store=True,
    )
    is_my_sales_process = fields.Boolean(
        string="My Sales Process",
        compute="_compute_is_my_sales_process",
        search="_search_is_my_sales_process",
        help="Follows the sales process that new opportunities of the current user get.",
    )
    department_id = fields.Many2one(
        "hr.department",
        compute="_compute_department_id",
        store=True,
        index="btree_not_null",
        help="Department of the salesperson, for the forecast.",
    )
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
        processes = new_leads._get_sales_process_by_rules()
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
            percentage = format_percentage(step.probability)
            lead.sales_process_progress = self.env._(
                "Step %(number)s/%(count)s · %(percentage)s %%",
                number=step.number,
                count=len(lead.sales_process_id.step_ids),
                percentage=percentage,
            )

    @api.depends("sales_process_step_id.probability")
    def _compute_sales_process_percentage(self):
        for step, leads in self.grouped("sales_process_step_id").items():
            leads.sales_process_percentage = step and f"{format_percentage(step.probability)} %"

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
        for lead in self:
            lead.department_id = self._pick_department(departments, lead.user_id, lead.company_id)

    @api.depends("sales_process_step_id")
    def _compute_probabilities(self):
        """A lead on a step of its sales process has the step's percentage, always.

        Predictive lead scoring computes the others as in stock Odoo. A lost (archived) lead
        keeps its probability, as in stock Odoo, until restored.
        """
        process_leads = self.filtered("sales_process_step_id")
        if not process_leads:
            return super()._compute_probabilities()
        if self - process_leads:
            super(CrmLead, self - process_leads)._compute_probabilities()
        # per step, not per lead: bulk moves compute thousands at once
        for step, leads in process_leads.grouped("sales_process_step_id").items():
            leads.automated_probability = step.probability
            leads.filtered("active").probability = step.probability

    def _compute_stage_id(self):
        """A lead following a process stays on a step of it; the others as in stock Odoo."""
        process_leads = self.filtered("sales_process_id")
        if not process_leads:
            return super()._compute_stage_id()
        if self - process_leads:
            super(CrmLead, self - process_leads)._compute_stage_id()
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
        stages_by_process = {
            process: process._get_step_stages() for process in self.sales_process_id
        }
        for lead in self:
            process = lead.sales_process_id
            if not process:
                continue
            stages = stages_by_process[process]
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
        for lead in self:
            process = lead.sales_process_id
            if process and process.company_id != lead.company_id:
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
        for lead in self.filtered(lambda lead: lead.active and lead.sales_process_step_id):
            step = lead.sales_process_step_id
            if float_compare(probability or 0.0, step.probability, precision_digits=2):
                raise ValidationError(
                    self.env._(
                        "The probability of “%(lead)s” is set by its sales process "
                        "“%(process)s”: step “%(step)s” gives %(percentage)s %%, not "
                        "%(probability)s %%. Move the opportunity to another step to change "
                        "its probability.",
                        lead=lead.display_name,
                        process=lead.sales_process_id.display_name,
                        step=step.name,
                        percentage=format_percentage(step.probability),
                        probability=format_percentage(probability),
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
        vals_list = self._prepare_sales_process_create_vals(vals_list)
        leads = super().create(vals_list)
        process_leads = leads.filtered("sales_process_id")
        if process_leads:
            # A stage given with the values (e.g. the kanban column) may be no step of the
            # process the rules gave: such leads start on the process's first step.
            by_stage = defaultdict(lambda: self.env["crm.lead"])
            for lead in process_leads:
                stages = lead.sales_process_id._get_step_stages()
                if stages and lead.stage_id not in stages:
                    by_stage[stages[0]] |= lead
            for stage, stage_leads in by_stage.items():
                stage_leads.write({"stage_id": stage.id})
            process_leads._check_sales_process_stage()
            for lead, vals in zip(leads, vals_list, strict=True):
                if lead.sales_process_id and "probability" in vals:
                    lead._check_sales_process_probability(vals["probability"])
            process_leads._sync_sales_process_probability()
            process_leads._sales_process_history_update()
        return leads

    def write(self, vals):
        vals = self._sales_process_step_to_stage(vals)
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
        if HISTORY_FIELDS & vals.keys():
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
        groups = defaultdict(lambda: self.env["crm.lead"])
        for lead in self:
            groups[targets[lead].stage_id.id if lead in targets else None] |= lead
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
                percentage=format_percentage(step.probability),
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
        process_leads = self.filtered("sales_process_id")
        if not process_leads:
            return super().action_set_won()
        if self - process_leads:
            super(CrmLead, self - process_leads).action_set_won()
        by_stage = defaultdict(lambda: self.env["crm.lead"])
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
            by_stage[won_steps[0].stage_id] |= lead
        process_leads.action_unarchive()
        for stage, leads in by_stage.items():
            leads.write({"stage_id": stage.id, "probability": 100})
        return True

    def action_set_lost(self, **additional_values):
        """Stays left by losing end as "lost" (archiving alone would say "archived")."""
        return super(
            CrmLead, self.with_context(crm_sales_process_history_lost=True)
        ).action_set_lost(**additional_values)

    def action_set_automated_probability(self):
        """For a lead following a process the "automated" probability is its step's."""
        if self.sales_process_step_id:
            self.ensure_one()
            self._sync_sales_process_probability()
            return None
        return super().action_set_automated_probability()

    def convert_opportunity(self, partner, user_ids=False, team_id=False):
        """Leads keep their process when converted; those without get one by the rules."""
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

    def _get_sales_process_by_rules(self):
        """{lead: process} for the leads a default-process rule applies to.

        Most specific rule of the lead's company first: salesperson > sales team > the
        salesperson's department > everyone. Costs one query for the rules (none matching:
        stops there) and one for departments when a department rule exists, whatever the
        number of leads.
        """
        if not self:
            return {}
        # A lead without company cannot follow a process: processes belong to one company.
        companies = {lead: lead.company_id for lead in self}
        rules = self.env["crm.sales.process"]._get_default_process_rules(
            {company.id for company in companies.values() if company}
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

    def _assign_sales_process_by_rules(self):
        """Give leads without a process the one of the rules, keeping their stage if it is a
        step of it, else on its first step (one write per process and stage)."""
        processes = self.filtered(
            lambda lead: not lead.sales_process_id
        )._get_sales_process_by_rules()
        groups = defaultdict(lambda: self.env["crm.lead"])
        for lead, process in processes.items():
            stages = process._get_step_stages()
            stage = lead.stage_id if lead.stage_id in stages else stages[:1]
            groups[process, stage] |= lead
        for (process, stage), leads in groups.items():
            leads.write({"sales_process_id": process.id, "stage_id": stage.id})

    @api.model
    def _get_my_sales_process(self):
        """The process the rules give the current user's new opportunities."""
        lead = self.new({"user_id": self.env.uid, "type": "opportunity"})
        return lead._get_sales_process_by_rules().get(lead, self.env["crm.sales.process"])

    def _sync_sales_process_probability(self):
        """Put active leads on a step back to the step's percentage (one write per step)."""
        by_step = defaultdict(lambda: self.env["crm.lead"])
        for lead in self.filtered(lambda lead: lead.active and lead.sales_process_step_id):
            percentage = lead.sales_process_step_id.probability
            if float_compare(lead.probability, percentage, precision_digits=2) or float_compare(
                lead.automated_probability, percentage, precision_digits=2
            ):
                by_step[lead.sales_process_step_id] |= lead
        for step, leads in by_step.items():
            leads.write(
                {"probability": step.probability, "automated_probability": step.probability}
            )

    def _get_sales_process_history_leads(self, vals):
        """Leads whose stays a write of ``vals`` may open or close: those on a process, and
        all of them when the write takes their process away."""
        if "sales_process_id" in vals and not vals["sales_process_id"]:
            return self
        return self.filtered("sales_process_id")

    def _sales_process_history_update(self):
        """Close the stays these leads have left and open those they entered, in SQL.

        One query whatever the number of leads: a stay closes when its lead is on another
        step or process, or archived; a stay opens for an active lead on a step without an
        open stay. A lead created archived (e.g. imported lost) gets a closed stay at once.
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
        # One statement: the INSERT sees the stays as they were before the UPDATE, hence the
        # stays it closes (RETURNING) count as closed.
        self.env.cr.execute(
            SQL(
                """
                WITH closed AS (
                    UPDATE crm_sales_process_history stay
                       SET date_out = %(now)s,
                           duration_days = EXTRACT(EPOCH FROM %(now)s - stay.date_in) / 86400.0,
                           exit_reason = CASE
                               WHEN NOT lead.active THEN
                                   CASE WHEN %(lost)s OR lead.probability = 0 THEN 'lost'
                                        ELSE 'archived' END
                               WHEN lead.sales_process_id IS DISTINCT FROM stay.process_id
                                   THEN 'process_change'
                               WHEN new_stage.is_won THEN 'won'
                               WHEN (new_step.sequence, new_step.id)
                                    > (old_step.sequence, old_step.id) THEN 'forward'
                               ELSE 'backward'
                           END,
                           write_uid = %(uid)s,
                           write_date = %(now)s
                      FROM crm_lead lead
                 LEFT JOIN crm_sales_process_step new_step
                        ON new_step.id = lead.sales_process_step_id
                 LEFT JOIN crm_stage new_stage ON new_stage.id = new_step.stage_id,
                           crm_sales_process_step old_step
                     WHERE stay.lead_id = lead.id
                       AND old_step.id = stay.step_id
                       AND stay.date_out IS NULL
                       AND lead.id = ANY(%(ids)s)
                       AND (NOT lead.active
                            OR lead.sales_process_step_id IS DISTINCT FROM stay.step_id)
                 RETURNING stay.lead_id
                )
                INSERT INTO crm_sales_process_history
                       (lead_id, process_id, step_id, user_id, team_id,
                        department_id, expected_revenue, probability, date_in, date_out,
                        duration_days, exit_reason,
                        create_uid, create_date, write_uid, write_date)
                SELECT lead.id, lead.sales_process_id, lead.sales_process_step_id,
                       lead.user_id, lead.team_id, lead.department_id, lead.expected_revenue,
                       lead.probability, %(now)s,
                       CASE WHEN lead.active THEN NULL ELSE %(now)s END,
                       0.0,
                       CASE WHEN lead.active THEN NULL
                            WHEN %(lost)s OR lead.probability = 0 THEN 'lost'
                            ELSE 'archived' END,
                       %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM crm_lead lead
                 WHERE lead.id = ANY(%(ids)s)
                   AND lead.sales_process_step_id IS NOT NULL
                   AND (lead.active OR NOT EXISTS (
                           SELECT 1 FROM crm_sales_process_history stay
                            WHERE stay.lead_id = lead.id))
                   AND (lead.id IN (SELECT closed.lead_id FROM closed)
                        OR NOT EXISTS (
                           SELECT 1 FROM crm_sales_process_history stay
                            WHERE stay.lead_id = lead.id AND stay.date_out IS NULL))
                """,
                now=now,
                lost=lost,
                uid=self.env.uid,
                ids=list(self.ids),
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
        return result
