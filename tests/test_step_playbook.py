# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import contextlib
import io
from collections import Counter
from datetime import timedelta

import openpyxl

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Command
from odoo.tests import Form, HttpCase, tagged

from .common import SalesProcessLeadCommon

# Queries of moving 10,000 opportunities into a step with 3 key activities (see
# test_bulk_move_query_count): 300 + 100 INSERT batches and 300 UPDATEs of the activities'
# document names (mail computes it after the insert), 100 + 10 of stock's own move, the others
# constant (the step history, the share lock of the steps, the leads' processes read at once,
# the first response's working hours: the schedule's attendances and leaves read once, one
# UPDATE).
QUERIES_10000_MOVE = 851
# Queries of the health dot of a batch of pipeline cards on a process (see
# test_kanban_queries_as_stock), and its fields.
HEALTH_CARD_QUERIES = 6
HEALTH_FIELDS = ["health_score", "health_reasons", "health_color"]


class StepPlaybookCommon(SalesProcessLeadCommon):
    """Direct Sale (Anna's process) gets a playbook:

    - Lead In: 2 key activities (call today for the salesperson, to-do in 2 days for the team
      leader); stalled after 5 days.
    - Meeting: 1 key activity; exit criteria: Expected Revenue and Customer, key activities
      done.
    - Offer: 3 key activities (one for a given user, Bert).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_leader = cls.user_carl
        cls.team_north.user_id = cls.user_leader
        cls.step_lead_in = cls._step(cls.process_user, cls.stage_lead_in)
        cls.step_meeting = cls._step(cls.process_user, cls.stage_meeting)
        cls.step_offer = cls._step(cls.process_user, cls.stage_offer)
        cls.step_signed = cls._step(cls.process_user, cls.stage_signed)
        call = cls.env.ref("mail.mail_activity_data_call")
        todo = cls.env.ref("mail.mail_activity_data_todo")
        field = cls.env["ir.model.fields"]._get
        cls.step_lead_in.write(
            {
                "stall_days": 5,
                "guidance": "<p>Find out who decides.</p>",
                "key_activity_ids": [
                    Command.create(
                        {"activity_type_id": call.id, "summary": "Research", "sequence": 1}
                    ),
                    Command.create(
                        {
                            "activity_type_id": todo.id,
                            "summary": "Value proposition",
                            "delay_days": 2,
                            "responsible": "team_leader",
                            "sequence": 2,
                        }
                    ),
                ],
            }
        )
        cls.step_meeting.write(
            {
                "required_field_ids": [
                    Command.set(
                        [
                            field("crm.lead", "expected_revenue").id,
                            field("crm.lead", "partner_id").id,
                        ]
                    )
                ],
                "require_activities_done": True,
                "key_activity_ids": [
                    Command.create({"activity_type_id": todo.id, "summary": "BANT qualification"})
                ],
            }
        )
        cls.step_offer.write(
            {
                "key_activity_ids": [
                    Command.create(
                        {
                            "activity_type_id": todo.id,
                            "summary": f"Offer {index}",
                            "sequence": index,
                        }
                    )
                    for index in (1, 2)
                ]
                + [
                    Command.create(
                        {
                            "activity_type_id": todo.id,
                            "summary": "Legal review",
                            "responsible": "user",
                            "user_id": cls.user_bert.id,
                            "delay_days": 7,
                            "sequence": 3,
                        }
                    )
                ]
            }
        )
        cls.customer = cls.env["res.partner"].create({"name": "Playbook Customer"})

    def _key_activities(self, leads, step=None):
        domain = [
            ("res_model", "=", "crm.lead"),
            ("res_id", "in", leads.ids),
            ("sales_process_step_activity_id", "!=", False),
        ]
        if step:
            domain.append(("sales_process_step_activity_id.step_id", "=", step.id))
        return self.env["mail.activity"].search(domain, order="res_id, id")

    def _ready_for_offer(self, **values):
        """An opportunity of Anna on Meeting with its exit criteria met."""
        lead = self._create_lead(
            self.user_anna,
            stage_id=self.stage_meeting.id,
            team_id=self.team_north.id,
            partner_id=self.customer.id,
            expected_revenue=1000,
            **values,
        )
        self._key_activities(lead, self.step_meeting).action_done()
        return lead


@tagged("post_install", "-at_install")
class TestKeyActivities(StepPlaybookCommon):
    def test_create_schedules_first_step(self):
        """Anna creates an opportunity: the key activities of Lead In are planned for her and
        her team leader, due today and in 2 days."""
        lead = self._create_lead(self.user_anna, team_id=self.team_north.id)
        activities = self._key_activities(lead)
        self.assertEqual(activities.mapped("summary"), ["Research", "Value proposition"])
        today = fields.Date.context_today(lead)
        self.assertEqual(activities.mapped("date_deadline"), [today, today + timedelta(days=2)])
        self.assertEqual(activities.user_id, self.user_anna | self.user_leader)
        self.assertEqual(activities[0].user_id, self.user_anna)

    def test_create_outside_stage_once(self):
        """Created in a kanban column that is no step: put on the first step, scheduled once."""
        lead = (
            self.env["crm.lead"]
            .with_context(default_stage_id=self.stage_outside.id)
            .create(
                {
                    "name": "Deal",
                    "type": "opportunity",
                    "user_id": self.user_anna.id,
                    "stage_id": self.stage_outside.id,
                }
            )
        )
        self.assertEqual(lead.stage_id, self.stage_lead_in)
        self.assertEqual(len(self._key_activities(lead)), 2)

    def test_move_schedules_and_never_twice(self):
        """Each entry schedules the step's activities; rewriting the stage, going back while
        they are open, or the form's step path never duplicates them."""
        lead = self._create_lead(self.user_anna, team_id=self.team_north.id)
        lead.write({"stage_id": self.stage_meeting.id})
        self.assertEqual(len(self._key_activities(lead, self.step_meeting)), 1)
        lead.write({"stage_id": self.stage_meeting.id})
        lead.write({"stage_id": self.stage_lead_in.id})  # backward: free
        self.assertEqual(len(self._key_activities(lead, self.step_lead_in)), 2)
        with Form(lead) as form:
            form.sales_process_step_id = self.step_meeting
        self.assertEqual(lead.stage_id, self.stage_meeting)
        self.assertEqual(len(self._key_activities(lead, self.step_meeting)), 1)
        # done activities are not open any more: a new entry plans them again
        self._key_activities(lead, self.step_lead_in).action_done()
        lead.write({"stage_id": self.stage_lead_in.id})
        self.assertEqual(len(self._key_activities(lead, self.step_lead_in)), 2)

    def test_scheduled_as_automated(self):
        """Key activities are scheduled through the mail mixin: automated activities."""
        lead = self._create_lead(self.user_anna, team_id=self.team_north.id)
        activities = self._key_activities(lead)
        self.assertEqual(len(activities), 2)
        self.assertTrue(all(activities.mapped("automated")))

    def test_responsible_fallbacks(self):
        """Without salesperson the team leader gets the salesperson's activities; without
        both, the user who moved the opportunity."""
        lead = self._create_lead(
            user_id=False, team_id=self.team_north.id, sales_process_id=self.process_user.id
        )
        self.assertEqual(self._key_activities(lead).user_id, self.user_leader)
        lead = (
            self.env["crm.lead"]
            .with_user(self.user_dina)
            .create(
                {
                    "name": "Nobody's",
                    "type": "opportunity",
                    "user_id": False,
                    "team_id": False,
                    "company_id": self.company.id,
                    "sales_process_id": self.process_user.id,
                }
            )
        )
        self.assertEqual(self._key_activities(lead).user_id, self.user_dina)
        lead = self._ready_for_offer()
        lead.write({"stage_id": self.stage_offer.id})
        legal = self._key_activities(lead, self.step_offer)[-1]
        self.assertEqual((legal.summary, legal.user_id), ("Legal review", self.user_bert))

    def test_conversion_and_process_change(self):
        """A lead does not work its step: converting it into an opportunity is its entry. An
        opportunity given another process enters its new step."""
        lead = self._create_lead(self.user_anna, type="lead", team_id=self.team_north.id)
        self.assertTrue(lead.sales_process_id)
        self.assertFalse(self._key_activities(lead))
        lead.convert_opportunity(self.customer)
        self.assertEqual(len(self._key_activities(lead)), 2)
        other = self._create_lead(self.user_bert, team_id=self.team_north.id)
        self.assertEqual(other.sales_process_id, self.process_team)
        self.assertFalse(self._key_activities(other))
        other.sales_process_id = self.process_user
        self.assertEqual(other.sales_process_step_id, self.step_lead_in)
        self.assertEqual(len(self._key_activities(other)), 2)

    def test_import_schedules(self):
        """Anna imports an opportunity (create), then its new step (update): both entries."""
        Lead = self.env["crm.lead"].with_user(self.user_anna)
        result = Lead.load(["name", "type"], [["Imported Deal", "opportunity"]])
        self.assertFalse(result["messages"])
        lead = Lead.browse(result["ids"])
        self.assertEqual(lead.sales_process_id, self.process_user)
        self.assertEqual(len(self._key_activities(lead)), 2)
        result = Lead.load([".id", "stage_id/.id"], [[lead.id, self.stage_meeting.id]])
        self.assertFalse(result["messages"])
        self.assertEqual(lead.stage_id, self.stage_meeting)
        self.assertEqual(len(self._key_activities(lead, self.step_meeting)), 1)

    def test_step_form(self):
        """A manager configures a step's playbook in its form."""
        with Form(
            self.step_signed, view="crm_sales_process.crm_sales_process_step_view_form"
        ) as form:
            form.stall_days = 4
            form.guidance = "<p>Thank the customer.</p>"
            with form.key_activity_ids.new() as line:
                line.summary = "Welcome call"
                line.delay_days = 1
                line.responsible = "user"
                line.user_id = self.user_bert
        self.assertEqual(self.step_signed.key_activity_ids.summary, "Welcome call")
        self.assertEqual(self.step_signed.stall_days, 4)

    def test_lost_restore_and_won(self):
        """Lost and restored opportunities keep their step: no new entry. Won enters the won
        step (no key activities there)."""
        lead = self._create_lead(self.user_anna, team_id=self.team_north.id)
        lead.action_set_lost()
        lead.action_restore()
        self.assertEqual(len(self._key_activities(lead)), 2)

    def test_schedule_missing_button(self):
        """Activities added to a step later are scheduled on demand, done ones are not."""
        lead = self._create_lead(self.user_anna, team_id=self.team_north.id)
        self._key_activities(lead)[0].action_done()
        self._key_activities(lead).unlink()  # cancel the open one
        lead.action_schedule_key_activities()
        self.assertEqual(self._key_activities(lead).mapped("summary"), ["Value proposition"])

    def _bulk_leads(self, count):
        Lead = self.env["crm.lead"].with_context(
            tracking_disable=True, mail_create_nolog=True, mail_notrack=True
        )
        leads = Lead.create(
            [
                {
                    "name": f"Bulk {index}",
                    "type": "opportunity",
                    "user_id": self.user_anna.id,
                    "partner_id": self.customer.id,
                    "expected_revenue": 100,
                    "stage_id": self.stage_meeting.id,
                }
                for index in range(count)
            ]
        )
        self._key_activities(leads).unlink()  # cancelled: Meeting can be left
        self.env.flush_all()
        self.env.invalidate_all()
        return leads

    def _move_queries(self, leads, stage):
        """Write ``stage`` on ``leads``: {statement kind: number of queries}."""
        self.env.invalidate_all()
        with contextlib.contextmanager(self._patchExecute)([], flush=False) as queries:
            leads.write({"stage_id": stage.id})
            self.env.flush_all()
        return Counter(" ".join(query.split()[:3]) for query in queries)

    def test_bulk_move_query_count(self):
        """10,000 opportunities moved into Offer in one write: one ``activity_schedule`` per
        key activity (and responsible) for their 30,000 activities, in a number of queries
        that does not depend on the number of opportunities except for the ORM's batches:
        INSERTs of 100 activities (and the UPDATE of their document names) and of 100
        followers (Bert, given user of one activity, follows them all), and stock's own
        UPDATEs of 100 leads and reads of 1,000 leads."""
        small = self._bulk_leads(1_000)
        large = self._bulk_leads(10_000)
        creates = []
        origin = type(self.env["mail.activity"]).create

        def count_create(model, vals_list):
            creates.append(len(vals_list))
            return origin(model, vals_list)

        self.patch(type(self.env["mail.activity"]), "create", count_create)
        small_queries = self._move_queries(small, self.stage_offer)
        with self.assertQueryCount(QUERIES_10000_MOVE):
            large_queries = self._move_queries(large, self.stage_offer)
        self.assertEqual(creates, [1_000] * 3 + [10_000] * 3)
        growth = large_queries.copy()
        growth.subtract(small_queries)
        # the second move finds the step share-locked already in the transaction: one less
        growth["SELECT step.id FROM"] += 1
        self.assertEqual(
            {kind: count for kind, count in growth.items() if count},
            {
                'INSERT INTO "mail_activity"': 270,
                'UPDATE "mail_activity" SET': 270,
                'INSERT INTO "mail_followers"': 90,
                'UPDATE "crm_lead" SET': 90,
                'SELECT "crm_lead"."id", "crm_lead"."campaign_id",': 9,
                # above 1,000 records the ORM reads the processes of all leads in one query
                'SELECT "crm_lead"."id", "crm_lead"."sales_process_id"': 1,
            },
        )
        self.assertEqual(len(self._key_activities(large, self.step_offer)), 30_000)


