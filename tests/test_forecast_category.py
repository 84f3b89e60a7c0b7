# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from .common import SalesProcessCommon


@tagged("post_install", "-at_install")
class TestForecastCategory(SalesProcessCommon):
    """Alpha: Lead 0 % (pipeline), Offer 50 % (best case), Verbal 75 % (commit), Won 100 %."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alpha = cls._create_process("FC Alpha", cls._standard_steps())
        categories = {
            cls.stage_lead: "pipeline",
            cls.stage_offer: "best_case",
            cls.stage_verbal: "commit",
        }
        for stage, category in categories.items():
            cls._step(cls.alpha, stage).forecast_category = category

    def test_entering_a_step_sets_its_category(self):
        """A new opportunity gets its first step's category; each move the new step's."""
        lead = self._create_lead(self.alpha)
        self.assertEqual(lead.forecast_category, "pipeline")
        lead.stage_id = self.stage_offer
        self.assertEqual(lead.forecast_category, "best_case")
        lead.stage_id = self.stage_verbal
        self.assertEqual(lead.forecast_category, "commit")

    def test_choice_stays_until_the_next_step(self):
        """The salesperson's category survives other changes (revenue, deadline, the step's
        percentage) and gives way to the next step's."""
        lead = self._create_lead(self.alpha, self.stage_offer)
        lead.forecast_category = "commit"
        lead.write({"expected_revenue": 5000, "date_deadline": "2026-06-30", "priority": "2"})
        self._step(self.alpha, self.stage_offer).probability = 55
        self.assertEqual(lead.probability, 55)
        self.assertEqual(lead.forecast_category, "commit")
        lead.stage_id = self.stage_lead
        self.assertEqual(lead.forecast_category, "pipeline")

    def test_won_and_lost(self):
        """Won shows won, lost nothing; restored, the step's category again."""
        won, lost = self._create_lead(self.alpha, self.stage_offer), self._create_lead(self.alpha)
        won.action_set_won()
        lost.action_set_lost()
        self.assertEqual(won.forecast_category, "won")
        self.assertFalse(lost.forecast_category)
        lost.action_restore()
        self.assertEqual(lost.forecast_category, "pipeline")

    def test_without_process(self):
        """Without a process: pipeline unless set by hand, kept when moving stages."""
        lead = self.env["crm.lead"].create(
            {"name": "Stock deal", "type": "opportunity", "stage_id": self.stage_lead.id}
        )
        self.assertEqual(lead.forecast_category, "pipeline")
        lead.forecast_category = "best_case"
        lead.stage_id = self.stage_offer
        self.assertEqual(lead.forecast_category, "best_case")
        lead.action_set_won()
        self.assertEqual(lead.forecast_category, "won")

    def test_won_only_for_won(self):
        """Won cannot be chosen for an open opportunity, nor another category for a won one."""
        lead = self._create_lead(self.alpha)
        with self.assertRaises(ValidationError):
            lead.forecast_category = "won"
        lead.action_set_won()
        with self.assertRaises(ValidationError):
            lead.forecast_category = "commit"

    def test_form(self):
        """The form shows the category on opportunities with a process only."""
        lead = self._create_lead(self.alpha, self.stage_offer)
        with Form(lead) as form:
            form.forecast_category = "omitted"
        self.assertEqual(lead.forecast_category, "omitted")
        stock = self.env["crm.lead"].create({"name": "Stock deal", "type": "opportunity"})
        with Form(stock) as form, self.assertRaises(AssertionError):
            form.forecast_category = "commit"
