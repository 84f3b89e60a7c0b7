# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from unittest.mock import patch

from lxml import etree

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Command
from odoo.tests import Form, HttpCase, tagged

from .common import SalesProcessLeadCommon, load_migration


@tagged("post_install", "-at_install")
class TestLeadProcessRules(SalesProcessLeadCommon):
    """Which process a new opportunity follows."""

    def test_rule_precedence(self):
        """Salesperson > sales team > department > everyone."""
        # Anna: own rule, although her team North and her department have one too
        lead_anna = self._create_lead(self.user_anna, team_id=self.team_north.id)
        self.assertEqual(lead_anna.sales_process_id, self.process_user)
        # Bert: no own rule; his team's rule beats his department's
        lead_bert = self._create_lead(self.user_bert, team_id=self.team_north.id)
        self.assertEqual(lead_bert.sales_process_id, self.process_team)
        # Carl: no own rule, no team: his department's
        lead_carl = self._create_lead(self.user_carl, team_id=False)
        self.assertEqual(lead_carl.department_id, self.department)
        self.assertEqual(lead_carl.sales_process_id, self.process_department)
        # Dina: only the company-wide rule
        lead_dina = self._create_lead(self.user_dina, team_id=False)
        self.assertEqual(lead_dina.sales_process_id, self.process_all)
        # No salesperson, no team: company-wide rule too
        lead_nobody = self._create_lead(user_id=False, team_id=False, company_id=self.company.id)
        self.assertEqual(lead_nobody.sales_process_id, self.process_all)
        # No company at all: processes belong to a company, so none
        lead_no_company = self._create_lead(user_id=False, team_id=False, company_id=False)
        self.assertFalse(lead_no_company.sales_process_id)

    def test_no_matching_rule(self):
        """Without a matching active rule, an opportunity follows no process."""
        self.process_all.action_archive()
        lead = self._create_lead(self.user_dina, team_id=False)
        self.assertFalse(lead.sales_process_id)
        self.process_all.action_unarchive()
        self.process_all.default_scope = "none"
        lead = self._create_lead(self.user_dina, team_id=False)
        self.assertFalse(lead.sales_process_id)

    def test_company_isolation(self):
        """Rules of another company never apply."""
        lead_main = self._create_lead(self.user_dina, team_id=False, company_id=self.company.id)
        lead_other = self._create_lead(
            self.user_dina, team_id=False, company_id=self.company_other.id
        )
        self.assertEqual(lead_main.sales_process_id, self.process_all)
        self.assertEqual(lead_other.sales_process_id, self.process_other)
        # Anna's own rule is a rule of the main company only
        self.user_anna.company_ids |= self.company_other
        lead_anna_other = self._create_lead(
            self.user_anna, team_id=False, company_id=self.company_other.id
        )
        self.assertEqual(lead_anna_other.sales_process_id, self.process_other)

    def test_explicit_process_kept(self):
        """A process given on creation is kept, even "none"."""
        lead = self._create_lead(self.user_anna, sales_process_id=self.process_team.id)
        self.assertEqual(lead.sales_process_id, self.process_team)
        self.assertEqual(lead.stage_id, self.stage_lead_in)
        lead_none = self._create_lead(self.user_anna, sales_process_id=False)
        self.assertFalse(lead_none.sales_process_id)
        lead_ctx = (
            self.env["crm.lead"]
            .with_context(default_sales_process_id=self.process_department.id)
            .create({"name": "Context", "user_id": self.user_anna.id})
        )
        self.assertEqual(lead_ctx.sales_process_id, self.process_department)

    def test_copy_keeps_process(self):
        lead = self._create_lead(self.user_anna, sales_process_id=self.process_team.id)
        lead.stage_id = self.stage_offer
        copy = lead.copy()
        self.assertEqual(copy.sales_process_id, self.process_team)
        self.assertEqual(
            copy.sales_process_step_id, self._step(self.process_team, self.stage_offer)
        )
        self.assertEqual(copy.probability, 40)

    def test_leads_get_a_process_too(self):
        lead = self._create_lead(self.user_anna, type="lead")
        self.assertEqual(lead.sales_process_id, self.process_user)
        self.assertEqual(lead.stage_id, self.stage_lead_in)

    def test_salesperson_change_keeps_process(self):
        """Rules apply on creation only: a new salesperson does not change the process."""
        lead = self._create_lead(self.user_anna)
        lead.user_id = self.user_dina
        self.assertEqual(lead.sales_process_id, self.process_user)

    def test_create_on_first_step(self):
        """A stage that only comes from a default (the kanban column of a quick create, the
        team's first stage) gives way to the process's first step."""
        lead = self._create_lead(self.user_anna)
        self.assertEqual(lead.stage_id, self.stage_lead_in)
        quick = (
            self.env["crm.lead"]
            .with_context(default_stage_id=self.stage_outside.id)
            .create({"name": "Quick", "type": "opportunity", "user_id": self.user_anna.id})
        )
        self.assertEqual(quick.stage_id, self.stage_lead_in)
        self.assertEqual(
            quick.sales_process_step_id, self._step(self.process_user, self.stage_lead_in)
        )
        # the column's stage as the web client sends it back: still the default
        quick_sent = (
            self.env["crm.lead"]
            .with_context(default_stage_id=self.stage_outside.id)
            .create(
                {
                    "name": "Quick sent",
                    "type": "opportunity",
                    "user_id": self.user_anna.id,
                    "stage_id": self.stage_outside.id,
                }
            )
        )
        self.assertEqual(quick_sent.stage_id, self.stage_lead_in)
        lead_offer = self._create_lead(self.user_anna, stage_id=self.stage_offer.id)
        self.assertEqual(lead_offer.stage_id, self.stage_offer)
        self.assertEqual(lead_offer.probability, 60)
        # A stock lead keeps the stage it is given
        lead_stock = self._create_lead(
            self.user_anna, sales_process_id=False, stage_id=self.stage_outside.id
        )
        self.assertEqual(lead_stock.stage_id, self.stage_outside)

    def test_create_given_stage_off_step_refused(self):
        """An import of last year's won deals with a process they never had a step of: the
        stage given is refused, naming the opportunity, the stage and the steps, and nothing
        of the batch is created."""
        count = self.env["crm.lead"].search_count([])
        with self.assertRaises(ValidationError) as catcher:
            self.env["crm.lead"].create(
                [
                    {"name": "Fine", "type": "opportunity", "user_id": self.user_anna.id},
                    {
                        "name": "Won last year",
                        "type": "opportunity",
                        "user_id": self.user_anna.id,
                        "sales_process_id": self.process_user.id,
                        "stage_id": self.stage_outside.id,
                    },
                ]
            )
        message = str(catcher.exception)
        self.assertIn("“Won last year”", message)
        self.assertIn("stage “SP Outside” is not one of its steps", message)
        self.assertIn("SP Lead In, SP Meeting, SP Offer, SP Signed", message)
        self.env.invalidate_all(flush=False)
        self.assertEqual(self.env["crm.lead"].search_count([]), count)

    def test_onchange_proposal(self):
        """The form proposes the matching process for new opportunities; users may change it."""
        form = Form(self.env["crm.lead"], view="crm.crm_lead_view_form")
        form.name = "Form Deal"
        form.user_id = self.user_dina
        form.team_id = self.env["crm.team"]
        self.assertEqual(form.sales_process_id, self.process_all)
        form.user_id = self.user_carl
        form.team_id = self.env["crm.team"]
        self.assertEqual(form.sales_process_id, self.process_department)
        form.team_id = self.team_north
        self.assertEqual(form.sales_process_id, self.process_team)
        form.user_id = self.user_anna
        self.assertEqual(form.sales_process_id, self.process_user)
        self.assertEqual(form.stage_id, self.stage_lead_in)
        # the user picks another process
        form.sales_process_id = self.process_team
        lead = form.save()
        self.assertEqual(lead.sales_process_id, self.process_team)
        # on an existing opportunity, a new salesperson does not change the process
        with Form(lead, view="crm.crm_lead_view_form") as form:
            form.user_id = self.user_dina
        self.assertEqual(lead.sales_process_id, self.process_team)

    def test_department_follows_salesperson(self):
        """The stored department follows the salesperson and the lead's company."""
        employee_other = self.env["hr.employee"].create(
            {
                "name": "Dina (other)",
                "user_id": self.user_dina.id,
                "company_id": self.company_other.id,
                "department_id": self.department_other.id,
            }
        )
        lead = self._create_lead(self.user_carl, team_id=False, sales_process_id=False)
        self.assertEqual(lead.department_id, self.department)
        lead.user_id = self.user_dina
        self.assertFalse(lead.department_id, "Dina has no employee in the lead's company")
        lead.company_id = self.company_other
        self.assertEqual(lead.department_id, employee_other.department_id)
        lead.user_id = False
        self.assertFalse(lead.department_id)

    def test_import(self):
        """Importing opportunities applies the rules like creating them."""
        result = self.env["crm.lead"].load(
            ["name", "type", "user_id/.id", "team_id/.id"],
            [
                ["Imported Anna", "opportunity", str(self.user_anna.id), str(self.team_north.id)],
                ["Imported Bert", "opportunity", str(self.user_bert.id), str(self.team_north.id)],
                ["Imported Carl", "opportunity", str(self.user_carl.id), ""],
            ],
        )
        self.assertFalse(result["messages"])
        leads = self.env["crm.lead"].browse(result["ids"])
        self.assertEqual(
            leads.mapped("sales_process_id").ids,
            (self.process_user | self.process_team | self.process_department).ids,
        )

    def test_lead_conversion(self):
        """Converting keeps the process, or gives one by the rules when there is none."""
        lead = self._create_lead(self.user_anna, type="lead")
        lead_without = self._create_lead(self.user_anna, type="lead", sales_process_id=False)
        self.assertFalse(lead_without.sales_process_id)
        for record in lead | lead_without:
            wizard = (
                self.env["crm.lead2opportunity.partner"]
                .with_context(active_model="crm.lead", active_id=record.id, active_ids=record.ids)
                .create({"name": "convert", "action": "create"})
            )
            wizard.action_apply()
        self.assertEqual((lead | lead_without).mapped("type"), ["opportunity", "opportunity"])
        self.assertEqual(lead.sales_process_id, self.process_user)
        self.assertEqual(lead_without.sales_process_id, self.process_user)
        self.assertIn(lead_without.stage_id, self.process_user.step_ids.stage_id)