@tagged("post_install", "-at_install")
class TestExitCriteria(StepPlaybookCommon):
    def test_required_fields(self):
        """Leaving Meeting forward needs Expected Revenue and Customer: the error names the
        opportunity, the step and both labels; values written with the move count."""
        lead = self._create_lead(self.user_anna, stage_id=self.stage_meeting.id)
        self._key_activities(lead, self.step_meeting).action_done()
        with self.assertRaises(UserError) as error:
            lead.write({"stage_id": self.stage_offer.id})
        message = str(error.exception)
        for text in ("Deal", "SP Meeting", "SP Offer", "Expected Revenue", "Contact"):
            self.assertIn(text, message)
        self.assertEqual(lead.stage_id, self.stage_meeting)
        with self.assertRaises(UserError) as error:
            lead.write({"stage_id": self.stage_offer.id, "expected_revenue": 500})
        self.assertNotIn("Expected Revenue", str(error.exception))
        self.assertIn("Contact", str(error.exception))
        lead.write(
            {
                "stage_id": self.stage_offer.id,
                "expected_revenue": 500,
                "partner_id": self.customer.id,
            }
        )
        self.assertEqual(lead.stage_id, self.stage_offer)

    def test_activities_done(self):
        """Leaving Meeting needs its key activity done: the error names its summary."""
        lead = self._create_lead(
            self.user_anna,
            stage_id=self.stage_meeting.id,
            partner_id=self.customer.id,
            expected_revenue=10,
        )
        with self.assertRaisesRegex(UserError, "BANT qualification"):
            lead.write({"stage_id": self.stage_offer.id})
        self._key_activities(lead, self.step_meeting).action_feedback("Budget ok")
        lead.write({"stage_id": self.stage_offer.id})
        self.assertEqual(lead.stage_id, self.stage_offer)

    def test_backward_lost_free_won_forward(self):
        """Backward and lost are always allowed; won counts as forward."""
        lead = self._create_lead(self.user_anna, stage_id=self.stage_meeting.id)
        lead.write({"stage_id": self.stage_lead_in.id})
        lead.write({"stage_id": self.stage_meeting.id})
        lead.action_set_lost()
        self.assertEqual(lead.won_status, "lost")
        # won straight from lost, refused before anything is written: a caller catching the
        # error (no savepoint, unlike assertRaises) still has a lost opportunity
        refused = False
        try:
            lead.action_set_won()
        except UserError:
            refused = True
        self.assertTrue(refused)
        self.assertEqual((lead.won_status, lead.active), ("lost", False))
        lead.action_restore()
        with self.assertRaisesRegex(UserError, "Expected Revenue"):
            lead.action_set_won()
        self.assertEqual(lead.won_status, "pending")
        # skipping a step does not skip its criteria
        lead.write({"stage_id": self.stage_lead_in.id})
        with self.assertRaisesRegex(UserError, "Contact"):
            lead.write({"stage_id": self.stage_signed.id})

    def test_step_order(self):
        """A process enforcing its order moves one step at a time, won included."""
        self.process_user.enforce_step_order = True
        lead = self._create_lead(self.user_anna, partner_id=self.customer.id)
        with self.assertRaisesRegex(UserError, "one step at a time, next is “SP Meeting”"):
            lead.write({"stage_id": self.stage_offer.id})
        lead.write({"stage_id": self.stage_meeting.id, "expected_revenue": 10})
        self._key_activities(lead, self.step_meeting).action_done()
        with self.assertRaisesRegex(UserError, "one step at a time"):
            lead.action_set_won()
        lead.write({"stage_id": self.stage_offer.id})
        lead.action_set_won()
        self.assertEqual(lead.won_status, "won")
        lead.write({"stage_id": self.stage_lead_in.id})  # back two steps: free

    def test_batch_refused_whole(self):
        """A mass move where some opportunities fail moves nothing and lists the failing."""
        ready = self._ready_for_offer(name="Ready Deal")
        empty = self._create_lead(self.user_anna, name="Empty Deal", stage_id=self.stage_meeting.id)
        poor = self._create_lead(
            self.user_anna,
            name="Poor Deal",
            stage_id=self.stage_meeting.id,
            partner_id=self.customer.id,
        )
        leads = ready | empty | poor
        with self.assertRaises(UserError) as error:
            leads.write({"stage_id": self.stage_offer.id})
        message = str(error.exception)
        self.assertIn("Nothing was moved: 2 of 3", message)
        self.assertIn("“Empty Deal”", message)
        self.assertIn("“Poor Deal”", message)
        self.assertNotIn("Ready Deal", message)
        self.assertEqual(leads.stage_id, self.stage_meeting)
        self.assertFalse(self._key_activities(leads, self.step_offer))

    def test_condition_criterion(self):
        """A condition (a filter on opportunities) is the third kind: the error and the
        checklist give its label; values written with the move count."""
        self.step_meeting.exit_criterion_ids = [
            Command.create(
                {
                    "criterion_type": "domain",
                    "name": "Priority set",
                    "domain": "[('priority', '!=', '0')]",
                }
            )
        ]
        lead = self._ready_for_offer()
        self.assertIn("Priority set", lead.sales_process_checklist)
        self.assertEqual(lead.sales_process_checklist_progress, "3/4")
        with self.assertRaisesRegex(UserError, "meet “Priority set”"):
            lead.write({"stage_id": self.stage_offer.id})
        lead.write({"stage_id": self.stage_offer.id, "priority": "2"})
        self.assertEqual(lead.stage_id, self.stage_offer)

    def test_criteria_are_records(self):
        """The step's required fields and "key activities done" are its criteria of the first
        two kinds, read and written either way; a condition needs a label and a valid filter."""
        step = self.step_meeting
        kinds = step.exit_criterion_ids.mapped("criterion_type")
        self.assertEqual(sorted(kinds), ["activities", "field", "field"])
        self.assertEqual(
            set(step.required_field_ids.sudo().mapped("name")), {"expected_revenue", "partner_id"}
        )
        step.require_activities_done = False
        self.assertEqual(step.exit_criterion_ids.mapped("criterion_type"), ["field", "field"])
        step.exit_criterion_ids.filtered(lambda c: c.field_name == "partner_id").unlink()
        self.assertEqual(step.required_field_ids.sudo().mapped("name"), ["expected_revenue"])
        self.assertEqual(step.exit_criteria_count, 1)
        Criterion = self.env["crm.sales.process.exit.criterion"]
        for vals, message in (
            ({"criterion_type": "field"}, "choose the field"),
            ({"criterion_type": "domain", "domain": "[]"}, "give it a label"),
            (
                {"criterion_type": "domain", "name": "Bad", "domain": "[('nope', '=', 1)]"},
                "not a valid filter",
            ),
        ):
            with self.assertRaisesRegex(ValidationError, message):
                Criterion.create({"step_id": step.id, **vals})

    def test_uninstalled_field_dropped(self):
        """A required field removed from crm.lead (its module uninstalled) leaves the
        criteria instead of blocking or crashing moves."""
        budget = self.env["ir.model.fields"].create(
            {
                "name": "x_sp_budget",
                "field_description": "SP Budget",
                "model_id": self.env["ir.model"]._get_id("crm.lead"),
                "ttype": "char",
            }
        )
        self.step_lead_in.required_field_ids = [Command.link(budget.id)]
        lead = self._create_lead(self.user_anna)
        with self.assertRaisesRegex(UserError, "SP Budget"):
            lead.write({"stage_id": self.stage_meeting.id})
        budget.unlink()
        self.assertFalse(self.step_lead_in.required_field_ids)
        lead.write({"stage_id": self.stage_meeting.id})
        self.assertEqual(lead.stage_id, self.stage_meeting)
        # a stale criterion (field gone, registry not reloaded yet) is ignored when read
        stale = self.step_meeting.exit_criterion_ids.filtered(
            lambda criterion: criterion.criterion_type == "field"
        )[:1]
        stale.field_name = "partner_id"
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE crm_sales_process_exit_criterion SET field_name = 'x_gone' WHERE id = %s",
            [stale.id],
        )
        stale.invalidate_recordset()
        self.assertEqual(stale._evaluate_field(lead, {}), {lead: []})

    def test_bad_configuration(self):
        """A delay or stall days below 0 or above a century, a given user missing: clear
        errors, nothing written."""
        step = self.step_offer
        before = (step.key_activity_ids.mapped("delay_days"), step.stall_days)
        todo = self.env.ref("mail.mail_activity_data_todo")
        refused = [
            (
                "from 0 to 36500, not -1",
                {
                    "stall_days": 3,
                    "key_activity_ids": [
                        Command.update(step.key_activity_ids[0].id, {"delay_days": -1})
                    ],
                },
            ),
            (
                "choose the user",
                {
                    "key_activity_ids": [
                        Command.create(
                            {
                                "activity_type_id": todo.id,
                                "summary": "Nobody's",
                                "responsible": "user",
                            }
                        )
                    ]
                },
            ),
            ("not -2", {"stall_days": -2}),
            # beyond a century the deadline and the stall date overflow Python's dates
            ("0 to 36500 days (0 = never), not 2147483647", {"stall_days": 2**31 - 1}),
            (
                "from 0 to 36500, not 36501",
                {
                    "key_activity_ids": [
                        Command.update(step.key_activity_ids[0].id, {"delay_days": 36501})
                    ]
                },
            ),
        ]
        for message, vals in refused:
            # assertRaises (not assertRaisesRegex) rolls the refused write back
            with self.assertRaises(ValidationError) as error:
                step.write(vals)
            self.assertIn(message, str(error.exception))
            # what the database holds, not the cache of the refused write
            self.env.invalidate_all(flush=False)
            self.assertEqual((step.key_activity_ids.mapped("delay_days"), step.stall_days), before)


