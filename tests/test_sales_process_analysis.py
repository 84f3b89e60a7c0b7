# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Sales Process Analysis: the data behind the dashboard, its PDF and its XLSX.

The KPIs themselves are computed by ``crm.sales.process.get_kpis`` and checked by hand in its
own tests; here the point is that the dashboard, the PDF and the XLSX show them for the right
processes and filters, with the fixed versus observed percentage of every step.
"""

import io
from datetime import timedelta

import openpyxl

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import SalesProcessCommon, run_poppler

REPORT = "crm_sales_process.crm_sales_process_analysis_report_action"
REPORT_NAME = "crm_sales_process.crm_sales_process_analysis_document"


class SalesProcessAnalysisCommon(SalesProcessCommon):
    """Alpha Analysis (0 %, 50 %, 75 %, 100 % won), four opportunities of Mona Manager
    moved through it the way users do:

    ========  ===============================  =========  ========
    deal      path                             outcome    revenue
    ========  ===============================  =========  ========
    Won       SP Lead → SP Offer → SP Won      won         10,000
    Lost      SP Lead → SP Offer               lost         4,000
    Offer     SP Lead → SP Offer               open         2,000
    New       SP Lead                          open         1,000
    ========  ===============================  =========  ========

    Sam Sales (salesperson, own documents only) has one opportunity of his own on SP Lead.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alpha = cls._create_process("Alpha Analysis", cls._standard_steps())
        cls.other = cls._create_process("Omega Analysis", cls._standard_steps())
        manager = {"user_id": cls.manager.id}
        cls.deal_won = cls._create_lead(cls.alpha, name="Won", expected_revenue=10000, **manager)
        cls.deal_lost = cls._create_lead(cls.alpha, name="Lost", expected_revenue=4000, **manager)
        cls.deal_offer = cls._create_lead(cls.alpha, name="Offer", expected_revenue=2000, **manager)
        cls.deal_new = cls._create_lead(cls.alpha, name="New", expected_revenue=1000, **manager)
        (cls.deal_won | cls.deal_lost | cls.deal_offer).write({"stage_id": cls.stage_offer.id})
        cls.deal_won.write({"stage_id": cls.stage_won.id})
        cls.deal_lost.action_set_lost()
        cls.deal_sam = cls._create_lead(
            cls.alpha, name="Sam's", expected_revenue=500, user_id=cls.salesman.id
        )
        cls.Analysis = cls.env["crm.sales.process.analysis"]

    def _report_values(self, filters=None, user=None, docids=None):
        report = self.env[f"report.{REPORT_NAME}"].with_user(user or self.env.user)
        return report._get_report_values(docids, data={"filters": filters or {}})

    def _process(self, analysis, process):
        return next(line for line in analysis["processes"] if line["process_id"] == process.id)


