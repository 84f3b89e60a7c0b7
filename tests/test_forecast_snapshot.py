# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import SalesProcessBaseCommon, run_poppler


class SnapshotCommon(SalesProcessBaseCommon):
    """Company "Snapshot Co" (demo data stays out): a manager, two salespeople, process Alpha
    (Lead 10 % pipeline, Offer 50 % best case, Verbal 80 % commit, Won 100 %)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls._create_company(
            name="Snapshot Co", currency_id=cls.env.company.currency_id.id
        )
        cls.env = cls.env(context=dict(cls.env.context, allowed_company_ids=cls.company.ids))
        cls.department = cls.env["hr.department"].create(
            {"name": "Snapshot Sales", "company_id": cls.company.id}
        )
        cls.manager = cls._create_salesperson(
            "snap_manager",
            "Snap Manager",
            groups="sales_team.group_sale_manager",
            company=cls.company,
        )
        cls.sam, cls.sue = (
            cls._create_salesperson(login, name, company=cls.company, department=cls.department)
            for login, name in (("snap_sam", "Sam Snapshot"), ("snap_sue", "Sue Snapshot"))
        )
        cls.team = cls.env["crm.team"].create(
            {"name": "Snapshot Team", "company_id": cls.company.id}
        )
        cls.stage_lead, cls.stage_offer, cls.stage_verbal, cls.stage_won = cls._create_stages(
            ["SN Lead", "SN Offer", "SN Verbal", "SN Won"], 2001, won=["SN Won"]
        )
        cls.alpha = cls._create_process(
            "Snapshot Alpha",
            [
                (cls.stage_lead, 10),
                (cls.stage_offer, 50),
                (cls.stage_verbal, 80),
                (cls.stage_won, 100),
            ],
            company_id=cls.company.id,
        )
        for stage, category in (
            (cls.stage_offer, "best_case"),
            (cls.stage_verbal, "commit"),
        ):
            cls._step(cls.alpha, stage).forecast_category = category
        cls.Snapshot = cls.env["crm.sales.forecast.snapshot"]

    @classmethod
    def _lead(cls, revenue, stage=None, process=True, user=None, **vals):
        return cls.env["crm.lead"].create(
            {
                "name": f"Snap deal {revenue}",
                "type": "opportunity",
                "company_id": cls.company.id,
                "user_id": (user or cls.sam).id,
                "team_id": cls.team.id,
                "sales_process_id": cls.alpha.id if process else False,
                "stage_id": (stage or cls.stage_lead).id,
                "expected_revenue": revenue,
                **vals,
            }
        )

    def _take(self, user=None):
        return self.Snapshot.browse(self.Snapshot.with_user(user or self.manager).take_snapshot())

    def _review_pdf_text(self, data):
        """The text of the Pipeline Review PDF the Print PDF button prints for ``data`` (see
        test_forecast.py for why the report's assets point at a closed port)."""
        self.env["ir.config_parameter"].sudo().set_param("report.url", "http://127.0.0.1:9")
        action = self.Snapshot.with_user(self.manager).action_print_review_pdf(
            data["snapshot_from"], data["snapshot_to"], data.get("filters"), data.get("groupby")
        )
        self.assertEqual(
            action["report_name"], "crm_sales_process.crm_sales_forecast_review_document"
        )
        pdf, report_type = (
            self.env["ir.actions.report"]
            .with_user(self.manager)
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf(
                action["report_name"], action["context"]["active_ids"], data=action["data"]
            )
        )
        self.assertEqual(report_type, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))
        # the monetary widget joins the minus sign to its number with a zero-width space
        return run_poppler("pdftotext", pdf, "-layout").replace("\u200b", "")