@tagged("post_install", "-at_install")
class TestChecklist(StepPlaybookCommon):
    def test_checklist(self):
        """The form lists key activities with their state and the open exit criteria; the
        card's counter counts the criteria met."""
        lead = self._create_lead(
            self.user_anna, stage_id=self.stage_meeting.id, partner_id=self.customer.id
        )
        self.assertEqual(lead.sales_process_checklist_progress, "1/3")
        self.assertIn("BANT qualification", lead.sales_process_checklist)
        self.assertIn("Expected Revenue", lead.sales_process_checklist)
        self.assertIn("due", lead.sales_process_checklist)
        self._key_activities(lead, self.step_meeting).action_done()
        lead.expected_revenue = 10
        lead.invalidate_recordset()
        self.assertEqual(lead.sales_process_checklist_progress, "3/3")
        self.assertIn("done", lead.sales_process_checklist)
        # no criteria on Lead In: no counter; no process: nothing at all
        lead.write({"stage_id": self.stage_lead_in.id})
        self.assertFalse(lead.sales_process_checklist_progress)
        self.assertIn("Research", lead.sales_process_checklist)
        self.assertEqual(lead.sales_process_guidance, "<p>Find out who decides.</p>")
        stock = self._create_lead(
            self.user_dina, sales_process_id=False, stage_id=self.stage_outside.id
        )
        self.assertFalse(stock.sales_process_checklist or stock.sales_process_checklist_progress)

    def test_checklist_live_in_form(self):
        """The form's checklist follows the fields being edited, before saving."""
        lead = self._create_lead(
            self.user_anna, stage_id=self.stage_meeting.id, partner_id=self.customer.id
        )
        with Form(lead) as form:
            self.assertEqual(form.sales_process_checklist.count("o_criterion_met"), 1)
            form.expected_revenue = 250
            self.assertEqual(form.sales_process_checklist.count("o_criterion_met"), 2)
            form.expected_revenue = 0
            self.assertEqual(form.sales_process_checklist.count("o_criterion_met"), 1)

    def test_kanban_counter_queries(self):
        """The pipeline reads the counter of any number of cards in the same queries."""
        spec = {"name": {}, "sales_process_checklist_progress": {}, "is_rotting": {}}
        counts = []
        for count in (5, 40):
            leads = self.env["crm.lead"].create(
                [
                    {
                        "name": f"Card {index}",
                        "type": "opportunity",
                        "user_id": self.user_anna.id,
                        "stage_id": self.stage_meeting.id,
                    }
                    for index in range(count)
                ]
            )
            self.env.flush_all()
            self.env.invalidate_all()
            queries_before = self.cr.sql_log_count
            records = leads.web_read(spec)
            counts.append(self.cr.sql_log_count - queries_before)
            self.assertEqual(len(records), count)
            self.assertEqual(records[0]["sales_process_checklist_progress"], "0/3")
        self.assertEqual(counts[0], counts[1])


