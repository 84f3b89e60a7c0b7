# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
import random
import time

from odoo import SUPERUSER_ID, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL
from odoo.tools.misc import get_lang

from .tools import MAX_DAYS, check_field_values, format_percentage, user_initials

_logger = logging.getLogger(__name__)

# Tries of the realignment run after a percentage change commits (see
# _realign_opportunities_after_commit).
REALIGN_TRIES = 5


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
    # ir.model.fields rows are deleted when the module defining a field is uninstalled; the
    # relation table's foreign key (ON DELETE CASCADE) then drops the field from the criteria.
    required_field_ids = fields.Many2many(
        "ir.model.fields",
        "crm_sales_process_step_required_field_rel",
        "step_id",
        "field_id",
        string="Required Fields",
        domain="[('model', '=', 'crm.lead'), ('store', '=', True), "
        "('ttype', 'not in', ('binary', 'json', 'properties'))]",
        help="Fields an opportunity must have filled in before it moves forward from this "
        "step (to a later step or won).",
    )
    require_activities_done = fields.Boolean(
        string="Key Activities Done to Leave",
        help="An opportunity moves forward from this step only once the key activities "
        "scheduled here are done.",
    )
    stall_days = fields.Integer(
        string="Stalled After (days)",
        default=0,
        help="An open opportunity on this step for longer than this many days is stalled: "
        "highlighted in the pipeline and reminded to its salesperson. 0 = never.",
    )
    # Stored: the pipeline cards of steps without criteria skip the checklist without a query
    exit_criteria_count = fields.Integer(
        string="Exit Criteria",
        compute="_compute_exit_criteria_count",
        store=True,
        help="Required fields, plus the key activities when they must be done to leave.",
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

    @api.depends("required_field_ids", "require_activities_done", "key_activity_ids")
    def _compute_exit_criteria_count(self):
        for step in self:
            step.exit_criteria_count = len(step._read_required_fields()) + (
                len(step.key_activity_ids) if step.require_activities_done else 0
            )

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
        if "probability" in vals:
            self._update_opportunity_probabilities()
            self._realign_opportunities_after_commit()
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
        for step_id, count in self._lock_and_count_committed_opportunities().items():
            step = self.browse(step_id)
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

    def _lock_and_count_committed_opportunities(self):
        """Lock these steps against new opportunities; {step id: count} of the opportunities
        on them that this transaction's snapshot does not show.

        Concurrency: an opportunity put on a step holds a share lock on it until its commit
        (see crm.lead._lock_sales_process_steps). The update lock taken here waits for those,
        and once granted no other opportunity can join the steps before this transaction ends;
        but one that joined after this transaction's snapshot is invisible to it. A new
        transaction lists the opportunities on the steps as committed; locking them here then
        fails with a serialization error for those moved there meanwhile (Odoo retries, and
        the retry sees them), skips those created meanwhile (counted), and keeps those this
        transaction itself moved away.
        """
        if self.env.cr.readonly:
            return {}
        self.env.cr.execute(
            SQL(
                "SELECT id FROM crm_sales_process_step WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                list(self.ids),
            )
        )
        with self.env.registry.cursor() as cr:
            cr.execute(
                SQL(
                    "SELECT id, sales_process_step_id FROM crm_lead "
                    "WHERE sales_process_step_id = ANY(%s)",
                    list(self.ids),
                )
            )
            committed = dict(cr.fetchall())
        if not committed:
            return {}
        self.env["crm.lead"].flush_model(["sales_process_step_id"])
        self.env.cr.execute(
            SQL(
                "SELECT id FROM crm_lead WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                list(committed),
            )
        )
        visible = {row[0] for row in self.env.cr.fetchall()}
        counts = {}
        for lead_id, step_id in committed.items():
            if lead_id not in visible:
                counts[step_id] = counts.get(step_id, 0) + 1
        return counts

    def _get_missing_stage_message(self, process):
        return self.env._(
            "Every step of sales process “%(process)s” needs a stage: choose one for each step.",
            process=process.exists().name or self.env._("New"),
        )

    def _get_required_fields(self):
        """{field name: label} of the required fields that crm.lead still has.

        A criterion whose field vanished from the model (its module being uninstalled, the
        registry not reloaded yet) is ignored rather than breaking every move. As superuser:
        salespeople may not read field definitions, only their labels are returned.
        """
        self.ensure_one()
        # the stored count says when there is nothing to read (most steps: moves and wins
        # then read no field definitions)
        if not self.exit_criteria_count:
            return {}
        return self._read_required_fields()

    def _read_required_fields(self):
        """_get_required_fields, always read."""
        self.ensure_one()
        Lead = self.env["crm.lead"]
        return {
            field.name: field.field_description
            for field in self.sudo().required_field_ids
            if field.model == "crm.lead" and field.name in Lead._fields
        }

    def _get_probability_label(self, lang=None):
        """The percentage as reports show it: "25 %", "12.50 %" (in the user's number format)."""
        self.ensure_one()
        return f"{format_percentage(self.env, self.probability, lang)} %"

    def _realign_opportunities_after_commit(self):
        """Once this transaction commits, realign the steps' open opportunities again, in a
        new transaction.

        Concurrency: an opportunity put on the step by a transaction that committed after
        this one took its snapshot, but before it changed the step, is invisible here and
        kept the old percentage (its share lock on the step did not conflict with the change:
        PostgreSQL only fails transactions on concurrent updates, not on concurrent locks).
        A new transaction sees it. Retried on serialization failures; if it still fails, the
        daily predictive-scoring cron realigns such opportunities (see
        crm.lead._update_automated_probabilities).
        """
        if not self:
            return
        step_ids = tuple(self.ids)
        registry = self.env.registry

        @self.env.cr.postcommit.add
        def realign():
            for attempt in range(1, REALIGN_TRIES + 1):
                try:
                    with registry.cursor() as cr:
                        env = api.Environment(cr, SUPERUSER_ID, {})
                        env[self._name].browse(step_ids).exists()._realign_opportunities()
                    return
                except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
                    time.sleep(random.uniform(0.0, 0.1 * 2**attempt))
            _logger.warning(
                "Sales process steps %s: opportunities not realigned with the new "
                "percentage after %s tries; the predictive scoring cron will do it.",
                step_ids,
                REALIGN_TRIES,
            )

    def _realign_opportunities(self):
        """Open opportunities on these steps whose probability is not the step's get it."""
        if not self:
            return
        Lead = self.env["crm.lead"].with_context(active_test=False)
        Lead.flush_model(["probability", "sales_process_step_id", "active", "won_status"])
        self.flush_recordset(["probability"])
        self.env.cr.execute(
            SQL(
                """
                SELECT lead.id
                  FROM crm_lead lead
                  JOIN crm_sales_process_step step ON step.id = lead.sales_process_step_id
                 WHERE step.id = ANY(%s)
                   AND lead.active
                   AND lead.won_status = 'pending'
                   AND (lead.probability IS DISTINCT FROM step.probability
                        OR lead.automated_probability IS DISTINCT FROM step.probability)
                """,
                list(self.ids),
            )
        )
        lead_ids = [row[0] for row in self.env.cr.fetchall()]
        Lead.browse(lead_ids)._sync_sales_process_probability()

    def _update_opportunity_probabilities(self):
        """Open (active, not won) opportunities on the steps get their new percentage.

        One write per step; won opportunities keep 100 %, lost ones keep 0 %. As superuser: the
        percentage is derived data, to realign also in companies not selected right now.
        """
        leads_by_step = (
            self.env["crm.lead"]
            .sudo()
            ._read_group(
                [("sales_process_step_id", "in", self.ids), ("won_status", "=", "pending")],
                ["sales_process_step_id"],
                ["id:recordset"],
            )
        )
        for step, leads in leads_by_step:
            leads.write(
                {"probability": step.probability, "automated_probability": step.probability}
            )
