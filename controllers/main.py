# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json

from werkzeug.exceptions import BadRequest, NotFound

from odoo import http
from odoo.http import content_disposition, request

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _is_readonly_download(controller, rule, args):
    """Served on a read replica unless the spreadsheet reads what the request before it wrote
    (``_xlsx_readonly``): the forecast reads the wizard the form has just saved."""
    model = request.env.registry.get(f"report.crm_sales_process.{args.get('name')}_xlsx")
    return getattr(model, "_xlsx_readonly", True)


class SalesProcessXlsxController(http.Controller):
    @http.route(
        "/crm_sales_process/<string:name>/xlsx",
        type="http",
        auth="user",
        methods=["GET", "POST"],
        readonly=_is_readonly_download,
    )
    def download_xlsx(self, name, ids="", filters="", **kwargs):
        """The spreadsheet ``report.crm_sales_process.<name>_xlsx`` of the records ``ids``
        (``1,2,3``) with the options ``filters`` (a JSON object), as a file: the processes'
        workbook (``export``), the Sales Process Analysis (``analysis``, the dashboard's
        filters) and the sales forecast (``forecast``, of its wizard).

        The user's access rights and record rules apply: a record they may not read gives an
        access error, never its data.
        """
        report = request.env["report.crm_sales_process.abstract_xlsx"]._get_xlsx_report(name)
        if report is None:
            raise NotFound()
        try:
            record_ids = [int(record_id) for record_id in ids.split(",") if record_id]
            options = json.loads(filters) if filters else {}
        except ValueError as error:
            raise BadRequest() from error
        if not isinstance(options, dict):
            raise BadRequest()
        content, filename = report.create_xlsx_report(record_ids, options)
        return request.make_response(
            content,
            headers=[
                ("Content-Type", XLSX_MIMETYPE),
                ("Content-Disposition", content_disposition(filename)),
            ],
        )