@tagged("post_install", "-at_install")
class TestStalled(StepPlaybookCommon):
    def _backdate(self, leads, days):
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE crm_lead SET date_last_stage_update = now() at time zone 'utc' - "
            "%s * interval '1 day' WHERE id IN %s",
            (days, tuple(leads.ids)),
        )
        leads.invalidate_recordset()

    def test_stalled_per_step(self):
        """Lead In stalls after 5 days; stage days to rot rule only opportunities without
        a process; a step without stall days never stalls."""
        fresh = self._create_lead(self.user_anna, name="Fresh")
        old = self._create_lead(self.user_anna, name="Old")
        meeting = self._create_lead(self.user_anna, name="Meeting", stage_id=self.stage_meeting.id)
        stock = self._create_lead(
            self.user_dina, name="Stock", sales_process_id=False, stage_id=self.stage_meeting.id
        )
        self.stage_meeting.rotting_threshold_days = 3
        self._backdate(fresh, 4)
        self._backdate(old | meeting | stock, 10)
        self.assertEqual(
            (fresh | old | meeting | stock).mapped("is_stalled"), [False, True, False, True]
        )
        self.assertEqual(old.rotting_days, 10)
        self.assertTrue(old.is_rotting)
        Lead = self.env["crm.lead"]
        ids = (fresh | old | meeting | stock).ids
        self.assertEqual(Lead.search([("id", "in", ids), ("is_stalled", "=", True)]), old | stock)
        self.assertEqual(Lead.search([("id", "in", ids), ("is_rotting", "=", True)]), old | stock)
        self.assertEqual(
            Lead.search([("id", "in", ids), ("is_stalled", "=", False)]), fresh | meeting
        )
        old.action_set_lost()
        self.assertFalse(old.is_stalled)

    def _kanban_queries(self, domain, without=()):
        """Queries of the pipeline's request (the kanban view's fields, first columns
        unfolded) on ``domain``, the fields ``without`` left out of the cards."""
        Lead = self.env["crm.lead"].with_context(read_group_expand=True)
        view = self.env.ref("crm.crm_case_kanban_view_leads")
        fields_info = Lead.get_views([(view.id, "kanban")])["models"]["crm.lead"]["fields"]
        spec = {
            name: (
                {"fields": {"display_name": {}}}
                if info["type"] in ("many2one", "one2many", "many2many")
                else {}
            )
            for name, info in fields_info.items()
            if info["type"] != "properties" and name not in without
        }
        self.env.flush_all()
        self.env.invalidate_all()
        start = self.cr.sql_log_count
        groups = Lead.web_read_group(
            domain,
            ["stage_id"],
            ["expected_revenue:sum"],
            auto_unfold=True,
            unfold_read_specification=spec,
            unfold_read_default_limit=80,
        )["groups"]
        self.assertTrue(any(group.get("__records") for group in groups))
        return self.cr.sql_log_count - start

    def test_kanban_queries_as_stock(self):
        """The pipeline costs stock's queries: the addon's card fields are stored columns read
        with the cards, and the stalled highlight needs only what it depends on (stage-change
        date, step, stall days), which the ORM fetches with the cards, as for stock's rotting.
        So the cards cost what they cost without the addon's fields and without the rotting
        highlight at all, whether a stage rots or not, with or without a process; except the
        health dot of cards on a process: not stored (it depends on today), computed for all
        the cards at once in HEALTH_CARD_QUERIES queries (the steps' median stays, key
        activities and exit criteria), whatever the number of cards."""
        for stage in (self.stage_outside, self.stage_meeting):
            for _index in range(3):
                self._create_lead(self.user_dina, sales_process_id=False, stage_id=stage.id)
        for _index in range(3):
            self._create_lead(self.user_anna)  # on Lead In, 5 stall days
        dina = [("type", "=", "opportunity"), ("user_id", "=", self.user_dina.id)]
        anna = [("type", "=", "opportunity"), ("user_id", "=", self.user_anna.id)]
        bare = [
            name
            for name, field in self.env["crm.lead"]._fields.items()
            if field._module == "crm_sales_process"
        ] + ["is_rotting", "rotting_days"]
        # the health dot costs the cards on a process a constant number of queries
        self.assertEqual(
            self._kanban_queries(anna, without=HEALTH_FIELDS) + HEALTH_CARD_QUERIES,
            self._kanban_queries(anna),
        )
        self.env["crm.stage"].search([]).rotting_threshold_days = 0
        for domain in (dina, anna):
            self.assertEqual(
                self._kanban_queries(domain, without=HEALTH_FIELDS),
                self._kanban_queries(domain, without=bare),
            )
        (self.stage_outside | self.stage_lead_in).rotting_threshold_days = 3
        for domain in (dina, anna):
            self.assertEqual(
                self._kanban_queries(domain, without=HEALTH_FIELDS),
                self._kanban_queries(domain, without=bare),
            )

    def test_cron_reminds_once(self):
        """The daily reminder: one activity per newly stalled opportunity, never a second
        one while it stays on its step."""
        lead = self._create_lead(self.user_anna, team_id=self.team_north.id)
        self._backdate(lead, 10)
        stalled_type = self.env.ref("crm_sales_process.mail_activity_type_stalled")

        def reminders():
            return self.env["mail.activity"].search(
                [
                    ("res_model", "=", "crm.lead"),
                    ("res_id", "=", lead.id),
                    ("activity_type_id", "=", stalled_type.id),
                ]
            )

        Lead = self.env["crm.lead"]
        Lead._cron_remind_stalled_opportunities()
        Lead._cron_remind_stalled_opportunities()
        self.assertEqual(len(reminders()), 1)
        self.assertEqual(reminders().user_id, self.user_anna)
        self.assertIn("SP Lead In", reminders().summary)
        reminders().action_done()
        Lead._cron_remind_stalled_opportunities()
        self.assertFalse(reminders())
        # a new stay on a step that stalls again is a new stall
        lead.write({"stage_id": self.stage_meeting.id})
        lead.write({"stage_id": self.stage_lead_in.id})
        self._backdate(lead, 6)
        Lead._cron_remind_stalled_opportunities()
        self.assertEqual(len(reminders()), 1)

    def test_forecast_stalled_figures(self):
        """The forecast shows count and weighted value of stalled opportunities per
        salesperson, department and team (PDF data and XLSX)."""
        leads = self.env["crm.lead"]
        for revenue in (1000, 3000):
            leads |= self._create_lead(
                self.user_anna, team_id=self.team_north.id, expected_revenue=revenue
            )
        self._create_lead(self.user_anna, team_id=self.team_north.id, expected_revenue=500)
        self._backdate(leads, 9)
        wizard = self.env["crm.sales.forecast.wizard"].create(
            {"user_ids": [Command.set(self.user_anna.ids)]}
        )
        summary = wizard._get_forecast_summary()
        anna = summary["user_id"][0]
        self.assertEqual((anna["count"], anna["stalled_count"]), (3, 2))
        self.assertAlmostEqual(anna["stalled_prorated_revenue"], 0.0)  # Lead In is 0 %
        self.step_lead_in.probability = 10
        summary = wizard._get_forecast_summary()
        for groupby in ("user_id", "department_id", "team_id"):
            line = summary[groupby][0]
            self.assertEqual(line["stalled_count"], 2)
            self.assertAlmostEqual(line["stalled_prorated_revenue"], 400)
        self.assertEqual(summary["total"]["stalled_count"], 2)
        content = self.env["report.crm_sales_process.forecast_xlsx"].create_xlsx_report(
            wizard.ids, {}
        )[0]
        book = openpyxl.load_workbook(io.BytesIO(content))
        cells = [cell for row in book.worksheets[0].iter_rows(values_only=True) for cell in row]
        self.assertTrue(
            any(isinstance(cell, str) and cell.startswith("Stalled Weighted") for cell in cells)
        )
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html("crm_sales_process.crm_sales_forecast_report_action", wizard.ids)[0]
            .decode()
        )
        self.assertIn("Stalled Weighted", html)


