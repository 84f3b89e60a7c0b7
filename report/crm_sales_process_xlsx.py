# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models
from odoo.exceptions import MissingError


class ReportCrmSalesProcessExportXlsx(models.AbstractModel):
    """Actions › Export to Excel Workbook of the processes: a "Sales Processes" sheet (the
    columns of ``_get_process_columns``, which Print › Sales Processes shows too) and a
    "Steps" sheet."""

    _name = "report.crm_sales_process.export_xlsx"
    _inherit = "report.crm_sales_process.abstract_xlsx"
    _description = "Sales Processes Workbook"

    @api.model
    def _get_objects(self, docids, data):
        processes = (
            self.env["crm.sales.process"].with_context(active_test=False).browse(docids).exists()
        )
        if not processes:
            raise MissingError(self.env._("Select at least one sales process to export."))
        processes.check_access("read")
        return processes

    @api.model
    def _get_file_title(self, data, objs):
        return self.env._("Sales Processes"), False

    @api.model
    def generate_xlsx_report(self, workbook, data, objs):
        formats = self._add_formats(workbook)
        _ = self.env._
        columns = self._get_process_columns()
        self._write_table(
            self._add_sheet(workbook, _("Sales Processes")),
            formats,
            [(column["title"], column["width"], column["style"]) for column in columns],
            ([column["value"](process) for column in columns] for process in objs),
        )
        steps = [step for process in objs for step in process._get_ordered_steps()]
        yes, no = _("Yes"), _("No")
        self._write_table(
            self._add_sheet(workbook, _("Steps")),
            formats,
            [
                (_("Sales Process"), 34, "text"),
                (_("No."), 6, "text"),
                (_("Name"), 30, "text"),
                (_("%"), 8, "ratio"),
                (_("Won"), 6, "text"),
                (_("Last Modified"), 17, "datetime"),
                (_("By"), 8, "text"),
            ],
            (
                [
                    step.process_id.name,
                    step.number,
                    step.name,
                    # a percentage with decimals shows them
                    (
                        step.probability / 100,
                        "ratio" if step.probability == int(step.probability) else "ratio_decimal",
                    ),
                    yes if step.is_won else no,
                    self._xlsx_datetime(step.write_date),
                    step.write_user_initials or None,
                ]
                for step in steps
            ),
        )

    @api.model
    def _get_process_columns(self):
        """Columns of a process: ``title``, ``width`` and ``style`` (format) in the workbook,
        ``value`` of a process (None: empty); ``pdf``: also a column of Print › Sales
        Processes (the list's columns), in this order. Long because it is the list itself:
        one entry per column."""
        _ = self.env._
        yes, no = _("Yes"), _("No")
        return [
            {"title": _("ID"), "width": 8, "style": "text", "pdf": True, "value": lambda p: p.id},
            {
                "title": _("Name"),
                "width": 34,
                "style": "text",
                "pdf": True,
                "key": "name",
                "value": lambda process: process.name,
            },
            {
                "title": _("Default For"),
                "width": 34,
                "style": "wrap",
                "pdf": True,
                "value": lambda process: process.default_for or None,
            },
            {
                "title": _("Active"),
                "width": 8,
                "style": "text",
                "value": lambda process: yes if process.active else no,
            },
            {
                "title": _("Steps"),
                "width": 8,
                "style": "text",
                "pdf": True,
                "value": lambda process: process.step_count,
            },
            {
                "title": _("In Use"),
                "width": 8,
                "style": "text",
                "pdf": True,
                "value": lambda process: process.opportunity_count,
            },
            {
                "title": _("Created"),
                "width": 17,
                "style": "datetime",
                "value": lambda process: self._xlsx_datetime(process.create_date),
            },
            {
                "title": _("Created By"),
                "width": 10,
                "style": "text",
                "value": lambda process: process.create_user_initials or None,
            },
            {
                "title": _("Last Modified"),
                "width": 17,
                "style": "datetime",
                "pdf": True,
                "value": lambda process: self._xlsx_datetime(process.write_date),
            },
            {
                "title": _("By"),
                "width": 8,
                "style": "text",
                "pdf": True,
                "value": lambda process: process.write_user_initials or None,
            },
            {
                "title": _("Company"),
                "width": 20,
                "style": "text",
                "value": lambda process: process.company_id.name,
            },
            {
                "title": _("Note"),
                "width": 60,
                "style": "wrap",
                "value": lambda process: process.note or None,
            },
        ]
