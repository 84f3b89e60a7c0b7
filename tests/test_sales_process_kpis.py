# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import io
import json
from datetime import timedelta
from unittest.mock import patch
from xmlrpc.client import dumps

import openpyxl

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.fields import Command
from odoo.tests import Form, new_test_user, tagged, users, warmup

from .common import SalesProcessLeadCommon

STEP_KEYS = {
    "step_id",
    "reached",
    "moved_on",
    "conversion_rate",
    "win_rate_from_step",
    "avg_days",
    "median_days",
    "open_count",
}
PROCESS_KEYS = {
    "process_id",
    "opportunity_count",
    "won_count",
    "lost_count",
    "win_rate",
    "avg_cycle_days",
    "avg_won_amount",
    "pipeline_value",
    "weighted_value",
    "velocity_per_day",
    "conversion_rate",
    "steps",
}


class SalesProcessKpiCommon(SalesProcessLeadCommon):
    """Direct Sale (Lead In 0 %, Meeting 30 %, Offer 60 %, Signed 100 % won), Anna's:

    - A (1,000): Lead In → Meeting → Offer → won, created 10 days before it was won;
    - B (2,000): Lead In → Meeting → lost;
    - C (3,000): Lead In → lost → restored (new stay on Lead In) → Meeting, open;
    - D (4,000): Lead In → Meeting → process Team Sale (nearest step Offer 40 %), open;
    - E (5,000): Lead In, open.
    Closed stays on Lead In last 1, 2, 3 (C's first) and 10 days (D); the others 0.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Lead = cls.env["crm.lead"]

        def create(name, revenue):
            return Lead.create(
                {
                    "name": name,
                    "type": "opportunity",
                    "user_id": cls.user_anna.id,
                    "team_id": cls.team_north.id,
                    "expected_revenue": revenue,
                }
            )

        cls.lead_a = create("A", 1000)
        cls.lead_b = create("B", 2000)
        cls.lead_c = create("C", 3000)
        cls.lead_d = create("D", 4000)
        cls.lead_e = create("E", 5000)
        (cls.lead_a | cls.lead_b | cls.lead_d).write({"stage_id": cls.stage_meeting.id})
        cls.lead_a.stage_id = cls.stage_offer
        cls.lead_a.action_set_won()
        cls.lead_b.action_set_lost()
        cls.lead_c.action_set_lost()
        cls.lead_c.action_restore()
        cls.lead_c.stage_id = cls.stage_meeting
        cls.lead_d.sales_process_id = cls.process_team
        cls.env.flush_all()
        cr = cls.env.cr
        # A was created 10 days before it was won
        cr.execute(
            "UPDATE crm_lead SET create_date = date_closed - interval '10 days' WHERE id = %s",
            [cls.lead_a.id],
        )
        step_lead_in = cls._step(cls.process_user, cls.stage_lead_in)
        for lead, days in (
            (cls.lead_a, 1),
            (cls.lead_b, 2),
            (cls.lead_c, 3),
            (cls.lead_d, 10),
        ):
            cr.execute(
                """
                UPDATE crm_sales_process_history
                   SET date_in = date_out - %s * interval '1 day', duration_days = %s
                 WHERE id = (SELECT MIN(id) FROM crm_sales_process_history
                              WHERE lead_id = %s AND step_id = %s)
                """,
                [days, days, lead.id, step_lead_in.id],
            )
        cls.env.invalidate_all()
        cls.leads = cls.lead_a | cls.lead_b | cls.lead_c | cls.lead_d | cls.lead_e

    def _kpis(self, process=None, **kwargs):
        return (process or self.process_user).get_kpis(**kwargs)[0]


@tagged("post_install", "-at_install")
class TestSalesProcessKpis(SalesProcessKpiCommon):
    def test_kpis_by_hand(self):
        kpis = self._kpis()
        self.assertEqual(PROCESS_KEYS - kpis.keys(), set())
        expected = {
            "process_id": self.process_user.id,
            "opportunity_count": 2,  # C and E (D left for Team Sale)
            "won_count": 1,
            "lost_count": 1,  # B; C was restored
            "win_rate": 50.0,
            "avg_cycle_days": 10.0,
            "avg_won_amount": 1000.0,
            "pipeline_value": 8000.0,  # C + E
            "weighted_value": 900.0,  # C at 30 %, E at 0 %
            "velocity_per_day": 100.0,  # 2 open × 50 % × 1,000 / 10 days
            "conversion_rate": 25.0,  # A of A, B, C, E
        }
        self.assertEqual({key: kpis[key] for key in expected}, expected)
        steps = {step["step_id"]: step for step in kpis["steps"]}
        self.assertEqual(
            list(steps), self.process_user._get_ordered_steps().ids, "steps in step order"
        )
        expected_steps = {
            # reached, moved on, conversion, win rate from step, avg days, median, open
            self.stage_lead_in: (5, 4, 80.0, 50.0, 3.2, 2.0, 1),
            self.stage_meeting: (4, 1, 25.0, 50.0, 0.0, 0.0, 1),
            self.stage_offer: (1, 1, 100.0, 100.0, 0.0, 0.0, 0),
            self.stage_signed: (1, 1, 100.0, 100.0, 0.0, 0.0, 0),
        }
        for stage, values in expected_steps.items():
            step = steps[self._step(self.process_user, stage).id]
            self.assertEqual(STEP_KEYS - step.keys(), set())
            self.assertEqual(
                (
                    step["reached"],
                    step["moved_on"],
                    step["conversion_rate"],
                    step["win_rate_from_step"],
                    step["avg_days"],
                    step["median_days"],
                    step["open_count"],
                ),
                values,
                stage.name,
            )
        # Lead In: closed stays of 1, 2, 3, 10 days and C's lost stay... all in
        # (A 1, B 2, C 3, D 10, C's second stay 0): average 3.2, median 2
        # D counts in Team Sale now: on Offer, open
        kpis_team = self._kpis(self.process_team)
        self.assertEqual(kpis_team["opportunity_count"], 1)
        self.assertEqual(kpis_team["pipeline_value"], 4000)
        offer_team = next(
            step
            for step in kpis_team["steps"]
            if step["step_id"] == self._step(self.process_team, self.stage_offer).id
        )
        self.assertEqual((offer_team["reached"], offer_team["open_count"]), (1, 1))

    def test_serializable_and_order(self):
        processes = self.process_team | self.process_user | self.process_all
        result = processes.get_kpis()
        self.assertEqual([kpis["process_id"] for kpis in processes.get_kpis()], processes.ids)
        json.dumps(result)
        dumps((result,), allow_none=False)
        self.assertEqual(self.env["crm.sales.process"].get_kpis(), [])

    def test_empty_period_and_filters(self):
        """A period without anything gives zeros; open figures are today's."""
        future = fields.Date.today() + timedelta(days=30)
        kpis = self._kpis(date_from=future, date_to=future + timedelta(days=10))
        for key in ("won_count", "lost_count", "win_rate", "avg_cycle_days", "avg_won_amount"):
            self.assertEqual(kpis[key], 0, key)
        self.assertEqual((kpis["velocity_per_day"], kpis["conversion_rate"]), (0, 0))
        self.assertEqual(kpis["opportunity_count"], 2)
        for step in kpis["steps"]:
            self.assertEqual(
                (step["reached"], step["conversion_rate"], step["win_rate_from_step"]), (0, 0, 0)
            )
        # a period of strings covering today
        today = fields.Date.to_string(fields.Date.today())
        self.assertEqual(self._kpis(date_from=today, date_to=today)["won_count"], 1)
        # filters: nobody of Bert's
        kpis = self._kpis(user_ids=self.user_bert.ids)
        self.assertEqual((kpis["opportunity_count"], kpis["won_count"]), (0, 0))
        self.assertEqual(kpis["steps"][0]["reached"], 0)
        kpis = self._kpis(team_ids=self.team_north.ids, department_ids=self.department.ids)
        self.assertEqual(kpis["won_count"], 1)
        self.assertEqual(kpis["steps"][0]["reached"], 5)
        # a process without anything
        empty = self._create_process("Empty", [(self.stage_lead_in, 0)])
        kpis = self._kpis(empty)
        self.assertEqual(kpis["win_rate"], 0)
        self.assertEqual(kpis["steps"][0]["conversion_rate"], 0)
        # a process without steps yet (as the form computes its steps' observed figures)
        no_steps = self.env["crm.sales.process"].create({"name": "No Steps"})
        kpis = self._kpis(no_steps)
        self.assertEqual((kpis["opportunity_count"], kpis["steps"]), (0, []))

    def test_process_of_many_steps(self):
        """Steps past the 64th count like the others (each word of step bits holds 64)."""
        stages = self.env["crm.stage"].create(
            [{"name": f"Many {index:02}", "sequence": 100 + index} for index in range(70)]
        )
        process = self._create_process("Many Steps", [(stage, 10) for stage in stages])
        lead = self.env["crm.lead"].create(
            {
                "name": "Many",
                "type": "opportunity",
                "user_id": self.user_anna.id,
                "sales_process_id": process.id,
                "stage_id": stages[0].id,
            }
        )
        for index in (65, 69, 1):
            lead.stage_id = stages[index]
        self.env.flush_all()
        steps = {step["step_id"]: step for step in self._kpis(process)["steps"]}
        # reached, moved on: 1 → 66 → 70 → 2 (back)
        expected = {0: (1, 1), 65: (1, 1), 69: (1, 0), 1: (1, 0)}
        for index, step in enumerate(process._get_ordered_steps()):
            self.assertEqual(
                (steps[step.id]["reached"], steps[step.id]["moved_on"]),
                expected.get(index, (0, 0)),
                f"step {index + 1}",
            )

    @users("sp_bert")
    def test_record_rules(self):
        """Bert (own opportunities only) sees none of Anna's figures."""
        process = self.process_user.with_user(self.env.user)
        kpis = process.get_kpis()[0]
        self.assertEqual((kpis["opportunity_count"], kpis["won_count"]), (0, 0))
        self.assertEqual(sum(step["reached"] for step in kpis["steps"]), 0)

    def test_query_count_constant(self):
        """get_kpis: the same queries for 5 opportunities as for 45: one per KPI source
        (opportunities, stays, key activities), the origins (lead quality), the steps, the
        rules."""
        processes = self.process_user | self.process_team
        processes.get_kpis()
        self.env.invalidate_all()
        with self.assertQueryCount(10):
            processes.get_kpis()
        self.env["crm.lead"].create(
            [
                {"name": f"More {i}", "type": "opportunity", "user_id": self.user_anna.id}
                for i in range(40)
            ]
        ).write({"stage_id": self.stage_offer.id})
        self.env.flush_all()
        self.env.invalidate_all()
        with self.assertQueryCount(10):
            processes.get_kpis()

    @warmup
    @users("sp_anna")
    def test_query_count_salesperson(self):
        process = self.process_user.with_user(self.env.user)
        with self.assertQueryCount(10):
            process.get_kpis(team_ids=self.team_north.ids)