@tagged("post_install", "-at_install")
class TestSalesProcessAnalysisData(SalesProcessAnalysisCommon):
    def test_report_values(self):
        """The PDF gets one section per chosen process, KPIs and steps in step order."""
        values = self._report_values({"process_ids": self.alpha.ids})
        self.assertEqual(values["doc_model"], "crm.sales.process")
        self.assertEqual(values["docs"], self.alpha)
        analysis = values["analysis"]
        self.assertEqual(len(analysis["processes"]), 1)
        alpha = analysis["processes"][0]
        self.assertEqual(alpha["name"], "Alpha Analysis")
        self.assertEqual(
            (alpha["won_count"], alpha["lost_count"], alpha["closed_count"]), (1, 1, 2)
        )
        self.assertEqual(alpha["win_rate"], 50.0)
        self.assertEqual(alpha["opportunity_count"], 3)
        self.assertEqual(alpha["pipeline_value"], 3500.0)
        self.assertEqual(alpha["avg_won_amount"], 10000.0)
        steps = alpha["steps"]
        self.assertEqual(
            [step["name"] for step in steps], ["SP Lead", "SP Offer", "SP Verbal", "SP Won"]
        )
        self.assertEqual([step["number"] for step in steps], [1, 2, 3, 4])
        self.assertEqual([step["probability"] for step in steps], [0, 50, 75, 100])
        self.assertEqual(
            [step["probability_label"] for step in steps], ["0 %", "50 %", "75 %", "100 %"]
        )
        self.assertEqual([step["reached"] for step in steps], [5, 3, 0, 1])
        # The won opportunity counts as moved on on every step it reached, the won one included.
        self.assertEqual([step["moved_on"] for step in steps], [3, 1, 0, 1])
        self.assertEqual([step["open_count"] for step in steps], [2, 1, 0, 0])
        self.assertEqual(steps[0]["conversion_rate"], 60.0)
        self.assertEqual(alpha["max_reached"], 5)
        # the tiles and the steps table's columns: those of the KPI definitions
        self.assertEqual(
            [(tile["key"], tile["unit"]) for tile in alpha["tiles"]],
            [
                ("win_rate", "percent"),
                ("avg_cycle_days", "days"),
                ("avg_won_amount", "monetary"),
                ("velocity_per_day", "monetary"),
                ("conversion_rate", "percent"),
                ("opportunity_count", "count"),
                ("pipeline_value", "monetary"),
                ("weighted_value", "monetary"),
                ("avg_response_hours", "hours"),
                ("response_on_target_rate", "percent"),
                ("cadence_compliance", "percent"),
                ("stalled_count", "count"),
                ("avg_customer_value", "monetary"),
            ],
        )
        self.assertEqual(alpha["tiles"][0]["hint"], "1 won, 1 lost")
        self.assertEqual(alpha["tiles"][0]["value"], 50.0)
        self.assertEqual(
            [column["key"] for column in analysis["step_columns"]],
            [
                "reached",
                "moved_on",
                "conversion_rate",
                "win_rate_from_step",
                "avg_days",
                "median_days",
                "open_count",
                "key_activities_due",
                "cadence_compliance",
                "win_rate_on_time",
                "win_rate_late",
            ],
        )
        self.assertIn(("Period", "All time"), analysis["filter_descriptions"])
        self.assertIn(("Sales processes", "Alpha Analysis"), analysis["filter_descriptions"])
        self.assertEqual(values["currency"], self.env.company.currency_id)

    def test_fixed_percentage_not_rounded(self):
        """A step of 12.5 % shows as 12.50 %, as in the process PDF, not rounded to 13 %."""
        step = self.alpha._get_ordered_steps()[1]
        step.probability = 12.5
        values = self._report_values({"process_ids": self.alpha.ids})
        labels = [line["probability_label"] for line in values["analysis"]["processes"][0]["steps"]]
        self.assertEqual(labels[1], "12.50 %")

    def test_report_values_from_print_menu(self):
        """Printed from the processes' list (docids, no filters): those processes, all time."""
        values = self._report_values(docids=(self.other | self.alpha).ids)
        self.assertEqual(
            [line["name"] for line in values["analysis"]["processes"]],
            ["Alpha Analysis", "Omega Analysis"],
        )
        omega = self._process(values["analysis"], self.other)
        self.assertEqual(omega["win_rate"], 0)
        self.assertEqual(omega["max_reached"], 0)

    def test_observed_percentages(self):
        """Each step carries its fixed and observed %; a gap over 10 points is flagged."""
        steps = self._process(self.Analysis.get_analysis(), self.alpha)["steps"]
        by_name = {step["name"]: step for step in steps}
        for step in self.alpha.step_ids:
            line = by_name[step.name]
            self.assertEqual(line["observed_sample"], step.observed_sample)
            if step.observed_sample:
                self.assertEqual(line["observed_probability"], step.observed_probability)
                self.assertEqual(
                    line["deviates"], abs(step.observed_probability - step.probability) > 10
                )
            else:
                self.assertIs(line["observed_probability"], False)
                self.assertFalse(line["deviates"])
        # Two closed opportunities reached SP Lead, one was won: 50 % observed against 0 %.
        self.assertEqual(by_name["SP Lead"]["observed_sample"], 2)
        self.assertEqual(by_name["SP Lead"]["observed_probability"], 50)
        self.assertTrue(by_name["SP Lead"]["deviates"])
        self.assertFalse(by_name["SP Offer"]["deviates"])

    def test_filters(self):
        """Salesperson and period filters narrow the figures; an empty period gives zeros."""
        analysis = self.Analysis.get_analysis(
            {"process_ids": self.alpha.ids, "user_ids": self.salesman.ids}
        )
        alpha = analysis["processes"][0]
        self.assertEqual(alpha["opportunity_count"], 1)
        self.assertEqual([step["reached"] for step in alpha["steps"]], [1, 0, 0, 0])
        self.assertIn(("Salespeople", "Sam Sales"), analysis["filter_descriptions"])

        past = fields.Date.today() - timedelta(days=400)
        analysis = self.Analysis.get_analysis(
            {"process_ids": self.alpha.ids, "date_from": past, "date_to": past}
        )
        alpha = analysis["processes"][0]
        self.assertEqual((alpha["won_count"], alpha["win_rate"]), (0, 0))
        self.assertEqual([step["reached"] for step in alpha["steps"]], [0, 0, 0, 0])
        self.assertEqual(alpha["max_reached"], 0)

    def test_all_processes_by_default(self):
        """Without a process filter every active process the user may read is analysed."""
        self.other.active = False
        names = [line["name"] for line in self.Analysis.get_analysis()["processes"]]
        self.assertIn("Alpha Analysis", names)
        self.assertNotIn("Omega Analysis", names)

    def test_salesperson_sees_own_figures(self):
        """Sam (own documents only) sees the figures of his own opportunity, nothing else."""
        analysis = self.Analysis.with_user(self.salesman).get_analysis(
            {"process_ids": self.alpha.ids}
        )
        alpha = analysis["processes"][0]
        self.assertEqual((alpha["opportunity_count"], alpha["won_count"]), (1, 0))
        self.assertEqual(alpha["pipeline_value"], 500.0)

    def test_invalid_filters(self):
        """A reversed period or a malformed filter gets a clear error, not a traceback."""
        with self.assertRaisesRegex(UserError, "after its end"):
            self.Analysis.get_analysis({"date_from": "2026-03-01", "date_to": "2026-01-31"})
        with self.assertRaisesRegex(UserError, "not a valid date"):
            self.Analysis.get_analysis({"date_from": "31/01/2026"})
        with self.assertRaises(UserError):
            self.Analysis.get_analysis({"team_ids": ["north"]})

    def test_filter_options(self):
        options = self.Analysis.with_user(self.manager).get_filter_options()
        self.assertIn({"id": self.alpha.id, "name": "Alpha Analysis"}, options["processes"])
        self.assertIn({"id": self.team.id, "name": "Team Nord"}, options["teams"])
        self.assertIn({"id": self.department.id, "name": "Sales Nord"}, options["departments"])
        user_ids = [option["id"] for option in options["users"]]
        self.assertIn(self.salesman.id, user_ids)
        self.assertIn(self.manager.id, user_ids)

    def test_forecast_figures(self):
        """Commit, best case, pipeline, weighted and won per process: the forecast wizard's
        figures for the same opportunities (one rule for both, CATEGORY_FIGURES)."""
        self.deal_offer.forecast_category = "commit"
        self.deal_new.forecast_category = "best_case"
        self.deal_sam.forecast_category = "omitted"
        analysis = self.Analysis.get_analysis({"process_ids": self.alpha.ids})
        alpha = self._process(analysis, self.alpha)
        self.assertEqual(
            [(item["key"], item["value"]) for item in alpha["forecast"]],
            [
                ("commit_revenue", 2000),
                ("best_case_revenue", 3000),
                ("pipeline_revenue", 3000),  # Sam's omitted
                ("weighted_value", 1000),  # Offer 2,000 × 50 %
                ("won_revenue", 10000),
            ],
        )
        self.assertEqual(alpha["forecast"][0]["label"], "Commit")
        wizard = self.env["crm.sales.forecast.wizard"].create(
            {"company_id": self.env.company.id, "process_ids": self.alpha.ids}
        )
        total = wizard._get_forecast_summary()["total"]
        for key in ("commit_revenue", "best_case_revenue", "pipeline_revenue", "won_revenue"):
            self.assertEqual(alpha[key], total[key], key)
        self.assertEqual(alpha["weighted_value"], total["prorated_revenue"])

    def test_sources(self):
        """Lead quality per origin reaches the dashboard, the PDF and the XLSX as ``sources``
        of each process: the won and the lost deal came from a fair, the others from nowhere."""
        fair = self.env["utm.source"].create({"name": "Trade Fair"})
        (self.deal_won | self.deal_lost).source_id = fair
        alpha = self._process(
            self.Analysis.get_analysis({"process_ids": self.alpha.ids}), self.alpha
        )
        origins = {origin["source"]: origin for origin in alpha["sources"]}
        self.assertEqual(set(origins), {"Trade Fair", ""})
        self.assertEqual(
            {
                key: origins["Trade Fair"][key]
                for key in ("won_count", "lost_count", "win_rate", "avg_won_amount")
            },
            {"won_count": 1, "lost_count": 1, "win_rate": 50.0, "avg_won_amount": 10000.0},
        )
        self.assertEqual(origins[""]["created_count"], 3)
        content = self.env["report.crm_sales_process.analysis_xlsx"].create_xlsx_report(
            [], {"process_ids": self.alpha.ids}
        )[0]
        rows = list(
            openpyxl.load_workbook(io.BytesIO(content))["Sources"].iter_rows(values_only=True)
        )
        lines = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
        fair_line = next(line for line in lines if line["Source"] == "Trade Fair")
        self.assertEqual(fair_line["Sales Process"], "Alpha Analysis")
        self.assertEqual((fair_line["Won"], fair_line["Lost"]), (1, 1))
        self.assertEqual(fair_line["Win Rate (%)"], 50)
        self.assertEqual(fair_line["Average Won"], 10000)
        self.assertEqual(len(lines), 2)

    def test_print_action(self):
        """The dashboard's Print button: the PDF report with the dashboard's filters."""
        action = self.Analysis.action_print_pdf(
            {"process_ids": self.alpha.ids, "user_ids": self.salesman.ids}
        )
        self.assertEqual(action["type"], "ir.actions.report")
        self.assertEqual(action["report_name"], REPORT_NAME)
        self.assertEqual(action["data"]["filters"]["user_ids"], self.salesman.ids)
        self.assertEqual(action["context"]["active_ids"], self.alpha.ids)

    def test_xlsx(self):
        """The XLSX: a KPI sheet (one row per process) and a steps sheet, read back."""
        content, filename = self.env["report.crm_sales_process.analysis_xlsx"].create_xlsx_report(
            [], {"process_ids": (self.alpha | self.other).ids}
        )
        self.assertRegex(filename, r"^sales-process-analysis-\d{4}-\d\d-\d\d\.xlsx$")
        workbook = openpyxl.load_workbook(io.BytesIO(content))
        self.assertEqual(workbook.sheetnames, ["KPIs", "Steps", "Sources"])
        kpis = workbook["KPIs"]
        self.assertEqual(kpis["A1"].value, "Sales Process Analysis")
        rows = list(kpis.iter_rows(values_only=True))
        header_index = next(i for i, row in enumerate(rows) if row[0] == "Sales Process")
        header = rows[header_index]
        alpha = dict(zip(header, rows[header_index + 1], strict=True))
        self.assertEqual(alpha["Sales Process"], "Alpha Analysis")
        self.assertEqual(alpha["Win Rate (%)"], 50)
        self.assertEqual(alpha["Open Opportunities"], 3)
        self.assertEqual(alpha["Won"], 1)
        self.assertEqual(alpha["Lost"], 1)
        self.assertEqual(alpha["Pipeline"], 3500)
        self.assertEqual(alpha["Won in Period"], 10000)
        self.assertIn("Commit", alpha)
        # hours and days say their unit in the title, the cells are numbers
        self.assertIsInstance(alpha["Time to Respond (hours)"], (int, float))
        self.assertEqual(alpha["Currency"], self.env.company.currency_id.name)
        self.assertEqual(rows[header_index + 2][0], "Omega Analysis")

        steps = list(workbook["Steps"].iter_rows(values_only=True))
        header = steps[0]
        lines = [dict(zip(header, row, strict=True)) for row in steps[1:]]
        alpha_steps = [line for line in lines if line["Sales Process"] == "Alpha Analysis"]
        self.assertEqual(
            [line["Step"] for line in alpha_steps], ["SP Lead", "SP Offer", "SP Verbal", "SP Won"]
        )
        self.assertEqual([line["Reached"] for line in alpha_steps], [5, 3, 0, 1])
        self.assertEqual([line["Fixed %"] for line in alpha_steps], [0, 50, 75, 100])
        self.assertEqual(alpha_steps[0]["Observed %"], 50)
        self.assertEqual(alpha_steps[0]["Closed Behind Observed %"], 2)
        self.assertIsNone(alpha_steps[2]["Observed %"])
        self.assertEqual(len(lines), 8)


