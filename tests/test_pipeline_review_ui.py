# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Pipeline Review in a real browser (the tour crm_sales_process_pipeline_review_tour)."""

import io
import json
from datetime import timedelta

import openpyxl

from odoo import Command, http
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestPipelineReviewUi(HttpCase):
    """Rita Review's pipeline, four weeks apart: Growing Deal 1,000 → 1,500 and a step further
    (increased, moved forward), Won Deal 2,000 won (won), New Deal 700 created since (new).
    Start 3,000, end 2,200."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Stage = cls.env["crm.stage"]
        stage_lead = Stage.create({"name": "Review Lead", "sequence": 981})
        stage_offer = Stage.create({"name": "Review Offer", "sequence": 982})
        stage_won = Stage.create({"name": "Review Won", "sequence": 983, "is_won": True})
        process = cls.env["crm.sales.process"].create(
            {
                "name": "Review Process",
                "step_ids": [
                    Command.create({"sequence": seq, "stage_id": stage.id, "probability": pct})
                    for seq, (stage, pct) in enumerate(
                        [(stage_lead, 10), (stage_offer, 50), (stage_won, 100)], start=1
                    )
                ],
            }
        )
        rita = new_test_user(
            cls.env, "csp_rita", "sales_team.group_sale_salesman", name="Rita Review"
        )
        Lead = cls.env["crm.lead"]

        def deal(name, revenue):
            return Lead.create(
                {
                    "name": f"Review {name}",
                    "type": "opportunity",
                    "sales_process_id": process.id,
                    "stage_id": stage_lead.id,
                    "expected_revenue": revenue,
                    "user_id": rita.id,
                }
            )

        growing, won = deal("Growing Deal", 1000), deal("Won Deal", 2000)
        main = cls.env.ref("base.main_company")
        Snapshot = cls.env["crm.sales.forecast.snapshot"].with_context(allowed_company_ids=main.ids)
        start = Snapshot.browse(Snapshot.take_snapshot())
        growing.write({"expected_revenue": 1500, "stage_id": stage_offer.id})
        won.action_set_won()
        deal("New Deal", 700)
        end = Snapshot.browse(Snapshot.take_snapshot())
        # four weeks apart: the two the review compares by default
        start.date = end.date - timedelta(weeks=4)
        cls.start, cls.end = start, end

    def test_pipeline_review_tour(self):
        """A sales manager opens the review from the menu, narrows it and opens a change."""
        self.start_tour("/odoo", "crm_sales_process_pipeline_review_tour", login="admin")

    def test_xlsx_download(self):
        """The Export XLSX button's request: the review's workbook."""
        self.authenticate("admin", "admin")
        options = {"snapshot_from": self.start.id, "snapshot_to": self.end.id}
        response = self.url_open(
            "/crm_sales_process/review/xlsx",
            data={"filters": json.dumps(options), "csrf_token": http.Request.csrf_token(self)},
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("pipeline-review-", response.headers["Content-Disposition"])
        workbook = openpyxl.load_workbook(io.BytesIO(response.content))
        self.assertEqual(len(workbook.worksheets), 2)
