# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Command
from odoo.tests import new_test_user, tagged

from .common import SalesProcessLeadCommon


class SalesProcessHistoryCommon(SalesProcessLeadCommon):
    def _stays(self, lead):
        """(step, stage, exit reason, open) of the stays of ``lead``, oldest first."""
        return [
            (stay.step_id, stay.exit_reason or False, not stay.date_out)
            for stay in self.env["crm.sales.process.history"]
            .sudo()
            .search([("lead_id", "=", lead.id)], order="id")
        ]

    def _count_queries(self, func):
        self.env.flush_all()
        before = self.env.cr.sql_log_count
        func()
        self.env.flush_all()
        return self.env.cr.sql_log_count - before


@tagged("post_install", "-at_install")
class TestSalesProcessHistory(SalesProcessHistoryCommon):
    """Each path of an opportunity writes its stays."""

    def test_create_opens_stay_with_entry_values(self):
        """Anna creates an opportunity: one open stay on the first step, with her values."""
        lead = self._create_lead(self.user_anna, expected_revenue=5000, team_id=self.team_north.id)
        stay = lead.sales_process_history_ids
        self.assertEqual(len(stay), 1)
        self.assertEqual(stay.step_id, self._step(self.process_user, self.stage_lead_in))
        self.assertEqual(stay.process_id, self.process_user)
        self.assertFalse(stay.date_out)
        self.assertFalse(stay.exit_reason)
        self.assertEqual(stay.user_id, self.user_anna)
        self.assertEqual(stay.team_id, self.team_north)
        self.assertEqual(stay.department_id, self.department)
        self.assertEqual(stay.expected_revenue, 5000)
        self.assertEqual(stay.probability, 0)
        self.assertEqual(stay.company_id, self.company)
        self.assertEqual(stay.date_in, lead.create_date)

    def test_moves_forward_backward(self):
        lead = self._create_lead(self.user_anna)
        lead.stage_id = self.stage_offer
        lead.stage_id = self.stage_meeting
        # writing the same stage again changes nothing
        lead.stage_id = self.stage_meeting
        step = self._step
        self.assertEqual(
            self._stays(lead),
            [
                (step(self.process_user, self.stage_lead_in), "forward", False),
                (step(self.process_user, self.stage_offer), "backward", False),
                (step(self.process_user, self.stage_meeting), False, True),
            ],
        )
        stay = lead.sales_process_history_ids.sorted("id")[-1]
        self.assertEqual(stay.probability, 30, "entry probability is the step's")

    def test_history_button(self):
        """The opportunity's Step History button lists its stays, for its salesperson too."""
        lead = self._create_lead(self.user_anna)
        lead.stage_id = self.stage_meeting
        action = lead.with_user(self.user_anna).action_view_sales_process_history()
        stays = self.env[action["res_model"]].with_user(self.user_anna).search(action["domain"])
        self.assertEqual(stays, lead.sales_process_history_ids)
        self.assertEqual(len(stays), 2)

    def test_step_path_writes_stay(self):
        """Clicking a step of the form's path moves the stage: a stay too."""
        lead = self._create_lead(self.user_anna)
        lead.sales_process_step_id = self._step(self.process_user, self.stage_offer)
        self.assertEqual(len(lead.sales_process_history_ids), 2)

    def test_won_lost_restore(self):
        step = self._step
        won = self._create_lead(self.user_anna)
        won.stage_id = self.stage_meeting
        won.action_set_won()
        self.assertEqual(
            self._stays(won),
            [
                (step(self.process_user, self.stage_lead_in), "forward", False),
                (step(self.process_user, self.stage_meeting), "won", False),
                (step(self.process_user, self.stage_signed), False, True),
            ],
        )
        lost = self._create_lead(self.user_anna)
        lost.action_set_lost()
        self.assertEqual(
            self._stays(lost), [(step(self.process_user, self.stage_lead_in), "lost", False)]
        )
        # a restored lost opportunity opens a new stay where it is
        lost.action_restore()
        self.assertEqual(
            self._stays(lost),
            [
                (step(self.process_user, self.stage_lead_in), "lost", False),
                (step(self.process_user, self.stage_lead_in), False, True),
            ],
        )
        # archived with a probability: not lost (as Odoo's won/lost status says)
        archived = self._create_lead(self.user_anna, stage_id=self.stage_meeting.id)
        archived.action_archive()
        self.assertEqual(
            self._stays(archived),
            [(step(self.process_user, self.stage_meeting), "archived", False)],
        )

    def test_process_change(self):
        """Another process: the stay closes, one opens on the nearest step of the new one."""
        lead = self._create_lead(self.user_anna)
        lead.stage_id = self.stage_meeting  # 30 %
        lead.sales_process_id = self.process_team  # nearest: Offer 40 %
        self.assertEqual(
            self._stays(lead),
            [
                (self._step(self.process_user, self.stage_lead_in), "forward", False),
                (self._step(self.process_user, self.stage_meeting), "process_change", False),
                (self._step(self.process_team, self.stage_offer), False, True),
            ],
        )
        stays = lead.sales_process_history_ids.sorted("id")
        self.assertEqual(stays[-1].process_id, self.process_team)
        # leaving the processes altogether closes the stay, opens none
        lead.sales_process_id = False
        self.assertEqual(self._stays(lead)[-1], (stays[-1].step_id, "process_change", False))

    def test_step_with_history_keeps_its_process(self):
        """Stays read their process from their step: a step with stays cannot move to
        another process (nothing changes), one without can."""
        lead = self._create_lead(self.user_anna)
        lead.stage_id = self.stage_meeting
        lead.stage_id = self.stage_offer  # no opportunity left on Meeting
        meeting = self._step(self.process_user, self.stage_meeting)
        # "Everyone's Sale" has no Meeting step: without stays the move would be allowed
        with self.assertRaisesRegex(UserError, "1 opportunities went through it"):
            meeting.process_id = self.process_all
        self.assertEqual(meeting.process_id, self.process_user)
        self.assertEqual(lead.sales_process_history_ids.process_id, self.process_user)
        unused = self._create_process("Spare", [(self.stage_meeting, 30)]).step_ids
        unused.process_id = self.process_all
        self.assertEqual(unused.process_id, self.process_all)

    def test_history_not_deleted_with_step_or_process(self):
        """A step or process opportunities went through keeps their history: deleting it is
        refused (archive the process instead), and nothing is deleted."""
        lead = self._create_lead(self.user_anna)
        lead.stage_id = self.stage_meeting
        lead.sales_process_id = self.process_team  # no opportunity left on process_user
        lead_in = self._step(self.process_user, self.stage_lead_in)
        with self.assertRaisesRegex(UserError, "1 opportunities went through it"):
            lead_in.unlink()
        with self.assertRaisesRegex(UserError, "step history of 1 opportunities"):
            self.process_user.unlink()
        self.assertTrue(lead_in.exists())
        self.assertEqual(len(self._stays(lead)), 3)
        self.process_user.action_archive()
        self.assertEqual(len(self._stays(lead)), 3)

    def test_no_history_without_process(self):
        lead = self._create_lead(self.user_dina, sales_process_id=False)
        lead.stage_id = self.stage_offer
        lead.action_set_lost()
        lead.action_restore()
        self.assertFalse(lead.sales_process_history_ids)
        self.assertFalse(
            self.env["crm.sales.process.history"].sudo().search_count([("lead_id", "=", lead.id)])
        )

    def test_created_lost(self):
        """An opportunity imported as lost gets its stay closed at once."""
        lead = self._create_lead(self.user_anna, active=False, probability=0)
        self.assertEqual(
            self._stays(lead), [(self._step(self.process_user, self.stage_lead_in), "lost", False)]
        )
        self.assertEqual(
            lead.sales_process_history_ids.with_context(active_test=False).duration_days, 0
        )

    def test_duration(self):
        lead = self._create_lead(self.user_anna)
        stay = lead.sales_process_history_ids
        self.env.cr.execute(
            "UPDATE crm_sales_process_history SET date_in = date_in - interval '36 hours' "
            "WHERE id = %s",
            [stay.id],
        )
        stay.invalidate_recordset()
        lead.stage_id = self.stage_offer
        self.assertAlmostEqual(stay.duration_days, 1.5, places=3)
        self.assertEqual(stay.exit_reason, "forward")

    def test_batch_query_count(self):
        """Moving 40 opportunities costs the history as many queries as moving 4."""
        leads_small = self.env["crm.lead"].create(
            [
                {"name": f"S{i}", "type": "opportunity", "user_id": self.user_anna.id}
                for i in range(4)
            ]
        )
        leads_big = self.env["crm.lead"].create(
            [
                {"name": f"B{i}", "type": "opportunity", "user_id": self.user_anna.id}
                for i in range(40)
            ]
        )
        self.env.invalidate_all()
        small = self._count_queries(lambda: leads_small.write({"stage_id": self.stage_offer.id}))
        self.env.invalidate_all()
        big = self._count_queries(lambda: leads_big.write({"stage_id": self.stage_offer.id}))
        # (the second move finds the step share-locked already in the transaction: one less)
        self.assertLessEqual(big, small)
        self.assertEqual(
            self.env["crm.sales.process.history"]
            .sudo()
            .search_count([("lead_id", "in", leads_big.ids), ("exit_reason", "=", "forward")]),
            40,
        )
        # and losing / restoring / winning them in bulk too
        self.env.invalidate_all()
        small = self._count_queries(leads_small.action_set_lost)
        self.env.invalidate_all()
        big = self._count_queries(leads_big.action_set_lost)
        self.assertEqual(small, big)
        # create: the history of 40 new opportunities costs what it costs for 4 (creating
        # opportunities itself costs queries per record in stock Odoo)
        for leads in (leads_small, leads_big):
            leads.action_restore()
        self.env.cr.execute(
            "DELETE FROM crm_sales_process_history WHERE lead_id = ANY(%s)",
            [(leads_small | leads_big).ids],
        )
        self.env.invalidate_all()
        small = self._count_queries(leads_small._sales_process_history_update)
        self.env.invalidate_all()
        big = self._count_queries(leads_big._sales_process_history_update)
        self.assertEqual(small, big)
        self.assertEqual(len(leads_big.sales_process_history_ids), 40)


