# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class CrmLead(models.Model):
    _inherit = "crm.lead"

    sales_process_id = fields.Many2one(
        "crm.sales.process",
        string="Sales Process",
        index="btree_not_null",
        tracking=True,
        ondelete="restrict",
        check_company=True,
        domain="[('company_id', 'in', [company_id or current_company_id, False])]",
    )
    sales_process_step_id = fields.Many2one(
        "crm.sales.process.step",
        string="Sales Process Step",
        compute="_compute_sales_process_step_id",
        store=True,
        index="btree_not_null",
    )
    department_id = fields.Many2one(
        "hr.department",
        string="Department",
        compute="_compute_department_id",
        store=True,
        index="btree_not_null",
        help="Department of the salesperson, for the forecast.",
    )

    @api.depends("sales_process_id.step_ids.stage_id", "stage_id")
    def _compute_sales_process_step_id(self):
        for lead in self:
            lead.sales_process_step_id = lead.sales_process_id.step_ids.filtered(
                lambda step, stage=lead.stage_id: step.stage_id == stage
            )[:1]

    @api.depends("user_id", "company_id")
    def _compute_department_id(self):
        departments = self._get_user_departments(self.user_id)
        for lead in self:
            company = lead.company_id or lead.user_id.company_id
            lead.department_id = departments.get((lead.user_id.id, company.id)) or departments.get(
                (lead.user_id.id, False)
            )

    def _get_user_departments(self, users):
        """{(user id, company id): department} in one query.

        Employees are HR data; salespeople may not read them, so this reads them as superuser
        and returns only the department. The (user, False) key holds any company's department as
        fallback for leads without a company.
        """
        if not users:
            return {}
        employees = (
            self.env["hr.employee"]
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