@tagged("post_install", "-at_install")
class TestLeadProcessSteps(SalesProcessLeadCommon):
    """Steps, stages and the pipeline."""

    def test_process_change_nearest_step(self):
        """A new process puts the opportunity on the step with the nearest percentage."""
        lead = self._create_lead(
            self.user_anna, stage_id=self.stage_offer.id, expected_revenue=1000
        )
        self.assertEqual(lead.probability, 60)
        before = {name: lead[name] for name in ("user_id", "team_id", "expected_revenue", "name")}
        lead.sales_process_id = self.process_department  # 0 / 50 / 100
        self.assertEqual(lead.stage_id, self.stage_offer)
        self.assertEqual(lead.probability, 50)
        self.assertEqual({name: lead[name] for name in before}, before)
        message = lead.message_ids.filtered(lambda msg: "nearest percentage" in str(msg.body))
        self.assertEqual(len(message), 1)
        self.assertIn("Department Sale", str(message.body))
        self.assertIn("SP Offer", str(message.body))
        # 50 % → Team Sale (10 / 40 / 100): 40 is nearest
        lead.sales_process_id = self.process_team
        self.assertEqual(
            lead.sales_process_step_id, self._step(self.process_team, self.stage_offer)
        )
        self.assertEqual(lead.probability, 40)

    def test_process_change_tie_goes_to_earlier_step(self):
        process = self._create_process(
            "Tie", [(self.stage_lead_in, 30), (self.stage_meeting, 70), (self.stage_signed, 100)]
        )
        lead = self._create_lead(self.user_anna, stage_id=self.stage_offer.id)  # 60 %
        process.step_ids.filtered(lambda s: s.stage_id == self.stage_meeting).probability = 90
        process.step_ids.filtered(lambda s: s.stage_id == self.stage_lead_in).probability = 30
        # 60 is 30 away from both 30 and 90: the earlier step wins
        lead.sales_process_id = process
        self.assertEqual(lead.stage_id, self.stage_lead_in)
        self.assertEqual(lead.probability, 30)

    def test_remove_process_keeps_stage(self):
        lead = self._create_lead(self.user_anna, stage_id=self.stage_meeting.id)
        lead.sales_process_id = False
        self.assertEqual(lead.stage_id, self.stage_meeting)
        self.assertFalse(lead.sales_process_step_id)

    def test_stage_outside_process_refused(self):
        """Moving to a stage that is no step fails clearly and changes nothing."""
        lead = self._create_lead(self.user_anna, stage_id=self.stage_meeting.id)
        with self.assertRaises(ValidationError) as catcher:
            lead.write({"stage_id": self.stage_outside.id, "expected_revenue": 99})
        self.assertIn("stage “SP Outside” is not one of its steps", str(catcher.exception))
        lead.invalidate_recordset()
        self.assertEqual(lead.stage_id, self.stage_meeting)
        self.assertEqual(lead.expected_revenue, 0)
        # Team Sale has no Meeting step
        with self.assertRaises(ValidationError):
            lead.write(
                {"sales_process_id": self.process_team.id, "stage_id": self.stage_meeting.id}
            )
        lead.invalidate_recordset()
        self.assertEqual(lead.sales_process_id, self.process_user)

    def test_stage_outside_process_refused_in_batch(self):
        """A batch is checked per process and stage: the opportunity whose process lacks the
        stage is named, no stage at all is refused too, and nothing is written."""
        direct = self._create_lead(self.user_anna, stage_id=self.stage_lead_in.id)
        team = self._create_lead(self.user_anna, sales_process_id=self.process_team.id)
        team.name = "SP Team Deal"
        leads = direct | team
        with self.assertRaises(ValidationError) as catcher:
            leads.write({"stage_id": self.stage_meeting.id})
        self.assertIn("“SP Team Deal” follows sales process", str(catcher.exception))
        with self.assertRaises(ValidationError) as catcher:
            leads.write({"stage_id": False})
        self.assertIn("stage “none” is not one of its steps", str(catcher.exception))
        leads.invalidate_recordset()
        self.assertEqual(direct.stage_id, self.stage_lead_in)
        self.assertEqual(team.stage_id, self.process_team._get_step_stages()[:1])

    def test_step_with_opportunities_kept(self):
        """A step opportunities are on (lost ones too) can be neither deleted nor re-staged."""
        lead = self._create_lead(self.user_anna, stage_id=self.stage_meeting.id)
        lead.action_set_lost()
        step = self._step(self.process_user, self.stage_meeting)
        with self.assertRaises(UserError) as catcher:
            step.unlink()
        self.assertIn(
            "Step “SP Meeting” of sales process “Direct Sale” cannot be deleted: "
            "opportunities are on this step (1, lost ones included)",
            str(catcher.exception),
        )
        with self.assertRaises(UserError) as catcher:
            self.process_user.write(
                {"step_ids": [Command.update(step.id, {"stage_id": self.stage_outside.id})]}
            )
        self.assertIn("The stage of step “SP Meeting”", str(catcher.exception))
        self.assertTrue(step.exists())
        self.assertEqual(step.stage_id, self.stage_meeting)
        # same stage again, another percentage: fine
        step.write({"stage_id": self.stage_meeting.id, "probability": 35})
        # free steps can change and go
        empty_step = self._step(self.process_user, self.stage_lead_in)
        empty_step.stage_id = self.stage_outside
        empty_step.unlink()
        lead.unlink()
        step.unlink()
        self.assertEqual(len(self.process_user.step_ids), 2)

    def test_step_path_in_form(self):
        """Clicking a step of the form's path moves the opportunity to its stage."""
        lead = self._create_lead(self.user_anna)
        self.assertEqual(lead.sales_process_progress, "Step 1/4 · 0 %")
        with Form(lead, view="crm.crm_lead_view_form") as form:
            form.sales_process_step_id = self._step(self.process_user, self.stage_offer)
            self.assertEqual(form.stage_id, self.stage_offer)
        self.assertEqual(lead.stage_id, self.stage_offer)
        self.assertEqual(lead.probability, 60)
        self.assertEqual(lead.sales_process_progress, "Step 3/4 · 60 %")
        self.assertEqual(lead.sales_process_percentage, "60 %")
        self.assertEqual(lead.sales_process_step_id.display_name, "SP Offer (60 %)")
        # a write of the step does the same
        lead.sales_process_step_id = self._step(self.process_user, self.stage_meeting)
        self.assertEqual(lead.stage_id, self.stage_meeting)

    def test_kanban_columns_follow_process(self):
        """A pipeline restricted to one process shows exactly its steps, in step order."""
        self._create_lead(self.user_anna, stage_id=self.stage_meeting.id)
        expected = [self.stage_lead_in, self.stage_meeting, self.stage_offer, self.stage_signed]
        Lead = self.env["crm.lead"].with_context(read_group_expand=True)
        for domain in (
            [("sales_process_id", "=", self.process_user.id)],
            [("sales_process_id", "in", [self.process_user.id]), ("type", "=", "opportunity")],
            ["&", ("sales_process_id", "=", self.process_user.id), ("active", "=", True)],
        ):
            groups = Lead.web_read_group(domain, ["stage_id"], ["__count"])["groups"]
            self.assertEqual(
                [group["stage_id"][0] for group in groups], [stage.id for stage in expected]
            )
            self.assertEqual([group["__count"] for group in groups], [0, 1, 0, 0])
        # "My Sales Process" as Anna
        stages = (
            self.env["crm.lead"]
            .with_user(self.user_anna)
            ._read_group_stage_ids(self.env["crm.stage"], [("is_my_sales_process", "=", True)])
        )
        self.assertEqual(stages.ids, [stage.id for stage in expected])
        # Two processes, or none: stock columns
        stock = self.env["crm.lead"]._read_group_stage_ids(self.env["crm.stage"], [])
        self.assertIn(self.stage_outside, stock)
        mixed = self.env["crm.lead"]._read_group_stage_ids(
            self.env["crm.stage"],
            [
                "|",
                ("sales_process_id", "=", self.process_user.id),
                ("sales_process_id", "=", self.process_team.id),
            ],
        )
        self.assertEqual(mixed, stock)

    def test_my_sales_process_filter(self):
        """Anna's "My Sales Process" shows her opportunities following her default process."""
        lead_mine = self._create_lead(self.user_anna)
        lead_other = self._create_lead(self.user_anna, sales_process_id=self.process_team.id)
        leads = lead_mine | lead_other
        Lead = self.env["crm.lead"].with_user(self.user_anna)
        self.assertEqual(
            Lead.search([("is_my_sales_process", "=", True), ("id", "in", leads.ids)]), lead_mine
        )
        self.assertEqual(
            Lead.search([("is_my_sales_process", "=", False), ("id", "in", leads.ids)]),
            lead_other,
        )
        self.assertTrue(lead_mine.with_user(self.user_anna).is_my_sales_process)
        # Bert's own default is his team's process
        self.assertEqual(
            self.env["crm.lead"].with_user(self.user_bert)._get_my_sales_process(),
            self.process_team,
        )


