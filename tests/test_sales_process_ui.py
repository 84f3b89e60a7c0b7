# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestSalesProcessTour(HttpCase):
    def test_sales_process_screens(self):
        """An administrator creates, searches and deletes processes in a real browser."""
        Stage = self.env["crm.stage"]
        contact = Stage.create({"name": "Tour Contact", "sequence": 1001})
        offer = Stage.create({"name": "Tour Offer", "sequence": 1002})
        Process = self.env["crm.sales.process"]
        Process.create({"name": "Zeta Reference Process"})
        obsolete = Process.create({"name": "Æsel Obsolete Process"})

        self.start_tour("/odoo/crm", "crm_sales_process_tour", login="admin")

        process = Process.search([("name", "=", "Ærlig Tour Process")])
        self.assertEqual(len(process), 1)
        self.assertEqual(process.name_initial, "Æ")
        self.assertEqual(process.step_ids.stage_id, contact | offer)
        self.assertEqual(process.step_ids.mapped("probability"), [30, 60])
        self.assertEqual(process.step_ids.mapped("number"), [1, 2])
        self.assertFalse(obsolete.exists())
