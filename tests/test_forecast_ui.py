# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""End to end, in a browser and over HTTP, on a database with demo data.

A salesperson creates an opportunity in the pipeline of their default sales process, drags it
through the kanban and marks it lost, and the forecast follows (tours in
static/tests/tours/crm_sales_process_forecast_tour.js); a sales manager prints the forecast PDF
and downloads the XLSX the way the web client does. The figures themselves are checked on a
hand-computed data set in test_forecast.py; here the point is the user's path.
"""

import io
import json
import re

import openpyxl

from odoo.fields import Command
from odoo.tests import HttpCase, tagged

from .common import SalesProcessBaseCommon, run_poppler

PIPELINE_URL = "/odoo/action-crm.crm_lead_action_pipeline"
WIZARD = "crm.sales.forecast.wizard"


@tagged("post_install", "-at_install")
class TestForecastEndToEnd(HttpCase, SalesProcessBaseCommon):
    """Eva Forecast (department E2E Field Sales, team E2E Team) follows E2E Direct Sale:

    ===============  ===  ========================================
    step             %    opportunities
    ===============  ===  ========================================
    E2E Lead In      10
    E2E Contact      25   E2E Running Deal, expected revenue 10,000
    E2E Proposal     60
    E2E Negotiation  80
    E2E Won          100
    ===============  ===  ========================================
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Stage sequences differ from the step order: the columns must follow the steps.
        names = ["E2E Proposal", "E2E Lead In", "E2E Contact", "E2E Negotiation", "E2E Won"]
        stages = cls._create_stages(names, 951, won=["E2E Won"])
        cls.stage_proposal, cls.stage_lead_in, cls.stage_contact = stages[:3]
        cls.stage_negotiation, cls.stage_won = stages[3:]
        cls.department = cls.env["hr.department"].create({"name": "E2E Field Sales"})
        cls.eva = cls._create_salesperson("e2e_eva", "Eva Forecast", department=cls.department)
        cls.manager = cls._create_salesperson(
            "e2e_mona", "Mona E2E Manager", groups="sales_team.group_sale_manager"
        )
        cls.team = cls.env["crm.team"].create({"name": "E2E Team"})
        cls.team.member_ids = cls.eva
        steps = [(cls.stage_lead_in, 10), (cls.stage_contact, 25), (cls.stage_proposal, 60)]
        steps += [(cls.stage_negotiation, 80), (cls.stage_won, 100)]
        default = {"default_scope": "user", "default_user_ids": [Command.set(cls.eva.ids)]}
        cls.process = cls._create_process("E2E Direct Sale", steps, **default)
        cls.running_deal = cls.env["crm.lead"].create(
            {
                "name": "E2E Running Deal",
                "type": "opportunity",
                "user_id": cls.eva.id,
                "stage_id": cls.stage_contact.id,
                "expected_revenue": 10000,
            }
        )

    def _forecast(self, salesperson):
        """The forecast wizard's figures for ``salesperson``, as they see them."""
        self.env.invalidate_all()
        wizard = (
            self.env[WIZARD]
            .with_user(salesperson)
            .create({"user_ids": [Command.set(salesperson.ids)]})
        )
        return wizard._get_forecast_summary()

    @staticmethod
    def _figures(line):
        return line["count"], line["expected_revenue"], line["prorated_revenue"]

    def _find_deal(self, name):
        deal = self.env["crm.lead"].with_context(active_test=False).search([("name", "=", name)])
        self.assertEqual(len(deal), 1, f"the tour created one opportunity {name}")
        return deal

    def test_salesperson_pipeline_moves_forecast(self):
        """Create in the first step, drag to a later one, mark lost: the forecast follows."""
        self.assertEqual(self.running_deal.sales_process_id, self.process)
        before = self._forecast(self.eva)
        self.assertEqual(self._figures(before["total"]), (1, 10000, 2500))

        self.start_tour(PIPELINE_URL, "crm_sales_process_forecast_tour", login="e2e_eva")
        self.env.invalidate_all()
        deal = self._find_deal("E2E Fresh Deal")
        self.assertEqual(deal.type, "opportunity")
        self.assertEqual(deal.user_id, self.eva)
        self.assertEqual(deal.sales_process_id, self.process, "Eva's default process")
        self.assertEqual(deal.stage_id, self.stage_proposal)
        self.assertEqual(deal.sales_process_step_id.stage_id, self.stage_proposal)
        self.assertEqual(deal.expected_revenue, 25000)
        self.assertEqual(deal.probability, 60)
        self.assertEqual(deal.department_id, self.department)
        self.assertEqual(deal.team_id, self.team)
        # weighted = 10,000 × 25 % + 25,000 × 60 %
        after_drag = self._forecast(self.eva)
        self.assertEqual(self._figures(after_drag["total"]), (2, 35000, 17500))
        for groupby, record in (
            ("user_id", self.eva),
            ("department_id", self.department),
            ("team_id", self.team),
        ):
            self.assertEqual(
                [(line["record"], self._figures(line)) for line in after_drag[groupby]],
                [(record, (2, 35000, 17500))],
            )

        self.start_tour(PIPELINE_URL, "crm_sales_process_forecast_lost_tour", login="e2e_eva")
        self.env.invalidate_all()
        self.assertFalse(deal.active)
        self.assertEqual(deal.won_status, "lost")
        self.assertEqual(deal.probability, 0)
        self.assertEqual(deal.lost_reason_id, self.env.ref("crm.lost_reason_1"))
        self.assertEqual(deal.sales_process_id, self.process, "a lost deal keeps its process")
        after_lost = self._forecast(self.eva)
        self.assertEqual(self._figures(after_lost["total"]), (1, 10000, 2500))

    def test_demo_salesperson_pipeline(self):
        """Marc Demo's opportunities land in the demo's Five-Step Sales Process."""
        marc = self.env.ref("base.user_demo")
        five_step = self.env.ref("crm_sales_process.crm_sales_process_five_step_demo")
        self.assertEqual(self.env["crm.lead"].with_user(marc)._get_my_sales_process(), five_step)
        count, expected, weighted = self._figures(self._forecast(marc)["total"])

        self.start_tour(PIPELINE_URL, "crm_sales_process_forecast_demo_tour", login="demo")
        self.env.invalidate_all()
        deal = self._find_deal("E2E Demo Deal")
        self.assertEqual(deal.user_id, marc)
        self.assertEqual(deal.sales_process_id, five_step)
        self.assertEqual(deal.stage_id, self.env.ref("crm.stage_lead3"))
        self.assertEqual(deal.probability, 50)
        self.assertEqual(
            self._figures(self._forecast(marc)["total"]),
            (count + 1, expected + 40000, weighted + 20000),
        )

    # ------------------------------------------------------------------
    # The manager's reports, over HTTP as the web client gets them
    # ------------------------------------------------------------------

    def _call_button(self, method, wizard_id):
        return self.make_jsonrpc_request(
            f"/web/dataset/call_button/{WIZARD}/{method}",
            {"model": WIZARD, "method": method, "args": [[wizard_id]], "kwargs": {}},
        )

    @staticmethod
    def _pdf_to_text(pdf):
        return run_poppler("pdftotext", pdf, "-layout")

    def test_manager_prints_pdf_and_downloads_xlsx(self):
        """The forecast of the whole company: PDF through /report/download, XLSX through
        /web/content, each with the salesperson's line and the grand total."""
        fresh = self.env["crm.lead"].create(
            {
                "name": "E2E Fresh Deal",
                "type": "opportunity",
                "user_id": self.eva.id,
                "stage_id": self.stage_proposal.id,
                "expected_revenue": 25000,
            }
        )
        lost = self.env["crm.lead"].create(
            {
                "name": "E2E Lost Deal",
                "type": "opportunity",
                "user_id": self.eva.id,
                "stage_id": self.stage_negotiation.id,
                "expected_revenue": 70000,
            }
        )
        lost.action_set_lost()
        self.assertEqual((fresh.probability, lost.probability), (60, 0))
        # wkhtmltopdf must not fetch the report's assets: from this test server they would wait
        # for the request's own cursor, and Debian's wkhtmltopdf draws web fonts as outlines
        # pdftotext cannot read (see test_forecast.py).
        self.env["ir.config_parameter"].set_param("report.url", "http://127.0.0.1:9")

        self.authenticate("e2e_mona", "e2e_mona")
        # The form's "Print PDF" and "Export XLSX" on a new wizard without filters
        saved = self.make_jsonrpc_request(
            f"/web/dataset/call_kw/{WIZARD}/web_save",
            {
                "model": WIZARD,
                "method": "web_save",
                "args": [[], {}],
                "kwargs": {"specification": {"id": {}}},
            },
        )
        wizard_id = saved[0]["id"]
        self.env.invalidate_all()
        wizard = self.env[WIZARD].with_user(self.manager).browse(wizard_id)
        self.assertEqual(wizard.create_uid, self.manager)
        summary = wizard._get_forecast_summary()
        eva_line = next(line for line in summary["user_id"] if line["record"] == self.eva)
        self.assertEqual(self._figures(eva_line), (2, 35000, 17500))
        total = summary["total"]
        self.assertGreater(total["count"], 2, "the demo pipeline is in the figures too")

        # PDF: the report action, downloaded the way the web client's downloadReport does
        action = self._call_button("action_print_pdf", wizard_id)
        self.assertEqual(action["type"], "ir.actions.report")
        self.assertEqual(action["report_type"], "qweb-pdf")
        report_url = f"/report/pdf/{action['report_name']}/{wizard_id}"
        response = self.url_open(
            "/report/download",
            params={
                "data": json.dumps([report_url, action["report_type"]]),
                # outside tests, Odoo renders the PDF itself: tests get HTML without this flag
                "context": json.dumps({"lang": "en_US", "force_report_rendering": True}),
            },
            timeout=60,
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"], "application/pdf")
        self.assertIn("Sales%20Forecast", response.headers["Content-Disposition"])
        self.assertTrue(response.content.startswith(b"%PDF"))
        text = self._pdf_to_text(response.content)
        self.assertIn("Sales Forecast", text)
        money = "{:,.2f}".format
        line_pattern = r"{}\s+{}\s+\S*\s*{}\s+\S*\s*{}"
        for name, count, expected, weighted in (
            ("Eva Forecast", 2, 35000, 17500),
            ("E2E Field Sales", 2, 35000, 17500),
            ("E2E Team", 2, 35000, 17500),
            ("Total", total["count"], total["expected_revenue"], total["prorated_revenue"]),
        ):
            pattern = line_pattern.format(
                re.escape(name), count, re.escape(money(expected)), re.escape(money(weighted))
            )
            self.assertRegex(text, pattern)
        # the details: Eva's opportunities (long names wrap in their cell)
        self.assertIn("E2E Fresh Deal", text)
        self.assertRegex(text, r"Subtotal Eva Forecast\s+\S*\s*35,000\.00\s+\S*\s*17,500\.00")
        self.assertNotIn("E2E Lost Deal", text)

        # XLSX: an URL action, downloaded with the manager's session
        action = self._call_button("action_export_xlsx", wizard_id)
        self.assertEqual(action["type"], "ir.actions.act_url")
        response = self.url_open(action["url"])
        self.assertEqual(response.status_code, 200)
        self.assertIn(".xlsx", response.headers["Content-Disposition"])
        book = openpyxl.load_workbook(io.BytesIO(response.content))
        summary_sheet, detail_sheet = book.worksheets
        rows = [row[:4] for row in summary_sheet.iter_rows(values_only=True) if any(row)]
        self.assertIn(("Eva Forecast", 2, 35000, 17500), rows)
        self.assertIn(("E2E Field Sales", 2, 35000, 17500), rows)
        self.assertIn(("E2E Team", 2, 35000, 17500), rows)
        grand_total = next(index for index, row in enumerate(rows) if row[0] == "Grand Total")
        self.assertEqual(
            rows[grand_total + 1],
            ("Total", total["count"], total["expected_revenue"], total["prorated_revenue"]),
        )
        detail_rows = list(detail_sheet.iter_rows(values_only=True))
        self.assertEqual(len(detail_rows), total["count"] + 2, "header, opportunities, total")
        details = {row[0]: row for row in detail_rows}
        self.assertEqual(
            details["E2E Fresh Deal"][2:11],
            (
                "Eva Forecast",
                "E2E Field Sales",
                "E2E Team",
                "E2E Direct Sale",
                "E2E Proposal",
                None,
                25000,
                60,
                15000,
            ),
        )
        self.assertNotIn("E2E Lost Deal", details)

        # The spreadsheet is the manager's: the salesperson cannot download it
        self.authenticate("e2e_eva", "e2e_eva")
        # Odoo logs the refusal as a warning: exactly that one is expected
        with self.assertLogs("odoo.http", "WARNING") as logs:
            response = self.url_open(action["url"])
        self.assertEqual(len(logs.records), 1, logs.output)
        self.assertIn("doesn't have 'read' access", logs.output[0])
        self.assertNotEqual(response.status_code, 200)
        self.assertFalse(response.content.startswith(b"PK"))
