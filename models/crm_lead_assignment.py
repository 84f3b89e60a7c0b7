# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Which sales process an opportunity follows: the default-process rules, a change of process
(to the step with the nearest percentage), conversion of leads, the salesperson's department."""

from markupsafe import Markup

from odoo import api, fields, models
from odoo.fields import Domain

from .tools import (
    check_record_ids,
    format_percentage,
)


class CrmLead(models.Model):
    _inherit = "crm.lead"

    # No index: a company has few departments, each holding a large share of the
    # opportunities (the planner reads the table rather than such an index), while every
    # insert and stage move would pay for keeping it.
    department_id = fields.Many2one(
        "hr.department",
        compute="_compute_department_id",
        store=True,
        help="Department of the salesperson, for the forecast.",
    )

    is_my_sales_process = fields.Boolean(
        string="My Sales Process",
        compute="_compute_is_my_sales_process",
        search="_search_is_my_sales_process",
        help="Follows the sales process that new opportunities of the current user get.",
    )

    # No dependencies on purpose: the rules give a process to NEW leads only (computed before
    # insertion, in batch). Existing leads keep theirs when salesperson or team change; the
    # form proposes a process for new leads through _onchange_sales_process_proposal.
    @api.depends()
    def _compute_sales_process_id(self):
        new_leads = self.filtered(lambda lead: not lead._origin)
        processes = new_leads._get_locked_sales_process_by_rules()
        for lead in new_leads:
            lead.sales_process_id = processes.get(lead, False)

    @api.depends_context("uid", "company")
    @api.depends("sales_process_id")
    def _compute_is_my_sales_process(self):
        my_process = self._get_my_sales_process()
        for lead in self:
            lead.is_my_sales_process = bool(my_process) and lead.sales_process_id == my_process

    def _search_is_my_sales_process(self, operator, value):
        if operator != "in":
            return NotImplemented
        domain = Domain("sales_process_id", "in", self._get_my_sales_process().ids)
        if True in value and False in value:
            return Domain.TRUE
        return domain if True in value else ~domain

    @api.depends("user_id", "company_id")
    def _compute_department_id(self):
        departments = self._get_user_departments(self.user_id)
        # once per salesperson and company: imports compute thousands at once
        for (user, company), leads in self.grouped(
            lambda lead: (lead.user_id, lead.company_id)
        ).items():
            leads.department_id = self._pick_department(departments, user, company)

    @api.onchange("user_id", "team_id")
    def _onchange_sales_process_proposal(self):
        """Propose the default process of the salesperson / team on a new lead."""
        new_leads = self.filtered(lambda lead: not lead._origin)
        processes = new_leads._get_sales_process_by_rules()
        for lead in new_leads:
            lead.sales_process_id = processes.get(lead, False)

    def _get_sales_process_change_targets(self, vals):
        """{lead: step} for the leads a write of ``vals`` gives another process without a
        stage: each goes to the step with the nearest percentage (ties: the earlier step)."""
        process = self.env["crm.sales.process"].browse(vals.get("sales_process_id"))
        if not process or "stage_id" in vals:
            return {}
        return {
            lead: process._get_nearest_step(
                lead.sales_process_step_id.probability
                if lead.sales_process_step_id
                else lead.probability
            )
            for lead in self
            if lead.sales_process_id != process
        }

    @api.model
    def _log_sales_process_change(self, targets):
        """A note in the chatter of each lead given another process (``targets``: see
        _get_sales_process_change_targets)."""
        if not targets:
            return
        bodies = {
            lead.id: Markup("<p>%s</p>")
            % self.env._(
                "Sales process changed to “%(process)s”: moved to step “%(step)s” "
                "(%(percentage)s %%), the step with the nearest percentage.",
                process=step.process_id.display_name,
                step=step.name,
                percentage=format_percentage(self.env, step.probability),
            )
            for lead, step in targets.items()
        }
        self.browse(lead.id for lead in targets)._message_log_batch(bodies=bodies)

    def convert_opportunity(self, partner, user_ids=False, team_id=False):
        """Leads keep their process when converted; those without get one by the rules.

        Callable over RPC: the customer, salespeople and team may come as ids. Their types
        are checked, not their existence: lead assignment converts lead by lead, a query
        each would slow it down (a deleted id is refused by the foreign key).
        """
        _ = self.env._
        env = self.env
        partner = check_record_ids(
            env, "res.partner", partner, _("The customer"), check_exists=False
        )
        if user_ids:
            user_ids = check_record_ids(
                env, "res.users", user_ids, _("The salespeople"), many=True, check_exists=False
            ).ids
        if team_id:
            team_id = check_record_ids(
                env, "crm.team", team_id, _("The sales team"), check_exists=False
            ).id
        without_process = self.filtered(lambda lead: not lead.sales_process_id)
        result = super().convert_opportunity(partner, user_ids=user_ids, team_id=team_id)
        converted = without_process.filtered(lambda lead: lead.type == "opportunity")
        converted._assign_sales_process_by_rules()
        return result

    def _get_sales_process_by_rules(self, lock=False):
        """{lead: process} for the leads a default-process rule applies to.

        Most specific rule of the lead's company first: salesperson > sales team > the
        salesperson's department > everyone. Costs one query for the rules (none for
        companies without default processes) and one for departments when a department rule
        exists, whatever the number of leads. ``lock``: the companies' default processes are
        share-locked until commit (see crm.sales.process._get_default_process_rules).
        """
        if not self:
            return {}
        # A lead without company cannot follow a process: processes belong to one company.
        companies = {lead: lead.company_id for lead in self}
        rules = self.env["crm.sales.process"]._get_default_process_rules(
            {company.id for company in companies.values() if company}, lock=lock
        )
        if not rules:
            return {}
        departments = {}
        if any(rule["department"] for rule in rules.values()):
            departments = self._get_user_departments(self.user_id)
        Process = self.env["crm.sales.process"]
        result = {}
        for lead in self:
            rule = rules.get(companies[lead].id)
            if not rule:
                continue
            department = self._pick_department(departments, lead.user_id, lead.company_id)
            process_id = (
                rule["user"].get(lead.user_id.id)
                or rule["team"].get(lead.team_id.id)
                or rule["department"].get(department.id)
                or rule["all"]
            )
            if process_id:
                result[lead] = Process.browse(process_id)
        return result

    def _get_locked_sales_process_by_rules(self):
        """_get_sales_process_by_rules, the default processes share-locked until commit: a
        process archived or a rule changed concurrently makes one of the two transactions
        fail and be retried by Odoo, never an opportunity created on a process that is no
        longer the default."""
        return self._get_sales_process_by_rules(lock=True)

    def _assign_sales_process_by_rules(self):
        """Give leads without a process the one of the rules, keeping their stage if it is a
        step of it, else on its first step (one write per process and stage)."""
        processes = self.filtered(
            lambda lead: not lead.sales_process_id
        )._get_sales_process_by_rules()

        def target(lead):
            stages = processes[lead]._get_step_stages()
            return processes[lead], lead.stage_id if lead.stage_id in stages else stages[:1]

        groups = self.filtered(lambda lead: lead in processes).grouped(target)
        for (process, stage), leads in groups.items():
            leads.write({"sales_process_id": process.id, "stage_id": stage.id})

    @api.model
    def _get_my_sales_process(self):
        """The process the rules give the current user's new opportunities."""
        lead = self.new({"user_id": self.env.uid, "type": "opportunity"})
        return lead._get_sales_process_by_rules().get(lead, self.env["crm.sales.process"])

    @api.model
    def _pick_department(self, departments, user, company):
        """The department of ``user`` in ``company`` from _get_user_departments' result.

        Without a company on the lead, the salesperson's department in any company is used.
        """
        if not user:
            return self.env["hr.department"]
        if company:
            return departments.get((user.id, company.id), self.env["hr.department"])
        return (
            departments.get((user.id, user.company_id.id))
            or departments.get((user.id, False))
            or self.env["hr.department"]
        )

    def _get_user_departments(self, users):
        """{(user id, company id): department} in one query.

        Reads the public employee view (employee joined with its current version, where the
        department lives), as superuser: salespeople may not read HR data, and only the
        department is returned. The view is SQL: pending employee changes are flushed first.
        The (user, False) key holds any company's department, for leads without a company.
        """
        if not users:
            return {}
        self.env["hr.employee"].flush_model()
        self.env["hr.version"].flush_model()
        employees = (
            self.env["hr.employee.public"]
            .sudo()
            .search_fetch(
                [("user_id", "in", users.ids), ("department_id", "!=", False)],
                ["user_id", "company_id", "department_id"],
                order="id",
            )
        )
        departments = {}
        for employee in employees:
            department = employee.department_id.sudo(False)
            departments.setdefault((employee.user_id.id, employee.company_id.id), department)
            departments.setdefault((employee.user_id.id, False), department)
        return departments
