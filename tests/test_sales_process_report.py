# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields
from odoo.tests import HttpCase, tagged
from odoo.tools.safe_eval import safe_eval

from .common import SalesProcessSampleCommon, run_poppler

REPORT = "crm_sales_process.crm_sales_process_action_report"


@tagged("post_install", "-at_install")
class TestSalesProcessReportContent(SalesProcessSampleCommon):
    """What Print > Sales Processes shows, from the report's values."""

    def _report_values(self, processes, user=None):
        user = user or self.env.user
        # as the web client prints: in the user's language
        report = self.env["ir.actions.report"].with_user(user).with_context(lang=user.lang)
        return report._get_rendering_context(report._get_report(REPORT), processes.ids, {})

    def test_values_two_processes(self):
        """Two processes (one archived) in one document, steps with their percentages."""
        values = self._report_values(self.processes, self.salesman)
        self.assertEqual(values["docs"], self.processes)
        alpha, beta = values["lines"]
        self.assertEqual(
            {key: alpha[key] for key in ("name", "default_for", "active", "note")},
            {
                "name": "Alpha Solution Sale",
                "default_for": "Sales Teams: Team Nord",
                "active": True,
                "note": "Qualify with BANT first.",
            },
        )
        self.assertEqual(
            [(step["number"], step["name"], step["percentage"]) for step in alpha["steps"]],
            [
                (1, "SP Lead", "0 %"),
                (2, "SP Offer", "50 %"),
                (3, "SP Verbal", "75 %"),
                (4, "SP Won", "100 %"),
            ],
        )
        # the PDF's row shows them as one text, each step kept on one line
        self.assertEqual(
            alpha["steps_label"].replace("\N{NO-BREAK SPACE}", "_"),
            "1._SP Lead_0_% · 2._SP Offer_50_% · 3._SP Verbal_75_% · 4._SP Won_100_%",
        )
        self.assertEqual(
            (beta["name"], beta["default_for"], beta["active"]),
            ("Beta Quick Sale", "Nobody", False),
        )
        self.assertEqual([step["percentage"] for step in beta["steps"]], ["12.50 %", "100 %"])

    def test_values_columns(self):
        """The list's columns, as the workbook's sheet has them, then the steps."""
        values = self._report_values(self.processes, self.salesman)
        self.assertEqual(
            [column["title"] for column in values["columns"]],
            ["ID", "Name", "Default For", "Steps", "In Use", "Last Modified", "By"],
        )
        alpha, beta = values["lines"]
        # in the reader's time zone, language's date and time format, to the minute
        lang = self.env["res.lang"]._get_data(code=self.salesman.lang or "en_US")
        last_modified = fields.Datetime.context_timestamp(
            self.alpha.with_user(self.salesman), self.alpha.write_date
        ).strftime(f"{lang.date_format} {lang.time_format.replace(':%S', '')}")
        self.assertEqual(
            alpha["cells"],
            [
                str(self.alpha.id),
                "Alpha Solution Sale",
                "Sales Teams: Team Nord",
                "4",
                "0",
                last_modified,
                "MM",
            ],
        )
        self.assertEqual(beta["cells"][1:5], ["Beta Quick Sale", "Nobody", "2", "0"])
        html = self.env["ir.actions.report"]._render_qweb_html(REPORT, self.processes.ids)[0]
        for text in (b"Last Modified", b"In Use", b"(archived)", b"SP Offer"):
            self.assertIn(text, html)

    def test_values_company_header(self):
        """The company heading the document and its address, in lines without blank ones."""
        self.env.company.partner_id.write(
            {"street": "Strandkaien 2", "street2": False, "zip": "5013", "city": "Bergen"}
        )
        values = self._report_values(self.processes, self.salesman)
        self.assertEqual(values["company"], self.env.company)
        lines = values["company_address"].splitlines()
        self.assertEqual(lines[0], "Strandkaien 2")
        self.assertTrue(any("Bergen" in line for line in lines))
        self.assertTrue(all(line.strip() for line in lines))
        self.assertNotIn(self.env.company.name, values["company_address"])

    def test_values_in_user_language(self):
        """Percentages follow the reader's number format."""
        self.env["res.lang"]._activate_lang("da_DK")
        self.salesman.lang = "da_DK"
        values = self._report_values(self.beta, self.salesman)
        self.assertEqual(values["lines"][0]["steps"][0]["percentage"], "12,50 %")

    def test_html_one_process(self):
        """Printing one process from its form: its own document and file name."""
        html = self.env["ir.actions.report"]._render_qweb_html(REPORT, self.alpha.ids)[0]
        self.assertIn(b"Alpha Solution Sale", html)
        self.assertNotIn(b"Beta Quick Sale", html)
        self.assertEqual(html.count(b"<h2>Sales Processes</h2>"), 1)
        report = self.env.ref(REPORT)
        self.assertEqual(report.binding_model_id.model, "crm.sales.process")
        # The file name, as the web client's report controller computes it
        self.assertEqual(
            safe_eval(report.print_report_name, {"object": self.alpha}),
            "Sales Process - Alpha Solution Sale",
        )