@tagged("post_install", "-at_install")
class TestStepPlaybookDemo(StepPlaybookCommon):
    def test_demo_playbook(self):
        """The seven demo steps carry the guide's key activities, guidance and criteria."""
        seven = self.env.ref("crm_sales_process.crm_sales_process_seven_step_demo")
        steps = seven._get_ordered_steps()
        self.assertTrue(all(steps.mapped("guidance")))
        summaries = steps.key_activity_ids.mapped("summary")
        for text in (
            "Research and segmentation",
            "BANT / CHAMP / MEDDIC qualification",
            "Live demonstration or pilot",
            "Proposal and ROI analysis",
            "Contract signing",
            "Implementation and onboarding plan",
            "NPS follow-up and feedback",
            "Value proposition",
        ):
            self.assertIn(text, summaries)
        analysis = self.env.ref("crm_sales_process.crm_sales_process_seven_step_analysis_demo")
        self.assertEqual(analysis.exit_criterion_ids.mapped("criterion_type"), ["field", "domain"])
        negotiation = self.env.ref(
            "crm_sales_process.crm_sales_process_seven_step_negotiation_demo"
        )
        self.assertIn("expected_revenue", negotiation.required_field_ids.sudo().mapped("name"))
        stalled = self.env.ref("crm_sales_process.crm_lead_seven_step_analysis_demo")
        self.assertTrue(stalled.is_stalled)
        # deals the demo closed months ago have no key activity left to do
        closed = self.env.ref("crm_sales_process.crm_lead_seven_step_history_1_demo")
        self.assertEqual(closed.won_status, "won")
        key_activities = self.env["mail.activity"].search(
            [
                ("res_model", "=", "crm.lead"),
                ("res_id", "=", closed.id),
                ("sales_process_step_activity_id", "!=", False),
            ]
        )
        self.assertFalse(key_activities)