@tagged("post_install", "-at_install")
class TestSalesProcessKpiPath(SalesProcessKpiCommon):
    """The stays' path columns the KPIs read (left the step before, moved on) are what the
    order of the stays says, however the path was written."""

    def _path(self, leads=None):
        """{stay id: (left the step before, moved on)} of ``leads`` (default: all)."""
        History = self.env["crm.sales.process.history"]
        self.env.flush_all()
        stays = History.search([("lead_id", "in", (leads or self.leads).ids)])
        stays.invalidate_recordset(["previous_date_out", "moved_on"])
        return {stay.id: (stay.previous_date_out, stay.moved_on) for stay in stays}

    def _assert_path_as_recomputed(self, leads=None):
        written = self._path(leads)
        self.env["crm.sales.process.history"]._update_path_columns()
        self.assertEqual(self._path(leads), written, "the writer's path columns are recomputed")

    def test_path_columns_kept_by_the_writer(self):
        """Back and forth, lost and restored, another process: the columns the history writer
        keeps are those computed from the stays' order."""
        lead = self._create_lead(self.user_anna, name="X")
        # Lead In → Meeting → back to Lead In → Offer: the Meeting stay moved on after all
        for stage in (self.stage_meeting, self.stage_lead_in, self.stage_offer):
            lead.stage_id = stage
        self.leads |= lead
        stays = lead.sales_process_history_ids.sorted("id")
        self.assertEqual(
            [(stay.step_id.stage_id, stay.moved_on) for stay in stays],
            [
                (self.stage_lead_in, True),
                (self.stage_meeting, True),
                (self.stage_lead_in, True),
                (self.stage_offer, False),
            ],
        )
        self.assertFalse(stays[0].previous_date_out)
        self.assertEqual(stays[2].previous_date_out, stays[0].date_out)
        # C was lost on Lead In and restored there: its second stay follows its first
        c_stays = self.lead_c.sales_process_history_ids.sorted("id")
        self.assertEqual(c_stays[1].previous_date_out, c_stays[0].date_out)
        self._assert_path_as_recomputed()

    def test_path_columns_follow_step_order(self):
        """Steps put in another order change which stays moved on, before the KPIs read them."""
        step_lead_in = self._step(self.process_user, self.stage_lead_in)
        step_meeting = self._step(self.process_user, self.stage_meeting)
        before = {step["step_id"]: step for step in self._kpis()["steps"]}
        self.assertEqual(before[step_lead_in.id]["moved_on"], 4)
        # Meeting first: Lead In → Meeting is no move on any more
        step_lead_in.sequence, step_meeting.sequence = step_meeting.sequence, step_lead_in.sequence
        after = {step["step_id"]: step for step in self._kpis()["steps"]}
        self.assertEqual(after[step_lead_in.id]["moved_on"], 1, "A only (went on to Offer)")
        self.assertEqual(after[step_lead_in.id]["reached"], 5)
        self._assert_path_as_recomputed()

    def test_path_columns_of_merged_stays(self):
        """Stays given to another opportunity (as a merge does) follow its path."""
        History = self.env["crm.sales.process.history"].sudo()
        stays = History.search([("lead_id", "=", self.lead_e.id)])
        stays.write({"lead_id": self.lead_c.id})
        self._assert_path_as_recomputed()


