# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import io
import re
from datetime import date

import openpyxl

from odoo.exceptions import AccessError, ValidationError
from odoo.fields import Domain
from odoo.tests import Form, tagged, users, warmup
from odoo.tools.safe_eval import safe_eval

from .common import SalesProcessBaseCommon, run_poppler


@tagged("post_install", "-at_install")
class TestForecast(SalesProcessBaseCommon):
    """Forecast figures on a small hand-computed data set.

    Company "Forecast Co" (so demo data stays out), two sales processes, three salespeople in
    two departments, two sales teams. Open opportunities (expected revenue × step % = weighted):

    ====  ========  ====  =======  ===========  ======  ===  ========  ==========
    lead  user      dept  team     process      step    %    expected  weighted
    ====  ========  ====  =======  ===========  ======  ===  ========  ==========
    L1    Alice     D1    Nord     Direct       Intro   10   1,000     100
    L2    Alice     D1    Nord     Direct       Offer   50   2,000     1,000
    L3    Bob       D1    Nord     Partner      Lead    20   5,000     1,000
    L4    Bob       D1    Sud      Partner      Deal    60   500       300
    L5    Carol     D2    Sud      Direct       Offer   50   3,000     1,500
    L6    Carol     D2    Sud      (none)       Intro   40   1,000     400
    ====  ========  ====  =======  ===========  ======  ===  ========  ==========

    Left out: a lost opportunity (Alice), a won one (Carol), a lead (Bob), all with large
    revenues so that including them would show.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls._create_company(
            name="Forecast Co", currency_id=cls.env.company.currency_id.id
        )
        Department = cls.env["hr.department"]
        cls.dept_1, cls.dept_2, cls.dept_3 = Department.create(
            [
                {"name": f"FC Department {number}", "company_id": cls.company.id}
                for number in (1, 2, 3)
            ]
        )
        cls.alice, cls.bob, cls.carol, cls.dave = (
            cls._create_salesperson(login, name, company=cls.company, department=department)
            for login, name, department in (
                ("fc_alice", "Alice Forecast", cls.dept_1),
                ("fc_bob", "Bob Forecast", cls.dept_1),
                ("fc_carol", "Carol Forecast", cls.dept_2),
                # Dave has no opportunity in the data set; the query count test gives him some.
                ("fc_dave", "Dave Forecast", cls.dept_3),
            )
        )
        cls.manager = cls._create_salesperson(
            "fc_manager",
            "Manager Forecast",
            groups="sales_team.group_sale_manager",
            company=cls.company,
        )
        Team = cls.env["crm.team"]
        cls.team_nord = Team.create({"name": "FC Nord", "company_id": cls.company.id})
        cls.team_sud = Team.create({"name": "FC Sud", "company_id": cls.company.id})

        names = ["FC Intro", "FC Offer", "FC Lead", "FC Deal", "FC Won"]
        stages = cls._create_stages(names, 201, won=["FC Won"])
        cls.stage_intro, cls.stage_offer, cls.stage_lead, cls.stage_deal = stages[:4]
        cls.stage_won = stages[4]
        Process = cls.env["crm.sales.process"]
        cls.direct = cls._create_process(
            "FC Direct",
            [(cls.stage_intro, 10), (cls.stage_offer, 50), (cls.stage_won, 100)],
            company_id=cls.company.id,
        )
        cls.partner_process = cls._create_process(
            "FC Partner",
            [(cls.stage_lead, 20), (cls.stage_deal, 60), (cls.stage_won, 100)],
            company_id=cls.company.id,
        )
        alice, bob, carol = cls.alice, cls.bob, cls.carol
        nord, sud = cls.team_nord, cls.team_sud
        direct, partner, none = cls.direct, cls.partner_process, Process
        intro, offer, lead, deal = cls.stage_intro, cls.stage_offer, cls.stage_lead, cls.stage_deal
        cls.leads = cls._create_leads(
            [
                ("L1", alice, nord, direct, intro, 10, 1000, "2026-01-15"),
                ("L2", alice, nord, direct, offer, 50, 2000, "2026-02-10"),
                ("L3", bob, nord, partner, lead, 20, 5000, "2026-02-20"),
                ("L4", bob, sud, partner, deal, 60, 500, "2026-03-05"),
                ("L5", carol, sud, direct, offer, 50, 3000, "2026-04-01"),
                ("L6", carol, sud, none, intro, 40, 1000, False),
            ]
        )
        excluded = cls._create_leads(
            [
                ("Lost", alice, nord, direct, offer, 50, 90000, "2026-02-01"),
                ("Won", carol, sud, direct, cls.stage_won, 100, 70000, "2026-02-01"),
                ("Lead", bob, nord, none, intro, 10, 40000, "2026-02-01"),
            ]
        )
        cls.lost, cls.won, cls.lead = excluded
        cls.lead.type = "lead"
        cls.lost.action_set_lost()

    @classmethod
    def _create_leads(cls, rows):
        return cls.env["crm.lead"].create(
            [
                {
                    "name": f"FC {name}",
                    "type": "opportunity",
                    "company_id": cls.company.id,
                    "user_id": user.id,
                    "team_id": team.id,
                    "sales_process_id": process.id,
                    "stage_id": stage.id,
                    "probability": probability,
                    "expected_revenue": revenue,
                    "date_deadline": deadline,
                }
                for name, user, team, process, stage, probability, revenue, deadline in rows
            ]
        )

    def _xlsx(self, wizard):
        """(content, file name) of the wizard's spreadsheet, as its download makes it."""
        return self.env["report.crm_sales_process.forecast_xlsx"].create_xlsx_report(wizard.ids, {})

    def _wizard(self, **values):
        return (
            self.env["crm.sales.forecast.wizard"]
            .with_company(self.company)
            .create({"company_id": self.company.id, **values})
        )

    def _figures(self, lines):
        """{name: (count, expected, weighted)} of summary lines."""
        return {
            line["name"]: (line["count"], line["expected_revenue"], line["prorated_revenue"])
            for line in lines
        }

    def _assertTotal(self, summary, count, expected, weighted):
        total = summary["total"]
        self.assertEqual(
            (total["count"], total["expected_revenue"], total["prorated_revenue"]),
            (count, expected, weighted),
        )

    def test_data_set(self):
        """The fixture is what the table in the docstring says (guards the hand figures)."""
        self.assertEqual(self.leads.mapped("prorated_revenue"), [100, 1000, 1000, 300, 1500, 400])
        self.assertEqual(self.leads.mapped("won_status"), ["pending"] * 6)
        self.assertEqual(
            self.leads.department_id, self.dept_1 | self.dept_2, "departments come from employees"
        )
        self.assertEqual((self.lost.active, self.lost.probability), (False, 0))
        self.assertEqual(self.won.won_status, "won")

    def test_summary_per_salesperson_department_team(self):
        """A manager's forecast without filters: every open opportunity, nothing else."""
        summary = self._wizard()._get_forecast_summary()
        self.assertEqual(
            self._figures(summary["user_id"]),
            {
                "Alice Forecast": (2, 3000, 1100),
                "Bob Forecast": (2, 5500, 1300),
                "Carol Forecast": (2, 4000, 1900),
            },
        )
        self.assertEqual(
            [line["name"] for line in summary["user_id"]],
            ["Alice Forecast", "Bob Forecast", "Carol Forecast"],
        )
        self.assertEqual(
            self._figures(summary["department_id"]),
            {"FC Department 1": (4, 8500, 2400), "FC Department 2": (2, 4000, 1900)},
        )
        self.assertEqual(
            self._figures(summary["team_id"]),
            {"FC Nord": (3, 8000, 2100), "FC Sud": (3, 4500, 2200)},
        )
        self._assertTotal(summary, 6, 12500, 4300)

    def test_forecast_categories_and_won(self):
        """Commit, best case (with commit), pipeline (all but omitted) and won in the period;
        a salesperson with only won opportunities gets a line of his own."""
        self.leads[1].forecast_category = "commit"  # L2 Alice 2,000
        self.leads[2].forecast_category = "best_case"  # L3 Bob 5,000
        self.leads[3].forecast_category = "omitted"  # L4 Bob 500
        dave_won = self._create_leads(
            [("Dave won", self.dave, self.team_nord, self.direct, self.stage_won, 100, 800, False)]
        )
        self.assertEqual(dave_won.forecast_category, "won")
        keys = ("commit_revenue", "best_case_revenue", "pipeline_revenue", "won_revenue")

        def figures(summary):
            lines = [*summary["user_id"], summary["total"]]
            return {line["name"]: tuple(line[key] for key in keys) for line in lines}

        self.assertEqual(
            figures(self._wizard()._get_forecast_summary()),
            {
                "Alice Forecast": (2000, 2000, 3000, 0),
                "Bob Forecast": (0, 5000, 5000, 0),
                "Carol Forecast": (0, 0, 4000, 70000),
                "Dave Forecast": (0, 0, 0, 800),
                "Total": (2000, 7000, 12000, 70800),
            },
        )
        # won today: outside a period in the past
        summary = self._wizard(date_to=date(2026, 6, 30))._get_forecast_summary()
        self.assertEqual(summary["total"]["won_revenue"], 0)
        self.assertNotIn("Dave Forecast", figures(summary))
        departments = {line["name"]: line["won_revenue"] for line in summary["department_id"]}
        self.assertEqual(departments["FC Department 2"], 0)
        book = openpyxl.load_workbook(io.BytesIO(self._xlsx(self._wizard())[0]))
        rows = [row for row in book.worksheets[0].iter_rows(values_only=True) if any(row)]
        self.assertIn(("Alice Forecast", 2, 3000, 1100, 0, 0, 2000, 2000, 3000, 0), rows)
        self.assertIn(("Dave Forecast", 0, 0, 0, 0, 0, 0, 0, 0, 800), rows)

    def test_summary_none_groups(self):
        """Opportunities without salesperson, team or department get their own "none" line."""
        self._create_leads(
            [
                (
                    "Nobody",
                    self.env["res.users"],
                    self.env["crm.team"],
                    self.direct,
                    self.stage_offer,
                    50,
                    800,
                    "2026-02-02",
                )
            ]
        )
        summary = self._wizard()._get_forecast_summary()
        self.assertEqual(summary["user_id"][-1]["name"], "No salesperson")
        self.assertEqual(self._figures(summary["user_id"])["No salesperson"], (1, 800, 400))
        self.assertEqual(self._figures(summary["department_id"])["No department"], (1, 800, 400))
        self.assertEqual(self._figures(summary["team_id"])["No sales team"], (1, 800, 400))
        self._assertTotal(summary, 7, 13300, 4700)

    def test_filters(self):
        """Period on the expected closing, team, department, salesperson and process."""
        wizard = self._wizard(date_from=date(2026, 2, 1), date_to=date(2026, 3, 31))
        summary = wizard._get_forecast_summary()
        self._assertTotal(summary, 3, 7500, 2300)  # L2, L3, L4
        self.assertEqual(
            self._figures(summary["team_id"]),
            {"FC Nord": (2, 7000, 2000), "FC Sud": (1, 500, 300)},
        )
        # open-ended periods; L6 has no expected closing, so any period leaves it out
        self._assertTotal(
            self._wizard(date_from=date(2026, 3, 1))._get_forecast_summary(), 2, 3500, 1800
        )
        self._assertTotal(
            self._wizard(date_to=date(2026, 1, 31))._get_forecast_summary(), 1, 1000, 100
        )
        self._assertTotal(
            self._wizard(team_ids=self.team_sud.ids)._get_forecast_summary(), 3, 4500, 2200
        )
        self._assertTotal(
            self._wizard(department_ids=self.dept_2.ids)._get_forecast_summary(), 2, 4000, 1900
        )
        self._assertTotal(
            self._wizard(user_ids=(self.alice | self.carol).ids)._get_forecast_summary(),
            4,
            7000,
            3000,
        )
        summary = self._wizard(process_ids=self.partner_process.ids)._get_forecast_summary()
        self._assertTotal(summary, 2, 5500, 1300)
        self.assertEqual(self._figures(summary["user_id"]), {"Bob Forecast": (2, 5500, 1300)})
        # filters combine
        self._assertTotal(
            self._wizard(
                team_ids=self.team_nord.ids, process_ids=self.direct.ids
            )._get_forecast_summary(),
            2,
            3000,
            1100,
        )

    def test_lost_and_restored(self):
        """Losing an opportunity takes it out of the forecast; restoring brings it back."""
        self.leads[1].action_set_lost()  # L2: 2,000 × 50 %
        self._assertTotal(self._wizard()._get_forecast_summary(), 5, 10500, 3300)
        self.leads[1].with_context(active_test=False).action_unarchive()
        self.leads[1].probability = 50
        self._assertTotal(self._wizard()._get_forecast_summary(), 6, 12500, 4300)

    def test_bad_period(self):
        """A period ending before it starts is refused, in the form and on create."""
        with self.assertRaisesRegex(ValidationError, "after its end"):
            self._wizard(date_from=date(2026, 3, 1), date_to=date(2026, 2, 1))
        wizard = self._wizard(date_from=date(2026, 2, 1), date_to=date(2026, 2, 1))
        self._assertTotal(wizard._get_forecast_summary(), 0, 0, 0)
        with self.assertRaises(ValidationError):
            wizard.date_to = date(2026, 1, 1)
        form = Form(self.env["crm.sales.forecast.wizard"].with_company(self.company))
        form.date_from = date(2026, 3, 1)
        form.date_to = date(2026, 2, 1)
        with self.assertRaises(ValidationError):
            form.save()

    @users("fc_alice")
    def test_salesperson_sees_own_forecast(self):
        """A salesperson's forecast holds only the opportunities the record rules show them."""
        wizard = self.env["crm.sales.forecast.wizard"].create({})
        self.assertEqual(wizard.company_id, self.company)
        summary = wizard._get_forecast_summary()
        self.assertEqual(self._figures(summary["user_id"]), {"Alice Forecast": (2, 3000, 1100)})
        self.assertEqual(
            self._figures(summary["department_id"]), {"FC Department 1": (2, 3000, 1100)}
        )
        self._assertTotal(summary, 2, 3000, 1100)
        # the spreadsheet works for them too, and nobody else may make it
        report = self.env["report.crm_sales_process.forecast_xlsx"]
        self.assertTrue(report.create_xlsx_report(wizard.ids, {})[0].startswith(b"PK"))
        with self.assertRaises(AccessError):
            report.with_user(self.bob).create_xlsx_report(wizard.ids, {})

    @users("fc_manager")
    def test_manager_sees_everything(self):
        wizard = self.env["crm.sales.forecast.wizard"].create({})
        self._assertTotal(wizard._get_forecast_summary(), 6, 12500, 4300)

    def test_pivot_action_domain(self):
        """The Pipeline Forecast pivot shows the same open pipeline as the report."""
        action = self.env.ref("crm_sales_process.crm_lead_action_pipeline_forecast")
        domain = Domain(safe_eval(action.domain)) & Domain("company_id", "=", self.company.id)
        Lead = self.env["crm.lead"]
        groups = Lead._read_group(
            domain, ["user_id"], ["__count", "expected_revenue:sum", "prorated_revenue:sum"]
        )
        self.assertEqual(
            {user.name: figures for user, *figures in groups},
            {
                "Alice Forecast": [2, 3000, 1100],
                "Bob Forecast": [2, 5500, 1300],
                "Carol Forecast": [2, 4000, 1900],
            },
        )
        [(count, expected, weighted)] = Lead._read_group(
            domain, [], ["__count", "expected_revenue:sum", "prorated_revenue:sum"]
        )
        self.assertEqual((count, expected, weighted), (6, 12500, 4300))
        # the process step is a grouping of the pivot's search view
        groups = Lead._read_group(domain, ["sales_process_step_id"], ["prorated_revenue:sum"])
        self.assertEqual(
            {step.name or False: total for step, total in groups},
            {"FC Intro": 100, "FC Offer": 2500, "FC Lead": 1000, "FC Deal": 300, False: 400},
        )
        # the views the action opens are its own pivot and graph, measuring both revenues
        views = Lead.get_views(
            [(view.view_id.id, view.view_mode) for view in action.view_ids]
            + [(action.search_view_id.id, "search")]
        )["views"]
        self.assertIn('name="prorated_revenue"', views["pivot"]["arch"])
        self.assertIn('name="expected_revenue"', views["pivot"]["arch"])
        self.assertIn('name="prorated_revenue"', views["graph"]["arch"])
        for filter_name in (
            "groupby_department",
            "group_by_sales_process",
            "groupby_sales_process_step",
        ):
            self.assertIn(f'name="{filter_name}"', views["search"]["arch"])

    def test_xlsx(self):
        """The spreadsheet: summary tables and every opportunity behind them."""
        wizard = self._wizard(date_from=date(2026, 1, 1))
        action = wizard.action_export_xlsx()
        self.assertEqual(action["url"], f"/crm_sales_process/forecast/xlsx?ids={wizard.id}")
        content, filename = self._xlsx(wizard)
        self.assertRegex(filename, r"^sales-forecast-\d{4}-\d\d-\d\d\.xlsx$")
        book = openpyxl.load_workbook(io.BytesIO(content))
        summary_sheet, detail_sheet = book.worksheets
        # the first four columns; the stalled figures follow (tests/test_step_playbook.py)
        rows = [row[:4] for row in summary_sheet.iter_rows(values_only=True) if any(row)]
        self.assertIn(("Alice Forecast", 2, 3000, 1100), rows)
        self.assertIn(("Bob Forecast", 2, 5500, 1300), rows)
        self.assertIn(("Carol Forecast", 1, 3000, 1500), rows)  # L6 has no closing date
        self.assertIn(("FC Department 1", 4, 8500, 2400), rows)
        self.assertIn(("FC Department 2", 1, 3000, 1500), rows)
        self.assertIn(("FC Nord", 3, 8000, 2100), rows)
        self.assertIn(("FC Sud", 2, 3500, 1800), rows)
        self.assertEqual(rows.count(("Total", 5, 11500, 3900)), 4)  # 3 tables, grand total
        grand_total = rows.index(next(row for row in rows if row[0] == "Grand Total"))
        self.assertEqual(rows[grand_total + 1], ("Total", 5, 11500, 3900))
        details = list(detail_sheet.iter_rows(values_only=True))
        self.assertEqual(details[0][0], "Opportunity")
        self.assertEqual(
            [(row[0], row[2], row[3], row[4], row[8], row[9], row[10]) for row in details[1:-1]],
            [
                ("FC L1", "Alice Forecast", "FC Department 1", "FC Nord", 1000, 10, 100),
                ("FC L2", "Alice Forecast", "FC Department 1", "FC Nord", 2000, 50, 1000),
                ("FC L3", "Bob Forecast", "FC Department 1", "FC Nord", 5000, 20, 1000),
                ("FC L4", "Bob Forecast", "FC Department 1", "FC Sud", 500, 60, 300),
                ("FC L5", "Carol Forecast", "FC Department 2", "FC Sud", 3000, 50, 1500),
            ],
        )
        self.assertEqual(details[1][5], "FC Direct")
        self.assertEqual(details[1][7].date(), date(2026, 1, 15))
        self.assertEqual((details[-1][0], details[-1][8], details[-1][10]), ("Total", 11500, 3900))

    def test_xlsx_cells(self):
        """Every opportunity row has the cells and formats of the first one; names are texts,
        whatever characters they hold."""
        self.leads[1].name = "=SUM(1+1) & <Ørsted> \x07"
        wizard = self._wizard(date_from=date(2026, 1, 1))
        book = openpyxl.load_workbook(io.BytesIO(self._xlsx(wizard)[0]))
        sheet = book.worksheets[1]
        first, second = sheet[2], sheet[3]
        # xlsxwriter keeps the control character as the file format escapes it (_x0007_)
        self.assertEqual(second[0].value, "=SUM(1+1) & <Ørsted> _x0007_")
        self.assertEqual(second[0].data_type, "s")
        self.assertEqual(second[7].value.date(), date(2026, 2, 10))
        self.assertEqual([cell.value for cell in second[8:]], [2000, 50, 1000])
        self.assertEqual(
            [cell.number_format for cell in first], [cell.number_format for cell in second]
        )
        self.assertEqual(sheet.auto_filter.ref, "A1:K6")
        self.assertEqual(sheet.freeze_panes, "A2")

    def _pdf_text(self, wizard):
        # The report's assets are made unreachable on purpose: whatever Odoo answers on the
        # base URL (possibly another database's server), Debian's wkhtmltopdf (unpatched Qt)
        # draws web fonts as outlines that pdftotext cannot read. With the system fonts the
        # same document keeps its text.
        self.env["ir.config_parameter"].set_param("report.url", "http://127.0.0.1:9")
        pdf, report_type = (
            self.env["ir.actions.report"]
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf("crm_sales_process.crm_sales_forecast_report_action", wizard.ids)
        )
        self.assertEqual(report_type, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))
        return run_poppler("pdftotext", pdf, "-layout")

    def test_pdf(self):
        """The PDF really renders (wkhtmltopdf) as one document with totals and details."""
        wizard = self._wizard()
        action = wizard.action_print_pdf()
        self.assertEqual(action["type"], "ir.actions.report")
        text = self._pdf_text(wizard)
        self.assertIn("Sales Forecast", text)
        self.assertIn("Forecast Categories", text)
        for expected in (
            "12,500.00",  # grand total expected revenue
            "4,300.00",  # grand total weighted revenue
            "Alice Forecast",
            "1,100.00",
            "FC Department 1",
            "2,400.00",
            "FC Sud",
            "2,200.00",
            "FC L3",  # details are listed below the limit
            "Subtotal Carol Forecast",
        ):
            self.assertIn(expected, text)
        self.assertNotIn("FC Lost", text)
        self.assertNotIn("FC Won", text)
        # one document: a single external layout (article) for the whole report
        html, _type = self.env["ir.actions.report"]._render_qweb_html(
            "crm_sales_process.crm_sales_forecast_report_action", wizard.ids
        )
        self.assertEqual(len(re.findall(rb'class="article\b', html)), 1)

    def test_pdf_over_detail_limit(self):
        """Above the detail limit the PDF shows the summary and points to the XLSX."""
        self.env["ir.config_parameter"].set_param(
            "crm_sales_process.forecast_pdf_detail_limit", "5"
        )
        wizard = self._wizard()
        report = self.env["ir.actions.report"]
        name = "crm_sales_process.crm_sales_forecast_report_action"
        values = report._get_rendering_context(report._get_report(name), wizard.ids, {})
        data = values["forecast"]
        self.assertFalse(data["with_details"])
        self.assertEqual(data["details"], [])
        self.assertEqual(data["detail_limit"], 5)
        self._assertTotal(data["summary"], 6, 12500, 4300)
        html = report._render_qweb_html(name, wizard.ids)[0]
        self.assertIn(b"XLSX", html)
        self.assertNotIn(b"FC L3", html)

    @warmup
    def test_query_count(self):
        """The figures take a fixed number of queries, however many opportunities."""
        # as a sales manager: record rules apply
        wizard = (
            self.env["crm.sales.forecast.wizard"]
            .with_user(self.manager)
            .create({"team_ids": (self.team_nord | self.team_sud).ids})
        )
        self.env.invalidate_all()
        # 3 aggregations + wizard + its 4 filters + labels of users/partners, departments, teams
        # + stalled figures: the stalled search (stock rotting, steps) and 3 aggregations
        # + 3 aggregations per forecast category, 1 of the won opportunities
        with self.assertQueryCount(23):
            summary = wizard._get_forecast_summary()
        self._assertTotal(summary, 6, 12500, 4300)
        # 30 more opportunities, of a salesperson of another department who had none: the
        # same count (creating users would clear Odoo's caches, so Dave exists beforehand)
        self._create_leads(
            [
                (
                    f"Extra {index}",
                    self.dave if index % 2 else self.alice,
                    self.team_sud,
                    self.direct,
                    self.stage_offer,
                    50,
                    100,
                    "2026-05-01",
                )
                for index in range(30)
            ]
        )
        self.env.flush_all()
        self.env.invalidate_all()
        with self.assertQueryCount(23):
            summary = wizard._get_forecast_summary()
        self._assertTotal(summary, 36, 15500, 5800)
        self.assertEqual(len(summary["user_id"]), 4)
