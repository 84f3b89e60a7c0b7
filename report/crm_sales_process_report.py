# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import datetime

from odoo import api, models
from odoo.tools.misc import get_lang

NBSP = "\N{NO-BREAK SPACE}"


class ReportCrmSalesProcess(models.AbstractModel):
    """Values of Print > Sales Processes: every selected process in one document, with the
    columns the list shows (those of the workbook flagged ``pdf``), then its steps."""

    _name = "report.crm_sales_process.crm_sales_process_report_template"
    _description = "Sales Processes Report"

    @api.model
    @api.readonly
    def _get_report_values(self, docids, data=None):
        processes = self.env["crm.sales.process"].with_context(active_test=False).browse(docids)
        lang = get_lang(self.env)
        # the company whose header opens the document, as the company layouts choose it
        company = processes[:1].company_id.sudo() or self.env.company
        columns = [
            column
            for column in self.env["report.crm_sales_process.export_xlsx"]._get_process_columns()
            if column.get("pdf")
        ]
        # as wide as in the workbook, the steps taking a third of the page
        total = sum(column["width"] for column in columns)
        widths = [round(66.0 * column["width"] / total, 1) for column in columns]
        # the list's date and time format, to the minute
        date_format = f"{lang.date_format} {lang.time_format.replace(':%S', '')}"
        return {
            "doc_ids": processes.ids,
            "doc_model": processes._name,
            "docs": processes,
            "company": company,
            "company_address": self._get_company_address(company),
            "columns": columns,
            "widths": widths,
            "lines": [
                dict(
                    self._prepare_process_line(process, lang),
                    cells=[
                        self._format_cell(column["value"](process), date_format)
                        for column in columns
                    ],
                )
                for process in processes
            ],
        }

    @api.model
    def _format_cell(self, value, date_format):
        """A workbook value as the PDF's text."""
        if value is None or value is False:
            return ""
        if isinstance(value, datetime):
            return value.strftime(date_format)
        return str(value)

    @api.model
    def _get_company_address(self, company):
        """The company's postal address in lines, without the company's name or empty lines."""
        address = company.partner_id._display_address(without_company=True)
        return "\n".join(line.strip() for line in address.splitlines() if line.strip())

    @api.model
    def _prepare_process_line(self, process, lang=None):
        # the step's number is its position (as its "number" field computes it, without
        # computing it for every step of a thousand processes); the name read from the stage
        # (the step's related name, without filling that field's cache)
        steps = [
            {
                "number": number,
                "name": step.stage_id.name,
                "percentage": step._get_probability_label(lang),
            }
            for number, step in enumerate(process._get_ordered_steps(), start=1)
        ]
        return {
            "process": process,
            "name": process.name,
            "default_for": process.default_for,
            "active": process.active,
            "note": process.note,
            "steps": steps,
            # "1. Lead 10 % · 2. Offer 50 %": the number and percentage stay on the line of
            # their step (no-break spaces)
            "steps_label": " · ".join(
                f"{step['number']}.{NBSP}{step['name']}{NBSP}"
                f"{step['percentage'].replace(' ', NBSP)}"
                for step in steps
            ),
        }
