# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import io
import re
from datetime import timedelta

import openpyxl

from odoo.exceptions import UserError
from odoo.tests import tagged

from .test_forecast_snapshot import SnapshotCommon

Q1 = {"date_deadline_from": "2027-01-01", "date_deadline_to": "2027-03-31"}


@tagged("post_install", "-at_install")
class TestPipelineChanges(SnapshotCommon):
    """Two snapshots around one change of each kind, looked at for the deals expected to close
    in Q1 2027 (Alpha: Lead 10 % pipeline, Offer 50 % best case, Verbal 80 % commit):

    ==========  =====================  ============================  ===========  ========
    deal        start                  end                           change       value Q1
    ==========  =====================  ============================  ===========  ========
    increased   1,000 Lead 02-15       1,500 Offer                   increased    +500
    decreased   2,000 Verbal 01-20     1,200 Offer, closing 03-10    decreased    −800
    same        300 Lead 03-01 (Sue)   unchanged                     —            0
    won         4,000 Offer 01-10      won                           won          −4,000
    lost        700 Lead 02-01         lost                          lost         −700
    pushed      900 Lead 03-20         closing 05-01                 pushed out   −900
    archived    600 Lead 02-02         archived                      removed      −600
    deleted     250 Lead 01-05         deleted                       removed      −250
    pulled      800 Lead 06-01         closing 02-20                 pulled in    +800
    new         —                      1,100 Lead 01-25              new          +1,100
    outside     5,000 Lead 08-01       unchanged                     —            —
    ==========  =====================  ============================  ===========  ========

    Q1: start 9,750, end 4,900. Moved forward 1, back 1, slipped 2, category changed 2.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        deals = {
            "increased": (1000, cls.stage_lead, "2027-02-15"),
            "decreased": (2000, cls.stage_verbal, "2027-01-20"),
            "same": (300, cls.stage_lead, "2027-03-01"),
            "won": (4000, cls.stage_offer, "2027-01-10"),
            "lost": (700, cls.stage_lead, "2027-02-01"),
            "pushed": (900, cls.stage_lead, "2027-03-20"),
            "archived": (600, cls.stage_lead, "2027-02-02"),
            "deleted": (250, cls.stage_lead, "2027-01-05"),
            "pulled": (800, cls.stage_lead, "2027-06-01"),
            "outside": (5000, cls.stage_lead, "2027-08-01"),
        }
        cls.deals = {
            name: cls._lead(
                revenue,
                stage,
                date_deadline=deadline,
                user=cls.sue if name == "same" else cls.sam,
            )
            for name, (revenue, stage, deadline) in deals.items()
        }
        cls.start = cls._take_as_manager()
        # everything above was created before the start snapshot, the new deal after it
        cls.start.sudo().date = cls.deals["same"].create_date - timedelta(days=1)
        deals = cls.deals
        deals["increased"].write({"expected_revenue": 1500, "stage_id": cls.stage_offer.id})
        deals["decreased"].write(
            {
                "expected_revenue": 1200,
                "stage_id": cls.stage_offer.id,
                "date_deadline": "2027-03-10",
            }
        )
        deals["won"].action_set_won()
        deals["lost"].action_set_lost()
        deals["pushed"].date_deadline = "2027-05-01"
        deals["archived"].action_archive()
        deals["deleted"].unlink()
        deals["pulled"].date_deadline = "2027-02-20"
        deals["new"] = cls._lead(1100, date_deadline="2027-01-25")
        cls.end = cls._take_as_manager()

    @classmethod
    def _take_as_manager(cls):
        Snapshot = cls.env["crm.sales.forecast.snapshot"]
        return Snapshot.browse(Snapshot.with_user(cls.manager).take_snapshot())

    def _changes(self, filters=None, user=None):
        Snapshot = self.env["crm.sales.forecast.snapshot"].with_user(user or self.manager)
        return Snapshot.get_pipeline_changes(self.start.id, self.end.id, filters)

    def _assert_reconciles(self, result):
        total = result["start_value"] + sum(change["value"] for change in result["changes"])
        self.assertEqual(total, result["end_value"])

    def _lead_ids(self, details):
        return set(details["domain"][0][2])

    def test_changes_in_a_closing_period(self):
        """Each change with its count, value and opportunities; the start plus the changes is
        the end."""
        result = self._changes(Q1)
        self.assertEqual(result["start_value"], 9750)
        self.assertEqual(result["end_value"], 4900)
        changes = {change["key"]: change for change in result["changes"]}
        self.assertEqual(
            [change["key"] for change in result["changes"]],
            ["new", "pulled_in", "increased", "decreased", "won", "lost", "pushed_out", "removed"],
        )
        expected = {
            "new": (1, 1100, ["new"]),
            "pulled_in": (1, 800, ["pulled"]),
            "increased": (1, 500, ["increased"]),
            "decreased": (1, -800, ["decreased"]),
            "won": (1, -4000, ["won"]),
            "lost": (1, -700, ["lost"]),
            "pushed_out": (1, -900, ["pushed"]),
            # the deleted deal has no opportunity to open any more
            "removed": (2, -850, ["archived"]),
        }
        for key, (count, value, names) in expected.items():
            self.assertEqual(changes[key]["count"], count, key)
            self.assertEqual(changes[key]["value"], value, key)
            self.assertEqual(
                self._lead_ids(changes[key]["details"]),
                {self.deals[name].id for name in names},
                key,
            )
        self._assert_reconciles(result)
        counts = {count["key"]: count for count in result["counts"]}
        expected_counts = {
            "moved_forward": ["increased"],
            "moved_backward": ["decreased"],
            "slipped": ["decreased", "pushed"],
            "category_changed": ["increased", "decreased"],
        }
        for key, names in expected_counts.items():
            self.assertEqual(counts[key]["count"], len(names), key)
            self.assertEqual(
                self._lead_ids(counts[key]["details"]), {self.deals[name].id for name in names}
            )

    def test_without_filters(self):
        """Without the period the pulled-in and pushed-out deals stay in the pipeline: no
        change of value for them."""
        result = self._changes()
        self.assertEqual(result["start_value"], 15550)
        self.assertEqual(result["end_value"], 10800)
        values = {change["key"]: (change["count"], change["value"]) for change in result["changes"]}
        self.assertEqual(values["pulled_in"], (0, 0))
        self.assertEqual(values["pushed_out"], (0, 0))
        self.assertEqual(values["removed"], (2, -850))
        self._assert_reconciles(result)

    def test_filters_and_access(self):
        """A salesperson sees the changes of the opportunities he may read; the filters of the
        analysis apply to each line as it was."""
        as_sam = self._changes(Q1, user=self.sam)
        self.assertEqual(as_sam["start_value"], 9750 - 300 - 250)  # not Sue's, not deleted
        self.assertEqual(as_sam["end_value"], 4900 - 300)
        self._assert_reconciles(as_sam)
        sue_only = self._changes(dict(Q1, user_ids=[self.sue.id]))
        self.assertEqual((sue_only["start_value"], sue_only["end_value"]), (300, 300))
        self._assert_reconciles(sue_only)
        action = self.env["crm.sales.forecast.snapshot"].action_open_pipeline_change(
            self.start.id, self.end.id, "won", Q1
        )
        self.assertEqual(self._lead_ids(action), {self.deals["won"].id})

    def test_xlsx(self):
        """The review's spreadsheet: the changes from start to end, then the counts."""
        report = self.env["report.crm_sales_process.review_xlsx"].with_user(self.manager)
        content, filename = report.create_xlsx_report(
            [], {"snapshot_from": self.start.id, "snapshot_to": self.end.id, "filters": Q1}
        )
        self.assertRegex(filename, r"^pipeline-review-\d{4}-\d\d-\d\d\.xlsx$")
        book = openpyxl.load_workbook(io.BytesIO(content))
        rows = [row for row in book.worksheets[0].iter_rows(values_only=True) if any(row)]
        # the PDF's header: the snapshots and the filters
        self.assertIn("Expected closing", [row[0] for row in rows])
        start = rows.index(("Start", None, 9750))
        self.assertEqual(rows[start + 1], ("New", 1, 1100))
        self.assertEqual(rows[start + 8], ("Removed", 2, -850))
        self.assertEqual(rows[start + 9], ("End", None, 4900))
        self.assertEqual(rows[start + 10], ("Moved Forward", 1, None))
        self.assertEqual(book.worksheets[1]["A1"].value, "Group")

    def test_pdf(self):
        """The review's PDF: the snapshots and filters, the changes from start to end and the
        counts beside, in one document."""
        text = self._review_pdf_text(
            {"snapshot_from": self.start.id, "snapshot_to": self.end.id, "filters": Q1}
        )
        self.assertEqual(text.count("Pipeline Review"), 1, "one document, one title")
        for expected in (
            self.start.display_name,
            self.end.display_name,
            "Expected closing",
            "Forecast accuracy: Total",
            "What Changed",
            "Forecast Accuracy",
            "Closest",
        ):
            self.assertIn(expected, text)
        lines = [" ".join(line.split()) for line in text.splitlines()]
        for expected in (
            r"^Start \$ ?9,750\.00$",
            r"^New 1 \$ ?1,100\.00$",
            r"^Removed 2 \$ ?-850\.00$",
            r"^End \$ ?4,900\.00$",
        ):
            self.assertTrue(any(re.match(expected, line) for line in lines), (expected, lines))
        self.assertRegex(text, r"Moved Forward: 1\s+Moved Back: 1\s+Slipped: 2")
        self.assertLess(text.index("What Changed"), text.index("Forecast Accuracy"))

    def test_bad_arguments(self):
        """Reversed snapshots, a reversed period, an unknown change: clear errors."""
        Snapshot = self.env["crm.sales.forecast.snapshot"]
        with self.assertRaises(UserError):
            Snapshot.get_pipeline_changes(self.end.id, self.start.id)
        with self.assertRaises(UserError):
            self._changes({"date_deadline_from": "2027-04-01", "date_deadline_to": "2027-01-01"})
        with self.assertRaises(UserError):
            Snapshot.action_open_pipeline_change(self.start.id, self.end.id, "stolen")
        with self.assertRaises(UserError):
            Snapshot.get_pipeline_changes("x", self.end.id)