@tagged("post_install", "-at_install")
class TestSalesProcessKpiDefinitions(SalesProcessKpiCommon):
    """A KPI is one definition: get_kpis, the analysis and its XLSX follow it."""

    def _definitions(self, original):
        def definitions(records):
            return [
                *original(records),
                {
                    "key": "lost_value",
                    "level": "process",
                    "label": "Lost Pipeline",
                    "unit": "monetary",
                    "tile": True,
                    "sheet": True,
                    "hint": "%(lost_count)s lost",
                    "sql": "SUM(lead.expected_revenue) FILTER (WHERE %(lost)s)",
                },
                {
                    "key": "loss_rate",
                    "level": "process",
                    "unit": "percent",
                    "formula": lambda kpi: 100.0 * kpi["lost_count"] / 3,
                },
                {
                    "key": "stays",
                    "level": "step",
                    "label": "Stays",
                    "unit": "count",
                    "column": True,
                    "sql": "COUNT(*) FILTER (WHERE %(in_period)s)",
                },
                {
                    "key": "median_revenue",
                    "level": "process",
                    "unit": "monetary",
                    "median": "lead.expected_revenue",
                    "where": "%(open)s",
                },
            ]

        return definitions

    def test_add_kpis(self):
        Process = self.registry["crm.sales.process"]
        self.process_user.get_kpis()  # warm the ORM's caches
        self.env.invalidate_all()
        with patch.object(
            Process, "_get_kpi_definitions", self._definitions(Process._get_kpi_definitions)
        ):
            with self.assertQueryCount(11):  # one query more: the lead source's median
                kpis = self._kpis()
            self.assertEqual(kpis["lost_value"], 2000.0)  # B
            self.assertEqual(kpis["loss_rate"], 33.33)
            self.assertEqual(kpis["median_revenue"], 4000.0)  # C 3,000, E 5,000
            self.assertEqual(kpis["win_rate"], 50.0, "the others are still there")
            stays = {step["step_id"]: step["stays"] for step in kpis["steps"]}
            # Lead In: A, B, C (twice), D, E
            self.assertEqual(stays[self._step(self.process_user, self.stage_lead_in).id], 6)
            analysis = self.env["crm.sales.process.analysis"].get_analysis(
                {"process_ids": self.process_user.ids}
            )
            tile = analysis["processes"][0]["tiles"][-1]
            self.assertEqual(
                (tile["key"], tile["label"], tile["value"], tile["hint"]),
                ("lost_value", "Lost Pipeline", 2000.0, "1 lost"),
            )
            self.assertEqual(analysis["step_columns"][-1]["key"], "stays")
            content = self.env["report.crm_sales_process.analysis_xlsx"].create_xlsx_report(
                [], {"process_ids": self.process_user.ids}
            )[0]
            book = openpyxl.load_workbook(io.BytesIO(content))
            rows = list(book["KPIs"].iter_rows(values_only=True))
            header = next(row for row in rows if row[0] == "Sales Process")
            self.assertIn("Lost Pipeline", header)
            self.assertIn("Stays", next(book["Steps"].iter_rows(values_only=True)))