@tagged("post_install", "-at_install")
class TestForecastSnapshot(SnapshotCommon):
    def test_lines_and_totals(self):
        """One line per open opportunity of the company, as it is; won, lost, leads and other
        companies' opportunities left out; totals on the snapshot."""
        commit = self._lead(1000, self.stage_verbal, date_deadline="2027-01-31")
        stock = self._lead(400, self.stage_offer, process=False, user=self.sue, probability=25)
        self._lead(5000, self.stage_offer).action_set_won()
        self._lead(7000).action_set_lost()
        self._lead(9000, type="lead")
        self.env["crm.lead"].create(
            {
                "name": "Elsewhere",
                "type": "opportunity",
                "expected_revenue": 3000,
                "company_id": self.env.ref("base.main_company").id,
            }
        )
        snapshot = self._take()
        self.assertEqual(len(snapshot), 1)
        self.assertEqual(snapshot.company_id, self.company)
        self.assertEqual(snapshot.line_ids.lead_id, commit | stock)
        line = snapshot.line_ids.filtered(lambda line: line.lead_id == commit)
        self.assertRecordValues(
            line,
            [
                {
                    "user_id": self.sam.id,
                    "team_id": self.team.id,
                    "department_id": self.department.id,
                    "sales_process_id": self.alpha.id,
                    "sales_process_step_id": self._step(self.alpha, self.stage_verbal).id,
                    "stage_id": self.stage_verbal.id,
                    "expected_revenue": 1000,
                    "probability": 80,
                    "automated_probability": 80,
                    "forecast_category": "commit",
                    "date_deadline": fields.Date.to_date("2027-01-31"),
                    "weighted_revenue": 800,
                }
            ],
        )
        stock_line = snapshot.line_ids - line
        self.assertEqual(stock_line.forecast_category, "pipeline")
        self.assertFalse(stock_line.sales_process_id)
        self.assertRecordValues(
            snapshot, [{"line_count": 2, "pipeline_value": 1400, "weighted_value": 900}]
        )

    def test_query_count_does_not_grow(self):
        """A snapshot costs as many queries with 3 opportunities as with 53."""
        for revenue in range(3):
            self._lead(100 + revenue)
        self._take()  # warm the caches (groups, rules)
        self.env.invalidate_all()
        with self.assertQueryCount(6):
            self._take()
        for revenue in range(50):
            self._lead(200 + revenue, user=self.sue)
        self.env.invalidate_all()
        with self.assertQueryCount(6):
            snapshot = self._take()
        self.assertEqual(snapshot.line_count, 53)

    def test_access(self):
        """Managers take snapshots and read every line of their companies (those of deleted
        opportunities too); salespeople read the lines of the opportunities they may read;
        nobody writes or deletes."""
        mine = self._lead(100)
        unassigned = self._lead(200, user=self.env["res.users"])
        theirs = self._lead(300, user=self.sue)
        deleted = self._lead(400, user=self.sue)
        with self.assertRaises(AccessError):
            self._take(user=self.sam)
        snapshot = self._take()
        deleted.unlink()
        Line = self.env["crm.sales.forecast.snapshot.line"]
        self.assertEqual(snapshot.line_count, 4)
        as_sam = Line.with_user(self.sam).search([("snapshot_id", "=", snapshot.id)])
        self.assertEqual(as_sam.lead_id, mine | unassigned)
        as_manager = Line.with_user(self.manager).search([("snapshot_id", "=", snapshot.id)])
        self.assertEqual(len(as_manager), 4)
        self.assertEqual(as_manager.lead_id, mine | unassigned | theirs)
        hidden = snapshot.line_ids.filtered(lambda line: line.lead_id == theirs)
        with self.assertRaises(AccessError):
            hidden.with_user(self.sam).read(["expected_revenue"])
        for user in (self.sam, self.manager):
            with self.assertRaises(AccessError):
                snapshot.with_user(user).unlink()
            with self.assertRaises(AccessError):
                snapshot.with_user(user).write({"pipeline_value": 1})
            with self.assertRaises(AccessError):
                as_sam.with_user(user).write({"expected_revenue": 1})
            with self.assertRaises(AccessError):
                self.Snapshot.with_user(user).create({"company_id": self.company.id})
        self.assertEqual(snapshot.with_user(self.sam).pipeline_value, 1000)

    def test_cron_weekday_and_retention(self):
        """On the weekday of the settings the cron takes one snapshot a day per company;
        beyond the number to keep, the oldest are deleted."""
        self._lead(100)
        Param = self.env["ir.config_parameter"].sudo()
        today = fields.Date.context_today(self.Snapshot)
        Param.set_param("crm_sales_process.snapshot_weekday", str((today.weekday() + 1) % 7))
        self.Snapshot._cron_take_snapshots()
        mine = self.Snapshot.sudo().search([("company_id", "=", self.company.id)])
        self.assertFalse(mine)
        Param.set_param("crm_sales_process.snapshot_weekday", str(today.weekday()))
        self.Snapshot._cron_take_snapshots()
        self.Snapshot._cron_take_snapshots()
        mine = self.Snapshot.sudo().search([("company_id", "=", self.company.id)])
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine.line_count, 1)
        old = self._take() | self._take()
        old.sudo().write({"date": fields.Datetime.now() - timedelta(days=14)})
        Param.set_param("crm_sales_process.snapshot_keep", "2")
        self.Snapshot._cron_take_snapshots()
        kept = self.Snapshot.sudo().search([("company_id", "=", self.company.id)])
        self.assertEqual(len(kept), 2)
        self.assertIn(mine, kept)