@tagged("post_install", "-at_install")
class TestLeadProcessProbability(SalesProcessLeadCommon):
    """Probability = the step's percentage; predictive lead scoring leaves it alone."""

    def test_probability_fixed_after_pls_cron(self):
        """Predictive lead scoring's cron leaves leads on a step alone; stock leads get its
        estimate."""
        lead = self._create_lead(self.user_anna, stage_id=self.stage_meeting.id)
        stock = self._create_lead(self.user_anna, sales_process_id=False)
        self.assertEqual(lead.probability, 30)
        self.env["crm.lead"]._cron_update_automated_probabilities()
        self.env.invalidate_all()
        self.assertEqual(lead.probability, 30)
        self.assertEqual(lead.automated_probability, 30)
        self.assertEqual(lead.prorated_revenue, 0)
        # the stock lead still gets PLS's estimate
        pls = stock._pls_get_naive_bayes_probabilities()[0]
        self.assertEqual(stock.automated_probability, pls[stock.id])
        self.assertEqual(stock.probability, stock.automated_probability)

    def test_lost_stays_at_zero_after_pls_cron(self):
        """The cron updates, batch after batch, the leads it read as pending at its start:
        a lead on a step, lost meanwhile, is not among those it scores."""
        lead = self._create_lead(self.user_anna, stage_id=self.stage_meeting.id)
        estimates, _tooltip = lead._pls_get_naive_bayes_probabilities(batch_mode=True)
        self.assertNotIn(lead.id, estimates)
        lead.action_set_lost()
        self.assertEqual(lead.won_status, "lost")
        self.env["crm.lead"]._update_automated_probabilities()
        self.env.invalidate_all()
        self.assertEqual((lead.probability, lead.automated_probability), (0, 0))
        self.assertFalse(lead.active)

    def test_pls_paths_give_step_percentage(self):
        lead = self._create_lead(self.user_anna, stage_id=self.stage_offer.id, expected_revenue=500)
        probabilities, _tooltip = lead._pls_get_naive_bayes_probabilities()
        self.assertEqual(probabilities, {}, "a lead on a step gets no estimate")
        tooltip = lead.prepare_pls_tooltip_data()
        self.assertEqual(tooltip["probability"], 60)
        lead.action_set_automated_probability()
        self.assertEqual(lead.probability, 60)
        lead._compute_probabilities()
        self.assertEqual(lead.probability, 60)
        self.assertEqual(lead.prorated_revenue, 300)
        # the step's percentage may be written again, another probability is refused
        lead.probability = 60
        with self.assertRaises(ValidationError) as catcher:
            lead.write({"probability": 12, "expected_revenue": 900})
        self.assertIn("step “SP Offer” gives 60 %, not 12 %", str(catcher.exception))
        lead.invalidate_recordset()
        self.assertEqual((lead.probability, lead.expected_revenue), (60, 500))
        # at creation too, for an explicit process as for one given by the rules
        with self.assertRaises(ValidationError):
            self._create_lead(self.user_anna, stage_id=self.stage_offer.id, probability=12)
        with self.assertRaises(ValidationError):
            self._create_lead(self.user_dina, sales_process_id=self.process_team.id, probability=12)
        lead_same = self._create_lead(self.user_anna, stage_id=self.stage_offer.id, probability=60)
        self.assertEqual(lead_same.probability, 60)

    def test_step_percentage_change_propagates(self):
        lead_open = self._create_lead(self.user_anna, stage_id=self.stage_meeting.id)
        lead_open_2 = self._create_lead(self.user_anna, stage_id=self.stage_meeting.id)
        lead_lost = self._create_lead(self.user_anna, stage_id=self.stage_meeting.id)
        lead_lost.action_set_lost()
        lead_other = self._create_lead(self.user_anna, stage_id=self.stage_offer.id)
        self._step(self.process_user, self.stage_meeting).probability = 35
        self.assertEqual((lead_open | lead_open_2).mapped("probability"), [35, 35])
        self.assertEqual(lead_lost.probability, 0)
        self.assertFalse(lead_lost.active)
        self.assertEqual(lead_other.probability, 60)
        lead_lost.action_restore()
        self.assertEqual(lead_lost.probability, 35)

    def test_won_lost_restore(self):
        lead = self._create_lead(self.user_anna, stage_id=self.stage_offer.id, expected_revenue=100)
        lead.action_set_won()
        self.assertEqual(lead.stage_id, self.stage_signed)
        self.assertEqual(lead.probability, 100)
        self.assertEqual(lead.won_status, "won")

        lead = self._create_lead(self.user_anna, stage_id=self.stage_offer.id, expected_revenue=100)
        lead.action_set_lost()
        self.assertFalse(lead.active)
        self.assertEqual(lead.probability, 0)
        self.assertEqual(lead.won_status, "lost")
        self.assertEqual(lead.prorated_revenue, 0)
        lead.action_restore()
        self.assertTrue(lead.active)
        self.assertEqual(lead.probability, 60)
        self.assertEqual(lead.won_status, "pending")
        # archiving as lost then unarchiving (toggle) restores the step's percentage too
        lead.action_set_lost()
        lead.action_unarchive()
        self.assertEqual(lead.probability, 60)

    def test_form_hides_scoring_for_process_leads(self):
        """The form's AI-scoring controls and the manual probability depend on the process."""
        arch = etree.fromstring(
            self.env["crm.lead"].get_view(self.env.ref("crm.crm_lead_view_form").id)["arch"]
        )
        for xpath in (
            "//*[@name='action_set_automated_probability']",
            "//widget[@name='pls_tooltip_button']",
        ):
            self.assertIn("sales_process_id", arch.xpath(xpath)[0].get("invisible"))
        probability = arch.xpath("//field[@name='probability']")[0]
        self.assertIn("sales_process_id", probability.get("readonly"))

    def test_stock_lead_unchanged(self):
        """Without a process: manual probability and PLS work as in stock Odoo."""
        lead = self._create_lead(
            self.user_anna, sales_process_id=False, stage_id=self.stage_outside.id
        )
        self.assertTrue(lead.is_automated_probability)
        lead.probability = 42
        self.assertEqual(lead.probability, 42)
        self.assertFalse(lead.is_automated_probability)
        lead.action_set_automated_probability()
        self.assertTrue(lead.is_automated_probability)
        lead.stage_id = self.stage_meeting  # any stage is fine
        self.assertEqual(lead.stage_id, self.stage_meeting)

    def test_no_step_percentage_without_process(self):
        """An opportunity without a process, or off its steps, has no step percentage: its
        pipeline card shows no badge."""
        stock = self._create_lead(
            self.user_anna, sales_process_id=False, stage_id=self.stage_outside.id
        )
        on_step = self._create_lead(self.user_anna, stage_id=self.stage_meeting.id)
        removed = self._create_lead(self.user_anna, stage_id=self.stage_meeting.id)
        removed.sales_process_id = False
        self.env.flush_all()
        self.env.invalidate_all()
        # what the kanban reads, from the database
        values = {
            record["id"]: record["sales_process_percentage"]
            for record in (stock | on_step | removed).read(["sales_process_percentage"])
        }
        self.assertEqual(values, {stock.id: False, on_step.id: "30 %", removed.id: False})

    def test_repair_stored_step_percentage(self):
        """The upgrade repairs the percentage stored on opportunities by earlier versions."""
        stock = self._create_lead(self.user_dina, sales_process_id=False)
        on_step = self._create_lead(self.user_anna, stage_id=self.stage_offer.id)
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE crm_lead SET sales_process_percentage = %s WHERE id IN %s",
            ["crm.sales.process.step()", (stock.id, on_step.id)],
        )
        self.env.invalidate_all()
        migration = load_migration("19.0.1.0.1", "post-migrate")
        migration.migrate(self.env.cr, "19.0.1.0.0")
        self.env.invalidate_all()
        self.assertFalse(stock.sales_process_percentage)
        self.assertEqual(on_step.sales_process_percentage, "60 %")