@tagged("post_install", "-at_install")
class TestSalesProcessAnalysisPdf(SalesProcessAnalysisCommon):
    """The real PDF, read back with pdftotext (see test_sales_process_report.py for why the
    stylesheets point at a closed port)."""

    def setUp(self):
        super().setUp()
        self.env["ir.config_parameter"].sudo().set_param("report.url", "http://127.0.0.1:9")

    @mute_logger("odoo.addons.base.models.ir_actions_report")
    def test_pdf(self):
        pdf, report_format = (
            self.env["ir.actions.report"]
            .with_user(self.manager)
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf(
                REPORT,
                (self.alpha | self.other).ids,
                data={"filters": {"process_ids": (self.alpha | self.other).ids}},
            )
        )
        self.assertEqual(report_format, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))
        text = run_poppler("pdftotext", pdf, "-layout")
        for expected in (
            "Sales Process Analysis",
            "Alpha Analysis",
            "Omega Analysis",
            "Win Rate",
            "50.0 %",
            "Funnel",
            "SP Lead",
            "SP Offer",
            "SP Verbal",
            "60 % to next",
            "Observed %",
            "Forecast",
            "Best Case",
            "Won in Period",
            "Lead Sources",
            "Average Won",
        ):
            self.assertIn(expected, text)
        # the response time tile in working hours
        self.assertRegex(text, r"Time to Respond[\s\S]{0,400}?\d h\b")
        self.assertLess(text.index("Alpha Analysis"), text.index("Omega Analysis"))
        self.assertEqual(text.count("Sales Process Analysis"), 1, "one document, one title")
