# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Sales Process Analysis in a real browser and over HTTP.

The tour (static/tests/tours/crm_sales_process_analysis_tour.js) opens CRM > Reporting >
Sales Process Analysis, narrows it to one process and reads its tiles and funnel; the XLSX is
downloaded the way the dashboard's Export button does.
"""

import io
import json

import openpyxl

from odoo import Command, http
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestSalesProcessAnalysisUi(HttpCase):
    """Tour Analysis Process: Tour Lead 10 %, Tour Offer 50 %, Tour Won 100 %.

    Four opportunities reach Tour Lead (one of them Tina Tour's), two go on to Tour Offer, one
    of those is won and the other lost: funnel 4 → 2 → 1, win rate 50 %. Tour Compare
    Process, compared with it: two opportunities, both won (win rate 100 %).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Stage = cls.env["crm.stage"]
        cls.stage_lead = Stage.create({"name": "Tour Lead", "sequence": 971})
        cls.stage_offer = Stage.create({"name": "Tour Offer", "sequence": 972})
        cls.stage_won = Stage.create({"name": "Tour Won", "sequence": 973, "is_won": True})
        cls.process = cls.env["crm.sales.process"].create(
            {
                "name": "Tour Analysis Process",
                "step_ids": [
                    Command.create(
                        {"sequence": 1, "stage_id": cls.stage_lead.id, "probability": 10}
                    ),
                    Command.create(
                        {"sequence": 2, "stage_id": cls.stage_offer.id, "probability": 50}
                    ),
                    Command.create(
                        {"sequence": 3, "stage_id": cls.stage_won.id, "probability": 100}
                    ),
                ],
            }
        )
        cls.tina = new_test_user(
            cls.env, "csp_tina", "sales_team.group_sale_salesman", name="Tina Tour"
        )
        admin = cls.env.ref("base.user_admin")
        Lead = cls.env["crm.lead"]
        leads = Lead.create(
            [
                {
                    "name": f"Tour Deal {index}",
                    "type": "opportunity",
                    "sales_process_id": cls.process.id,
                    "stage_id": cls.stage_lead.id,
                    "expected_revenue": 1000 * index,
                    "user_id": (cls.tina if index == 4 else admin).id,
                }
                for index in range(1, 5)
            ]
        )
        leads[:2].write({"stage_id": cls.stage_offer.id})
        leads[0].write({"stage_id": cls.stage_won.id})
        leads[1].action_set_lost()
        # the process compared with it: two opportunities, both won
        stage_other = Stage.create({"name": "Tour Other Lead", "sequence": 974})
        stage_other_won = Stage.create({"name": "Tour Other Won", "sequence": 975, "is_won": True})
        other = cls.env["crm.sales.process"].create(
            {
                "name": "Tour Compare Process",
                "step_ids": [
                    Command.create({"sequence": 1, "stage_id": stage_other.id, "probability": 20}),
                    Command.create(
                        {"sequence": 2, "stage_id": stage_other_won.id, "probability": 100}
                    ),
                ],
            }
        )
        others = Lead.create(
            [
                {
                    "name": f"Tour Other Deal {index}",
                    "type": "opportunity",
                    "sales_process_id": other.id,
                    "stage_id": stage_other.id,
                    "expected_revenue": 500 * index,
                    "user_id": admin.id,
                }
                for index in (1, 2)
            ]
        )
        others.write({"stage_id": stage_other_won.id})

    def test_analysis_tour(self):
        """A sales manager opens the analysis from the menu and reads the funnel."""
        self.start_tour("/odoo", "crm_sales_process_analysis_tour", login="admin")

    def test_xlsx_download(self):
        """The Export XLSX button's request: the workbook of the filtered analysis."""
        self.authenticate("admin", "admin")
        response = self.url_open(
            "/crm_sales_process/analysis/xlsx",
            data={
                "filters": json.dumps({"process_ids": self.process.ids}),
                "csrf_token": http.Request.csrf_token(self),
            },
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("spreadsheetml", response.headers["Content-Type"])
        self.assertIn("sales-process-analysis-", response.headers["Content-Disposition"])
        workbook = openpyxl.load_workbook(io.BytesIO(response.content))
        steps = list(workbook["Steps"].iter_rows(values_only=True))
        self.assertEqual([row[2] for row in steps[1:]], ["Tour Lead", "Tour Offer", "Tour Won"])
        self.assertEqual([row[3] for row in steps[1:]], [4, 2, 1])

    def test_xlsx_download_bad_request(self):
        self.authenticate("admin", "admin")
        response = self.url_open(
            "/crm_sales_process/analysis/xlsx",
            data={"filters": "not json", "csrf_token": http.Request.csrf_token(self)},
        )
        self.assertEqual(response.status_code, 400)
