# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Read-only entry points: Odoo serves them on a read replica (``--db_replica_host``).

The web client's ``call_kw``/``call_button`` route runs a method on the replica when the method
carries ``@api.readonly``; an HTTP route when it is declared ``readonly=True``. Such a call must
not write anything: on a replica the write fails (and Odoo replays the call on the primary).
"""

from types import SimpleNamespace

from odoo import api
from odoo.http import _request_stack
from odoo.tests import TransactionCase, tagged

from odoo.addons.crm_sales_process.controllers.main import SalesProcessXlsxController

READONLY_METHODS = {
    "crm.sales.process": ["get_kpis", "action_export_xlsx", "action_view_opportunities"],
    "crm.sales.process.analysis": [
        "get_filter_options",
        "get_analysis",
        "action_print_pdf",
    ],
    "crm.sales.forecast.wizard": ["action_print_pdf"],
    "crm.lead": ["action_view_sales_process_history"],
    "report.crm_sales_process.crm_sales_forecast_report_document": ["_get_report_values"],
    "report.crm_sales_process.crm_sales_process_report_template": ["_get_report_values"],
    "report.crm_sales_process.crm_sales_process_analysis_document": ["_get_report_values"],
}


def is_readonly(model, name):
    """As Odoo's call_kw route decides (web's DataSet._call_kw_readonly)."""
    for cls in type(model).mro():
        method = getattr(cls, name, None)
        if method is not None and hasattr(method, "_readonly"):
            return method._readonly
    return False


@tagged("post_install", "-at_install")
class TestReadonlyEntryPoints(TransactionCase):
    def test_methods_and_routes_are_readonly(self):
        for model, names in READONLY_METHODS.items():
            for name in names:
                with self.subTest(model=model, method=name):
                    self.assertTrue(is_readonly(self.env[model], name))
        # The spreadsheets' one route: on the replica, but for the forecast, whose wizard the
        # request before saved on the primary
        readonly = SalesProcessXlsxController.download_xlsx.original_routing["readonly"]
        _request_stack.push(SimpleNamespace(env=self.env))
        try:
            for name, expected in (("export", True), ("analysis", True), ("forecast", False)):
                with self.subTest(spreadsheet=name):
                    self.assertIs(readonly(None, None, {"name": name}), expected)
        finally:
            _request_stack.pop()
        # writes stay on the primary
        for model, name in (
            ("crm.sales.forecast.wizard", "action_export_xlsx"),
            ("crm.sales.process", "action_apply_observed_probabilities"),
            ("crm.lead", "action_set_won"),
        ):
            self.assertFalse(is_readonly(self.env[model], name))

    def test_readonly_calls_write_nothing(self):
        """Each read-only entry point runs in a read-only transaction (as on a replica, where
        any write raises) as the demo salesperson and as the administrator, on the demo data."""
        with self.registry.cursor() as cr:
            cr.execute("SET TRANSACTION READ ONLY")
            for login in ("base.user_demo", "base.user_admin"):
                env = api.Environment(cr, self.env.ref(login).id, {})
                processes = env["crm.sales.process"].search([])
                self.assertTrue(processes)
                kpis = processes.get_kpis(date_from="2020-01-01")
                self.assertEqual(len(kpis), len(processes))
                processes[0].action_view_opportunities()
                self.assertTrue(processes.action_export_xlsx()["url"])
                for name, ids in (("export", processes.ids), ("analysis", [])):
                    report = env[f"report.crm_sales_process.{name}_xlsx"]
                    self.assertTrue(report.create_xlsx_report(ids, {})[0])
                Analysis = env["crm.sales.process.analysis"]
                self.assertTrue(Analysis.get_filter_options())
                analysis = Analysis.get_analysis({})
                self.assertTrue(analysis["processes"])
                self.assertEqual(Analysis.action_print_pdf({})["type"], "ir.actions.report")
                values = env[
                    "report.crm_sales_process.crm_sales_process_analysis_document"
                ]._get_report_values(processes.ids, data={"filters": {}})
                self.assertTrue(values)
                values = env[
                    "report.crm_sales_process.crm_sales_process_report_template"
                ]._get_report_values(processes.ids)
                self.assertEqual(len(values["lines"]), len(processes))
                # the forecast: a wizard not saved (saving it is a write, made before)
                wizard = env["crm.sales.forecast.wizard"].new({"company_id": env.company.id})
                data = wizard._get_report_data()
                self.assertGreater(data["summary"]["total"]["count"], 0)
                lead = env["crm.lead"].search([("sales_process_id", "!=", False)], limit=1)
                self.assertTrue(lead.action_view_sales_process_history())
                # the pipeline's reads: columns of a process, cards with their step figures
                env["crm.lead"].web_read_group(
                    [("sales_process_id", "=", processes[0].id)], ["stage_id"], ["__count"]
                )
                lead.read(["sales_process_progress", "sales_process_checklist", "is_stalled"])
                env["crm.lead"].search_count([("is_my_sales_process", "=", True)])
                env["crm.lead"].search_count([("is_stalled", "=", True)])
            cr.rollback()
