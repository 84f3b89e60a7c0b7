# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Time to respond: the first response of an opportunity on a process, and its hours."""

from datetime import datetime, timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import ConcurrencyError, ValidationError
from odoo.fields import Command
from odoo.tests import HttpCase, tagged

from .common import SalesProcessCommon, load_migration

# A Monday, 08:00 UTC
MONDAY_8 = datetime(2026, 11, 30, 8, 0)


@tagged("post_install", "-at_install")
class TestTimeToRespond(SalesProcessCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.process = cls._create_process("Respond Sale", cls._standard_steps())
        # Mon-Fri 8-12 and 13-17 UTC: 8 working hours a day
        cls.calendar = cls.env["resource.calendar"].create(
            {
                "name": "Office Hours",
                "tz": "UTC",
                "attendance_ids": [
                    Command.create(
                        {"name": name, "dayofweek": str(day), "hour_from": start, "hour_to": end}
                    )
                    for day in range(5)
                    for name, start, end in (("Morning", 8, 12), ("Afternoon", 13, 17))
                ],
            }
        )

    def _lead(self, process=None, **vals):
        lead = self._create_lead(process or self.process, user_id=self.salesman.id, **vals)
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE crm_lead SET create_date = %s WHERE id = %s", (MONDAY_8, lead.id)
        )
        lead.invalidate_recordset(["create_date"])
        return lead

    def test_hours_with_calendar(self):
        """Monday 08:00 to Tuesday 10:00 is 10 working hours (8 + 2), 26 plain ones."""
        self.env.company.resource_calendar_id = self.calendar
        lead = self._lead()
        lead._set_sales_process_first_response(datetime(2026, 12, 1, 10, 0))
        self.assertEqual(lead.first_response_date, datetime(2026, 12, 1, 10, 0))
        self.assertEqual(lead.response_hours, 10.0)

    def test_hours_without_calendar(self):
        self.env.company.resource_calendar_id = False
        lead = self._lead()
        lead._set_sales_process_first_response(datetime(2026, 12, 1, 10, 0))
        self.assertEqual(lead.response_hours, 26.0)

    def test_set_once(self):
        self.env.company.resource_calendar_id = False
        lead = self._lead()
        lead._set_sales_process_first_response(datetime(2026, 11, 30, 9, 30))
        lead._set_sales_process_first_response(datetime(2026, 12, 3, 9, 30))
        self.assertEqual(lead.first_response_date, datetime(2026, 11, 30, 9, 30))
        self.assertEqual(lead.response_hours, 1.5)

    def test_activity_done(self):
        lead = self._lead()
        activity = lead.activity_schedule("mail.mail_activity_data_call", user_id=self.salesman.id)
        self.assertFalse(lead.first_response_date)
        activity.action_done()
        self.assertEqual(lead.first_response_date, self.env.cr.now().replace(microsecond=0))
        self.assertGreater(lead.response_hours, 0)

    def test_message_sent(self):
        """A message sent by an internal user answers; a note, OdooBot's message do not."""
        lead = self._lead()
        lead.message_post(body="Internal note", subtype_xmlid="mail.mt_note")
        lead.message_post(
            body="Bot",
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
            author_id=self.env.ref("base.partner_root").id,
        )
        self.assertFalse(lead.first_response_date)
        lead.with_user(self.salesman).message_post(
            body="Thank you for your request",
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        self.assertTrue(lead.first_response_date)

    def test_move_forward(self):
        """A move to a later step answers; going back and losing do not."""
        lead = self._lead(stage_id=self.stage_offer.id)
        lead.write({"stage_id": self.stage_lead.id})
        lead.action_set_lost()
        lead.action_unarchive()
        self.assertFalse(lead.first_response_date)
        lead.write({"stage_id": self.stage_offer.id})
        self.assertEqual(lead.first_response_date, self.env.cr.now().replace(microsecond=0))
        self.assertGreater(lead.response_hours, 0)

    def test_no_process(self):
        """Opportunities without a process are left as stock crm has them."""
        lead = self.env["crm.lead"].create({"name": "Stock", "type": "opportunity"})
        lead.activity_schedule(
            "mail.mail_activity_data_call", user_id=self.salesman.id
        ).action_done()
        lead.with_user(self.salesman).message_post(
            body="Hello", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        self.assertFalse(lead.first_response_date)
        self.assertFalse(lead.response_hours)

    def test_backfill(self):
        """Opportunities from before install get the first of their past responses."""
        self.env.company.resource_calendar_id = False
        lead = self._lead()
        lead.activity_schedule(
            "mail.mail_activity_data_call", user_id=self.salesman.id
        ).action_done()
        lead.with_user(self.salesman).message_post(
            body="Hello", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        self.env.flush_all()
        # as before install: no first response; the message was sent Monday 11:00
        self.env.cr.execute(
            "UPDATE crm_lead SET first_response_date = NULL, response_hours = NULL WHERE id = %s",
            (lead.id,),
        )
        self.env.cr.execute(
            "UPDATE mail_message SET date = %s WHERE model = 'crm.lead' AND res_id = %s",
            (datetime(2026, 11, 30, 11, 0), lead.id),
        )
        self.env.cr.execute(
            "UPDATE mail_activity SET write_date = %s WHERE res_model = 'crm.lead' AND res_id = %s",
            (datetime(2026, 11, 30, 12, 0), lead.id),
        )
        self.env.invalidate_all()
        self.assertEqual(self.env["crm.lead"]._backfill_sales_process_responses(), lead)
        self.assertEqual(lead.first_response_date, datetime(2026, 11, 30, 11, 0))
        self.assertEqual(lead.response_hours, 3.0)

    def test_response_target(self):
        self.assertEqual(self.process.response_target_hours, 24)
        self.env["ir.config_parameter"].set_param("crm_sales_process.response_target_hours", 8)
        self.assertEqual(self._create_process("Fast Sale").response_target_hours, 8)
        with self.assertRaises(ValidationError):
            self.process.response_target_hours = 0


@tagged("post_install", "-at_install")
class TestCadenceKpis(SalesProcessCommon):
    """Cadence Sale: SP Lead (key activities Call in 2 days, Mail in 5), SP Offer, SP Verbal,
    SP Won; no working schedule (plain hours). All created Monday 08:00:

    A and D come from source SP Web.

    - A (1,000, customer Acme): answered in 2 h; both done on time; won.
    - D (3,000, a contact of Acme): answered in 30 h; both done on time; won.
    - E (500): answered in 10 h; both done on time; lost.
    - B (700): answered in 4 h; Call done late (its deadline was yesterday), Mail on time;
      lost.
    - C (900): not answered; Call open past its deadline, Mail cancelled; stalled.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.resource_calendar_id = False
        cls.process = cls._create_process("Cadence Sale", cls._standard_steps())
        cls.step_lead = cls._step(cls.process, cls.stage_lead)
        cls.step_lead.key_activity_ids = [
            Command.create({"summary": "Call", "delay_days": 2}),
            Command.create({"summary": "Mail", "delay_days": 5}),
        ]
        acme = cls.env["res.partner"].create({"name": "Acme", "is_company": True})
        contact = cls.env["res.partner"].create({"name": "Ann Acme", "parent_id": acme.id})
        cls.web = cls.env["utm.source"].create({"name": "SP Web"})
        cls.leads = {}
        for name, revenue, partner, hours in (
            ("A", 1000, acme, 2),
            ("D", 3000, contact, 30),
            ("E", 500, False, 10),
            ("B", 700, False, 4),
            ("C", 900, False, None),
        ):
            lead = cls._create_lead(
                cls.process,
                name=name,
                expected_revenue=revenue,
                partner_id=partner and partner.id,
                user_id=cls.salesman.id,
                source_id=cls.web.id if name in "AD" else False,
            )
            cls.env.flush_all()
            cls.env.cr.execute(
                "UPDATE crm_lead SET create_date = %s, date_last_stage_update = %s WHERE id = %s",
                (MONDAY_8, MONDAY_8, lead.id),
            )
            lead.invalidate_recordset(["create_date", "date_last_stage_update"])
            if hours is not None:
                lead._set_sales_process_first_response(MONDAY_8 + timedelta(hours=hours))
            cls.leads[name] = lead
        yesterday = fields.Date.today() - timedelta(days=1)
        for name in "ADEB":
            call, mail = cls._activities(cls.leads[name])
            if name == "B":
                call.date_deadline = yesterday
            (call | mail).action_done()
        call, mail = cls._activities(cls.leads["C"])
        call.date_deadline = yesterday
        mail.unlink()
        (cls.leads["A"] | cls.leads["D"]).action_set_won()
        (cls.leads["E"] | cls.leads["B"]).action_set_lost()
        cls.step_lead.stall_days = 1

    @classmethod
    def _activities(cls, lead):
        return (
            cls.env["mail.activity"]
            .with_context(active_test=False)
            .search(
                [("res_model", "=", "crm.lead"), ("res_id", "=", lead.id)],
                order="date_deadline, id",
            )
        )

    def test_done_activities_keep_their_origin(self):
        done = self._activities(self.leads["A"])
        self.assertEqual(len(done), 2)
        self.assertFalse(any(done.mapped("active")))
        self.assertEqual(done.sales_process_step_id, self.step_lead)
        self.assertEqual(done.mapped("sales_process_step_activity_id.summary"), ["Call", "Mail"])

    def test_upgrade(self):
        """Upgrading from 19.0.1.0.1: key activities get the step that scheduled them, the
        opportunities their first response from their past."""
        lead = self.leads["A"]
        activities = self._activities(lead)
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE mail_activity SET sales_process_step_id = NULL WHERE id = ANY(%s)",
            (activities.ids,),
        )
        self.env.cr.execute(
            "UPDATE crm_lead SET first_response_date = NULL, response_hours = NULL WHERE id = %s",
            (lead.id,),
        )
        self.env.cr.execute(
            "UPDATE crm_sales_process SET response_target_hours = NULL WHERE id = %s",
            (self.process.id,),
        )
        self.env.invalidate_all()
        load_migration("19.0.3.0.0", "post-cadence").migrate(self.env.cr, "19.0.2.0.0")
        self.env.invalidate_all()
        self.assertEqual(activities.sales_process_step_id, self.step_lead)
        self.assertEqual(self.process.response_target_hours, 24)
        # its first done activity (archived when done: its write date), plain hours since
        # Monday 08:00 (no working schedule)
        first_done = min(activities.mapped("write_date"))
        self.assertEqual(lead.first_response_date, first_done)
        self.assertAlmostEqual(
            lead.response_hours, (first_done - MONDAY_8).total_seconds() / 3600, places=2
        )

    def test_kpis(self):
        kpis = self.process.get_kpis()[0]
        self.assertEqual(kpis["avg_response_hours"], 11.5)
        self.assertEqual(kpis["median_response_hours"], 7.0)
        # A, E, B within 24 h of A, D, E, B answered and C overdue
        self.assertEqual(kpis["response_on_target_rate"], 60.0)
        # due: 2 each for A, D, E, B and C's overdue Call (its Mail cancelled); late: B's Call
        # and C's Call
        self.assertEqual(kpis["key_activities_due"], 9)
        self.assertEqual(kpis["key_activities_on_time"], 7)
        self.assertEqual(kpis["cadence_compliance"], 77.78)
        self.assertEqual((kpis["stalled_count"], kpis["stalled_value"]), (1, 900.0))
        # Acme won 1,000 + 3,000 (A and its contact's D)
        self.assertEqual(kpis["avg_customer_value"], 4000.0)
        step = next(step for step in kpis["steps"] if step["step_id"] == self.step_lead.id)
        self.assertEqual(step["key_activities_due"], 9)
        self.assertEqual(step["cadence_compliance"], 77.78)
        # on time: A and D won, E lost; late: B lost
        self.assertEqual(step["win_rate_on_time"], 66.67)
        self.assertEqual(step["win_rate_late"], 0.0)
        won_step = next(step for step in kpis["steps"] if step["is_won"])
        self.assertEqual(won_step["key_activities_due"], 0)

    def test_win_rate_late(self):
        """B, late on its Call, won after all: the late ones' win rate is hers."""
        self.leads["B"].action_restore()
        self.leads["B"].action_set_won()
        step = next(
            step
            for step in self.process.get_kpis()[0]["steps"]
            if step["step_id"] == self.step_lead.id
        )
        self.assertEqual((step["win_rate_on_time"], step["win_rate_late"]), (66.67, 100.0))

    def test_target(self):
        self.process.response_target_hours = 1
        self.assertEqual(self.process.get_kpis()[0]["response_on_target_rate"], 0.0)
        self.process.response_target_hours = 30
        self.assertEqual(self.process.get_kpis()[0]["response_on_target_rate"], 80.0)

    def test_empty_period(self):
        kpis = self.process.get_kpis(date_from="2001-01-01", date_to="2001-01-31")[0]
        for key in (
            "avg_response_hours",
            "median_response_hours",
            "response_on_target_rate",
            "key_activities_due",
            "key_activities_on_time",
            "cadence_compliance",
        ):
            self.assertEqual(kpis[key], 0, key)
        for step in kpis["steps"]:
            self.assertEqual(
                [step[key] for key in ("key_activities_due", "cadence_compliance")], [0, 0]
            )
            self.assertEqual([step["win_rate_on_time"], step["win_rate_late"]], [0, 0])

    def test_sources(self):
        """Lead quality: per origin, its win rate, conversion and average won amount."""
        sources = self.process.get_kpis()[0]["sources"]
        self.assertEqual(
            [
                (source["source"], source["won_count"], source["lost_count"], source["win_rate"])
                for source in sources
            ],
            [("SP Web", 2, 0, 100.0), ("", 0, 2, 0.0)],
        )
        self.assertEqual(sources[0]["avg_won_amount"], 2000.0)
        self.assertEqual(sources[0]["conversion_rate"], 100.0)
        self.assertEqual(sources[1]["created_count"], 3)
        self.assertEqual(sources[1]["conversion_rate"], 0.0)


@tagged("post_install", "-at_install")
class TestEscalation(SalesProcessCommon):
    """Escalation Sale: SP Lead stalls after 2 days and escalates 3 days later."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.process = cls._create_process("Escalation Sale", cls._standard_steps())
        cls.step_lead = cls._step(cls.process, cls.stage_lead)
        cls.step_lead.write({"stall_days": 2, "escalate_after_days": 3})
        cls.team.user_id = cls.manager
        cls.lead = cls._create_lead(
            cls.process, user_id=cls.salesman.id, team_id=cls.team.id, expected_revenue=1234
        )

    def _stall(self, lead, days):
        """As if ``lead`` had moved to its step ``days`` days ago."""
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE crm_lead SET date_last_stage_update = %s WHERE id = %s",
            (fields.Datetime.now() - timedelta(days=days, hours=1), lead.id),
        )
        lead.invalidate_recordset(["date_last_stage_update"])

    def _escalations(self, lead):
        activities = self.env["mail.activity"].search(
            [
                ("res_model", "=", "crm.lead"),
                ("res_id", "=", lead.id),
                (
                    "activity_type_id",
                    "=",
                    self.ref("crm_sales_process.mail_activity_type_escalated"),
                ),
            ]
        )
        notes = lead.message_ids.filtered(
            lambda message: "Escalated to" in message.body or "Not escalated" in message.body
        )
        return activities, notes

    def test_once_per_stall(self):
        Lead = self.env["crm.lead"]
        self._stall(self.lead, 4)  # stalled, not yet escalated
        Lead._cron_remind_stalled_opportunities()
        self.assertEqual([len(records) for records in self._escalations(self.lead)], [0, 0])
        self._stall(self.lead, 6)
        Lead._cron_remind_stalled_opportunities()
        Lead._cron_remind_stalled_opportunities()
        activities, notes = self._escalations(self.lead)
        self.assertEqual((len(activities), len(notes)), (1, 1))
        self.assertEqual(activities.user_id, self.manager)
        self.assertTrue(activities.automated)
        self.assertIn("1,234", activities.note)
        self.assertIn("6 days", str(notes.body))
        # it moves on and back: a new stall, escalated again
        self.lead.write({"stage_id": self.stage_offer.id})
        self.lead.write({"stage_id": self.stage_lead.id})
        Lead._cron_remind_stalled_opportunities()
        self.assertEqual(len(self._escalations(self.lead)[0]), 1)
        self._stall(self.lead, 7)
        Lead._cron_remind_stalled_opportunities()
        Lead._cron_remind_stalled_opportunities()
        self.assertEqual(len(self._escalations(self.lead)[0]), 2)

    def test_marked_before_escalated(self):
        """A run marks the stalls it escalates first, re-checked on the locked rows: a run that
        found the same opportunity before another run marked it skips it (one escalation)."""
        Lead = self.env["crm.lead"]
        self._stall(self.lead, 6)
        found_by_both = Lead._get_escalation_lead_ids()
        self.assertIn(self.lead.id, found_by_both)
        self.assertEqual(Lead.browse(found_by_both)._mark_stall_escalated(), self.lead)
        self.assertFalse(Lead.browse(found_by_both)._mark_stall_escalated())
        self.assertNotIn(self.lead.id, Lead._get_escalation_lead_ids())
        # found stalled, then moved before its batch: not escalated
        other = self._create_lead(self.process, user_id=self.salesman.id, team_id=self.team.id)
        self._stall(other, 6)
        self.assertIn(other.id, Lead._get_escalation_lead_ids())
        other.write({"stage_id": self.stage_offer.id})
        self.assertFalse(other._mark_stall_escalated())

    def test_cron_step_retried_after_concurrent_write(self):
        """In a cron run, a step a concurrent write made fail runs again after a rollback
        (Odoo's ``retrying``) and is committed; outside a cron it runs once, in the caller's
        transaction. (The commits and rollback are recorded, not done: the test's
        transaction must stay.)"""
        Lead = self.env["crm.lead"]
        calls, done = [], []

        def step(value):
            calls.append(value)
            if len(calls) == 1:
                raise ConcurrencyError("could not serialize access")
            return value

        cron = self.env["ir.cron"]
        with (
            patch.object(type(cron), "_commit_progress", lambda self: done.append("progress")),
            patch.object(self.env.cr, "rollback", lambda: done.append("rollback")),
            patch.object(self.env.cr, "commit", lambda: done.append("commit")),
            patch("odoo.service.model.time.sleep"),
        ):
            in_cron = Lead.with_context(ir_cron_progress_id=1)
            self.assertEqual(in_cron._run_cron_step(step, 7), 7)
            self.assertEqual((calls, done), ([7, 7], ["rollback", "commit", "progress"]))
            calls.clear()
            with self.assertRaises(ConcurrencyError):
                Lead._run_cron_step(step, 8)
        self.assertEqual(calls, [8])

    def test_manager_and_no_leader(self):
        """Without a team leader: the salesperson's manager; without either: a note only."""
        self.team.user_id = False
        boss = self._create_salesperson("sp_boss", "Bo Boss")
        boss_employee = self.env["hr.employee"].create({"name": "Bo Boss", "user_id": boss.id})
        self.env["hr.employee"].create(
            {"name": "Sam Sales", "user_id": self.salesman.id, "parent_id": boss_employee.id}
        )
        orphan = self._create_lead(
            self.process,
            expected_revenue=10,
            user_id=False,
            team_id=False,
            company_id=self.env.company.id,
        )
        self._stall(self.lead, 6)
        self._stall(orphan, 6)
        self.env["crm.lead"]._cron_remind_stalled_opportunities()
        self.assertEqual(self._escalations(self.lead)[0].user_id, boss)
        activities, notes = self._escalations(orphan)
        self.assertFalse(activities)
        self.assertIn("Not escalated", str(notes.body))

    def test_leader_is_the_salesperson(self):
        """A team led by the salesperson: the stall goes to his manager, not to himself."""
        self.team.user_id = self.salesman
        boss = self._create_salesperson("sp_bea", "Bea Boss")
        boss_employee = self.env["hr.employee"].create({"name": "Bea Boss", "user_id": boss.id})
        self.env["hr.employee"].create(
            {"name": "Sam Sales", "user_id": self.salesman.id, "parent_id": boss_employee.id}
        )
        self._stall(self.lead, 6)
        self.env["crm.lead"]._cron_remind_stalled_opportunities()
        self.assertEqual(self._escalations(self.lead)[0].user_id, boss)

    def test_manager_in_the_opportunity_company(self):
        """The salesperson's manager is read in the opportunity's company, whichever company
        the cron runs in."""
        other = self.env["res.company"].create({"name": "Escalation Other Company"})
        self.salesman.write({"company_ids": [Command.link(other.id)]})
        boss = self._create_salesperson("sp_oda", "Oda Boss", company=other)
        boss_employee = self.env["hr.employee"].create(
            {"name": "Oda Boss", "user_id": boss.id, "company_id": other.id}
        )
        self.env["hr.employee"].create(
            {
                "name": "Sam Sales",
                "user_id": self.salesman.id,
                "company_id": other.id,
                "parent_id": boss_employee.id,
            }
        )
        process = self._create_process(
            "Escalation Elsewhere", self._standard_steps(), company_id=other.id
        )
        process.step_ids[:1].write({"stall_days": 2, "escalate_after_days": 3})
        lead = self._create_lead(
            process,
            user_id=self.salesman.id,
            team_id=False,
            company_id=other.id,
            expected_revenue=10,
        )
        self._stall(lead, 6)
        self.env["crm.lead"]._cron_remind_stalled_opportunities()
        self.assertEqual(self._escalations(lead)[0].user_id, boss)

    def test_never(self):
        """0 escalate after days: never; won and lost deals are not stalled."""
        self.step_lead.escalate_after_days = 0
        self._stall(self.lead, 60)
        self.env["crm.lead"]._cron_remind_stalled_opportunities()
        self.assertFalse(self._escalations(self.lead)[0])
        self.step_lead.escalate_after_days = 3
        self.lead.action_set_lost()
        self.env["crm.lead"]._cron_remind_stalled_opportunities()
        self.assertFalse(self._escalations(self.lead)[0])

    def test_bad_days(self):
        with self.assertRaises(ValidationError):
            self.step_lead.escalate_after_days = -1


@tagged("post_install", "-at_install")
class TestDealHealth(SalesProcessCommon):
    """Health Sale: SP Lead (key activities Call and Mail), SP Offer (exit criterion: expected
    revenue filled in), SP Verbal, SP Won."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.process = cls._create_process("Health Sale", cls._standard_steps())
        cls.step_lead = cls._step(cls.process, cls.stage_lead)
        cls.step_lead.key_activity_ids = [
            Command.create({"summary": "Call", "delay_days": 2}),
            Command.create({"summary": "Mail", "delay_days": 5}),
        ]
        cls.step_offer = cls._step(cls.process, cls.stage_offer)
        cls.step_offer.exit_criterion_ids = [
            Command.create({"criterion_type": "field", "field_name": "expected_revenue"}),
        ]

    def _lead(self, **vals):
        return self._create_lead(self.process, user_id=self.salesman.id, **vals)

    def test_healthy(self):
        lead = self._lead()
        self.assertEqual((lead.health_score, lead.health_color), (100, "green"))
        self.assertFalse(lead.health_reasons)

    def test_no_process(self):
        lead = self.env["crm.lead"].create({"name": "Stock", "type": "opportunity"})
        self.assertEqual((lead.health_score, lead.health_color), (0, False))

    def test_overdue_key_activities(self):
        lead = self._lead()
        activities = lead.activity_ids
        activities.date_deadline = fields.Date.today() - timedelta(days=1)
        lead.invalidate_recordset()
        self.assertEqual(lead.health_score, 70)
        self.assertIn("Overdue key activities: Call, Mail", lead.health_reasons)

    def test_closing_past_and_slipped(self):
        today = fields.Date.today()
        lead = self._lead(date_deadline=today + timedelta(days=5))
        lead.date_deadline = today + timedelta(days=10)
        self.assertEqual(lead.sales_process_deadline_slips, 1)
        self.assertEqual(lead.health_score, 100)
        lead.date_deadline = today + timedelta(days=20)
        lead.date_deadline = today + timedelta(days=3)  # earlier: not a slip
        self.assertEqual(lead.sales_process_deadline_slips, 2)
        self.assertEqual(lead.health_score, 90)
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE crm_lead SET date_deadline = %s WHERE id = %s",
            (today - timedelta(days=1), lead.id),
        )
        lead.invalidate_recordset()
        self.assertEqual((lead.health_score, lead.health_color), (70, "orange"))
        self.assertIn("Expected closing date is past", lead.health_reasons)
        self.assertIn("pushed back 2 times", lead.health_reasons)

    def test_exit_criteria_missing(self):
        lead = self._lead(stage_id=self.stage_offer.id, expected_revenue=0)
        self.assertEqual(lead.health_score, 95)
        self.assertIn("Exit criteria missing", lead.health_reasons)

    def test_slow_in_step(self):
        """Median stay on SP Lead: 2 days; 3 days there is slow, 5 very slow."""
        others = [self._lead(name=f"Past {days}") for days in (1, 2, 3)]
        for other, days in zip(others, (1, 2, 3), strict=True):
            other.activity_ids.unlink()
            other.write({"stage_id": self.stage_offer.id})
            stay = other.sales_process_history_ids.filtered(
                lambda stay, other=other: stay.step_id == self.step_lead
            )
            self.env.cr.execute(
                "UPDATE crm_sales_process_history SET duration_days = %s WHERE id = %s",
                (days, stay.id),
            )
        lead = self._lead()
        lead.activity_ids.unlink()
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE crm_lead SET date_last_stage_update = %s WHERE id = %s",
            (fields.Datetime.now() - timedelta(days=3, hours=1), lead.id),
        )
        self.env.invalidate_all()
        self.assertEqual(lead.health_score, 85, lead.health_reasons)
        self.assertIn("3 days on its step, the median stay is 2.0", lead.health_reasons)
        self.env.cr.execute(
            "UPDATE crm_lead SET date_last_stage_update = %s WHERE id = %s",
            (fields.Datetime.now() - timedelta(days=5, hours=1), lead.id),
        )
        self.env.invalidate_all()
        self.assertEqual((lead.health_score, lead.health_color), (70, "orange"))

    def test_at_risk_search(self):
        risky = self._lead(name="Risky")
        risky.activity_ids.date_deadline = fields.Date.today() - timedelta(days=1)
        self.env.cr.execute(
            "UPDATE crm_lead SET date_deadline = %s, sales_process_deadline_slips = 2"
            " WHERE id = %s",
            (fields.Date.today() - timedelta(days=1), risky.id),
        )
        healthy = self._lead(name="Healthy")
        self.env.invalidate_all()
        self.assertEqual(risky.health_score, 40)
        Lead = self.env["crm.lead"]
        found = Lead.search([("health_score", "<", 50), ("id", "in", (risky | healthy).ids)])
        self.assertEqual(found, risky)
        found = Lead.search([("health_score", ">=", 50), ("id", "in", (risky | healthy).ids)])
        self.assertEqual(found, healthy)


@tagged("post_install", "-at_install")
class TestHealthTour(HttpCase):
    def test_health_tour(self):
        admin = self.env.ref("base.user_admin")
        stage = self.env["crm.stage"].search([("team_ids", "=", False)], limit=1)
        process = self.env["crm.sales.process"].create(
            {
                "name": "Health Tour Process",
                "step_ids": [Command.create({"stage_id": stage.id, "probability": 40})],
            }
        )
        process.step_ids.key_activity_ids = [Command.create({"summary": "Call"})]
        leads = self.env["crm.lead"].create(
            [
                {
                    "name": name,
                    "type": "opportunity",
                    "user_id": admin.id,
                    "sales_process_id": process_id,
                    "stage_id": stage.id,
                }
                for name, process_id in (
                    ("Stock Deal", False),
                    ("Healthy Deal", process.id),
                    ("Risky Deal", process.id),
                )
            ]
        )
        self.env.flush_all()
        # Risky: expected closing past (20) and pushed back 3 times (10), its Call overdue
        # (15), 3 exit criteria missing (15): 40
        self.env.cr.execute(
            "UPDATE crm_lead SET date_deadline = CURRENT_DATE - 3,"
            " sales_process_deadline_slips = 3 WHERE id = %s",
            (leads[2].id,),
        )
        self.env.cr.execute(
            "UPDATE mail_activity SET date_deadline = CURRENT_DATE - 2"
            " WHERE res_model = 'crm.lead' AND res_id = %s",
            (leads[2].id,),
        )
        self.env.invalidate_all()
        process.step_ids.exit_criterion_ids = [
            Command.create({"criterion_type": "field", "field_name": field})
            for field in ("partner_id", "email_from", "phone", "date_deadline")
        ]
        leads[1].write(
            {
                "partner_id": admin.partner_id.id,
                "email_from": "a@example.com",
                "phone": "123",
                "date_deadline": fields.Date.today() + timedelta(days=30),
            }
        )
        self.start_tour("/odoo/crm", "crm_sales_process_health_tour", login="admin")
