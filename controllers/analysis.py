# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json

from werkzeug.exceptions import BadRequest

from odoo import http
from odoo.http import content_disposition, request

from .main import XLSX_MIMETYPE


class SalesProcessAnalysisController(http.Controller):
    @http.route(
        "/crm_sales_process/analysis/xlsx",
        type="http",
        auth="user",
        methods=["POST"],
        readonly=True,
    )
    def export_analysis_xlsx(self, filters="{}", **kwargs):
        """The Sales Process Analysis as XLSX for the dashboard's filters (JSON).

        The figures follow the current user's record rules and companies, as on the screen.
        """
        try:
            filters = json.loads(filters)
        except ValueError as error:
            raise BadRequest() from error
        if not isinstance(filters, dict):
            raise BadRequest()
        Analysis = request.env["crm.sales.process.analysis"]
        return request.make_response(
            Analysis.get_xlsx(filters),
            headers=[
                ("Content-Type", XLSX_MIMETYPE),
                ("Content-Disposition", content_disposition(Analysis._get_file_name("xlsx"))),
            ],
        )