@tagged("post_install", "-at_install")
class TestLeadProcessMerge(SalesProcessLeadCommon):
    """Merging opportunities keeps one process and step, and their step history."""

    def test_merge_keeps_process_step_and_history(self):
        head = self._create_lead(
            self.user_anna, name="Head", stage_id=self.stage_offer.id, expected_revenue=900
        )
        tail = self._create_lead(self.user_anna, name="Tail", stage_id=self.stage_meeting.id)
        stock = self._create_lead(self.user_dina, name="Stock", sales_process_id=False)
        leads = head | tail | stock
        # crm keeps the most confident one; the process and step are those of the first one
        # following a process in that order
        kept, merged_away = leads._sort_by_confidence_level(reverse=True).filtered(
            "sales_process_id"
        )[:2]
        merged_stays = merged_away.sales_process_history_ids
        # a forced team whose first stage is no step of the process: no failure
        merged = leads._merge_opportunity(team_id=self.team_north.id)
        self.assertEqual(merged, kept)
        self.assertEqual(merged.sales_process_id, self.process_user)
        self.assertEqual(merged.stage_id, kept.stage_id)
        self.assertEqual(merged.probability, kept.sales_process_step_id.probability)
        self.assertFalse(merged_away.exists())
        stays = merged.sales_process_history_ids
        self.assertLessEqual(merged_stays, stays)
        self.assertEqual(set(merged_stays.mapped("exit_reason")), {"merged"})
        self.assertEqual(len(stays.filtered("is_open")), 1)

    def test_merge_into_a_stock_opportunity(self):
        """The opportunity kept gets the process and step of the first one that has one."""
        stock = self._create_lead(
            self.user_dina, name="Stock", sales_process_id=False, expected_revenue=5000
        )
        on_process = self._create_lead(
            self.user_anna, name="On process", stage_id=self.stage_meeting.id
        )
        merged = (stock | on_process)._merge_opportunity()
        self.assertEqual(merged.sales_process_id, self.process_user)
        self.assertEqual(merged.stage_id, self.stage_meeting)
        self.assertEqual(merged.probability, 30)
        self.assertEqual(len(merged.sales_process_history_ids.filtered("is_open")), 1)

    def test_merge_of_stock_opportunities_reads_no_history(self):
        """Stock's merges (crm's lead assignment deduplicates by merging) cost no query of
        the step history: crm's own query-count tests hold with the addon installed."""
        leads = self.env["crm.lead"]
        for name in ("Stock A", "Stock B"):
            leads |= self._create_lead(self.user_dina, name=name, sales_process_id=False)
        History = type(self.env["crm.sales.process.history"])
        with patch.object(History, "search", side_effect=AssertionError("history read")):
            merged = leads._merge_opportunity()
        self.assertFalse(merged.sales_process_id)
        self.assertEqual(len(merged.exists()), 1)