@tagged("post_install", "-at_install")
class TestStepPlaybookTour(HttpCase, StepPlaybookCommon):
    """A salesperson works her playbook in the browser."""

    def test_playbook_tour(self):
        self.user_anna.group_ids |= self.env.ref("base.group_user")
        lead = self._create_lead(
            self.user_anna,
            name="Playbook Deal",
            stage_id=self.stage_meeting.id,
            team_id=self.team_north.id,
        )
        self._key_activities(lead, self.step_meeting).action_done()
        old = self._create_lead(self.user_anna, name="Sleepy Deal", team_id=self.team_north.id)
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE crm_lead SET date_last_stage_update = now() at time zone 'utc' - "
            "interval '12 days' WHERE id = %s",
            (old.id,),
        )
        # the tour's refused drag is logged by Odoo as a warning: exactly that one is expected
        with self.assertLogs("odoo.http", "WARNING") as logs:
            self.start_tour(
                "/odoo/action-crm.crm_lead_action_pipeline",
                "crm_sales_process_playbook_tour",
                login="sp_anna",
            )
        self.assertEqual(len(logs.records), 1, logs.output)
        self.assertIn("cannot move forward from step", logs.output[0])
        lead.invalidate_recordset()
        self.assertEqual(lead.stage_id, self.stage_offer)
        self.assertEqual(
            self._key_activities(lead, self.step_offer).mapped("summary"),
            ["Offer 1", "Offer 2", "Legal review"],
        )
