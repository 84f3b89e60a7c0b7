# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The escalation ladder of stalled deals: after its step's stall days and then its escalate
after days, an opportunity is escalated once per stall to its team leader."""

from markupsafe import Markup

from odoo import api, fields, models
from odoo.tools import SQL, format_amount, split_every

# Opportunities escalated per batch: the ORM reads, creates and logs a batch at once.
ESCALATION_BATCH = 1000


class CrmLead(models.Model):
    _inherit = "crm.lead"

    # The stall escalated, as the stage-change date it started from: a later stage change
    # (the opportunity moved) starts a new stall, escalated again; won and lost ones are not
    # stalled.
    sales_process_escalated_stall = fields.Datetime(copy=False, readonly=True)

    @api.model
    def _get_escalation_lead_ids(self):
        """Ids of the open opportunities stalled for their step's stall days plus its escalate
        after days, whose current stall is not escalated yet (one query)."""
        self.flush_model(
            [
                "date_last_stage_update",
                "sales_process_step_id",
                "sales_process_escalated_stall",
                "won_status",
                "type",
                "active",
            ]
        )
        self.env["crm.sales.process.step"].flush_model(["stall_days", "escalate_after_days"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT lead.id
                  FROM crm_lead lead
                  JOIN crm_sales_process_step step ON step.id = lead.sales_process_step_id
                 WHERE %s
              ORDER BY lead.id
                """,
                self._get_escalation_condition(),
            )
        )
        return [row[0] for row in rows]

    @api.model
    def _get_escalation_condition(self):
        """Whether an opportunity (alias ``lead``) on its step (alias ``step``) is stalled past
        its escalation and its stall not escalated yet: the one rule, for the search and for
        the marking (which checks it again on the locked rows)."""
        return SQL(
            """
            step.stall_days > 0 AND step.escalate_after_days > 0
            AND lead.active AND lead.won_status = 'pending'
            AND lead.type = 'opportunity'
            AND COALESCE(lead.date_last_stage_update, lead.create_date)
                + (step.stall_days + step.escalate_after_days) * INTERVAL '1 day' < %s
            AND lead.sales_process_escalated_stall IS DISTINCT FROM
                COALESCE(lead.date_last_stage_update, lead.create_date)
            """,
            self.env.cr.now(),
        )

    @api.model
    def _escalate_stalled_opportunities(self):
        """Escalate each opportunity stalled past its step's escalation, once per stall: an
        activity for its team's leader (else the salesperson's manager), a note on it.

        By batches; each batch is marked escalated in the same transaction as its activities
        and notes, so that a second run, or a run after a killed one, escalates each stall
        once. In a cron run, each batch is committed (and retried, see ``_run_cron_step``).
        """
        lead_ids = self._get_escalation_lead_ids()
        if not lead_ids:
            return
        activity_type = self.env.ref(
            "crm_sales_process.mail_activity_type_escalated", raise_if_not_found=False
        )
        for batch_ids in split_every(ESCALATION_BATCH, lead_ids):
            self._run_cron_step(self._escalate_batch, batch_ids, activity_type)

    @api.model
    def _escalate_batch(self, lead_ids, activity_type):
        """Escalate the stalls of ``lead_ids`` not escalated yet (by a concurrent run)."""
        self.browse(lead_ids)._mark_stall_escalated()._escalate_stall(activity_type)

    def _mark_stall_escalated(self):
        """Mark the current stall of these opportunities escalated, in one UPDATE; returns
        those this transaction marked. The rule is checked again by the UPDATE: one moved,
        closed or marked since it was found is skipped. A concurrent run that marked it and
        committed first makes this UPDATE fail (a serialization failure: the cron step runs
        again, see ``_run_cron_step``, and then skips it). A stall gets one escalation."""
        self.flush_model()
        self.env["crm.sales.process.step"].flush_model(["stall_days", "escalate_after_days"])
        rows = self.env.execute_query(
            SQL(
                """
                UPDATE crm_lead lead SET sales_process_escalated_stall =
                       COALESCE(lead.date_last_stage_update, lead.create_date)
                  FROM crm_sales_process_step step
                 WHERE lead.id = ANY(%s) AND step.id = lead.sales_process_step_id
                   AND %s
             RETURNING lead.id
                """,
                list(self.ids),
                self._get_escalation_condition(),
            )
        )
        self.invalidate_recordset(["sales_process_escalated_stall"])
        return self.browse(row[0] for row in rows)

    def _escalate_stall(self, activity_type):
        """Escalate the stall of these opportunities (marked by ``_mark_stall_escalated``):
        one ``mail.activity`` create for all the leaders' activities (``activity_schedule``
        would create them one values set at a time: each has its own summary), one batch of
        notes."""
        if not self:
            return
        today = fields.Date.context_today(self)
        model_id = self.env["ir.model"]._get_id(self._name)
        activities, notes = [], {}
        for lead in self:
            leader = lead._get_escalation_leader()
            details = lead._get_escalation_details()
            if leader and activity_type:
                activities.append(
                    {
                        "res_model_id": model_id,
                        "res_id": lead.id,
                        "activity_type_id": activity_type.id,
                        "summary": self.env._("Escalated: %(lead)s", lead=lead.name),
                        "note": details,
                        "user_id": leader.id,
                        "date_deadline": today,
                        "automated": True,
                    }
                )
                notes[lead.id] = Markup("%s<br/>%s") % (
                    self.env._("Escalated to %(leader)s.", leader=leader.name),
                    details,
                )
            else:
                notes[lead.id] = Markup("%s<br/>%s") % (
                    self.env._(
                        "Not escalated: neither a sales team leader nor a manager of the "
                        "salesperson to escalate to."
                    ),
                    details,
                )
        self.env["mail.activity"].sudo().with_context(mail_activity_quick_update=True).create(
            activities
        )
        self._message_log_batch(bodies=notes)

    def _get_escalation_leader(self):
        """Who a stall of this opportunity goes to: its sales team's leader, else (or when the
        leader is the salesperson) the salesperson's manager in HR, read in the opportunity's
        company (the cron runs in the main one)."""
        self.ensure_one()
        leader = self.team_id.user_id
        if leader and leader != self.user_id:
            return leader
        employee = self.user_id.with_company(self.company_id or self.env.company).employee_id
        return employee.parent_id.user_id or leader

    def _get_escalation_details(self):
        """The deal, the days stalled and the value at risk, as the note and activity say."""
        self.ensure_one()
        since = self.date_last_stage_update or self.create_date
        return self.env._(
            "“%(lead)s” has been on step “%(step)s” for %(days)s days; value at risk: %(value)s.",
            lead=self.name,
            step=self.sales_process_step_id.name,
            days=(fields.Datetime.now() - since).days,
            value=format_amount(
                self.env,
                self.expected_revenue,
                self.company_currency or self.env.company.currency_id,
            ),
        )