@tagged("post_install", "-at_install")
class TestLeadProcessPerformance(SalesProcessLeadCommon):
    """Creating many opportunities costs the rule lookup once, not once per opportunity."""

    def _vals(self, count):
        """Opportunities of Anna and Bert (team North), Carl and Dina (no team)."""
        people = [
            (self.user_anna, self.team_north),
            (self.user_bert, self.team_north),
            (self.user_carl, self.env["crm.team"]),
            (self.user_dina, self.env["crm.team"]),
        ]
        return [
            {
                "name": f"Bulk {index}",
                "type": "opportunity",
                "user_id": people[index % 4][0].id,
                "team_id": people[index % 4][1].id,
            }
            for index in range(count)
        ]

    def test_rule_lookup_constant(self):
        """The lookup itself: one query for the rules (read once in the transaction: never
        stale), one for departments (and once the companies having default processes, then
        cached)."""
        Lead = self.env["crm.lead"]
        counts = []
        for count in (1, 10, 100):
            leads = Lead.browse().concat(*(Lead.new(vals) for vals in self._vals(count)))
            # salesperson, team and company are known before the lookup
            known = [(lead.team_id, lead.company_id, lead.user_id.company_id) for lead in leads]
            self.assertEqual(len(known), count)
            self.env.flush_all()
            start = self.env.cr.sql_log_count
            processes = leads._get_sales_process_by_rules()
            counts.append(self.env.cr.sql_log_count - start)
        # the rules (once per transaction) and the salespeople's departments, whatever the
        # number of leads
        self.assertEqual(counts[1:], [1, 1])
        self.assertLessEqual(counts[0], 3)
        self.assertEqual(
            [processes[lead] for lead in leads[:4]],
            [self.process_user, self.process_team, self.process_department, self.process_all],
        )

    def test_bulk_create_constant_queries(self):
        """Creating 10 or 50 opportunities costs the same number of lookup queries."""
        Lead = self.env["crm.lead"].with_context(
            tracking_disable=True, mail_create_nolog=True, mail_notrack=True
        )
        Lead.create(self._vals(5))  # warm up caches
        lookups = []
        original = type(Lead)._get_sales_process_by_rules

        def counting(records, **kwargs):
            start = self.env.cr.sql_log_count
            result = original(records, **kwargs)
            lookups.append((len(records), self.env.cr.sql_log_count - start))
            return result

        self.patch(type(Lead), "_get_sales_process_by_rules", counting)
        for count in (10, 50):
            leads = Lead.create(self._vals(count))
            self.assertEqual(len(leads.sales_process_id), 4)
        self.assertEqual([size for size, _queries in lookups], [10, 50])
        self.assertEqual(lookups[0][1], lookups[1][1])
        self.assertLessEqual(lookups[1][1], 2)

    def test_bulk_create_query_count(self):
        """The whole create: 10 or 50 opportunities on four processes cost the same queries."""
        Lead = self.env["crm.lead"].with_context(
            tracking_disable=True, mail_create_nolog=True, mail_notrack=True
        )
        Lead.create(self._vals(5))  # warm up caches
        self.env.flush_all()
        for count in (10, 50):
            # 7 + 1 for the step history + 2 share locks (default processes, steps: see
            # test_concurrency)
            with self.assertQueryCount(10):
                leads = Lead.create(self._vals(count))
                self.env.flush_all()
            self.assertEqual(len(leads.sales_process_id), 4)
            self.assertEqual(
                set(leads.mapped("probability")), {0, 5, 10}, "each lead on its first step"
            )


