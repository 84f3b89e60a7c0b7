# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import math

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import SQL, ormcache

from .crm_sales_process_checked_values import check_field_values
from .tools import (
    NAME_INITIALS,
    ensure_one_record,
    name_initial,
    user_initials,
    wildcard_domain,
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

    @api.constrains("name")
    def _check_name(self):
        if any(not (process.name or "").strip() for process in self):
            raise ValidationError(self.env._("A sales process needs a name: it cannot be empty."))

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

    @api.readonly
    def action_export_xlsx(self):
        """Download the formatted Excel workbook of these processes (list/form Actions menu;
        report/crm_sales_process_xlsx.py)."""
        if not self:
            raise UserError(self.env._("Select at least one sales process to export."))
        self.check_access("read")
        return self.env["report.crm_sales_process.export_xlsx"]._get_download_action(self.ids)

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
        rules = self._fold_default_process_rules(self.env.cr.fetchall())
        known[key] = (rules, lock)
        return rules

    @api.model
    def _fold_default_process_rules(self, rows):
        """The rules of _get_default_process_rules from its query's rows (process, company,
        scope, user ids, team ids, department ids), in process order: the first process
        wins where two give the same target a default."""
        rules = {}
        for process_id, company_id, scope, user_ids, team_ids, department_ids in rows:
            rule = rules.setdefault(
                company_id, {"user": {}, "team": {}, "department": {}, "all": False}
            )
            if scope == "all":
                rule["all"] = rule["all"] or process_id
                continue
            targets = {"user": user_ids, "team": team_ids, "department": department_ids}[scope]
            for target_id in targets:
                rule[scope].setdefault(target_id, process_id)
        return rules
