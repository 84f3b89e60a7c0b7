# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The addon's spreadsheets: one writer and one download route for all of them.

Shaped after OCA's ``report_xlsx``: a spreadsheet is an abstract model
``report.crm_sales_process.<name>_xlsx`` inheriting ``report.crm_sales_process.abstract_xlsx``
that implements ``_get_objects`` (the records it is made of, access checked) and
``generate_xlsx_report(workbook, data, objs)``; ``create_xlsx_report`` opens the workbook with
``get_workbook_options``, runs it and names the file. The sheets are written with
``_write_table`` (a header row, column widths and formats through ``set_column``, rows through
``write_row``): xlsxwriter's public API only. Every spreadsheet downloads through one route,
``/crm_sales_process/<name>/xlsx?ids=…&filters=…`` (controllers/main.py), which
``_get_download_action`` points to.
"""

import io

import xlsxwriter

from odoo import api, fields, models

from ..models.tools import xlsx_sheet_name

REPORT_PREFIX = "report.crm_sales_process."
REPORT_SUFFIX = "_xlsx"


class ReportCrmSalesProcessAbstractXlsx(models.AbstractModel):
    _name = "report.crm_sales_process.abstract_xlsx"
    _description = "Sales Process Spreadsheet"

    # Whether the download may be served by a read replica (--db_replica_host): not when it
    # reads a record the request before wrote (a lagging replica would not have it yet).
    _xlsx_readonly = True

    # ------------------------------------------------------------------
    # What a spreadsheet implements
    # ------------------------------------------------------------------

    @api.model
    def _get_objects(self, docids, data):
        """The records the spreadsheet is made of (the user's access checked); raise
        ``MissingError`` when there is nothing to make it of."""
        raise NotImplementedError()

    @api.model
    def generate_xlsx_report(self, workbook, data, objs):
        """Write the sheets of ``objs`` into ``workbook`` (``data``: the options, e.g.
        filters)."""
        raise NotImplementedError()

    @api.model
    def _get_file_title(self, data, objs):
        """(Translated title of the file, whether today's date follows it)."""
        return self._description, False

    # ------------------------------------------------------------------
    # Making and downloading
    # ------------------------------------------------------------------

    @api.model
    def _get_xlsx_report(self, name):
        """The spreadsheet ``report.crm_sales_process.<name>_xlsx``, or None."""
        model = self.env.get(f"{REPORT_PREFIX}{name}{REPORT_SUFFIX}")
        if model is None or self._name not in model._inherit_module:
            return None
        return model

    @api.model
    def get_workbook_options(self):
        """Rows go to temporary files as they are written (constant memory: a spreadsheet
        may hold every open opportunity); texts stay texts (a name starting with "=" is no
        formula, nor a web address a link)."""
        return {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        }

    @api.model
    def create_xlsx_report(self, docids, data):
        """(XLSX bytes, file name) of the spreadsheet of ``docids`` with options ``data``."""
        data = data or {}
        objs = self._get_objects(docids or [], data)
        output = io.BytesIO()
        workbook = xlsxwriter.Workbook(output, self.get_workbook_options())
        self.generate_xlsx_report(workbook, data, objs)
        workbook.close()
        return output.getvalue(), self._get_file_name(data, objs)

    @api.model
    def _get_file_name(self, data, objs):
        """``<title>.xlsx``, or ``<title>-<today>.xlsx`` for figures of a day."""
        title, dated = self._get_file_title(data, objs)
        if dated:
            title = f"{title}-{fields.Date.context_today(self).isoformat()}"
        return f"{title}.xlsx"

    @api.model
    def _get_download_action(self, ids=None, target="download"):
        """The web client's action downloading this spreadsheet of ``ids``."""
        name = self._name.removeprefix(REPORT_PREFIX).removesuffix(REPORT_SUFFIX)
        url = f"/crm_sales_process/{name}/xlsx"
        if ids:
            url += "?ids=" + ",".join(str(record_id) for record_id in ids)
        return {"type": "ir.actions.act_url", "url": url, "target": target}

    # ------------------------------------------------------------------
    # Writing
    # ------------------------------------------------------------------

    @api.model
    def _add_formats(self, workbook, currency=None):
        """The cell formats of the spreadsheets, by name; amounts with ``currency``'s
        decimals (the company's)."""
        digits = (currency or self.env.company.currency_id).decimal_places
        money = "#,##0" + ("." + "0" * digits if digits else "")
        specs = {
            "title": {"bold": True, "font_size": 14},
            "bold": {"bold": True},
            "header": {
                "bold": True,
                "bg_color": "#DDE5F0",
                "bottom": 1,
                "text_wrap": True,
                "valign": "top",
            },
            "text": {"valign": "top"},
            "wrap": {"text_wrap": True, "valign": "top"},
            "integer": {"num_format": "0"},
            "number": {"num_format": "0.0"},
            # a figure of 0-100
            "percent": {"num_format": "0.0"},
            "probability": {"num_format": "0.00"},
            # a share of 0-1
            "ratio": {"num_format": "0%", "valign": "top"},
            "ratio_decimal": {"num_format": "0.00%", "valign": "top"},
            "money": {"num_format": money},
            "money_total": {"num_format": money, "bold": True, "top": 1},
            "total": {"bold": True, "top": 1},
            "date": {"num_format": "yyyy-mm-dd"},
            "datetime": {"num_format": "yyyy-mm-dd hh:mm", "valign": "top"},
            "deviates": {"num_format": "0.0", "bg_color": "#FCE8B2"},
        }
        return {name: workbook.add_format(spec) for name, spec in specs.items()}

    @api.model
    def _add_sheet(self, workbook, name):
        """A worksheet named ``name`` as Excel allows it (translations may not)."""
        return workbook.add_worksheet(xlsx_sheet_name(name))

    @api.model
    def _write_heading(self, sheet, formats, title, descriptions):
        """The title of a sheet, then one line per (label, value) of ``descriptions`` (the
        filters); returns the first row after them."""
        sheet.write(0, 0, title, formats["title"])
        row = 2
        for label, value in descriptions:
            sheet.write_row(row, 0, [label], formats["bold"])
            sheet.write(row, 1, value)
            row += 1
        return row

    @api.model
    def _write_table(self, sheet, formats, columns, rows, row=0, freeze=(1, 0), autofilter=True):
        """A table from ``row`` on: a header row of ``columns`` (title, width, format name),
        then ``rows`` (lists of values; None for an empty cell). The columns' formats apply
        to the cells (``set_column``); a value ``(value, format name)`` gets a format of its
        own. ``freeze``: (rows, columns) kept in view, counted from the header. Returns the
        row after the table."""
        for col, (_title, width, style) in enumerate(columns):
            sheet.set_column(col, col, width, formats[style])
        sheet.write_row(row, 0, [column[0] for column in columns], formats["header"])
        header = row
        for values in rows:
            row += 1
            own = [(col, value) for col, value in enumerate(values) if isinstance(value, tuple)]
            if own:
                values = [value[0] if isinstance(value, tuple) else value for value in values]
            sheet.write_row(row, 0, values)
            for col, (value, style) in own:
                sheet.write(row, col, value, formats[style])
        if freeze:
            sheet.freeze_panes(header + freeze[0], freeze[1])
        if autofilter:
            sheet.autofilter(header, 0, max(row, header + 1), len(columns) - 1)
        return row + 1

    @api.model
    def _xlsx_datetime(self, value):
        """A UTC datetime as the user's local wall-clock time (Excel has no time zones)."""
        if not value:
            return None
        return fields.Datetime.context_timestamp(self, value).replace(tzinfo=None)
