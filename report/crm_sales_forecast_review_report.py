# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models


class ReportCrmSalesForecastReview(models.AbstractModel):
    """Values of the Pipeline Review PDF: the figures of its XLSX, in one document.

    The screen's Print PDF button passes its choices in ``data`` (``snapshot_from``,
    ``snapshot_to``, ``filters``, ``groupby``); printed without them, the earliest and the
    latest of the given snapshots are compared.
    """

    _name = "report.crm_sales_process.crm_sales_forecast_review_document"
    _description = "Pipeline Review Report"

    @api.model
    @api.readonly
    def _get_report_values(self, docids, data=None):
        data = dict(data or {})
        Snapshot = self.env["crm.sales.forecast.snapshot"]
        if docids and not data.get("snapshot_from"):
            snapshots = Snapshot.browse(docids).sorted(
                lambda snapshot: (snapshot.date, snapshot.id)
            )
            data.update(snapshot_from=snapshots[:1].id, snapshot_to=snapshots[-1:].id)
        review = Snapshot._get_review_report_data(data)
        changes = review["changes"]
        snapshots = Snapshot.browse([changes["snapshot_from"]["id"], changes["snapshot_to"]["id"]])
        return {
            "doc_ids": snapshots.ids,
            "doc_model": "crm.sales.forecast.snapshot",
            "docs": snapshots,
            "review": review,
            "currency": self.env["res.currency"].browse(changes["currency_id"]),
        }