@tagged("post_install", "-at_install")
class TestLeadProcessTour(HttpCase, SalesProcessLeadCommon):
    """A salesperson works the pipeline of her sales process in the browser."""

    def test_pipeline_tour(self):
        lead = self._create_lead(
            self.user_anna,
            name="Tour Deal",
            stage_id=self.stage_meeting.id,
            team_id=self.team_north.id,
        )
        self.user_anna.group_ids |= self.env.ref("base.group_user")
        self.start_tour(
            "/odoo/action-crm.crm_lead_action_pipeline",
            "crm_sales_process_lead_tour",
            login="sp_anna",
        )
        self.assertEqual(lead.stage_id, self.stage_offer)
        self.assertEqual(lead.probability, 60)
        self.assertEqual(
            lead.sales_process_step_id, self._step(self.process_user, self.stage_offer)
        )


@tagged("post_install", "-at_install")
class TestStockPipelineTour(HttpCase):
    """Installing the addon leaves Odoo's pipeline of opportunities without a process as is."""

    def test_stock_card_tour(self):
        """The administrator's "My Pipeline" (Odoo's CRM start screen) shows an opportunity
        without a process with no step badge, and one with a process with its badge."""
        admin = self.env.ref("base.user_admin")
        stage = self.env["crm.stage"].search([("team_ids", "=", False)], limit=1)
        process = self.env["crm.sales.process"].create(
            {
                "name": "Card Process",
                "step_ids": [Command.create({"stage_id": stage.id, "probability": 40})],
            }
        )
        self.env["crm.lead"].create(
            [
                {
                    "name": name,
                    "type": "opportunity",
                    "user_id": admin.id,
                    "sales_process_id": process_id,
                    "stage_id": stage.id,
                }
                for name, process_id in (("Stock Deal", False), ("Process Deal", process.id))
            ]
        )
        self.start_tour("/odoo/crm", "crm_sales_process_stock_card_tour", login="admin")


