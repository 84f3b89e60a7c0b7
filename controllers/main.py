# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import base64

from werkzeug.exceptions import BadRequest, NotFound

from odoo import http
from odoo.http import content_disposition, request

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class SalesProcessExportController(http.Controller):
    @http.route(
        "/crm_sales_process/export/xlsx",
        type="http",
        auth="user",
        methods=["GET"],
        readonly=True,
    )
    def export_xlsx(self, ids="", **kwargs):
        """The formatted workbook of the given processes (``ids=1,2,3``).

        Read access and record rules of the current user apply: a process of another company
        or without read right gives an access error, never its data.
        """
        try:
            process_ids = [int(process_id) for process_id in ids.split(",") if process_id]
        except ValueError as error:
            raise BadRequest() from error
        processes = (
            request.env["crm.sales.process"].with_context(active_test=False).browse(process_ids)
        )
        processes = processes.exists()
        if not processes:
            raise NotFound()
        processes.check_access("read")
        filename = request.env._("Sales Processes") + ".xlsx"
        return request.make_response(
            processes._get_xlsx_export(),
            headers=[
                ("Content-Type", XLSX_MIMETYPE),
                ("Content-Disposition", content_disposition(filename)),
            ],
        )

    # Not readonly: the wizard and its file were written by the request just before this one,
    # on the primary database; a read replica (--db_replica_host) may not have them yet, and
    # /web/content (readonly) would answer 404 there.
    @http.route(
        "/crm_sales_process/forecast/xlsx/<int:wizard_id>",
        type="http",
        auth="user",
        methods=["GET"],
        readonly=False,
    )
    def forecast_xlsx(self, wizard_id, **kwargs):
        """The spreadsheet the forecast wizard made (only its creator may read it)."""
        wizard = request.env["crm.sales.forecast.wizard"].browse(wizard_id).exists()
        if not wizard:
            raise NotFound()
        wizard.check_access("read")
        if not wizard.xlsx_file:
            raise NotFound()
        return request.make_response(
            base64.b64decode(wizard.xlsx_file),
            headers=[
                ("Content-Type", XLSX_MIMETYPE),
                ("Content-Disposition", content_disposition(wizard.xlsx_filename)),
            ],
        )
