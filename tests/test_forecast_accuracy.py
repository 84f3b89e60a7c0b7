# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.fields import Command
from odoo.tests import tagged

from .test_forecast_snapshot import SnapshotCommon


@tagged("post_install", "-at_install")
class TestForecastAccuracy(SnapshotCommon):
    """February 2027, its call the snapshot of 28 January (the one of 3 February is later
    than the 1st; January has none):

    =====  ====  =========================  ==========  ===============================
    deal   user  in the call                closing     then
    =====  ====  =========================  ==========  ===============================
    A      Sam   1,000 Verbal 80 % commit   02-10       won 02-15
    B      Sam   2,000 Offer 50 % best      02-20       lost
    C      Sam   3,000 Lead 10 %            03-05       (March: not in February's call)
    D      Sue   500 no process 40 % / 30   02-25       commit by hand; still open
    E      Sam   —                          —           created later, won 02-20: 600
    =====  ====  =========================  ==========  ===============================

    Sam: process 800 + 1,000 = 1,800, predictive 1,800, commit 1,000; actual 1,600; errors
    +200 (12.5 %), +200 (12.5 %), −600 (−37.5 %). Sue: process 200, predictive 150, commit
    500, actual 0: no percentage.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.deal_a = cls._lead(1000, cls.stage_verbal, date_deadline="2027-02-10")
        cls.deal_b = cls._lead(2000, cls.stage_offer, date_deadline="2027-02-20")
        cls._lead(3000, date_deadline="2027-03-05")
        cls.deal_d = cls._lead(
            500,
            process=False,
            user=cls.sue,
            probability=40,
            automated_probability=30,
            date_deadline="2027-02-25",
        )
        cls.deal_d.forecast_category = "commit"
        Snapshot = cls.env["crm.sales.forecast.snapshot"].with_user(cls.manager)
        cls.call = Snapshot.browse(Snapshot.take_snapshot()).sudo()
        cls.call.date = "2027-01-28 10:00:00"
        cls.deal_a.action_set_won()
        cls.deal_a.date_closed = "2027-02-15 09:00:00"
        cls.deal_b.action_set_lost()
        deal_e = cls._lead(600, cls.stage_offer)
        deal_e.action_set_won()
        deal_e.date_closed = "2027-02-20 16:00:00"
        later = Snapshot.browse(Snapshot.take_snapshot()).sudo()
        later.date = "2027-02-03 10:00:00"

    def _accuracy(self, groupby="user_id", filters=None, user=None):
        Snapshot = self.env["crm.sales.forecast.snapshot"].with_user(user or self.manager)
        return Snapshot.get_forecast_accuracy("2027-01-01", "2027-02-28", groupby, filters)

    def test_month_by_hand(self):
        result = self._accuracy()
        self.assertEqual(result["months"], ["2027-01", "2027-02"])
        self.assertEqual(result["missing_months"], ["2027-01"])
        rows = {row["group_id"]: row for row in result["rows"]}
        self.assertEqual(len(result["rows"]), 2)
        sam, sue = rows[self.sam.id], rows[self.sue.id]
        self.assertEqual(sam["month"], "2027-02")
        self.assertEqual(sam["group_name"], self.sam.name)
        self.assertEqual(
            {key: sam[key] for key in ("actual", "process", "predictive", "commit")},
            {"actual": 1600, "process": 1800, "predictive": 1800, "commit": 1000},
        )
        self.assertEqual(
            [sam[f"{forecast}_error"] for forecast in ("process", "predictive", "commit")],
            [200, 200, -600],
        )
        self.assertEqual(
            [sam[f"{forecast}_error_pct"] for forecast in ("process", "predictive", "commit")],
            [12.5, 12.5, -37.5],
        )
        self.assertEqual(
            {key: sue[key] for key in ("actual", "process", "predictive", "commit")},
            {"actual": 0, "process": 200, "predictive": 150, "commit": 500},
        )
        self.assertIsNone(sue["process_error_pct"])
        summaries = {summary["group_id"]: summary for summary in result["summaries"]}
        self.assertEqual(summaries[self.sam.id]["process_mape"], 12.5)
        self.assertEqual(summaries[self.sam.id]["commit_mape"], 37.5)
        self.assertEqual(summaries[self.sam.id]["closest"], "process")
        self.assertIsNone(summaries[self.sue.id]["process_mape"])
        self.assertFalse(summaries[self.sue.id]["closest"])

    def test_total_and_filters(self):
        """Without grouping: one total; a salesperson filter keeps his figures only."""
        total = self._accuracy(groupby=False)["rows"]
        self.assertEqual(len(total), 1)
        self.assertEqual((total[0]["actual"], total[0]["process"]), (1600, 2000))
        self.assertEqual(total[0]["commit"], 1500)
        only_sue = self._accuracy(filters={"user_ids": [self.sue.id]})["rows"]
        self.assertEqual([row["group_id"] for row in only_sue], [self.sue.id])
        as_sue = self._accuracy(groupby=False, user=self.sue)["rows"]
        self.assertEqual((as_sue[0]["actual"], as_sue[0]["process"]), (0, 200))

    def test_current_company_only(self):
        """With two companies allowed, the current one's forecasts and wins only: its figures
        are in its currency, and another company's call would not be this one's."""
        other = self.env["res.company"].create({"name": "Other Sales Company"})
        (self.manager | self.sam).write({"company_ids": [Command.link(other.id)]})
        won = (
            self.env["crm.lead"]
            .sudo()
            .create(
                {
                    "name": "Won elsewhere",
                    "type": "opportunity",
                    "company_id": other.id,
                    "user_id": self.sam.id,
                    "expected_revenue": 7000,
                }
            )
        )
        won.action_set_won()
        won.date_closed = "2027-02-11 09:00:00"
        self.env["crm.sales.forecast.snapshot"].sudo().create(
            {
                "date": "2027-01-29 10:00:00",
                "company_id": other.id,
                "line_ids": [
                    Command.create(
                        {
                            "lead_id": won.id,
                            "user_id": self.sam.id,
                            "expected_revenue": 7000,
                            "probability": 50,
                            "weighted_revenue": 3500,
                            "forecast_category": "commit",
                            "date_deadline": "2027-02-12",
                        }
                    )
                ],
            }
        )
        both = self.env["crm.sales.forecast.snapshot"].with_context(
            allowed_company_ids=[self.env.company.id, other.id]
        )
        total = both.with_user(self.manager).get_forecast_accuracy(
            "2027-01-01", "2027-02-28", False
        )["rows"]
        self.assertEqual(
            (total[0]["actual"], total[0]["process"], total[0]["commit"]), (1600, 2000, 1500)
        )

    @freeze_time("2027-03-10")
    def test_pdf(self):
        """The review's PDF: the accuracy of the last 12 months, per month and summed up per
        salesperson with the forecast closest to what was won."""
        later = self.Snapshot.search([("date", ">", self.call.date)], limit=1)
        text = self._review_pdf_text(
            {"snapshot_from": self.call.id, "snapshot_to": later.id, "groupby": "user_id"}
        )
        lines = [" ".join(line.split()) for line in text.splitlines()]
        sam_month = next(line for line in lines if line.startswith("Sam Snapshot 2027-02"))
        self.assertIn("12.5 %", sam_month)
        self.assertIn("-37.5 %", sam_month)
        sam_summary = next(line for line in lines if line.startswith("Sam Snapshot MAPE"))
        self.assertTrue(sam_summary.endswith("Process"), sam_summary)
        sue_summary = next(line for line in lines if line.startswith("Sue Snapshot MAPE"))
        self.assertTrue(sue_summary.endswith("–"), sue_summary)
        self.assertIn("Months without a snapshot", text)

    def test_bad_arguments(self):
        Snapshot = self.env["crm.sales.forecast.snapshot"]
        with self.assertRaises(UserError):
            Snapshot.get_forecast_accuracy("2027-03-01", "2027-01-01")
        with self.assertRaises(UserError):
            Snapshot.get_forecast_accuracy("2027-01-01", "2027-03-01", groupby="partner_id")
        with self.assertRaises(UserError):
            Snapshot.get_forecast_accuracy(False, "2027-03-01")