@tagged("post_install", "-at_install")
class TestSalesProcessReportStyled(HttpCase, SalesProcessSampleCommon):
    """With the test web server up, wkhtmltopdf renders the styled report as in production."""

    def test_pdf_styled_many_processes(self):
        """Many processes print as one styled document without any wkhtmltopdf error.

        Debian's wkhtmltopdf (unpatched Qt) fails when a print holds several documents, so the
        report must be one document: this checks it stays one for forty processes, a row
        each, over several pages.
        """
        processes = self.processes
        for index in range(40):
            processes |= self._create_process(f"Process {index:02}", self._standard_steps())
        self.env.company.partner_id.write({"street": "Strandkaien 2", "city": "Bergen"})
        with self.assertNoLogs("odoo.addons.base.models.ir_actions_report", level="WARNING"):
            pdf, report_format = (
                self.env["ir.actions.report"]
                .with_context(force_report_rendering=True)
                ._render_qweb_pdf(REPORT, processes.ids)
            )
        self.assertEqual(report_format, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))
        info = run_poppler("pdfinfo", pdf)
        pages = int(
            next(line for line in info.splitlines() if line.startswith("Pages:")).split()[1]
        )
        self.assertGreaterEqual(pages, 2)
        self.assertLess(pages, len(processes))
        # The table's text is real text (a font the PDF embeds), not glyphs drawn as paths
        text = run_poppler("pdftotext", pdf)
        self.assertIn("Process 39", text)
        self.assertIn("Alpha Solution Sale", text)
        # The company's header opens the document (name and city), once, not on every page
        company = self.env.company
        first_page = run_poppler("pdftotext", pdf, "-f", "1", "-l", "1")
        self.assertIn(company.name, first_page)
        self.assertIn("Strandkaien 2", first_page)
        self.assertIn("Bergen", first_page)
        self.assertEqual(text.count(company.name), 1)

    def test_pdf_light_page(self):
        """The PDF's page loads the addon's one style sheet, not the report bundle, and
        wkhtmltopdf gets no per-page header or footer document to load for every page."""
        report = self.env["ir.actions.report"]._get_report(REPORT)
        html = self.env["ir.actions.report"]._render_qweb_html(REPORT, self.processes.ids)[0]
        bodies, __, header, footer, __ = report._prepare_html(html, report_model=report.model)
        self.assertEqual(len(bodies), 1)
        self.assertIn("crm_sales_process.report_assets_process", bodies[0])
        self.assertNotIn("web.report_assets_common", bodies[0])
        self.assertIn("Alpha Solution Sale", bodies[0])
        args = (
            self.env["ir.actions.report"]
            .with_context(crm_sales_process_light=True, crm_sales_process_scriptless=True)
            ._build_wkhtmltopdf_args(report.get_paperformat(), False)
        )
        self.assertNotIn("--header-html", args)
        self.assertEqual(args[args.index("--margin-top") + 1], "12")
        self.assertEqual(args[args.index("--javascript-delay") + 1], "0")
        # Other reports keep Odoo's layout
        self.assertEqual(
            self.env.ref("crm_sales_process.crm_sales_forecast_report_action")._get_layout(),
            self.env.ref("web.minimal_layout"),
        )
