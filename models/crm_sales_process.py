# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import io
import math
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta

import xlsxwriter
from dateutil.relativedelta import relativedelta
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import SQL, float_compare, ormcache

from .tools import (
    NAME_INITIALS,
    check_field_values,
    ensure_one_record,
    format_percentage,
    name_initial,
    parse_date_argument,
    parse_ids_argument,
    user_initials,
    wildcard_domain,
    xlsx_sheet_name,
)

# Fields of a process that change which new opportunities it is the default for (its steps
# too: only a process with steps is a default).
RULE_FIELDS = (
    "active",
    "company_id",
    "default_scope",
    "default_user_ids",
    "default_team_ids",
    "default_department_ids",
)

# Cursor cache key: the default-process rules read in the current transaction.
RULES_CACHE_KEY = "crm_sales_process.default_rules"

# The KPI statements read every opportunity and stay once: above jit_above_cost PostgreSQL
# would spend a large part of their run time compiling them (measured: the step statement
# 0.6 s without, 1.3 s with), to run them once. Sent in the same round trip as each
# statement (no query more); it lasts until the end of the transaction, where Odoo's short
# queries lose nothing without JIT.
KPI_NO_JIT = SQL("SET LOCAL jit = off;")
# Steps per bigint word of the KPI bit sets (three sets of 21 bits each)
WORD_STEPS = 21

# Calibration of the step percentages (system parameters; see README)
CALIBRATION_MONTHS_PARAM = "crm_sales_process.calibration_months"
CALIBRATION_MIN_SAMPLE_PARAM = "crm_sales_process.calibration_min_sample"
DEFAULT_CALIBRATION_MONTHS = 12
DEFAULT_CALIBRATION_MIN_SAMPLE = 20

COUNT_OPERATORS = {
    ">=": lambda count, value: count >= value,
    "<=": lambda count, value: count <= value,
    ">": lambda count, value: count > value,
    "<": lambda count, value: count < value,
    "=": lambda count, value: count == value,
    "!=": lambda count, value: count != value,
}