@tagged("post_install", "-at_install")
class TestSalesProcessHistoryAccess(SalesProcessHistoryCommon):
    """Read-only for everybody; what salespeople read follows the opportunity."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_all_leads = new_test_user(
            cls.env,
            "sp_all_leads",
            "sales_team.group_sale_salesman_all_leads",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.manager = new_test_user(
            cls.env,
            "sp_history_manager",
            "sales_team.group_sale_manager",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )

    def test_access(self):
        lead_anna = self._create_lead(self.user_anna)
        lead_bert = self._create_lead(self.user_bert, team_id=self.team_north.id)
        lead_other = self._create_lead(
            self.user_dina, team_id=False, company_id=self.company_other.id
        )
        lead_anna.action_set_lost()  # lost ones stay readable
        History = self.env["crm.sales.process.history"]
        all_stays = History.sudo().search(
            [("lead_id", "in", (lead_anna | lead_bert | lead_other).ids)]
        )
        stays_anna = all_stays.filtered(lambda stay: stay.lead_id == lead_anna)
        stays_bert = all_stays.filtered(lambda stay: stay.lead_id == lead_bert)
        self.assertTrue(stays_anna and stays_bert)
        # Anna (own opportunities only) reads hers, not Bert's
        as_anna = History.with_user(self.user_anna)
        self.assertEqual(as_anna.search([("id", "in", all_stays.ids)]), stays_anna)
        stays_anna.with_user(self.user_anna).read(["step_id"])
        with self.assertRaises(AccessError):
            stays_bert.with_user(self.user_anna).read(["step_id"])
        # all-leads salesperson and manager read everything of their company, not other's
        for user in (self.user_all_leads, self.manager):
            found = History.with_user(user).search([("id", "in", all_stays.ids)])
            self.assertEqual(found, stays_anna | stays_bert)
            with self.assertRaises(AccessError):
                (all_stays - found).with_user(user).read(["step_id"])
        # nobody writes, creates or deletes history through the ORM
        for user in (self.user_anna, self.manager):
            with self.assertRaises(AccessError):
                stays_anna.with_user(user).write({"exit_reason": "won"})
            with self.assertRaises(AccessError):
                stays_anna.with_user(user).unlink()
            with self.assertRaises(AccessError):
                History.with_user(user).create(
                    {
                        "lead_id": lead_anna.id,
                        "step_id": stays_anna[0].step_id.id,
                        "date_in": lead_anna.create_date,
                        "company_id": self.company.id,
                    }
                )


@tagged("post_install", "-at_install")
class TestSalesProcessHistoryBackfill(SalesProcessHistoryCommon):
    """Install / upgrade: opportunities already on a process get history from tracking."""

    def _flush_tracking(self):
        self.env.flush_all()
        self.env.cr.precommit.run()

    def test_backfill_from_tracking(self):
        start = self.env.cr.now() - timedelta(days=10)
        won = self._create_lead(self.user_anna)
        lost = self._create_lead(self.user_anna)
        open_lead = self._create_lead(self.user_anna)
        self._flush_tracking()
        won.stage_id = self.stage_offer
        lost.stage_id = self.stage_meeting
        open_lead.stage_id = self.stage_offer
        self._flush_tracking()
        won.action_set_won()
        lost.action_set_lost()
        open_lead.stage_id = self.stage_meeting
        self._flush_tracking()
        leads = won | lost | open_lead
        live = {lead: self._stays(lead) for lead in leads}
        # spread the tracked changes over days: creation at day 0, changes at day 2 and 5,
        # the lost one closed at day 7
        self.env.cr.execute(
            """
            UPDATE mail_message message
               SET date = %s + (CASE WHEN message.id = (
                       SELECT MIN(first.id) FROM mail_message first
                        JOIN mail_tracking_value tv ON tv.mail_message_id = first.id
                        WHERE first.model = 'crm.lead' AND first.res_id = message.res_id)
                   THEN interval '2 days' ELSE interval '5 days' END)
             WHERE message.model = 'crm.lead' AND message.res_id = ANY(%s)
               AND EXISTS (SELECT 1 FROM mail_tracking_value tv
                            WHERE tv.mail_message_id = message.id)
            """,
            [start, leads.ids],
        )
        self.env.cr.execute(
            "UPDATE crm_lead SET create_date = %s, date_closed = %s + interval '7 days' "
            "WHERE id = ANY(%s)",
            [start, start, (won | lost).ids],
        )
        self.env.cr.execute(
            "UPDATE crm_lead SET create_date = %s WHERE id = %s", [start, open_lead.id]
        )
        # a database from before the history: no stays yet
        self.env.cr.execute(
            "DELETE FROM crm_sales_process_history WHERE lead_id = ANY(%s)", [leads.ids]
        )
        self.env.invalidate_all()
        History = self.env["crm.sales.process.history"]
        self.assertEqual(History._rebuild_from_tracking(), 8)
        for lead in leads:
            self.assertEqual(self._stays(lead), live[lead], lead.name)
        stays = History.sudo().search([("lead_id", "=", lost.id)], order="id")
        self.assertEqual(stays.mapped("duration_days"), [2.0, 5.0])
        self.assertEqual(stays[0].date_in, start)
        stays = History.sudo().search([("lead_id", "=", open_lead.id)], order="id")
        self.assertEqual(stays.mapped("duration_days")[:2], [2.0, 3.0])
        self.assertFalse(stays[2].date_out)
        # running it again adds nothing
        self.assertEqual(History._rebuild_from_tracking(), 0)


@tagged("post_install", "-at_install")
class TestSalesProcessImportCreate(SalesProcessHistoryCommon):
    """Creating opportunities the way an import does: process, stage and probability given."""

    def test_import_values(self):
        vals = {
            "name": "Imported",
            "type": "opportunity",
            "user_id": self.user_bert.id,
            "sales_process_id": self.process_user.id,
            "stage_id": self.stage_offer.id,
            "probability": 60,
        }
        Lead = self.env["crm.lead"]
        leads = Lead.create([vals, dict(vals, active=False, probability=0)])
        self.assertEqual(leads[0].automated_probability, 60)
        self.assertTrue(leads[0].is_automated_probability)
        self.assertEqual(
            leads[0].sales_process_step_id, self._step(self.process_user, self.stage_offer)
        )
        self.assertEqual(leads[1].won_status, "lost")
        self.assertEqual(
            [self._stays(lead) for lead in leads],
            [
                [(self._step(self.process_user, self.stage_offer), False, True)],
                [(self._step(self.process_user, self.stage_offer), "lost", False)],
            ],
        )
        with self.assertRaises(ValidationError):
            Lead.create(dict(vals, probability=55))

    def test_company_consistency(self):
        """A process of another company is refused, on creation and later."""
        with self.assertRaises(ValidationError):
            self._create_lead(
                self.user_dina,
                company_id=self.company_other.id,
                sales_process_id=self.process_user.id,
            )
        lead = self._create_lead(self.user_dina, team_id=False)
        with self.assertRaises(ValidationError):
            lead.sales_process_id = self.process_other
