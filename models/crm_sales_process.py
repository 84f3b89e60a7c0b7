# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import SQL, ormcache

from .tools import NAME_INITIALS, name_initial, user_initials, wildcard_domain

# Fields of a process that change which new opportunities it is the default for
RULE_FIELDS = {
    "active",
    "company_id",
    "default_scope",
    "default_user_ids",
    "default_team_ids",
    "default_department_ids",
    "step_ids",
}

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
    step_ids = fields.One2many(
        "crm.sales.process.step", "process_id", string="Steps", copy=True
    )
    step_count = fields.Integer(string="Steps Count", compute="_compute_step_count", store=True)
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
    )
    default_team_ids = fields.Many2many(
        "crm.team",
        "crm_sales_process_default_team_rel",
        "process_id",
        "team_id",
        string="Default for Sales Teams",
    )
    default_department_ids = fields.Many2many(
        "hr.department",
        "crm_sales_process_default_department_rel",
        "process_id",
        "department_id",
        string="Default for Departments",
    )
    default_for = fields.Char(
        string="Default For",
        compute="_compute_default_for",
        help="Who gets this process by default on new opportunities.",
    )
    # Audit: the seed shows the initials of who created / last saved the record
    create_user_initials = fields.Char(
        string="Created By (Initials)", compute="_compute_user_initials"
    )
    write_user_initials = fields.Char(string="By", compute="_compute_user_initials")
    # Search helpers: first-letter buttons and the seed's % wildcards
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
        counts = {
            process.id: count
            for process, count in self.env["crm.sales.process.step"]._read_group(
                [("process_id", "in", self.ids)], ["process_id"], ["__count"]
            )
        }
        for process in self:
            process.step_count = counts.get(process.id, 0)

    def _get_opportunity_counts(self, process_ids=None):
        """Active leads and opportunities per process id (all processes when none given)."""
        domain = Domain("sales_process_id", "!=", False)
        if process_ids is not None:
            domain &= Domain("sales_process_id", "in", process_ids)
        groups = (
            self.env["crm.lead"]
            .sudo()
            ._read_group(domain, ["sales_process_id"], ["__count"])
        )
        return {process.id: count for process, count in groups}

    def _compute_opportunity_count(self):
        counts = self._get_opportunity_counts(self.ids) if self.ids else {}
        for process in self:
            process.opportunity_count = counts.get(process.id, 0)

    def _search_opportunity_count(self, operator, value):
        if operator == "in":
            operator = "="
            value = value[0] if len(value) == 1 else value
        if operator not in COUNT_OPERATORS or not isinstance(value, int):
            raise UserError(
                self.env._(
                    "In Use can only be compared with >=, <=, >, <, = or != and a whole number."
                )
            )
        counts = self._get_opportunity_counts()
        matches = COUNT_OPERATORS[operator]
        process_ids = (
            self.with_context(active_test=False)
            .sudo()
            ._search([])
            .get_result_ids()
        )
        return [("id", "in", [pid for pid in process_ids if matches(counts.get(pid, 0), value)])]

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

    @api.constrains(
        "active",
        "company_id",
        "default_scope",
        "default_user_ids",
        "default_team_ids",
        "default_department_ids",
    )
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
            others = self.search(
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
            raise UserError(
                self.env._(
                    "Sales process %(processes)s is used by %(count)s opportunities "
                    "(including lost ones) and cannot be deleted. Archive it instead: "
                    "it then stays on those opportunities but is no longer offered. "
                    "Nothing was deleted.",
                    processes=", ".join(f"“{name}”" for name in used.mapped("name")),
                    count=len(leads),
                )
            )

    def copy_data(self, default=None):
        vals_list = super().copy_data(default=default)
        for process, vals in zip(self, vals_list, strict=True):
            if "name" not in (default or {}):
                vals["name"] = self.env._("%s (copy)", process.name)
            # A copy must not steal the defaults of its original.
            vals.setdefault("default_scope", "none")
            if not (default or {}).get("default_scope"):
                vals["default_scope"] = "none"
        return vals_list

    def action_view_opportunities(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("crm.crm_lead_opportunities")
        action["domain"] = [("sales_process_id", "=", self.id)]
        action["context"] = {"default_sales_process_id": self.id, "active_test": True}
        return action

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

    @api.model_create_multi
    def create(self, vals_list):
        processes = super().create(vals_list)
        self._clear_default_process_rules()
        return processes

    def write(self, vals):
        result = super().write(vals)
        if RULE_FIELDS & vals.keys():
            self._clear_default_process_rules()
        return result

    def unlink(self):
        result = super().unlink()
        self._clear_default_process_rules()
        return result

    @api.model
    def _clear_default_process_rules(self):
        self.env.registry.clear_cache()

    @api.model
    def _get_default_process_rules(self, company_ids):
        """Default-process rules of the companies (read-only result).

        Cached: creating or importing opportunities and converting leads cost no query for the
        rules once warm. Changes of processes and steps clear the cache.

        :returns: ``{company id: {"user": {user id: process id}, "team": {team id: process id},
            "department": {department id: process id}, "all": process id or False}}`` for active
            processes with steps and a default scope other than "none"; companies without any
            such process are left out.
        """
        if not company_ids:
            return {}
        return self._read_default_process_rules(tuple(sorted(company_ids)))

    @api.model
    @ormcache("company_ids")
    def _read_default_process_rules(self, company_ids):
        """_get_default_process_rules in one query, uncached."""
        self.flush_model(
            [
                "active",
                "company_id",
                "default_scope",
                "default_user_ids",
                "default_team_ids",
                "default_department_ids",
            ]
        )
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
                """,
                list(company_ids),
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
        return rules
