# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import Command, api, fields, models
from odoo.exceptions import ConcurrencyError, UserError, ValidationError
from odoo.tools import SQL
from odoo.tools.misc import get_lang

from .crm_sales_process_checked_values import check_field_values
from .tools import MAX_DAYS, format_percentage, user_initials

# Forecast categories of an open opportunity, from the least to the most certain (omitted:
# left out of every forecast). Extend with selection_add on both the step's and the lead's field.
FORECAST_CATEGORIES = [
    ("pipeline", "Pipeline"),
    ("best_case", "Best Case"),
    ("commit", "Commit"),
    ("omitted", "Omitted"),
]


class CrmSalesProcessStep(models.Model):
    _name = "crm.sales.process.step"
    _description = "Sales Process Step"
    _order = "process_id, sequence, id"
    _rec_name = "name"
    _check_company_auto = True

    process_id = fields.Many2one(
        "crm.sales.process",
        string="Sales Process",
        required=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(related="process_id.company_id", store=True, index=True)
    sequence = fields.Integer(default=10)
    number = fields.Integer(
        string="No.",
        compute="_compute_number",
        help="Position of the step in its sales process, from 1.",
    )
    # Stages are shared by the whole company so there is one common pipeline; a step puts a
    # stage into a process with the process's own probability.
    # crm.stage has no company: a stage kept for some sales teams belongs to their companies
    # (see _check_stage_company).
    stage_id = fields.Many2one(
        "crm.stage",
        required=True,
        ondelete="restrict",
        domain="['|', ('team_ids', '=', False), "
        "('team_ids.company_id', 'in', [company_id, False])]",
    )
    name = fields.Char(related="stage_id.name", readonly=True)
    is_won = fields.Boolean(related="stage_id.is_won")
    probability = fields.Float(
        string="%",
        digits=(5, 2),
        default=0.0,
        help="How complete the sales process is once this step is done (0–100). "
        "Opportunities on this step get it as their probability.",
    )
    forecast_category = fields.Selection(
        FORECAST_CATEGORIES,
        required=True,
        default="pipeline",
        help="Forecast category an opportunity gets when it enters the step; its salesperson "
        "may change it until the opportunity moves to another step.",
    )
    write_user_initials = fields.Char(string="By", compute="_compute_write_user_initials")
    # Playbook: what to do on the step, what is scheduled on entry, what must be done to leave
    guidance = fields.Html(
        translate=True,
        help="What the salesperson does in this step and what “done” means. Shown on the "
        "opportunity under its step path.",
    )
    key_activity_ids = fields.One2many(
        "crm.sales.process.step.activity",
        "step_id",
        string="Key Activities",
        copy=True,
        help="Scheduled on every opportunity entering the step.",
    )
    # Stored: moves and wins onto steps without key activities (most) then read none
    key_activity_count = fields.Integer(compute="_compute_key_activity_count", store=True)
    exit_criterion_ids = fields.One2many(
        "crm.sales.process.exit.criterion",
        "step_id",
        string="Exit Criteria",
        copy=True,
        help="What an opportunity must meet before it moves forward from this step (to a "
        "later step or won).",
    )
    # The exit criteria of the first kinds, as fields (the form shows the criteria)
    required_field_ids = fields.Many2many(
        "ir.model.fields",
        string="Required Fields",
        compute="_compute_required_field_ids",
        inverse="_inverse_required_field_ids",
        # field definitions: only administrators may read them
        compute_sudo=True,
        help="Fields an opportunity must have filled in before it moves forward from this "
        "step (to a later step or won): its exit criteria of type Field Filled In.",
    )
    require_activities_done = fields.Boolean(
        string="Key Activities Done to Leave",
        compute="_compute_require_activities_done",
        inverse="_inverse_require_activities_done",
        help="An opportunity moves forward from this step only once the key activities "
        "scheduled here are done: an exit criterion of type Key Activities Done.",
    )
    stall_days = fields.Integer(
        string="Stalled After (days)",
        default=0,
        help="An open opportunity on this step for longer than this many days is stalled: "
        "highlighted in the pipeline and reminded to its salesperson. 0 = never.",
    )
    escalate_after_days = fields.Integer(
        string="Escalate After (days)",
        default=0,
        help="An opportunity stalled on this step for this many days more is escalated, once "
        "per stall: an activity for its sales team's leader (else the salesperson's manager) "
        "and a note on the opportunity. 0 = never.",
    )
    # Stored: the pipeline cards of steps without criteria skip the checklist without a query
    exit_criteria_count = fields.Integer(
        string="Checklist Items",
        compute="_compute_exit_criteria_count",
        store=True,
        help="Items of the checklist the exit criteria give: one per criterion, one per key "
        "activity for Key Activities Done.",
    )
    # Calibration: what the closed opportunities of the calibration window say
    observed_probability = fields.Float(
        string="Observed %",
        digits=(5, 2),
        compute="_compute_observed_probability",
        help="Share of the opportunities closed in the calibration window (the last 12 months "
        "by default) that were on this step and were won.",
    )
    observed_sample = fields.Integer(
        string="Closed",
        compute="_compute_observed_probability",
        help="Closed opportunities (won or lost) in the calibration window that were on this "
        "step: the sample behind the observed percentage.",
    )
    observed_deviates = fields.Boolean(
        string="Deviates",
        compute="_compute_observed_probability",
        help="The observed percentage differs from the step's by more than 10 points.",
    )

    _stage_uniq = models.Constraint(
        "unique(process_id, stage_id)",
        "A stage can be used only once in a sales process.",
    )

    @api.depends("sequence", "process_id.step_ids.sequence")
    def _compute_number(self):
        for process, steps in self.grouped("process_id").items():
            ordered = process.step_ids.sorted(lambda step: (step.sequence, step.id or 0))
            numbers = {step: index for index, step in enumerate(ordered, start=1)}
            for step in steps:
                step.number = numbers.get(step, 0)

    @api.depends("key_activity_ids")
    def _compute_key_activity_count(self):
        for step in self:
            step.key_activity_count = len(step.key_activity_ids)

    @api.depends("exit_criterion_ids.field_id")
    def _compute_required_field_ids(self):
        for step in self:
            criteria = step.exit_criterion_ids.filtered(
                lambda criterion: criterion.criterion_type == "field"
            )
            step.required_field_ids = criteria.field_id

    def _inverse_required_field_ids(self):
        for step in self:
            # field definitions as superuser: only administrators may read them
            wanted = step.required_field_ids.sudo().filtered(
                lambda field: field.model == "crm.lead"
            )
            criteria = step.exit_criterion_ids.filtered(
                lambda criterion: criterion.criterion_type == "field"
            )
            kept = criteria.filtered(lambda criterion, wanted=wanted: criterion.field_id in wanted)
            (criteria - kept).unlink()
            step.exit_criterion_ids = [
                Command.create({"criterion_type": "field", "field_name": field.name})
                for field in wanted - kept.field_id
            ]

    @api.depends("exit_criterion_ids.criterion_type")
    def _compute_require_activities_done(self):
        for step in self:
            step.require_activities_done = "activities" in step.exit_criterion_ids.mapped(
                "criterion_type"
            )

    def _inverse_require_activities_done(self):
        for step in self:
            criteria = step.exit_criterion_ids.filtered(
                lambda criterion: criterion.criterion_type == "activities"
            )
            if step.require_activities_done and not criteria:
                step.exit_criterion_ids = [Command.create({"criterion_type": "activities"})]
            elif not step.require_activities_done:
                criteria.unlink()

    @api.depends("exit_criterion_ids", "key_activity_ids")
    def _compute_exit_criteria_count(self):
        for step in self:
            step.exit_criteria_count = step.exit_criterion_ids._count_items()

    @api.depends_context("uid", "company", "allowed_company_ids")
    @api.depends("probability", "process_id")
    def _compute_observed_probability(self):
        """Win rate from the step over the calibration window (one get_kpis for all)."""
        # _origin: in the process form (onchange) steps and process are new records
        processes = self.process_id._origin.filtered("id")
        figures = {}
        if processes:
            date_from = processes._get_calibration_date_from()
            for kpis in processes.get_kpis(date_from=date_from):
                for step in kpis["steps"]:
                    figures[step["step_id"]] = step
        for step in self:
            values = figures.get(step._origin.id, {})
            step.observed_probability = values.get("win_rate_from_step", 0.0)
            step.observed_sample = values.get("closed_count", 0)
            step.observed_deviates = bool(step.observed_sample) and (
                abs(step.observed_probability - step.probability) > 10
            )

    @api.depends("write_uid.name")
    def _compute_write_user_initials(self):
        for step in self:
            step.write_user_initials = user_initials(step.write_uid)

    @api.constrains("probability", "stage_id")
    def _check_probability(self):
        for step in self:
            if not 0 <= step.probability <= 100:
                message = self.env._(
                    "The percentage of step “%(step)s” in “%(process)s” must be between "
                    "0 and 100, not %(value)s."
                )
            elif step.is_won and step.probability != 100:
                message = self.env._(
                    "Step “%(step)s” in “%(process)s” is a won stage: its percentage must be 100."
                )
            else:
                continue
            raise ValidationError(
                message
                % {"step": step.name, "process": step.process_id.name, "value": step.probability}
            )

    @api.constrains("stage_id", "process_id")
    def _check_stage_company(self):
        """A stage kept for sales teams of other companies only is no step of this company."""
        for step in self:
            teams = step.stage_id.sudo().team_ids
            if teams and not teams.filtered(
                lambda team, step=step: not team.company_id or team.company_id == step.company_id
            ):
                raise ValidationError(
                    self.env._(
                        "Stage “%(stage)s” is kept for sales teams of another company "
                        "(%(teams)s): it cannot be a step of sales process “%(process)s” of "
                        "company %(company)s. Choose a stage for all teams or for a team of "
                        "%(company)s.",
                        stage=step.stage_id.name,
                        teams=", ".join(teams.mapped("display_name")),
                        process=step.process_id.name,
                        company=step.company_id.name,
                    )
                )

    @api.constrains("stall_days")
    def _check_stall_days(self):
        for step in self:
            if not 0 <= step.stall_days <= MAX_DAYS:
                raise ValidationError(
                    self.env._(
                        "Step “%(step)s” in “%(process)s”: an opportunity is stalled after 0 "
                        "to %(max)s days (0 = never), not %(days)s.",
                        step=step.name,
                        process=step.process_id.name,
                        days=step.stall_days,
                        max=MAX_DAYS,
                    )
                )

    @api.constrains("escalate_after_days")
    def _check_escalate_after_days(self):
        for step in self:
            if not 0 <= step.escalate_after_days <= MAX_DAYS:
                raise ValidationError(
                    self.env._(
                        "Step “%(step)s” in “%(process)s”: a stalled opportunity is escalated "
                        "after 0 to %(max)s more days (0 = never), not %(days)s.",
                        step=step.name,
                        process=step.process_id.name,
                        days=step.escalate_after_days,
                        max=MAX_DAYS,
                    )
                )

    def _get_median_stay_days(self):
        """{step id: median days the opportunities stayed on it}, of the stays that left
        it, for these steps in one grouped query (deal health)."""
        if not self.ids:
            return {}
        self.env["crm.sales.process.history"].flush_model(["step_id", "duration_days", "date_out"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT step_id, PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY duration_days)
                  FROM crm_sales_process_history
                 WHERE step_id = ANY(%s) AND date_out IS NOT NULL
              GROUP BY step_id
                """,
                list(self.ids),
            )
        )
        return dict(rows)

    @api.depends("stage_id.name", "probability")
    def _compute_display_name(self):
        """Step names with their percentage, e.g. Proposition (50 %), for the form's path."""
        lang = get_lang(self.env)
        for step in self:
            step.display_name = self.env._(
                "%(step)s (%(percentage)s %%)",
                step=step.stage_id.name or "",
                percentage=format_percentage(self.env, step.probability, lang),
            )

    @api.model_create_multi
    def create(self, vals_list):
        # stage_id is NOT NULL in the database; check first so the user gets a clear message
        # instead of the generic "missing required value" of the integrity error.
        check_field_values(self, vals_list)
        for vals in vals_list:
            if not vals.get("stage_id", self.env.context.get("default_stage_id")):
                process = self.env["crm.sales.process"].browse(
                    vals.get("process_id", self.env.context.get("default_process_id"))
                )
                raise ValidationError(self._get_missing_stage_message(process))
        Process = self.env["crm.sales.process"]
        before = Process._read_default_process_company_ids()
        steps = super().create(vals_list)
        # a process with steps can become a default one
        Process._check_default_process_companies(before, steps.process_id.company_id)
        return steps

    def write(self, vals):
        check_field_values(self, vals)
        if "stage_id" in vals and not vals["stage_id"]:
            raise ValidationError(self._get_missing_stage_message(self.process_id[:1]))
        moved = self.filtered(
            lambda step: ("stage_id" in vals and step.stage_id.id != vals["stage_id"])
            or ("process_id" in vals and step.process_id.id != vals["process_id"])
        )
        if "probability" in vals:
            # the ORM recomputes the probability of the steps' opportunities (see
            # crm.lead._compute_probabilities): it must see all of them
            self._lock_against_concurrent_opportunities()
        moved._check_no_opportunities(
            self.env._(
                "The stage of step “%(step)s” in sales process “%(process)s” cannot be "
                "changed: opportunities are on this step (%(count)s, lost ones included). Move "
                "them to another step first, or add the new stage as a step of its own."
            )
        )
        if "process_id" in vals:
            self.filtered(
                lambda step: step.process_id.id != vals["process_id"]
            )._check_no_history_elsewhere()
        Process = self.env["crm.sales.process"]
        if "process_id" in vals:
            before = Process._read_default_process_company_ids()
            companies = self.process_id.company_id
        result = super().write(vals)
        if "process_id" in vals:
            Process._check_default_process_companies(before, companies | self.process_id.company_id)
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_except_opportunities(self):
        self._check_no_opportunities(
            self.env._(
                "Step “%(step)s” of sales process “%(process)s” cannot be deleted: "
                "opportunities are on this step (%(count)s, lost ones included). Move them to "
                "another step first. Nothing was deleted."
            )
        )
        # The step history is what the KPIs and the calibration read: deleting a step would
        # silently delete the stays of every opportunity that went through it.
        for step, count in self._get_history_opportunity_counts():
            raise UserError(
                self.env._(
                    "Step “%(step)s” of sales process “%(process)s” cannot be deleted: "
                    "%(count)s opportunities went through it, and their step history would be "
                    "lost. Archive the process and create a new one instead. Nothing was deleted.",
                    step=step.name,
                    process=step.process_id.name,
                    count=count,
                )
            )

    def unlink(self):
        Process = self.env["crm.sales.process"]
        before = Process._read_default_process_company_ids()
        companies = self.process_id.company_id
        result = super().unlink()
        Process._check_default_process_companies(before, companies)
        return result

    def _check_no_opportunities(self, message):
        """Raise ``message`` (a translated text with %(step)s, %(process)s and %(count)s) for
        the first step that opportunities, archived ones included, are on."""
        if not self:
            return
        self._lock_against_concurrent_opportunities()
        counts = (
            self.env["crm.lead"]
            .sudo()
            .with_context(active_test=False)
            ._read_group(
                [("sales_process_step_id", "in", self.ids)], ["sales_process_step_id"], ["__count"]
            )
        )
        for step, count in counts:
            raise UserError(
                message % {"step": step.name, "process": step.process_id.name, "count": count}
            )

    def _check_no_history_elsewhere(self):
        """A step whose history has stays keeps its process: the stays read their process
        from their step, and must not change process with it."""
        for step, count in self._get_history_opportunity_counts():
            raise UserError(
                self.env._(
                    "Step “%(step)s” cannot move to another sales process: %(count)s "
                    "opportunities went through it, and their step history belongs to sales "
                    "process “%(process)s”. Add the step to the other process instead.",
                    step=step.name,
                    count=count,
                    process=step.process_id.name,
                )
            )

    def _get_history_opportunity_counts(self):
        """[(step, number of opportunities that went through it)] for these steps' stays."""
        if not self:
            return []
        return (
            self.env["crm.sales.process.history"]
            .sudo()
            ._read_group([("step_id", "in", self.ids)], ["step_id"], ["lead_id:count_distinct"])
        )

    def _lock_against_concurrent_opportunities(self):
        """Lock these steps against opportunities joining them until this transaction ends,
        and make sure it sees every opportunity on them, as committed.

        Concurrency, the step side of "an opportunity on a step has the step's percentage"
        (the opportunity side is crm.lead._lock_sales_process_steps): an opportunity put on a
        step share-locks it until its transaction commits; the update lock taken here waits
        for those transactions, and once granted no opportunity joins the steps until this
        one ends. But under PostgreSQL's repeatable read, this transaction's snapshot may be
        older than such a commit: it would not see that opportunity, so neither realign it to
        a new percentage nor count it before a deletion. The opportunities on the steps are
        read again in a new transaction: one changed since this snapshot makes the lock below
        fail with a serialization error, one created since raises a concurrency error; Odoo
        retries either with a fresh snapshot.
        """
        if not self or self.env.cr.readonly:
            return
        self.env.cr.execute(
            SQL(
                "SELECT id FROM crm_sales_process_step WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                list(self.ids),
            )
        )
        with self.env.registry.cursor() as cr:
            cr.execute(
                SQL("SELECT id FROM crm_lead WHERE sales_process_step_id = ANY(%s)", list(self.ids))
            )
            committed = [row[0] for row in cr.fetchall()]
        if not committed:
            return
        self.env["crm.lead"].flush_model(["sales_process_step_id"])
        self.env.cr.execute(
            SQL(
                "SELECT id FROM crm_lead WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
                committed,
            )
        )
        if self.env.cr.rowcount < len(committed):
            raise ConcurrencyError(
                f"Opportunities joined sales process steps {self.ids} after this transaction "
                "began: retried with a fresh snapshot."
            )

    def _get_missing_stage_message(self, process):
        return self.env._(
            "Every step of sales process “%(process)s” needs a stage: choose one for each step.",
            process=process.exists().name or self.env._("New"),
        )

    def _get_probability_label(self, lang=None):
        """The percentage as reports show it: "25 %", "12.50 %" (in the user's number format)."""
        self.ensure_one()
        return f"{format_percentage(self.env, self.probability, lang)} %"
