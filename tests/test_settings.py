# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from .common import SalesProcessCommon


@tagged("post_install", "-at_install")
class TestSalesProcessSettings(SalesProcessCommon):
    """CRM › Configuration › Settings › Sales Processes."""

    def _setting(self, name):
        return self.env["res.config.settings"]._get_sales_process_setting(name)

    def test_defaults_and_saved_values(self):
        """Defaults until saved; saved values are what the calibration, the forecast PDF and
        the stalled reminder read."""
        Params = self.env["ir.config_parameter"].sudo()
        for key in ("calibration_months", "calibration_min_sample", "forecast_pdf_detail_limit"):
            Params.set_param(f"crm_sales_process.{key}", False)
        self.assertEqual(self._setting("sales_process_calibration_months"), 12)
        self.assertEqual(self._setting("sales_process_calibration_min_sample"), 20)
        self.assertEqual(self._setting("sales_process_forecast_pdf_detail_limit"), 500)
        self.env["ir.config_parameter"].sudo().set_param(
            "crm_sales_process.calibration_months", "5000"
        )
        self.assertEqual(self._setting("sales_process_calibration_months"), 12)
        self.assertTrue(self._setting("sales_process_stalled_reminder"))
        with Form(self.env["res.config.settings"]) as form:
            form.sales_process_calibration_months = 6
            form.sales_process_calibration_min_sample = 5
            form.sales_process_forecast_pdf_detail_limit = 10
            form.sales_process_stalled_reminder = False
        form.record.execute()
        self.assertEqual(self.env["crm.sales.process"]._get_calibration_months(), 6)
        self.assertEqual(self.env["crm.sales.process"]._get_calibration_min_sample(), 5)
        self.assertEqual(self._setting("sales_process_forecast_pdf_detail_limit"), 10)
        self.assertFalse(self._setting("sales_process_stalled_reminder"))

    def test_bad_values(self):
        """Below the least value: refused on save; edited by hand: the default is used."""
        with self.assertRaisesRegex(ValidationError, "at least 1, not 0"):
            self.env["res.config.settings"].create({"sales_process_calibration_months": 0})
        # a century at most: the window's first day must exist
        with self.assertRaisesRegex(ValidationError, "at most 1200, not 1201"):
            self.env["res.config.settings"].create({"sales_process_calibration_months": 1201})
        self.env["ir.config_parameter"].sudo().set_param(
            "crm_sales_process.calibration_months", "twelve"
        )
        with self.assertLogs("odoo.addons.base.models.res_config", "WARNING"):
            self.assertEqual(self._setting("sales_process_calibration_months"), 12)
        self.env["ir.config_parameter"].sudo().set_param(
            "crm_sales_process.forecast_pdf_detail_limit", "-3"
        )
        self.assertEqual(self._setting("sales_process_forecast_pdf_detail_limit"), 500)
        self.env["ir.config_parameter"].sudo().set_param(
            "crm_sales_process.calibration_months", "5000"
        )
        self.assertEqual(self._setting("sales_process_calibration_months"), 12)