@tagged("post_install", "-at_install")
class TestLeadProcessDemo(SalesProcessLeadCommon):
    """The demo opportunities follow the demo processes (the pipeline looks alive)."""

    def test_demo_opportunities(self):
        five = self.env.ref("crm_sales_process.crm_sales_process_five_step_demo")
        seven = self.env.ref("crm_sales_process.crm_sales_process_seven_step_demo")
        Lead = self.env["crm.lead"].with_context(active_test=False)
        marc = Lead.search([("user_id", "=", self.env.ref("base.user_demo").id)])
        self.assertEqual(marc.filtered("sales_process_id").sales_process_id, five)
        # The open ones: closed demo opportunities (demo/crm_sales_process_history_demo.xml)
        # give the Sales Process Analysis its history.
        pre_sales = Lead.search(
            [("sales_process_id", "=", seven.id), ("won_status", "=", "pending")]
        )
        self.assertEqual(len(pre_sales), 6)
        for lead in (marc | pre_sales).filtered(lambda lead: lead.active and lead.sales_process_id):
            self.assertEqual(lead.probability, lead.sales_process_step_id.probability)
        lost = self.env.ref("crm_sales_process.crm_lead_five_step_lost_demo")
        self.assertEqual((lost.active, lost.probability, lost.won_status), (False, 0, "lost"))

    def test_demo_cadence_figures(self):
        """The key activities of the demo's past steps are done, most on time and some late,
        and the demo opportunities have first responses: the cadence figures show at once."""
        seven = self.env.ref("crm_sales_process.crm_sales_process_seven_step_demo")
        kpis = seven.get_kpis()[0]
        self.assertGreater(kpis["key_activities_on_time"], kpis["key_activities_due"] / 2)
        self.assertLess(kpis["key_activities_on_time"], kpis["key_activities_due"])
        self.assertGreater(kpis["response_on_target_rate"], 0)
        done = (
            self.env["mail.activity"]
            .with_context(active_test=False)
            .search([("sales_process_step_id.process_id", "=", seven.id), ("active", "=", False)])
        )
        self.assertTrue(done)
        # done when the opportunity was on the step, not on the day of the install
        self.assertTrue(all(activity.date_done < fields.Date.today() for activity in done))

    def test_demo_snapshots_continue_the_trend(self):
        """crm's own open demo opportunities (no process) are in the weekly demo snapshots
        since they opened, as they are in today's: the trend has no jump at install."""
        Snapshot = self.env["crm.sales.forecast.snapshot"]
        latest = Snapshot.search([("company_id", "=", self.env.company.id)], limit=1)
        week_before = Snapshot.search(
            [("company_id", "=", self.env.company.id), ("date", "<", latest.date)], limit=1
        )
        stock_lines = week_before.line_ids.filtered(lambda line: not line.sales_process_id)
        self.assertTrue(stock_lines)
        self.assertTrue(
            all(
                (line.lead_id.date_open or line.lead_id.create_date) <= week_before.date
                for line in stock_lines
            )
        )
