# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import datetime, timedelta

from odoo.exceptions import UserError
from odoo.tests import tagged

from .test_forecast_snapshot import SnapshotCommon


@tagged("post_install", "-at_install")
class TestSalesProcessCompare(SnapshotCommon):
    """Standard (A): 8 won in 10, 12, …, 24 days (mean 17, variance 24), 2 lost.
    Pilot (B): 5 won in 30, 35, 40, 45, 50 days (mean 40, variance 62.5), 5 lost.
    Tiny (C): 2 won, 1 lost.

    Win rate A − B by hand: pooled 13/20 = 0.65, error √(0.65 × 0.35 × (1/10 + 1/10)) =
    0.21331, z = −0.3 / 0.21331 = −1.40642, p = erfc(1.40642 / √2) = 0.15960: not
    significant. Cycle: error √(24/8 + 62.5/5) = 3.93700, t = 23 / 3.93700 = 5.84201,
    p = 5.1576e-9: significant.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        steps = [(cls.stage_lead, 10), (cls.stage_won, 100)]
        cls.standard = cls._create_process("Standard", steps, company_id=cls.company.id)
        cls.pilot = cls._create_process("Pilot", steps, company_id=cls.company.id)
        cls.tiny = cls._create_process("Tiny", steps, company_id=cls.company.id)
        cls._closed(cls.standard, [10, 12, 14, 16, 18, 20, 22, 24], lost=2)
        cls._closed(cls.pilot, [30, 35, 40, 45, 50], lost=5)
        cls._closed(cls.tiny, [5, 6], lost=1)

    @classmethod
    def _closed(cls, process, won_days, lost):
        closed_on = datetime(2026, 6, 1)
        for days in won_days:
            lead = cls._lead(100, process=False, sales_process_id=process.id)
            lead.action_set_won()
            cls.env.cr.execute(
                "UPDATE crm_lead SET create_date = %s, date_closed = %s WHERE id = %s",
                (closed_on - timedelta(days=days), closed_on, lead.id),
            )
        for _index in range(lost):
            cls._lead(100, process=False, sales_process_id=process.id).action_set_lost()
        cls.env.invalidate_all()

    def test_hand_computed_p_values(self):
        result = self.env["crm.sales.process"].compare_kpis(self.standard.id, self.pilot.id)
        self.assertEqual(result["a"]["process_id"], self.standard.id)
        self.assertEqual(result["b"]["process_id"], self.pilot.id)
        win_rate, cycle = result["tests"]["win_rate"], result["tests"]["avg_cycle_days"]
        self.assertAlmostEqual(win_rate["difference"], -30)
        self.assertAlmostEqual(win_rate["p_value"], 0.15960, places=5)
        self.assertFalse(win_rate["significant"])
        self.assertAlmostEqual(cycle["difference"], 23)
        self.assertAlmostEqual(cycle["p_value"] * 1e9, 5.1576, places=3)
        self.assertTrue(cycle["significant"])

    def test_sample_too_small(self):
        """Fewer than 5 closed (won for the cycle) on a side: no p-value, not significant."""
        tests = self.env["crm.sales.process"].compare_kpis(self.standard.id, self.tiny.id)["tests"]
        for test in tests.values():
            self.assertIsNone(test["p_value"])
            self.assertFalse(test["significant"])
            self.assertTrue(test["sample_too_small"])

    def test_bad_arguments(self):
        Process = self.env["crm.sales.process"]
        with self.assertRaises(UserError):
            Process.compare_kpis(self.standard.id, self.standard.id)
        with self.assertRaises(UserError):
            Process.compare_kpis(self.standard.id, "pilot")
