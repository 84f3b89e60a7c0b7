# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .tools import MAX_DAYS


class CrmSalesProcessStepActivity(models.Model):
    """A key activity of a step: scheduled on every opportunity entering the step."""

    _name = "crm.sales.process.step.activity"
    _inherit = ["crm.sales.process.checked.values"]
    _description = "Sales Process Step Key Activity"
    _order = "step_id, sequence, id"
    _rec_name = "summary"
    _check_company_auto = True

    step_id = fields.Many2one(
        "crm.sales.process.step",
        required=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(related="step_id.company_id", store=True, index=True)
    sequence = fields.Integer(default=10)
    activity_type_id = fields.Many2one(
        "mail.activity.type",
        required=True,
        ondelete="restrict",
        domain="[('res_model', 'in', [False, 'crm.lead'])]",
        default=lambda self: self.env.ref("mail.mail_activity_data_todo", raise_if_not_found=False),
    )
    summary = fields.Char(required=True, translate=True)
    note = fields.Html(translate=True)
    delay_days = fields.Integer(
        string="Deadline (days)",
        default=0,
        help="Days after the opportunity entered the step: 0 = the same day.",
    )
    responsible = fields.Selection(
        [
            ("salesperson", "Salesperson"),
            ("team_leader", "Team Leader"),
            ("user", "Given User"),
        ],
        required=True,
        default="salesperson",
        help="Who gets the activity. Without a salesperson the team leader gets it, without "
        "a team leader the user who moved the opportunity.",
    )
    user_id = fields.Many2one(
        "res.users",
        domain="[('share', '=', False)]",
        ondelete="restrict",
    )

    @api.constrains("summary", "delay_days", "responsible", "user_id")
    def _check_activity(self):
        for activity in self:
            if not (activity.summary or "").strip():
                raise ValidationError(
                    self.env._(
                        "A key activity of step “%(step)s” needs a summary: it cannot be empty.",
                        step=activity.step_id.name,
                    )
                )
            if not 0 <= activity.delay_days <= MAX_DAYS:
                raise ValidationError(
                    self.env._(
                        "Key activity “%(activity)s” of step “%(step)s”: the deadline is a "
                        "number of days after the opportunity entered the step, from 0 to "
                        "%(max)s, not %(days)s.",
                        activity=activity.summary,
                        step=activity.step_id.name,
                        days=activity.delay_days,
                        max=MAX_DAYS,
                    )
                )
            if activity.responsible == "user" and not activity.user_id:
                raise ValidationError(
                    self.env._(
                        "Key activity “%(activity)s” of step “%(step)s” goes to a given user: "
                        "choose the user.",
                        activity=activity.summary,
                        step=activity.step_id.name,
                    )
                )

    def _get_responsible_user(self, lead):
        """The user the activity is for on ``lead``: its salesperson, its team leader or the
        configured user, each falling back to the other and finally to the current user
        (nobody when that is the superuser: installs and scheduled actions)."""
        self.ensure_one()
        if self.responsible == "user":
            return self.user_id
        salesperson, leader = lead.user_id, lead.team_id.user_id
        current = self.env.user if not self.env.user._is_superuser() else self.env["res.users"]
        if self.responsible == "team_leader":
            return leader or salesperson or current
        return salesperson or leader or current

    def _get_activity_values(self, lead, date_entered):
        """The values ``activity_schedule`` gets for this key activity on ``lead``."""
        self.ensure_one()
        return {
            "activity_type_id": self.activity_type_id.id,
            "summary": self.summary,
            "note": self.note,
            "date_deadline": date_entered + timedelta(days=self.delay_days),
            "user_id": self._get_responsible_user(lead).id,
            "sales_process_step_activity_id": self.id,
            "sales_process_step_id": self.step_id.id,
        }
