# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime
import io

import openpyxl

from odoo.exceptions import UserError
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from .common import SalesProcessCommon, SalesProcessSampleCommon


@tagged("post_install", "-at_install")
class TestSalesProcessExport(SalesProcessSampleCommon):
    """Export dialog (CSV/Excel) and the formatted Excel workbook."""

    def test_export_dialog_fields(self):
        """Export (CSV and Excel alike) gives processes and their steps with percentages."""
        exportable = self.env["crm.sales.process.step"].fields_get(attributes=["exportable"])
        for name in ("number", "name", "stage_id", "probability"):
            self.assertTrue(exportable[name]["exportable"], name)
        rows = self.processes.export_data(
            ["name", "default_for", "active", "step_count", "step_ids/name", "step_ids/probability"]
        )["datas"]
        self.assertEqual(
            rows[0][:5], ["Alpha Solution Sale", "Sales Teams: Team Nord", True, 4, "SP Lead"]
        )
        self.assertEqual([row[5] for row in rows[:4]], [0.0, 50.0, 75.0, 100.0])
        self.assertEqual(rows[1][0], "")  # further steps of the same process
        self.assertEqual(rows[4][0], "Beta Quick Sale")
        self.assertEqual(rows[4][5], 12.5)
        step_rows = self.alpha.step_ids.export_data(["process_id/name", "number", "name"])["datas"]
        self.assertEqual(step_rows[2], ["Alpha Solution Sale", 3, "SP Verbal"])

    def test_export_needs_export_right(self):
        """Odoo's export right applies: a manager without it cannot use the Export dialog."""
        with self.assertRaises(UserError):
            self.processes.with_user(self.manager).export_data(["name"])
        self.manager.group_ids += self.env.ref("base.group_allow_export")
        rows = self.processes.with_user(self.manager).export_data(["name"])["datas"]
        self.assertEqual(rows, [["Alpha Solution Sale"], ["Beta Quick Sale"]])

    def test_xlsx_workbook(self):
        """The formatted workbook has a Sales Processes sheet and a Steps sheet."""
        report = self.env["report.crm_sales_process.export_xlsx"].with_user(self.salesman)
        content, filename = report.create_xlsx_report(self.processes.ids, {})
        self.assertEqual(filename, "Sales Processes.xlsx")
        workbook = openpyxl.load_workbook(io.BytesIO(content))
        self.assertEqual(workbook.sheetnames, ["Sales Processes", "Steps"])
        sheet = workbook["Sales Processes"]
        header = [cell.value for cell in sheet[1]]
        self.assertEqual(header[:6], ["ID", "Name", "Default For", "Active", "Steps", "In Use"])
        self.assertTrue(sheet["A1"].font.b)
        self.assertEqual(sheet.freeze_panes, "A2")
        rows = list(sheet.iter_rows(min_row=2, values_only=True))
        self.assertEqual(len(rows), 2)
        self.assertEqual(
            rows[0][:6],
            (self.alpha.id, "Alpha Solution Sale", "Sales Teams: Team Nord", "Yes", 4, 0),
        )
        self.assertEqual(rows[1][1:4], ("Beta Quick Sale", "Nobody", "No"))
        self.assertEqual(rows[0][11], "Qualify with BANT first.")
        self.assertEqual((rows[0][7], rows[0][9]), ("MM", "MM"))  # Mona Manager
        self.assertIsInstance(rows[0][8], datetime.datetime)  # a real date cell
        steps = workbook["Steps"]
        self.assertEqual(
            [cell.value for cell in steps[1]][:4], ["Sales Process", "No.", "Name", "%"]
        )
        step_rows = list(steps.iter_rows(min_row=2, values_only=True))
        self.assertEqual(len(step_rows), 6)
        self.assertEqual(step_rows[1][:4], ("Alpha Solution Sale", 2, "SP Offer", 0.5))
        self.assertEqual(step_rows[4][:4], ("Beta Quick Sale", 1, "SP Lead", 0.125))
        self.assertEqual(steps["D3"].number_format, "0%")
        self.assertEqual(steps["D6"].number_format, "0.00%")

    def test_xlsx_action(self):
        """Actions > Export to Excel downloads the workbook of the selected processes."""
        action = self.env.ref("crm_sales_process.crm_sales_process_action_export_xlsx")
        self.assertEqual(action.binding_model_id.model, "crm.sales.process")
        result = (
            action.with_user(self.salesman)
            .with_context(active_model="crm.sales.process", active_ids=self.processes.ids)
            .run()
        )
        self.assertEqual(result["type"], "ir.actions.act_url")
        self.assertEqual(
            result["url"], f"/crm_sales_process/export/xlsx?ids={self.alpha.id},{self.beta.id}"
        )


@tagged("post_install", "-at_install")
class TestSalesProcessExportRoute(HttpCase, SalesProcessCommon):
    """The download route answers the workbook, within the user's access rights."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.process = cls._create_process("Routed Sale", cls._standard_steps())
        cls.process_b = cls._create_process("Hidden B", company_id=cls.company_b.id)
        cls.reader = cls._create_salesperson("sp_reader", "Rita Reader")

    def test_download(self):
        self.authenticate("sp_reader", "sp_readerxx")
        response = self.url_open(f"/crm_sales_process/export/xlsx?ids={self.process.id}")
        self.assertEqual(response.status_code, 200)
        self.assertIn("spreadsheetml", response.headers["Content-Type"])
        self.assertIn(".xlsx", response.headers["Content-Disposition"])
        sheet = openpyxl.load_workbook(io.BytesIO(response.content))["Sales Processes"]
        self.assertEqual(sheet["B2"].value, "Routed Sale")

    def test_unknown_spreadsheet(self):
        """The spreadsheets' route serves the addon's spreadsheets only."""
        self.authenticate("sp_reader", "sp_readerxx")
        for name in ("nothing", "abstract", "crm_sales_process_report_template"):
            with self.subTest(name=name):
                response = self.url_open(f"/crm_sales_process/{name}/xlsx?ids={self.process.id}")
                self.assertEqual(response.status_code, 404)

    @mute_logger("odoo.http")  # the expected access error is logged as a warning
    def test_download_refused(self):
        """Another company's process, bad ids or no login give no workbook."""
        self.authenticate("sp_reader", "sp_readerxx")
        response = self.url_open(
            f"/crm_sales_process/export/xlsx?ids={self.process.id},{self.process_b.id}"
        )
        self.assertEqual(response.status_code, 403)
        self.assertNotIn(b"Hidden B", response.content)
        self.assertEqual(self.url_open("/crm_sales_process/export/xlsx?ids=x").status_code, 400)
        self.assertEqual(self.url_open("/crm_sales_process/export/xlsx?ids=").status_code, 404)
        self.logout()
        response = self.url_open(
            f"/crm_sales_process/export/xlsx?ids={self.process.id}", allow_redirects=False
        )
        self.assertNotEqual(response.status_code, 200)