class CrmSalesProcess(models.Model):
    _name = "crm.sales.process"
    _description = "Sales Process"
    _inherit = ["mail.thread"]
    _order = "name, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True, tracking=True)
    active = fields.Boolean(
        default=True,
        tracking=True,
        help="Only active sales processes can be chosen on opportunities.",
    )
    note = fields.Text()
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    # Steps
    step_ids = fields.One2many("crm.sales.process.step", "process_id", string="Steps", copy=True)
    step_count = fields.Integer(string="Steps Count", compute="_compute_step_count", store=True)
    enforce_step_order = fields.Boolean(
        string="One Step at a Time",
        help="Opportunities move forward one step at a time (marking won included); going "
        "back and marking lost stay free.",
    )
    # Use
    opportunity_ids = fields.One2many("crm.lead", "sales_process_id", string="Opportunities")
    opportunity_count = fields.Integer(
        string="In Use",
        compute="_compute_opportunity_count",
        search="_search_opportunity_count",
        help="Number of opportunities that follow this sales process.",
    )
    # Default process for new opportunities
    default_scope = fields.Selection(
        [
            ("none", "Nobody"),
            ("all", "Everyone"),
            ("user", "Salespeople"),
            ("team", "Sales Teams"),
            ("department", "Departments"),
        ],
        string="Default Sales Process For",
        required=True,
        default="none",
        tracking=True,
        help="Whose new opportunities get this sales process when none is given.",
    )
    default_user_ids = fields.Many2many(
        "res.users",
        "crm_sales_process_default_user_rel",
        "process_id",
        "user_id",
        string="Default for Salespeople",
        domain="[('share', '=', False)]",
        check_company=True,
    )
    default_team_ids = fields.Many2many(
        "crm.team",
        "crm_sales_process_default_team_rel",
        "process_id",
        "team_id",
        string="Default for Sales Teams",
        check_company=True,
    )
    default_department_ids = fields.Many2many(
        "hr.department",
        "crm_sales_process_default_department_rel",
        "process_id",
        "department_id",
        string="Default for Departments",
        check_company=True,
    )
    default_for = fields.Char(
        compute="_compute_default_for",
        help="Who gets this process by default on new opportunities.",
    )
    # Audit: initials of who created / last saved the record, as the list shows them
    create_user_initials = fields.Char(
        string="Created By (Initials)", compute="_compute_user_initials"
    )
    write_user_initials = fields.Char(string="By", compute="_compute_user_initials")
    # Search helpers: first-letter buttons and % wildcards
    name_initial = fields.Selection(
        NAME_INITIALS,
        string="First Letter",
        compute="_compute_name_initial",
        store=True,
    )
    search_name = fields.Char(
        string="Name Pattern", compute="_compute_search_patterns", search="_search_name"
    )
    search_note = fields.Char(
        string="Note Pattern", compute="_compute_search_patterns", search="_search_note"
    )
    search_text = fields.Char(
        string="Free Text", compute="_compute_search_patterns", search="_search_text"
    )

    @api.depends("step_ids")
    def _compute_step_count(self):
        for process in self:
            process.step_count = len(process.step_ids)

    def _get_opportunity_counts(self, process_ids=None):
        """Active leads and opportunities per process id (all processes when none given)."""
        domain = Domain("sales_process_id", "!=", False)
        if process_ids is not None:
            domain &= Domain("sales_process_id", "in", process_ids)
        groups = self.env["crm.lead"].sudo()._read_group(domain, ["sales_process_id"], ["__count"])
        return {process.id: count for process, count in groups}

    def _compute_opportunity_count(self):
        counts = self._get_opportunity_counts(self.ids) if self.ids else {}
        for process in self:
            process.opportunity_count = counts.get(process.id, 0)

    def _search_opportunity_count(self, operator, value):
        """Compare the number of opportunities with a whole number ("In Use").

        The ORM hands ``=``/``!=`` over as ``in``/``not in``; ``False`` (unset) counts as 0.
        Processes without opportunities have no row in the counts, so when 0 matches the
        condition the domain excludes the non-matching processes instead of listing matches.
        """
        if operator in ("in", "not in"):
            values = {self._parse_count_value(item or 0) for item in value}
            positive = operator == "in"

            def matches(count):
                return (count in values) == positive

        elif operator in COUNT_OPERATORS:
            number = self._parse_count_value(value)

            def matches(count):
                return COUNT_OPERATORS[operator](count, number)

        else:
            raise UserError(self._get_count_search_error())
        counts = self._get_opportunity_counts()
        if matches(0):
            return [("id", "not in", [pid for pid, count in counts.items() if not matches(count)])]
        return [("id", "in", [pid for pid, count in counts.items() if matches(count)])]

    @api.depends(
        "default_scope",
        "default_user_ids.name",
        "default_team_ids.name",
        "default_department_ids.name",
    )
    def _compute_default_for(self):
        scope_labels = dict(self._fields["default_scope"]._description_selection(self.env))
        for process in self:
            targets = process._get_default_targets()
            label = scope_labels.get(process.default_scope, "")
            if targets:
                label = f"{label}: {', '.join(targets.mapped('display_name'))}"
            process.default_for = label

    @api.depends("create_uid.name", "write_uid.name")
    def _compute_user_initials(self):
        for process in self:
            process.create_user_initials = user_initials(process.create_uid)
            process.write_user_initials = user_initials(process.write_uid)

    @api.depends("name")
    def _compute_name_initial(self):
        for process in self:
            process.name_initial = name_initial(process.with_context(lang="en_US").name)

    def _compute_search_patterns(self):
        self.search_name = self.search_note = self.search_text = False

    def _search_name(self, operator, value):
        return wildcard_domain(self.env, ["name"], operator, value)

    def _search_note(self, operator, value):
        return wildcard_domain(self.env, ["note"], operator, value)

    def _search_text(self, operator, value):
        return wildcard_domain(self.env, ["name", "note"], operator, value)

    @api.constrains(*RULE_FIELDS)
    def _check_default_scope(self):
        """A salesperson, team or department has at most one default process per company."""
        for process in self.filtered("active"):
            scope = process.default_scope
            if scope in ("user", "team", "department") and not process._get_default_targets():
                raise ValidationError(
                    self.env._(
                        "Sales process “%(process)s” is the default for %(scope)s, "
                        "but none is selected.",
                        process=process.name,
                        scope=process._get_scope_label(),
                    )
                )
            if scope == "none":
                continue
            # Other processes of the company count even where record rules hide them.
            others = self.sudo().search(
                [
                    ("id", "!=", process.id),
                    ("company_id", "=", process.company_id.id),
                    ("default_scope", "=", scope),
                ]
            )
            for other in others:
                shared = process._get_default_targets() & other._get_default_targets()
                if scope == "all" or shared:
                    raise ValidationError(
                        self.env._(
                            "“%(targets)s” already has “%(other)s” as default sales process "
                            "in company %(company)s. Remove it there first, or choose "
                            "other defaults for “%(process)s”.",
                            targets=", ".join(shared.mapped("display_name"))
                            or process._get_scope_label(),
                            other=other.name,
                            company=process.company_id.name,
                            process=process.name,
                        )
                    )

    @api.constrains("company_id")
    def _check_company_in_use(self):
        """A process keeps the company of its steps' stages and of its opportunities."""
        self.step_ids._check_stage_company()
        groups = (
            self.env["crm.lead"]
            .sudo()
            .with_context(active_test=False)
            ._read_group(
                [("sales_process_id", "in", self.ids), ("company_id", "!=", False)],
                ["sales_process_id", "company_id"],
                ["__count"],
            )
        )
        mismatches = [group for group in groups if group[1] != group[0].company_id]
        if mismatches:
            process, company, count = mismatches[0]
            message = self.env._(
                "Sales process “%(process)s” cannot move to company %(company)s: opportunities "
                "of company %(other)s follow it (%(count)s, lost ones included). Give them "
                "another sales process first."
            )
            raise ValidationError(
                message
                % {
                    "process": process.name,
                    "company": process.company_id.name,
                    "other": company.name,
                    "count": count,
                }
            )

    @api.model_create_multi
    def create(self, vals_list):
        check_field_values(self, vals_list)
        before = self._read_default_process_company_ids()
        processes = super().create(vals_list)
        self._check_default_process_companies(before, processes.company_id)
        return processes

    def write(self, vals):
        check_field_values(self, vals)
        if not {*RULE_FIELDS, "step_ids"} & vals.keys():
            return super().write(vals)
        before = self._read_default_process_company_ids()
        companies = self.company_id
        result = super().write(vals)
        self._check_default_process_companies(before, companies | self.company_id)
        return result

    def unlink(self):
        before = self._read_default_process_company_ids()
        companies = self.company_id
        result = super().unlink()
        self._check_default_process_companies(before, companies)
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_except_in_use(self):
        leads = (
            self.env["crm.lead"]
            .with_context(active_test=False)
            .sudo()
            .search([("sales_process_id", "in", self.ids)])
        )
        if leads:
            used = leads.sales_process_id
            names = ", ".join(f"“{name}”" for name in used.mapped("name"))
            if len(used) == 1:
                message = self.env._(
                    "Sales process %(processes)s is used by opportunities (%(count)s, lost ones "
                    "included) and cannot be deleted. Archive it instead: it then stays on "
                    "those opportunities but is no longer offered. Nothing was deleted.",
                    processes=names,
                    count=len(leads),
                )
            else:
                message = self.env._(
                    "Sales processes %(processes)s are used by opportunities (%(count)s, lost "
                    "ones included) and cannot be deleted. Archive them instead: they then stay "
                    "on those opportunities but are no longer offered. Nothing was deleted.",
                    processes=names,
                    count=len(leads),
                )
            raise UserError(message)
        # Processes opportunities have left (changed process) still hold their step history
        history = (
            self.env["crm.sales.process.history"]
            .sudo()
            ._read_group(
                [("process_id", "in", self.ids)], ["process_id"], ["lead_id:count_distinct"]
            )
        )
        for process, count in history:
            raise UserError(
                self.env._(
                    "Sales process “%(process)s” cannot be deleted: the step history of "
                    "%(count)s opportunities refers to it, and the figures of the Sales Process "
                    "Analysis would be lost. Archive it instead. Nothing was deleted.",
                    process=process.name,
                    count=count,
                )
            )

    def copy_data(self, default=None):
        if default and not isinstance(default, Mapping):
            raise UserError(self.env._("The values of the copy must map field names to values."))
        check_field_values(self, default or {})
        vals_list = super().copy_data(default=default)
        for process, vals in zip(self, vals_list, strict=True):
            if "name" not in (default or {}):
                vals["name"] = self.env._("%s (copy)", process.name)
            # A copy must not steal the defaults of its original.
            if "default_scope" not in (default or {}):
                vals["default_scope"] = "none"
        return vals_list

    @api.readonly
    def action_view_opportunities(self):
        ensure_one_record(self)
        action = self.env["ir.actions.act_window"]._for_xml_id("crm.crm_lead_opportunities")
        action["domain"] = [("sales_process_id", "=", self.id)]
        action["context"] = {"default_sales_process_id": self.id, "active_test": True}
        return action

    def action_apply_observed_probabilities(self):
        """Confirmation dialog: each step's percentage → its observed one (managers)."""
        ensure_one_record(self)
        self.check_access("write")
        self._check_calibration_sample()
        wizard = self.env["crm.sales.process.calibration.wizard"].create({"process_id": self.id})
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Apply Observed Percentages"),
            "res_model": wizard._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }

    @api.readonly
    def action_export_xlsx(self):
        """Download the formatted Excel workbook of these processes (list/form Actions menu)."""
        if not self:
            raise UserError(self.env._("Select at least one sales process to export."))
        self.check_access("read")
        ids = ",".join(str(process_id) for process_id in self.ids)
        return {
            "type": "ir.actions.act_url",
            "url": f"/crm_sales_process/export/xlsx?ids={ids}",
            "target": "download",
        }

    def _get_default_targets(self):
        """Records this process is the default for, given its scope."""
        self.ensure_one()
        return {
            "user": self.default_user_ids,
            "team": self.default_team_ids,
            "department": self.default_department_ids,
        }.get(self.default_scope, self.env["res.users"])

    def _get_scope_label(self):
        self.ensure_one()
        return dict(self._fields["default_scope"]._description_selection(self.env)).get(
            self.default_scope, ""
        )

    def _parse_count_value(self, value):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value != int(value)
        ):
            raise UserError(self._get_count_search_error())
        return int(value)

    def _get_count_search_error(self):
        return self.env._(
            "In Use can only be compared with >=, <=, >, <, = or != and a whole number."
        )

    def _get_xlsx_export(self):
        """The formatted workbook: a sheet of the processes and one of their steps (bytes)."""
        output = io.BytesIO()
        workbook = xlsxwriter.Workbook(output, {"in_memory": True})
        formats = {
            "header": workbook.add_format(
                {"bold": True, "bg_color": "#DDE5F0", "border": 1, "valign": "top"}
            ),
            "datetime": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm", "valign": "top"}),
            "percent": workbook.add_format({"num_format": "0%", "valign": "top"}),
            "percent_decimal": workbook.add_format({"num_format": "0.00%", "valign": "top"}),
            "text": workbook.add_format({"valign": "top"}),
            "wrap": workbook.add_format({"text_wrap": True, "valign": "top"}),
        }
        processes = self.with_context(active_test=False)
        steps = processes.step_ids.browse(
            [step.id for process in processes for step in process._get_ordered_steps()]
        )
        for title, records, columns in (
            (self.env._("Sales Processes"), processes, self._get_xlsx_process_columns()),
            (self.env._("Steps"), steps, self._get_xlsx_step_columns()),
        ):
            self._write_xlsx_sheet(
                workbook.add_worksheet(xlsx_sheet_name(title)), formats, columns, records
            )
        workbook.close()
        return output.getvalue()

    def _get_xlsx_process_columns(self):
        """Columns of the processes sheet: (title, width, format, value of a process)."""
        _ = self.env._
        yes, no = _("Yes"), _("No")
        return [
            (_("ID"), 8, "text", lambda process: process.id),
            (_("Name"), 34, "text", lambda process: process.name),
            (_("Default For"), 34, "wrap", lambda process: process.default_for),
            (_("Active"), 8, "text", lambda process: yes if process.active else no),
            (_("Steps"), 8, "text", lambda process: process.step_count),
            (_("In Use"), 8, "text", lambda process: process.opportunity_count),
            (
                _("Created"),
                17,
                "datetime",
                lambda process: self._xlsx_datetime(process.create_date),
            ),
            (_("Created By"), 10, "text", lambda process: process.create_user_initials),
            (
                _("Last Modified"),
                17,
                "datetime",
                lambda process: self._xlsx_datetime(process.write_date),
            ),
            (_("By"), 8, "text", lambda process: process.write_user_initials),
            (_("Company"), 20, "text", lambda process: process.company_id.name),
            (_("Note"), 60, "wrap", lambda process: process.note),
        ]

    def _get_xlsx_step_columns(self):
        """Columns of the steps sheet: (title, width, format, value of a step); a value may
        be (value, format) where it needs another format than its column's."""
        _ = self.env._
        yes, no = _("Yes"), _("No")
        return [
            (_("Sales Process"), 34, "text", lambda step: step.process_id.name),
            (_("No."), 6, "text", lambda step: step.number),
            (_("Name"), 30, "text", lambda step: step.name),
            (
                _("%"),
                8,
                "percent",
                lambda step: (
                    step.probability / 100,
                    "percent" if step.probability == int(step.probability) else "percent_decimal",
                ),
            ),
            (_("Won"), 6, "text", lambda step: yes if step.is_won else no),
            (_("Last Modified"), 17, "datetime", lambda step: self._xlsx_datetime(step.write_date)),
            (_("By"), 8, "text", lambda step: step.write_user_initials),
        ]

    def _write_xlsx_sheet(self, sheet, formats, columns, records):
        """Header row, column widths and formats, then a row per record; frozen header and
        filters."""
        for col, (title, width, style, _value) in enumerate(columns):
            sheet.set_column(col, col, width, formats[style])
            sheet.write(0, col, title, formats["header"])
        for row, record in enumerate(records, start=1):
            for col, (_title, _width, style, get_value) in enumerate(columns):
                value = get_value(record)
                if isinstance(value, tuple):
                    value, style = value
                if value is False or value is None:
                    value = ""
                sheet.write(row, col, value, formats[style])
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, max(len(records), 1), len(columns) - 1)

    def _xlsx_datetime(self, value):
        """A UTC datetime as the user's local wall-clock time (Excel has no time zones)."""
        if not value:
            return False
        return fields.Datetime.context_timestamp(self, value).replace(tzinfo=None)

    # ------------------------------------------------------------
    # KPIs (public contract: screens, exports and integrations)
    # ------------------------------------------------------------

    @api.readonly
    def get_kpis(
        self, date_from=False, date_to=False, team_ids=None, user_ids=None, department_ids=None
    ):
        """Figures of each process in ``self``, as a list of plain dicts in recordset order.

        The period (dates or ISO strings, both included, either may be left open) selects the
        opportunities closed, won or created in it and the stays overlapping it; open figures
        (pipeline, open counts) are today's. Filters apply to the opportunity's current team,
        salesperson and department. Only opportunities the user may read count (record rules
        and companies), in a constant number of SQL queries whatever the data.

        :returns: ``[{"process_id", "opportunity_count", "won_count", "lost_count",
            "win_rate", "avg_cycle_days", "avg_won_amount", "pipeline_value",
            "weighted_value", "velocity_per_day", "created_count", "conversion_rate",
            "steps": [{"step_id", "name", "probability", "is_won", "reached", "moved_on",
            "conversion_rate", "win_rate_from_step", "closed_count", "avg_days",
            "median_days", "open_count"}]}]`` with rates in percent (0-100), amounts in the
            company currency and durations in days.
        """
        if not self:
            return []
        period = self._get_kpi_period(date_from, date_to)
        _ = self.env._
        team_ids = parse_ids_argument(self.env, team_ids, _("Sales Teams"))
        user_ids = parse_ids_argument(self.env, user_ids, _("Salespeople"))
        department_ids = parse_ids_argument(self.env, department_ids, _("Departments"))
        query = self._get_kpi_lead_query(team_ids, user_ids, department_ids)
        if query.is_empty():
            lead_figures, step_figures = {}, {}
        else:
            lead_figures, open_counts = self._read_kpi_lead_figures(query, period)
            step_figures = self._read_kpi_step_figures(
                query, period, prefilter=bool(team_ids or user_ids or department_ids)
            )
            for step_id, count in open_counts.items():
                step_figures.setdefault(step_id, {})["open_count"] = count
        result = []
        for process in self:
            figures = lead_figures.get(process.id, {})
            result.append(
                process._prepare_kpis(figures, step_figures),
            )
        return result

    @api.model
    def _get_kpi_period(self, date_from, date_to):
        """(start, end) datetimes in UTC of the period, end excluded; None when open."""
        start = end = None
        date_from = parse_date_argument(self.env, date_from)
        date_to = parse_date_argument(self.env, date_to)
        if date_from:
            start = datetime.combine(date_from, time.min)
        if date_to and date_to < date.max:  # the last day there is: open-ended
            end = datetime.combine(date_to, time.min) + timedelta(days=1)
        return start, end

    @api.model
    def _kpi_in_period(self, column, period):
        """SQL condition: ``column`` (a datetime) lies in the period."""
        start, end = period
        conditions = [SQL("%s IS NOT NULL", column)]
        if start:
            conditions.append(SQL("%s >= %s", column, start))
        if end:
            conditions.append(SQL("%s < %s", column, end))
        return SQL(" AND ").join(conditions)

    @api.model
    def _get_kpi_lead_query(self, team_ids, user_ids, department_ids):
        """Query of the opportunities the user may read, given the filters.

        Built by the ORM, so that the opportunity's record rules and companies apply; the
        KPI queries select from its FROM and WHERE clauses (no sub-select of ids to join).
        """
        domain = Domain("type", "=", "opportunity")
        if team_ids:
            domain &= Domain("team_id", "in", list(team_ids))
        if user_ids:
            domain &= Domain("user_id", "in", list(user_ids))
        if department_ids:
            domain &= Domain("department_id", "in", list(department_ids))
        Lead = self.env["crm.lead"].with_context(active_test=False)
        Lead.flush_model()
        self.env["crm.sales.process.history"].flush_model()
        self.env["crm.sales.process.step"].flush_model()
        return Lead._search(domain, active_test=False)

    def _read_kpi_lead_figures(self, query, period):
        """({process id: figures of its opportunities}, {step id: open opportunities}) in one
        query: one pass over the opportunities grouped by process and step (which PostgreSQL
        may split between workers), then the few step rows added up per process. Averages
        are sums divided by counts, as AVG computes them."""
        lead = SQL.identifier(query.table)
        closed = self._kpi_in_period(SQL("%s.date_closed", lead), period)
        created = self._kpi_in_period(SQL("%s.create_date", lead), period)
        is_open = SQL("%s.active AND %s.won_status = 'pending'", lead, lead)
        won = SQL("%s.won_status = 'won' AND %s", lead, closed)
        cycle = SQL("EXTRACT(EPOCH FROM %s.date_closed - %s.create_date) / 86400.0", lead, lead)
        self.env.cr.execute(
            SQL(
                """
                %(no_jit)s
                WITH by_step AS (
                    SELECT %(lead)s.sales_process_id AS process_id,
                           %(lead)s.sales_process_step_id AS step_id,
                           COUNT(*) FILTER (WHERE %(is_open)s) AS open_count,
                           SUM(%(lead)s.expected_revenue) FILTER (WHERE %(is_open)s) AS pipeline,
                           SUM(%(lead)s.prorated_revenue) FILTER (WHERE %(is_open)s) AS weighted,
                           COUNT(*) FILTER (WHERE %(won)s) AS won_count,
                           COUNT(*) FILTER (WHERE %(lead)s.won_status = 'lost' AND %(closed)s)
                               AS lost_count,
                           SUM(%(cycle)s) FILTER (WHERE %(won)s) AS cycle_sum,
                           COUNT(%(cycle)s) FILTER (WHERE %(won)s) AS cycle_count,
                           SUM(%(lead)s.expected_revenue) FILTER (WHERE %(won)s) AS won_sum,
                           COUNT(%(lead)s.expected_revenue) FILTER (WHERE %(won)s) AS won_amounts,
                           COUNT(*) FILTER (WHERE %(created)s) AS created_count,
                           COUNT(*) FILTER (WHERE %(created)s AND %(lead)s.won_status = 'won')
                               AS created_won_count
                      FROM %(from_clause)s
                     WHERE %(where_clause)s
                       AND %(lead)s.sales_process_id = ANY(%(process_ids)s)
                  GROUP BY 1, 2
                )
                SELECT process_id, step_id, FALSE, open_count,
                       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
                  FROM by_step
                 UNION ALL
                SELECT process_id, NULL, TRUE,
                       SUM(open_count)::bigint,
                       COALESCE(SUM(pipeline), 0),
                       COALESCE(SUM(weighted), 0),
                       SUM(won_count)::bigint,
                       SUM(lost_count)::bigint,
                       SUM(cycle_sum) / NULLIF(SUM(cycle_count), 0),
                       SUM(won_sum) / NULLIF(SUM(won_amounts), 0),
                       SUM(created_count)::bigint,
                       SUM(created_won_count)::bigint
                  FROM by_step
              GROUP BY process_id
                """,
                no_jit=KPI_NO_JIT,
                lead=lead,
                is_open=is_open,
                won=won,
                closed=closed,
                created=created,
                cycle=cycle,
                process_ids=list(self.ids),
                from_clause=query.from_clause,
                where_clause=query.where_clause or SQL("TRUE"),
            )
        )
        keys = (
            "opportunity_count",
            "pipeline_value",
            "weighted_value",
            "won_count",
            "lost_count",
            "avg_cycle_days",
            "avg_won_amount",
            "created_count",
            "created_won_count",
        )
        lead_figures, open_counts = {}, {}
        for process_id, step_id, process_row, *figures in self.env.cr.fetchall():
            if process_row:
                lead_figures[process_id] = dict(zip(keys, figures, strict=True))
            elif step_id:
                open_counts[step_id] = figures[0]
        return lead_figures, open_counts

    def _read_kpi_step_figures(self, query, period, prefilter=False):
        """{step id: figures of its stays} in two queries, one pass over the history each.

        A stay counts as reached when it overlaps the period; it moved on when a later stay
        of the same opportunity in the same process is on a later step, or the opportunity
        was won in this process. Closed counts (for the win rate from the step) take the
        opportunities closed in the period that were on the step at any time. Durations
        (average, median) are those of the stays left in the period.

        Each opportunity counts once per step: the history is read once in the order of the
        opportunity's stays (latest first, so the highest later step is a running maximum),
        folded into one row per opportunity and process holding its steps as bits (see
        ``WORD_STEPS``), joined to the opportunities only then, and those rows grouped by
        their bits before counting per step.
        """
        start, end = period
        overlap = [SQL("TRUE")]
        if start:
            # an open stay lasts until now
            overlap.append(SQL("COALESCE(history.date_out, %s) >= %s", self.env.cr.now(), start))
        if end:
            overlap.append(SQL("history.date_in < %s", end))
        overlap = SQL(" AND ").join(overlap)
        lead = SQL.identifier(query.table)
        closed = self._kpi_in_period(SQL("%s.date_closed", lead), period)
        left = self._kpi_in_period(SQL("history.date_out"), period)
        # Position of each step in its process, looked up by step id in an array (one
        # subscript per stay, where a join would cost a hash probe per stay and keep the
        # planner from reading the stays in the order the window needs)
        step_ids, step_processes, positions = [], [], []
        for process in self.browse(dict.fromkeys(self.ids)):  # each process once
            for position, step in enumerate(process._get_ordered_steps()):
                step_ids.append(step.id)
                step_processes.append(process.id)
                positions.append(position)
        offset = min(step_ids, default=1) - 1
        by_id = [None] * (max(step_ids, default=0) - offset)
        process_by_id = list(by_id)
        for step_id, process_id, position in zip(step_ids, step_processes, positions, strict=True):
            by_id[step_id - offset - 1] = position
            process_by_id[step_id - offset - 1] = process_id
        # The steps of an opportunity as bits, three sets in one bigint word per 21 steps:
        # bits 0-20 the steps it was ever on, 21-41 those reached in the period, 42-62 those
        # it moved on from. One aggregate per stay, and one bigint per opportunity when no
        # process has more than 21 steps (else an array of words).
        words = range(max(positions, default=0) // WORD_STEPS + 1)
        single = len(words) == 1

        def stay_bits():
            step_bit = SQL("(stay.position %% %s)", WORD_STEPS)
            value = SQL(
                "(1::bigint << %(bit)s)"
                " | CASE WHEN stay.in_period THEN 1::bigint << (%(bit)s + %(size)s) ELSE 0 END"
                " | CASE WHEN stay.in_period AND stay.highest_from_here > stay.position"
                " THEN 1::bigint << (%(bit)s + 2 * %(size)s) ELSE 0 END",
                bit=step_bit,
                size=WORD_STEPS,
            )
            if single:
                return SQL("BIT_OR(%s)", value)
            return SQL(
                "ARRAY[%s]",
                SQL(", ").join(
                    SQL(
                        "COALESCE(BIT_OR(%s) FILTER (WHERE stay.position / %s = %s), 0)",
                        value,
                        WORD_STEPS,
                        word,
                    )
                    for word in words
                ),
            )

        def has_bit(kind):
            """The step's bit in set ``kind`` (0: ever on, 1: reached, 2: moved on)."""
            bit = SQL(
                "(1::bigint << (step_rank.position %% %s + %s))", WORD_STEPS, kind * WORD_STEPS
            )
            if single:
                return SQL("sets.steps & %s <> 0", bit)
            return SQL("sets.steps[step_rank.position / %s + 1] & %s <> 0", WORD_STEPS, bit)

        self.env.cr.execute(
            SQL(
                """
                %(no_jit)s
                WITH stays AS (
                    SELECT history.lead_id, stay_step.process_id, stay_step.position,
                           %(overlap)s AS in_period,
                           -- highest step of this stay and the later ones: above the
                           -- stay's own step when the opportunity moved on from it
                           MAX(stay_step.position) OVER (
                               PARTITION BY history.lead_id, stay_step.process_id
                               ORDER BY history.date_in DESC, history.id DESC
                               ROWS UNBOUNDED PRECEDING
                           ) AS highest_from_here
                      FROM crm_sales_process_history history
                     CROSS JOIN LATERAL (
                         SELECT (%(by_id)s::int[])[history.step_id - %(offset)s] AS position,
                                (%(process_by_id)s::int[])[history.step_id - %(offset)s]
                                    AS process_id
                     ) stay_step
                     WHERE stay_step.position IS NOT NULL
                       AND %(prefilter)s
                ), lead_steps AS (
                    SELECT stay.lead_id, stay.process_id,
                           %(stay_bits)s AS steps
                      FROM stays stay
                  GROUP BY stay.lead_id, stay.process_id
                ), step_sets AS (
                    SELECT lead_step.process_id, lead_step.steps,
                           %(lead)s.sales_process_id = lead_step.process_id
                               AND %(lead)s.won_status = 'won' AS won_here,
                           %(lead)s.sales_process_id = lead_step.process_id
                               AND %(lead)s.won_status IN ('won', 'lost')
                               AND %(closed)s AS closed,
                           %(lead)s.sales_process_id = lead_step.process_id
                               AND %(lead)s.won_status = 'won' AND %(closed)s AS closed_won,
                           COUNT(*) AS leads
                      FROM %(from_clause)s
                      JOIN lead_steps lead_step ON lead_step.lead_id = %(lead)s.id
                     WHERE %(where_clause)s
                  GROUP BY 1, 2, 3, 4, 5
                ), step_rank AS (
                    SELECT *
                      FROM UNNEST(%(step_ids)s::int[], %(step_processes)s::int[],
                                  %(positions)s::int[]) AS step_rank(id, process_id, position)
                )
                SELECT step_rank.id,
                       COALESCE(SUM(sets.leads) FILTER (WHERE %(reached)s), 0)::bigint,
                       COALESCE(SUM(sets.leads) FILTER (
                           WHERE %(moved)s OR (sets.won_here AND %(reached)s)), 0)::bigint,
                       COALESCE(SUM(sets.leads) FILTER (WHERE sets.closed AND %(any)s), 0)::bigint,
                       COALESCE(SUM(sets.leads) FILTER (
                           WHERE sets.closed_won AND %(any)s), 0)::bigint
                  FROM step_rank
                  JOIN step_sets sets ON sets.process_id = step_rank.process_id
              GROUP BY step_rank.id
                """,
                # Filtered figures read only the stays of the selected opportunities; without
                # filters, joining the opportunities once per opportunity (after folding
                # their stays) is cheaper than filtering every stay.
                prefilter=(
                    SQL("history.lead_id IN %s", query.subselect()) if prefilter else SQL("TRUE")
                ),
                no_jit=KPI_NO_JIT,
                by_id=by_id,
                process_by_id=process_by_id,
                offset=offset,
                step_ids=step_ids,
                step_processes=step_processes,
                positions=positions,
                overlap=overlap,
                stay_bits=stay_bits(),
                lead=lead,
                closed=closed,
                from_clause=query.from_clause,
                where_clause=query.where_clause or SQL("TRUE"),
                any=has_bit(0),
                reached=has_bit(1),
                moved=has_bit(2),
            )
        )
        keys = ("reached", "moved_on", "closed_count", "closed_won")
        figures = {row[0]: dict(zip(keys, row[1:], strict=True)) for row in self.env.cr.fetchall()}
        # Average and median of the stays left in the period, from their durations counted
        # by step and value: the median is read from the running counts (as
        # PERCENTILE_CONT(0.5) takes it: the middle value, or halfway between the two middle
        # ones) without sorting every stay.
        self.env.cr.execute(
            SQL(
                """
                %(no_jit)s
                WITH durations AS (
                    SELECT history.step_id, history.duration_days AS days, COUNT(*) AS stays
                      FROM %(from_clause)s
                      JOIN crm_sales_process_history history
                        ON history.lead_id = %(lead)s.id
                     WHERE %(where_clause)s
                       AND history.step_id = ANY(%(step_ids)s::int[])
                       AND history.duration_days IS NOT NULL
                       AND %(left)s
                  GROUP BY history.step_id, history.duration_days
                ), running AS (
                    SELECT duration.step_id, duration.days, duration.stays,
                           SUM(duration.stays) OVER (PARTITION BY duration.step_id
                                                     ORDER BY duration.days) AS upto,
                           SUM(duration.stays) OVER (PARTITION BY duration.step_id) AS total
                      FROM durations duration
                )
                SELECT running.step_id,
                       SUM(running.days * running.stays) / SUM(running.stays),
                       MIN(running.days) FILTER (
                           WHERE running.upto >= FLOOR((running.total - 1) / 2) + 1),
                       MIN(running.days) FILTER (
                           WHERE running.upto >= CEIL((running.total - 1) / 2.0) + 1)
                  FROM running
              GROUP BY running.step_id
                """,
                no_jit=KPI_NO_JIT,
                from_clause=query.from_clause,
                where_clause=query.where_clause or SQL("TRUE"),
                lead=lead,
                step_ids=step_ids,
                left=left,
            )
        )
        for step_id, avg_days, low, high in self.env.cr.fetchall():
            low, high = float(low), float(high)
            figures.setdefault(step_id, {}).update(
                avg_days=avg_days,
                # as PostgreSQL interpolates (in double precision)
                median_days=low + 0.5 * (high - low),
            )
        return figures

    def _prepare_kpis(self, figures, step_figures):
        """The dict get_kpis returns for this process, from the raw SQL figures."""
        self.ensure_one()

        def number(value, digits=2):
            return round(float(value or 0.0), digits)

        def rate(part, whole):
            return number(100.0 * part / whole) if whole else 0.0

        won, lost = figures.get("won_count", 0), figures.get("lost_count", 0)
        win_rate = rate(won, won + lost)
        cycle = number(figures.get("avg_cycle_days"))
        avg_won = number(figures.get("avg_won_amount"))
        open_count = figures.get("opportunity_count", 0)
        velocity = number(open_count * win_rate / 100.0 * avg_won / cycle) if cycle else 0.0
        steps = []
        for step in self._get_ordered_steps():
            values = step_figures.get(step.id, {})
            reached, moved_on = values.get("reached", 0), values.get("moved_on", 0)
            closed = values.get("closed_count", 0)
            steps.append(
                {
                    "step_id": step.id,
                    "name": step.name or "",
                    "probability": number(step.probability),
                    "is_won": bool(step.is_won),
                    "reached": reached,
                    "moved_on": moved_on,
                    "conversion_rate": rate(moved_on, reached),
                    "win_rate_from_step": rate(values.get("closed_won", 0), closed),
                    "closed_count": closed,
                    "avg_days": number(values.get("avg_days")),
                    "median_days": number(values.get("median_days")),
                    "open_count": values.get("open_count", 0),
                }
            )
        return {
            "process_id": self.id,
            "name": self.name,
            "currency_id": self.company_id.currency_id.id,
            "opportunity_count": open_count,
            "won_count": won,
            "lost_count": lost,
            "win_rate": win_rate,
            "avg_cycle_days": cycle,
            "avg_won_amount": avg_won,
            "pipeline_value": number(figures.get("pipeline_value")),
            "weighted_value": number(figures.get("weighted_value")),
            "velocity_per_day": velocity,
            "created_count": figures.get("created_count", 0),
            "conversion_rate": rate(
                figures.get("created_won_count", 0), figures.get("created_count", 0)
            ),
            "steps": steps,
        }

    # Calibration

    @api.model
    def _get_calibration_months(self):
        value = self.env["ir.config_parameter"].sudo().get_param(CALIBRATION_MONTHS_PARAM)
        try:
            months = int(value) if value else DEFAULT_CALIBRATION_MONTHS
        except ValueError:
            months = DEFAULT_CALIBRATION_MONTHS
        return max(months, 1)

    @api.model
    def _get_calibration_min_sample(self):
        value = self.env["ir.config_parameter"].sudo().get_param(CALIBRATION_MIN_SAMPLE_PARAM)
        try:
            sample = int(value) if value else DEFAULT_CALIBRATION_MIN_SAMPLE
        except ValueError:
            sample = DEFAULT_CALIBRATION_MIN_SAMPLE
        return max(sample, 1)

    @api.model
    def _get_calibration_date_from(self):
        """First day of the calibration window (the last N months, today included)."""
        return fields.Date.context_today(self) - relativedelta(
            months=self._get_calibration_months()
        )

    def _get_observed_percentages(self):
        """[(step, current %, observed % rounded, closed sample)] in step order; won steps
        stay at 100 %."""
        self.ensure_one()
        kpis = self.get_kpis(date_from=self._get_calibration_date_from())[0]
        by_step = {values["step_id"]: values for values in kpis["steps"]}
        result = []
        for step in self._get_ordered_steps():
            values = by_step.get(step.id, {})
            observed = 100.0 if step.is_won else float(round(values.get("win_rate_from_step", 0)))
            result.append((step, step.probability, observed, values.get("closed_count", 0)))
        return result

    def _check_calibration_sample(self):
        """Refuse calibrating on too few closed opportunities (threshold: system parameter)."""
        self.ensure_one()
        threshold = self._get_calibration_min_sample()
        short = [
            (step, sample)
            for step, _current, _observed, sample in self._get_observed_percentages()
            if not step.is_won and sample < threshold
        ]
        if short:
            raise UserError(
                self.env._(
                    "The observed percentages of “%(process)s” rest on too few closed "
                    "opportunities: each step needs at least %(threshold)s in the last "
                    "%(months)s months. Too few on: %(steps)s. Nothing was changed.",
                    process=self.display_name,
                    threshold=threshold,
                    months=self._get_calibration_months(),
                    steps=", ".join(
                        self.env._("%(step)s (%(count)s)", step=step.name, count=sample)
                        for step, sample in short
                    ),
                )
            )

    def _apply_observed_percentages(self, percentages=None):
        """Set each step's percentage to the observed one and log it in the chatter.

        ``percentages`` ({step: new percentage}) are the values the user confirmed; without
        them the observed ones are read now. The step write realigns the open opportunities.
        """
        self.ensure_one()
        self._check_calibration_sample()
        if percentages is None:
            percentages = {
                step: observed
                for step, _current, observed, _sample in self._get_observed_percentages()
            }
        changes = [
            (step, step.probability, observed)
            for step, observed in percentages.items()
            if float_compare(step.probability, observed, precision_digits=2)
        ]
        if not changes:
            return False
        for step, _current, observed in changes:
            step.probability = observed
        lines = Markup("").join(
            Markup("<li>%s</li>")
            % self.env._(
                "%(step)s: %(old)s %% → %(new)s %%",
                step=step.name,
                old=format_percentage(self.env, current),
                new=format_percentage(self.env, observed),
            )
            for step, current, observed in changes
        )
        self.message_post(
            body=Markup("<p>%s</p><ul>%s</ul>")
            % (
                self.env._("Step percentages set to the observed ones:"),
                lines,
            ),
            subtype_xmlid="mail.mt_note",
        )
        return True

    # Opportunities following the process (used by crm.lead)

    def _get_ordered_steps(self):
        """Steps in process order (sequence, then creation)."""
        self.ensure_one()
        return self.step_ids.sorted(lambda step: (step.sequence, step.id))

    def _get_step_stages(self):
        """Stages of the steps, in process order: the process's pipeline columns."""
        return self._get_ordered_steps().stage_id if self else self.env["crm.stage"]

    def _get_nearest_step(self, probability):
        """Step whose percentage is nearest to ``probability``; ties go to the earlier step."""
        steps = self._get_ordered_steps()
        if not steps:
            return steps
        return min(
            enumerate(steps), key=lambda item: (abs(item[1].probability - probability), item[0])
        )[1]

    @api.model
    def _check_default_process_companies(self, before, companies):
        """After a change of processes or steps of ``companies``: clear the cached companies
        having default processes (see _get_default_process_company_ids) if the change altered
        them (``before``: _read_default_process_company_ids before the change).

        Only then: clearing means clearing every cache of the registry in every worker (Odoo
        signals it through the database), which costs each worker's next requests dozens of
        queries. The rules themselves are never cached (see _get_default_process_rules).

        Concurrency: two such changes of one company at once (one giving it its first default
        process, the other archiving its last) could each see no change in its own snapshot,
        and a worker reading in between would keep a wrong cache. The no-op update of the
        companies' rows makes the second of them fail with a serialization error (Odoo
        retries it, then sees the first one's change).
        """
        self.env.cr.cache.pop(RULES_CACHE_KEY, None)
        company_ids = sorted({company.id for company in companies if company})
        if company_ids and not self.env.cr.readonly:
            self.env.cr.execute(
                SQL(
                    "UPDATE res_company SET write_date = write_date WHERE id = ANY(%s)",
                    company_ids,
                )
            )
        if self._read_default_process_company_ids() != before:
            self.env.registry.clear_cache()

    @api.model
    @ormcache()
    def _get_default_process_company_ids(self):
        """Ids of the companies with at least one default process (active, with steps, a
        default scope other than "none"); cached: opportunities of other companies get no
        process by the rules without a query."""
        return self._read_default_process_company_ids()

    @api.model
    def _read_default_process_company_ids(self):
        self.flush_model(["active", "default_scope", "company_id"])
        self.env["crm.sales.process.step"].flush_model(["process_id"])
        self.env.cr.execute(
            SQL(
                """
                SELECT DISTINCT process.company_id
                  FROM crm_sales_process process
                 WHERE process.active
                   AND process.default_scope != 'none'
                   AND process.company_id IS NOT NULL
                   AND EXISTS (SELECT 1 FROM crm_sales_process_step step
                                WHERE step.process_id = process.id)
                """
            )
        )
        return frozenset(row[0] for row in self.env.cr.fetchall())

    @api.model
    def _get_default_process_rules(self, company_ids, lock=False):
        """Default-process rules of the companies (read-only result), as of this transaction.

        Read in one query, not cached: a cache of the rules would be stale in other workers
        until their next request and must be cleared with every cache of the registry at
        each change of a rule. Companies known to have no default process cost no query.

        ``lock``: share-lock the companies' default processes until commit. Concurrency:
        under PostgreSQL's repeatable read a process archived or a rule changed by another
        transaction, after this one's snapshot or still running, then makes this transaction
        fail with a serialization error (Odoo retries it with fresh data) instead of creating
        opportunities on a process that is no longer the default; a change waiting behind the
        lock goes on once this transaction commits.

        :returns: ``{company id: {"user": {user id: process id}, "team": {team id: process id},
            "department": {department id: process id}, "all": process id or False}}`` for
            active processes with steps and a default scope other than "none"; companies
            without any such process are left out.
        """
        company_ids = set(company_ids or ()) & self._get_default_process_company_ids()
        if not company_ids:
            return {}
        lock = lock and not self.env.cr.readonly
        # Read once per transaction (its snapshot does not change; its own changes of
        # processes and steps drop this, see _check_default_process_companies): lead
        # assignment converts and creates lead by lead. Odoo clears the cursor's cache at
        # commit and rollback.
        key = tuple(sorted(company_ids))
        known = self.env.cr.cache.setdefault(RULES_CACHE_KEY, {})
        if key in known and (known[key][1] or not lock):
            return known[key][0]
        self.flush_model()
        self.env["crm.sales.process.step"].flush_model(["process_id"])
        self.env.cr.execute(
            SQL(
                """
                SELECT process.id, process.company_id, process.default_scope,
                       ARRAY(SELECT rel.user_id FROM crm_sales_process_default_user_rel rel
                              WHERE rel.process_id = process.id),
                       ARRAY(SELECT rel.team_id FROM crm_sales_process_default_team_rel rel
                              WHERE rel.process_id = process.id),
                       ARRAY(SELECT rel.department_id
                               FROM crm_sales_process_default_department_rel rel
                              WHERE rel.process_id = process.id)
                  FROM crm_sales_process process
                 WHERE process.active
                   AND process.default_scope != 'none'
                   AND process.company_id = ANY(%s)
                   AND EXISTS (SELECT 1 FROM crm_sales_process_step step
                                WHERE step.process_id = process.id)
              ORDER BY process.id
                %s
                """,
                sorted(company_ids),
                SQL("FOR SHARE OF process") if lock else SQL(),
            )
        )
        rules = {}
        for row in self.env.cr.fetchall():
            process_id, company_id, scope, user_ids, team_ids, department_ids = row
            rule = rules.setdefault(
                company_id, {"user": {}, "team": {}, "department": {}, "all": False}
            )
            if scope == "all":
                rule["all"] = rule["all"] or process_id
                continue
            targets = {"user": user_ids, "team": team_ids, "department": department_ids}[scope]
            for target_id in targets:
                rule[scope].setdefault(target_id, process_id)
        known[key] = (rules, lock)
        return rules