@tagged("post_install", "-at_install")
class TestSalesProcessCalibration(SalesProcessKpiCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            "sp_calibration_manager",
            "sales_team.group_sale_manager",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )

    def test_observed_on_steps(self):
        step_lead_in = self._step(self.process_user, self.stage_lead_in)
        self.assertEqual(step_lead_in.observed_probability, 50)
        self.assertEqual(step_lead_in.observed_sample, 2)
        self.assertTrue(step_lead_in.observed_deviates, "0 % fixed, 50 % observed")
        step_offer = self._step(self.process_user, self.stage_offer)
        self.assertEqual((step_offer.observed_probability, step_offer.observed_sample), (100, 1))
        step_meeting = self._step(self.process_team, self.stage_lead_in)
        self.assertEqual(step_meeting.observed_sample, 0)
        self.assertFalse(step_meeting.observed_deviates)

    def test_apply_refused_below_threshold(self):
        process = self.process_user.with_user(self.manager)
        with self.assertRaisesRegex(UserError, "too few closed"):
            process.action_apply_observed_probabilities()
        self.assertEqual(self._step(self.process_user, self.stage_lead_in).probability, 0)
        # salespeople may not even try
        with self.assertRaises(AccessError):
            self.process_user.with_user(self.user_anna).action_apply_observed_probabilities()

    def test_apply(self):
        """With a threshold of 1, each step gets its observed %: the open ones follow."""
        self.env["ir.config_parameter"].set_param("crm_sales_process.calibration_min_sample", "1")
        process = self.process_user.with_user(self.manager)
        action = process.action_apply_observed_probabilities()
        wizard = self.env[action["res_model"]].with_user(self.manager).browse(action["res_id"])
        lines = {
            line.step_id.stage_id: (line.current_probability, line.new_probability)
            for line in wizard.line_ids
        }
        self.assertEqual(
            lines,
            {
                self.stage_lead_in: (0, 50),
                self.stage_meeting: (30, 50),
                self.stage_offer: (60, 100),
                self.stage_signed: (100, 100),
            },
        )
        with Form(wizard) as form:
            self.assertEqual(len(form.line_ids), 4)
        wizard.action_apply()
        self.assertEqual(
            self.process_user._get_ordered_steps().mapped("probability"), [50, 50, 100, 100]
        )
        # open opportunities realigned: C on Meeting, E on Lead In
        self.assertEqual(self.lead_c.probability, 50)
        self.assertEqual(self.lead_e.probability, 50)
        message = self.process_user.message_ids[0]
        self.assertIn("Meeting", message.body)
        self.assertIn("30 % → 50 %", message.body)

    def test_apply_confirmed_values(self):
        """The wizard applies the percentages it showed, even if an opportunity closed since."""
        self.env["ir.config_parameter"].set_param("crm_sales_process.calibration_min_sample", "1")
        process = self.process_user.with_user(self.manager)
        action = process.action_apply_observed_probabilities()
        wizard = self.env[action["res_model"]].with_user(self.manager).browse(action["res_id"])
        shown = wizard.line_ids.mapped("new_probability")
        self.lead_c.action_set_lost()  # changes the observed figures after the wizard opened
        wizard.action_apply()
        self.assertEqual(self.process_user._get_ordered_steps().mapped("probability"), shown)

    def test_observed_in_process_form(self):
        """The Steps tab keeps the observed figures while the manager edits the process."""
        with Form(self.process_user.with_user(self.manager)) as form:
            with form.step_ids.edit(0) as step:
                self.assertEqual(step.observed_probability, 50)
                self.assertEqual(step.observed_sample, 2)
                step.probability = 5
                self.assertTrue(step.observed_deviates)
