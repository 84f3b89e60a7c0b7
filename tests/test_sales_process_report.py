# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.fields import Command
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger
from odoo.tools.safe_eval import safe_eval

from .common import SalesProcessCommon, run_poppler

REPORT = "crm_sales_process.crm_sales_process_action_report"


class SalesProcessReportCommon(SalesProcessCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alpha = cls._create_process(
            "Alpha Solution Sale",
            cls._standard_steps(),
            note="Qualify with BANT first.",
            default_scope="team",
            default_team_ids=[Command.set(cls.team.ids)],
        )
        cls.beta = cls._create_process(
            "Beta Quick Sale",
            [(cls.stage_lead, 12.5), (cls.stage_won, 100)],
            active=False,
        )
        cls.processes = cls.alpha | cls.beta

    def _render_pdf(self, processes, user=None):
        """Real PDF bytes from wkhtmltopdf (tests otherwise get HTML)."""
        pdf, report_format = (
            self.env["ir.actions.report"]
            .with_user(user or self.env.user)
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf(REPORT, processes.ids)
        )
        self.assertEqual(report_format, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))
        return pdf

    def _poppler(self, tool, pdf, *args):
        return run_poppler(tool, pdf, *args)


@tagged("post_install", "-at_install")
class TestSalesProcessReportContent(SalesProcessReportCommon):
    """What Print > Sales Processes says, read back from the PDF with pdftotext.

    Without a running web server wkhtmltopdf cannot load the report stylesheets; it then
    falls back to system fonts, whose text pdftotext can read (the styled web fonts are
    drawn as outlines by Debian's wkhtmltopdf). The stylesheet URL points at a closed port
    so this does not depend on whatever else listens on this machine, and the expected
    "network error" warning of that fallback is muted.
    """

    def setUp(self):
        super().setUp()
        self.env["ir.config_parameter"].sudo().set_param("report.url", "http://127.0.0.1:9")

    @mute_logger("odoo.addons.base.models.ir_actions_report")
    def test_pdf_two_processes(self):
        """Two processes (one archived) in one document, steps with their percentages."""
        text = self._poppler(
            "pdftotext", self._render_pdf(self.processes, self.salesman), "-layout"
        )
        for expected in (
            "Sales Processes",
            "Alpha Solution Sale",
            "Sales Teams: Team Nord",
            "Qualify with BANT first.",
            "SP Offer",
            "50 %",
            "SP Verbal",
            "75 %",
            "Beta Quick Sale",
            "Nobody",
            "No (archived)",
            "12.50 %",
            "100 %",
        ):
            self.assertIn(expected, text)
        self.assertLess(text.index("Alpha Solution Sale"), text.index("Beta Quick Sale"))
        self.assertEqual(text.count("Sales Processes"), 1, "one document, one title")

    @mute_logger("odoo.addons.base.models.ir_actions_report")
    def test_pdf_one_process(self):
        """Printing one process from its form gives its own file name."""
        text = self._poppler("pdftotext", self._render_pdf(self.alpha))
        self.assertIn("Alpha Solution Sale", text)
        self.assertNotIn("Beta Quick Sale", text)
        report = self.env.ref(REPORT)
        self.assertEqual(report.binding_model_id.model, "crm.sales.process")
        # The file name, as the web client's report controller computes it
        self.assertEqual(
            safe_eval(report.print_report_name, {"object": self.alpha}),
            "Sales Process - Alpha Solution Sale",
        )


@tagged("post_install", "-at_install")
class TestSalesProcessReportStyled(HttpCase, SalesProcessReportCommon):
    """With the test web server up, wkhtmltopdf renders the styled report as in production."""

    def test_pdf_styled_many_processes(self):
        """Many processes print as one styled document without any wkhtmltopdf error.

        Debian's wkhtmltopdf (unpatched Qt) fails when a print holds several documents, so the
        report must be one document: this checks it stays one for a dozen processes.
        """
        processes = self.processes
        for index in range(10):
            processes |= self._create_process(f"Process {index:02}", self._standard_steps())
        with self.assertNoLogs("odoo.addons.base.models.ir_actions_report", level="WARNING"):
            pdf = self._render_pdf(processes)
        info = self._poppler("pdfinfo", pdf)
        pages = int(
            next(line for line in info.splitlines() if line.startswith("Pages:")).split()[1]
        )
        self.assertGreaterEqual(pages, 2)
        self.assertLess(pages, len(processes))
