# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The step playbook on the opportunity: exit criteria, key activities, checklist, stalled deals."""

from datetime import timedelta
from functools import partial

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.service.model import retrying
from odoo.tools import SQL, format_date

from .crm_sales_process_exit_criterion import UNFILLABLE_TYPES

# Fields whose change can make an opportunity enter a step (and get its key activities).
STEP_ENTRY_FIELDS = {"stage_id", "sales_process_id", "sales_process_step_id", "type"}
# How many refused opportunities a batch error message lists by name.
MOVE_ERROR_LIMIT = 20


class CrmLead(models.Model):
    _inherit = "crm.lead"

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

    @api.depends("sales_process_step_id.exit_criteria_count", "sales_process_step_id.stall_days")
    def _compute_sales_process_step_figures(self):
        # once per step (a related field reads the step lead by lead): bulk moves and imports
        # compute thousands at once
        for step, leads in self.grouped("sales_process_step_id").items():
            leads.sales_process_exit_criteria_count = step.exit_criteria_count
            leads.sales_process_stall_days = step.stall_days

    def _get_sales_process_checklist_depends(self):
        """What the checklist follows: the step, the activities, and every field its exit
        criteria may read, so that the form shows it updated while editing, before saving.
        Fields added in the interface (x_...) come and go without a registry of their own:
        a criterion on one shows when saved."""
        return [
            "sales_process_step_id",
            "sales_process_exit_criteria_count",
            "activity_ids",
            *(
                name
                for name, field in self._fields.items()
                if field.store and field.type not in UNFILLABLE_TYPES and not field.manual
            ),
        ]

    @api.depends(lambda self: self._get_sales_process_checklist_depends())
    def _compute_sales_process_checklist(self):
        leads = self.filtered(lambda lead: lead.sales_process_step_id and lead.type != "lead")
        (self - leads).sales_process_checklist = False
        for lead, (states, criteria) in leads._get_sales_process_checklist_data().items():
            lead.sales_process_checklist = lead._render_sales_process_checklist(states, criteria)

    @api.depends(lambda self: self._get_sales_process_checklist_depends())
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

    def action_schedule_key_activities(self):
        """Schedule the key activities of the current step that are not open yet, e.g. on an
        opportunity that entered its step before the step had key activities."""
        self._schedule_sales_process_key_activities(skip_done=True)
        return True

    def _check_sales_process_move(self, vals):
        """Refuse, before anything is written, forward moves that leave a step with unmet exit
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
        unmet = self._get_unmet_exit_criteria(moves, vals)
        errors = []
        for lead, (steps, current, target) in moves.items():
            reasons = []
            if lead.sales_process_id.enforce_step_order and target > current + 1:
                reasons.append(
                    self.env._(
                        "its sales process goes one step at a time, next is “%(step)s”",
                        step=steps[current + 1].name,
                    )
                )
            Criterion = self.env["crm.sales.process.exit.criterion"]
            reasons += [
                Criterion._describe_unmet(kind, labels)
                for kind, labels in unmet.get(lead, {}).items()
            ]
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
        if errors:
            raise UserError(self._get_refused_moves_message(errors))

    def _get_unmet_exit_criteria(self, moves, vals):
        """{lead: {kind: [labels]}}: the exit criteria each forward move in ``moves`` (see
        _get_sales_process_forward_moves) does not meet, of the step it leaves and of the steps
        it skips, kinds in their selection order. Evaluated per step, for all its leads."""
        leads_by_step = {}
        for lead, (steps, current, target) in moves.items():
            for step in steps[current:target]:
                leads_by_step.setdefault(step, []).append(lead.id)
        kinds = [
            kind
            for kind, _label in self.env["crm.sales.process.exit.criterion"]
            ._fields["criterion_type"]
            .selection
        ]
        unmet = {}
        for step, lead_ids in leads_by_step.items():
            if not step.exit_criterion_ids:
                continue
            items = step.exit_criterion_ids._evaluate(self.browse(lead_ids), vals)
            for lead, lead_items in items.items():
                for kind, label, met in lead_items:
                    labels = unmet.setdefault(lead, dict.fromkeys(kinds, [])).get(kind, [])
                    if not met and label not in labels:
                        unmet[lead][kind] = [*labels, label]
        return {
            lead: {kind: labels for kind, labels in by_kind.items() if labels}
            for lead, by_kind in unmet.items()
        }

    def _get_refused_moves_message(self, errors):
        """The error of refused forward moves: the one, or the batch's (at most
        MOVE_ERROR_LIMIT named)."""
        if len(self) == 1:
            return errors[0]
        lines = errors[:MOVE_ERROR_LIMIT]
        if len(errors) > MOVE_ERROR_LIMIT:
            lines.append(self.env._("… and %(count)s more.", count=len(errors) - MOVE_ERROR_LIMIT))
        return self.env._(
            "Nothing was moved: %(count)s of %(total)s opportunities do not meet the exit "
            "criteria of their step.\n%(lines)s",
            count=len(errors),
            total=len(self),
            lines="\n".join(lines),
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
        data: the criteria are evaluated per step for all its leads and the key activities
        read in one query, so a pipeline of many cards costs no query per card.

        States are (key activity, its latest mail.activity or None); criteria (label, met).
        """
        activities = self._get_key_activities()
        result = {}
        for step, leads in self.grouped("sales_process_step_id").items():
            criteria = step.exit_criterion_ids._evaluate(leads)
            for lead in leads:
                states = [
                    (template, activities.get((lead._origin.id, template.id)))
                    for template in step.key_activity_ids
                ]
                result[lead] = (states, [(label, met) for _kind, label, met in criteria[lead]])
        return result

    def _get_key_activities(self, open_only=False, templates=None):
        """{(lead id, key activity id): mail.activity} in one query: the latest activity each
        key activity (``templates``, those of the leads' steps by default) scheduled on these
        leads, done (archived) ones included unless ``open_only``. As superuser: only the
        state is shown, whoever the activity is for."""
        lead_ids = [lead_id for lead_id in self._origin.ids if lead_id]
        if templates is None:
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
        if not any(processes.step_ids.mapped("key_activity_count")):
            return None
        return {lead.id: lead._get_sales_process_entry_key() for lead in self}

    def _get_sales_process_entry_key(self):
        # Leads (not yet opportunities) do not work their step: conversion is their entry.
        return self.sales_process_step_id.id if self.type == "opportunity" else False

    def _schedule_sales_process_entries(self, keys_before):
        """After a write: schedule the key activities of the step each opportunity entered."""
        # most steps have no key activities: then nothing to compare, lead by lead
        if keys_before is None or not any(self.sales_process_step_id.mapped("key_activity_count")):
            return
        entered = self.filtered(
            lambda lead: lead._get_sales_process_entry_key()
            and lead._get_sales_process_entry_key() != keys_before.get(lead.id)
        )
        entered._schedule_sales_process_key_activities()

    def _schedule_sales_process_key_activities(self, skip_done=False):
        """Schedule the key activities of their step on these open opportunities.

        Through the mail mixin's ``activity_schedule`` (automated activities), once per key
        activity, responsible user and deadline for all the opportunities sharing them. A
        key activity still open on the opportunity (e.g. from an earlier visit of the step)
        is not scheduled twice (with ``skip_done``, nor one already done). Deadline: today +
        the key activity's delay. No notification e-mail per activity: they are the
        playbook's routine, listed in each user's activities.
        """
        activities = self.env["mail.activity"]
        # most steps have no key activities: then no lead to look at
        if not any(self.sales_process_step_id.mapped("key_activity_count")):
            return activities
        leads = self.filtered(
            lambda lead: lead.active
            and lead.type == "opportunity"
            and lead.sales_process_step_id.key_activity_count
        )
        if not leads:
            return activities
        existing = leads._get_key_activities(open_only=not skip_done)
        today = fields.Date.context_today(self)
        batches = {}
        for lead in leads:
            for template in lead.sales_process_step_id.key_activity_ids:
                if (lead.id, template.id) not in existing:
                    values = template._get_activity_values(lead, today)
                    batches.setdefault(tuple(values.items()), []).append(lead.id)
        scheduling = self.with_context(mail_activity_quick_update=True)
        for values, lead_ids in batches.items():
            activities |= scheduling.browse(lead_ids).activity_schedule(**dict(values))
        return activities

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
        """Daily: remind the salespeople of newly stalled opportunities, escalate those
        stalled for longer (see crm_lead_escalation)."""
        self._run_cron_step(self._remind_stalled_opportunities)
        self._escalate_stalled_opportunities()

    @api.model
    def _run_cron_step(self, step, *args):
        """Run ``step(*args)`` in a cron run as a transaction of its own, through Odoo's
        ``retrying`` (committed when done, run again after a rollback when a concurrent write
        made it fail), as Odoo does for HTTP requests but not for crons: else a salesperson
        writing one of its opportunities would undo the whole day's run. Outside a cron run,
        ``step`` just runs in the caller's transaction."""
        if not self.env.context.get("ir_cron_progress_id"):
            return step(*args)
        result = retrying(partial(step, *args), self.env)
        self.env["ir.cron"]._commit_progress()
        return result

    @api.model
    def _remind_stalled_opportunities(self):
        """One activity for the salesperson of each newly stalled opportunity.

        Newly: not yet reminded for its current stay on the step. Never a second open
        reminder on the same opportunity.
        """
        activity_type = self.env.ref(
            "crm_sales_process.mail_activity_type_stalled", raise_if_not_found=False
        )
        Settings = self.env["res.config.settings"]
        if not activity_type or not Settings._get_sales_process_setting(
            "sales_process_stalled_reminder"
        ):
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
        batches = {}
        for lead in leads.filtered(lambda lead: lead.id not in reminded):
            summary = self.env._(
                "Stalled for %(days)s days on step “%(step)s”",
                days=lead.rotting_days,
                step=lead.sales_process_step_id.name,
            )
            user = lead.user_id or lead.team_id.user_id
            batches.setdefault((summary, user), []).append(lead.id)
        for (summary, user), lead_ids in batches.items():
            self.browse(lead_ids).with_context(mail_activity_quick_update=True).activity_schedule(
                "crm_sales_process.mail_activity_type_stalled", summary=summary, user_id=user.id
            )
