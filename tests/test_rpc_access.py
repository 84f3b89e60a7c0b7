# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Access per group over HTTP: real users logged in, calling RPC and the report and download
routes as the web client does (not only the ORM).

Groups: salesperson "own documents only", salesperson "all leads", sales manager of company A,
sales manager of company B, portal user, and nobody logged in.
"""

import json

from odoo import http
from odoo.fields import Command
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .test_rpc_bad_input import RpcSweepCommon

REPORT_PROCESS = "crm_sales_process.crm_sales_process_report_template"
REPORT_FORECAST = "crm_sales_process.crm_sales_forecast_report_document"
REPORT_ANALYSIS = "crm_sales_process.crm_sales_process_analysis_document"
ADDON_MODELS = (
    "crm.sales.process",
    "crm.sales.process.step",
    "crm.sales.process.step.activity",
    "crm.sales.process.history",
)


@tagged("post_install", "-at_install")
class TestRpcAccess(RpcSweepCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.own_only = cls._create_salesperson("sweep_own_only", "Sweep Own Only")
        cls.all_leads = cls._create_salesperson(
            "sweep_all_leads", "Sweep All Leads", groups="sales_team.group_sale_salesman_all_leads"
        )
        cls.portal = new_test_user(cls.env, login="sweep_portal", groups="base.group_portal")
        # an opportunity of another salesperson of company A, with its step history
        cls.lead_other_user = cls._create_lead(
            cls.process_a, cls.stage_offer, user_id=cls.manager_a.id, name="Not Mine"
        )
        cls.lead_a.user_id = cls.own_only
        cls.history_other_user = cls.lead_other_user.sales_process_history_ids[:1]

    def setUp(self):
        super().setUp()
        # the refusals are logged as warnings: expected here
        self.enterContext(mute_logger("odoo.http", "odoo.addons.rpc.controllers.xmlrpc"))

    def _records(self, company):
        if company == "a":
            return {
                "crm.sales.process": self.process_a,
                "crm.sales.process.step": self.step_a,
                "crm.sales.process.step.activity": self.activity_a,
                "crm.sales.process.history": self.history_a,
            }
        return {
            "crm.sales.process": self.process_b,
            "crm.sales.process.step": self.step_b,
            "crm.sales.process.step.activity": self.activity_b,
            "crm.sales.process.history": self.history_b,
        }

    def _create_values(self, model, company):
        records = self._records(company)
        company_id = (self.company_a if company == "a" else self.company_b).id
        return {
            "crm.sales.process": {"name": "Intruder", "company_id": company_id},
            "crm.sales.process.step": {
                "process_id": records["crm.sales.process"].id,
                "stage_id": self.stage_spare.id,
            },
            "crm.sales.process.step.activity": {
                "step_id": records["crm.sales.process.step"].id,
                "summary": "Intruder",
            },
            "crm.sales.process.history": {
                "lead_id": self.lead_a.id,
                "process_id": self.process_a.id,
                "step_id": self.step_a.id,
                "date_in": "2026-01-01 00:00:00",
            },
        }[model]

    def _assert_refused(self, call, label, errors=("odoo.exceptions.AccessError",)):
        with self.env.cr.savepoint() as savepoint:
            before = self._fingerprint()
            ok, payload = call()
            self.assertFalse(ok, f"{label}: allowed")
            self.assertIn(payload["name"], errors, f"{label}: {payload}")
            self.assertEqual(self._fingerprint(), before, f"{label}: database changed")
            savepoint.rollback()
        self.env.invalidate_all()

    def _write_field(self, model):
        return {
            "crm.sales.process": "enforce_step_order",
            "crm.sales.process.step": "probability",
            "crm.sales.process.step.activity": "delay_days",
            "crm.sales.process.history": "probability",
        }[model]

    def _assert_no_write_access(self, login, company):
        """``login`` can neither create, write nor delete the addon's records of company."""
        self.authenticate(login, login)
        for model, record in self._records(company).items():
            for method, args in (
                ("create", [self._create_values(model, company)]),
                ("write", [record.ids, {self._write_field(model): 1}]),
                ("unlink", [record.ids]),
            ):
                self._assert_refused(
                    lambda m=model, meth=method, a=args: self._jsonrpc(m, meth, a),
                    f"{login}: {model}.{method} of company {company}",
                    # company B's records cannot even be read, which may be said first
                    errors=("odoo.exceptions.AccessError", "odoo.exceptions.ValidationError")
                    if company == "b"
                    else ("odoo.exceptions.AccessError",),
                )

    def _assert_cannot_read(self, login, company):
        """``login`` sees nothing of company's processes, steps, key activities, history."""
        self.authenticate(login, login)
        for model, record in self._records(company).items():
            ok, payload = self._jsonrpc(model, "read", [record.ids, ["display_name"]])
            self.assertFalse(ok, f"{login} read {model} of company {company}")
            self.assertEqual(payload["name"], "odoo.exceptions.AccessError")
            ok, ids = self._jsonrpc(model, "search", [[("id", "=", record.id)]])
            self.assertTrue(ok)
            self.assertEqual(ids, [], f"{login} found {model} of company {company}")

    def _get(self, url):
        response = self.url_open(url, allow_redirects=False)
        return response.status_code, response.content

    def _assert_report_refused(self, report, docids, secret):
        for converter in ("pdf", "html"):
            status, content = self._get(f"/report/{converter}/{report}/{docids}")
            self.assertNotEqual(status, 200, f"{converter} {report} {docids}")
            self.assertNotIn(secret.encode(), content)

    # ------------------------------------------------------------------
    # Salespeople
    # ------------------------------------------------------------------

    def test_salespeople_cannot_change_processes(self):
        """Both salesperson groups read the processes of their company but can neither
        create, edit nor delete processes, steps, key activities or history."""
        for login in ("sweep_own_only", "sweep_all_leads"):
            self.authenticate(login, login)
            for model, record in self._records("a").items():
                if model == "crm.sales.process.history" and login == "sweep_own_only":
                    record = self.history_a  # a stay of their own opportunity
                ok, payload = self._jsonrpc(model, "read", [record.ids, ["display_name"]])
                self.assertTrue(ok, f"{login} cannot read {model}: {payload}")
            self._assert_no_write_access(login, "a")
            # nor through the process's one2many, as a form would save it
            self._assert_refused(
                lambda: self._jsonrpc(
                    "crm.sales.process",
                    "write",
                    [self.process_a.ids, {"step_ids": [Command.delete(self.step_a.id)]}],
                ),
                f"{login}: delete a step through its process",
            )

    def test_salespeople_see_nothing_of_another_company(self):
        for login in ("sweep_own_only", "sweep_all_leads"):
            self._assert_cannot_read(login, "b")
            self._assert_no_write_access(login, "b")
            ok, kpis = self._jsonrpc("crm.sales.process", "get_kpis", [self.process_b.ids])
            self.assertFalse(ok, "no KPIs of another company's process")
            self.assertEqual(kpis["name"], "odoo.exceptions.AccessError")

    def test_own_documents_only_history(self):
        """A salesperson limited to their own documents sees only their opportunities'
        stays; the one who sees all leads sees the others' too."""
        self.authenticate("sweep_own_only", "sweep_own_only")
        ok, ids = self._jsonrpc(
            "crm.sales.process.history",
            "search",
            [[("lead_id", "in", [self.lead_a.id, self.lead_other_user.id])]],
        )
        self.assertTrue(ok)
        self.assertIn(self.history_a.id, ids)
        self.assertNotIn(self.history_other_user.id, ids)
        ok, payload = self._jsonrpc(
            "crm.sales.process.history", "read", [self.history_other_user.ids, ["step_id"]]
        )
        self.assertFalse(ok)
        self.assertEqual(payload["name"], "odoo.exceptions.AccessError")
        self.authenticate("sweep_all_leads", "sweep_all_leads")
        ok, ids = self._jsonrpc(
            "crm.sales.process.history", "search", [[("lead_id", "=", self.lead_other_user.id)]]
        )
        self.assertTrue(ok)
        self.assertIn(self.history_other_user.id, ids)

    def test_salesperson_reports_of_another_company(self):
        """Printing or downloading another company's process, analysis or forecast gives
        nothing of it."""
        self.authenticate("sweep_all_leads", "sweep_all_leads")
        self._assert_report_refused(REPORT_PROCESS, self.process_b.id, "Sweep Process B")
        self._assert_report_refused(REPORT_ANALYSIS, self.process_b.id, "Sweep Process B")
        status, content = self._get(f"/crm_sales_process/export/xlsx?ids={self.process_b.id}")
        self.assertEqual(status, 403)
        response = self.url_open(
            "/crm_sales_process/analysis/xlsx",
            data={
                "filters": json.dumps({"process_ids": self.process_b.ids}),
                "csrf_token": http.Request.csrf_token(self),
            },
            allow_redirects=False,
        )
        self.assertNotEqual(response.status_code, 200)
        self.assertNotIn(b"Sweep Process B", response.content)
        # their own company's process prints
        status, content = self._get(f"/report/html/{REPORT_PROCESS}/{self.process_a.id}")
        self.assertEqual(status, 200)
        self.assertIn(b"Sweep Process A", content)

    def test_forecast_of_another_user(self):
        """A forecast wizard, its spreadsheet and its PDF are its creator's only."""
        self.authenticate("sweep_manager_a", "sweep_manager_a")
        ok, wizard_id = self._jsonrpc("crm.sales.forecast.wizard", "create", [{}])
        self.assertTrue(ok, wizard_id)
        ok, action = self._jsonrpc("crm.sales.forecast.wizard", "action_export_xlsx", [[wizard_id]])
        self.assertTrue(ok, action)
        status, content = self._get(action["url"])
        self.assertEqual(status, 200, "the creator downloads it")
        self.assertTrue(content.startswith(b"PK"), "an XLSX (zip) file")
        for login in ("sweep_all_leads", "sweep_own_only", "sweep_manager_b"):
            self.authenticate(login, login)
            status, content = self._get(action["url"])
            self.assertNotEqual(status, 200, f"{login} downloaded another user's forecast")
            self.assertFalse(content.startswith(b"PK"))
            ok, payload = self._jsonrpc(
                "crm.sales.forecast.wizard", "read", [[wizard_id], ["company_id"]]
            )
            self.assertFalse(ok, f"{login} read another user's forecast")
            self.assertEqual(payload["name"], "odoo.exceptions.AccessError")
            ok, payload = self._jsonrpc(
                "crm.sales.forecast.wizard", "action_export_xlsx", [[wizard_id]]
            )
            self.assertFalse(ok, f"{login} exported another user's forecast")
            self._assert_report_refused(REPORT_FORECAST, wizard_id, "Sweep Manager A")

    # ------------------------------------------------------------------
    # Managers of two companies
    # ------------------------------------------------------------------

    def test_manager_of_company_a_cannot_touch_company_b(self):
        self._assert_cannot_read("sweep_manager_a", "b")
        self._assert_no_write_access("sweep_manager_a", "b")
        self.authenticate("sweep_manager_a", "sweep_manager_a")
        # a process of their own company cannot be moved into company B or take B's stages
        self._assert_refused(
            lambda: self._jsonrpc(
                "crm.sales.process",
                "write",
                [self.process_a.ids, {"company_id": self.company_b.id}],
            ),
            "move a process to company B",
            errors=("odoo.exceptions.AccessError", "odoo.exceptions.ValidationError"),
        )
        self._assert_refused(
            lambda: self._jsonrpc(
                "crm.sales.process.step",
                "write",
                [self.step_a.ids, {"process_id": self.process_b.id}],
            ),
            "move a step to company B's process",
            errors=(
                "odoo.exceptions.AccessError",
                "odoo.exceptions.ValidationError",
                "odoo.exceptions.UserError",
            ),
        )
        self._assert_report_refused(REPORT_PROCESS, self.process_b.id, "Sweep Process B")
        self._assert_report_refused(REPORT_ANALYSIS, self.process_b.id, "Sweep Process B")
        status, _content = self._get(f"/crm_sales_process/export/xlsx?ids={self.process_b.id}")
        self.assertEqual(status, 403)
        # the forecast wizard takes no team or company of company B
        for vals in (
            {"team_ids": [Command.set(self.team_b.ids)]},
            {"company_id": self.company_b.id},
        ):
            self._assert_refused(
                lambda v=vals: self._jsonrpc("crm.sales.forecast.wizard", "create", [v]),
                f"forecast with {vals}",
                errors=(
                    "odoo.exceptions.AccessError",
                    "odoo.exceptions.ValidationError",
                    "odoo.exceptions.UserError",
                ),
            )

    def test_manager_of_company_b_cannot_touch_company_a(self):
        self._assert_cannot_read("sweep_manager_b", "a")
        self._assert_no_write_access("sweep_manager_b", "a")
        self.authenticate("sweep_manager_b", "sweep_manager_b")
        self._assert_report_refused(REPORT_PROCESS, self.process_a.id, "Sweep Process A")
        # and manages their own company's processes
        ok, payload = self._jsonrpc(
            "crm.sales.process", "write", [self.process_b.ids, {"note": "B's own"}]
        )
        self.assertTrue(ok, payload)

    # ------------------------------------------------------------------
    # Portal and public
    # ------------------------------------------------------------------

    def test_portal_and_public(self):
        self.authenticate("sweep_portal", "sweep_portal")
        for model in (*ADDON_MODELS, "crm.sales.forecast.wizard"):
            ok, payload = self._jsonrpc(model, "search_read", [[], ["display_name"]])
            self.assertFalse(ok, f"portal read {model}")
            self.assertEqual(payload["name"], "odoo.exceptions.AccessError")
        ok, payload = self._jsonrpc("crm.sales.process.analysis", "get_analysis", [{}])
        self.assertFalse(ok, "portal read the analysis")
        self._assert_report_refused(REPORT_PROCESS, self.process_a.id, "Sweep Process A")
        status, _content = self._get(f"/crm_sales_process/export/xlsx?ids={self.process_a.id}")
        self.assertNotEqual(status, 200)
        self.logout()
        self._assert_report_refused(REPORT_PROCESS, self.process_a.id, "Sweep Process A")
        status, _content = self._get(f"/crm_sales_process/export/xlsx?ids={self.process_a.id}")
        self.assertNotEqual(status, 200)
        ok, payload = self._jsonrpc("crm.sales.process", "search_read", [[], ["name"]])
        self.assertFalse(ok, "nobody logged in read processes")

    def test_xmlrpc_per_group(self):
        """The same rights over XML-RPC with a password (the integrations' way in)."""
        for login, company, allowed in (
            ("sweep_all_leads", "a", False),
            ("sweep_manager_a", "b", False),
            ("sweep_manager_b", "a", False),
            ("sweep_manager_a", "a", True),
        ):
            with self.env.cr.savepoint() as savepoint:
                process = self._records(company)["crm.sales.process"]
                ok, payload = self._xmlrpc(
                    login, "crm.sales.process", "write", [process.ids, {"note": "by XML-RPC"}]
                )
                self.assertEqual(ok, allowed, f"{login} on company {company}: {payload}")
                if not ok:
                    self.assertEqual(payload["name"], "odoo.exceptions.AccessError", payload)
                savepoint.rollback()
