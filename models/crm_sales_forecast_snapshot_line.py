# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.fields import Domain

from .crm_sales_process_step import FORECAST_CATEGORIES

# Who sees the lines of opportunities deleted since (their line keeps no opportunity)
ALL_LEADS_GROUP = "sales_team.group_sale_salesman_all_leads"


class CrmSalesForecastSnapshotLine(models.Model):
    """One open opportunity as it was when its pipeline snapshot was taken.

    Written only by ``crm.sales.forecast.snapshot.take_snapshot`` (in SQL, in bulk) and never
    changed afterwards: the access rights give read access only. What a user may read follows
    the opportunity, as for the step history: its record rules apply to its lines; those who
    read all opportunities also read the lines of opportunities deleted since.
    """

    _name = "crm.sales.forecast.snapshot.line"
    _description = "Pipeline Snapshot Line"
    _order = "snapshot_id desc, expected_revenue desc, id"
    _rec_name = "lead_id"
    # Append-only, inserted in bulk by one INSERT … SELECT: no create/write user and date
    # (the snapshot's date says when)
    _log_access = False

    snapshot_id = fields.Many2one(
        "crm.sales.forecast.snapshot",
        required=True,
        index=True,
        ondelete="cascade",
        readonly=True,
    )
    # The snapshot's: not stored, one foreign-key check less per line (a snapshot inserts one
    # line per open opportunity; the checks are most of its time)
    company_id = fields.Many2one(related="snapshot_id.company_id")
    # Kept when the opportunity is deleted: the snapshot's figures stay as they were
    lead_id = fields.Many2one(
        "crm.lead", string="Opportunity", index=True, ondelete="set null", readonly=True
    )
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    department_id = fields.Many2one("hr.department", readonly=True)
    sales_process_id = fields.Many2one("crm.sales.process", readonly=True)
    sales_process_step_id = fields.Many2one("crm.sales.process.step", string="Step", readonly=True)
    stage_id = fields.Many2one("crm.stage", readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id", string="Currency")
    expected_revenue = fields.Monetary(readonly=True, aggregator="sum")
    probability = fields.Float(readonly=True, aggregator="avg", digits=(5, 2))
    automated_probability = fields.Float(
        string="Predictive Probability",
        readonly=True,
        aggregator="avg",
        digits=(5, 2),
        help="Odoo's predictive lead scoring estimate when the snapshot was taken.",
    )
    forecast_category = fields.Selection(FORECAST_CATEGORIES, readonly=True)
    date_deadline = fields.Date(string="Expected Closing", readonly=True)
    weighted_revenue = fields.Monetary(readonly=True, aggregator="sum")

    @api.model
    def _search(self, domain, offset=0, limit=None, order=None, **kwargs):
        """Users see the lines of the opportunities they may read (lost ones included)."""
        if not (self.env.su or kwargs.get("bypass_access")):
            leads = self.env["crm.lead"].with_context(active_test=False)._search([])
            readable = Domain("lead_id", "in", leads)
            if self.env.user.has_group(ALL_LEADS_GROUP):
                readable |= Domain("lead_id", "=", False)
            domain = Domain(domain) & readable
        return super()._search(domain, offset=offset, limit=limit, order=order, **kwargs)

    def _check_access(self, operation):
        """The opportunity's record rules apply to its lines."""
        result = super()._check_access(operation)
        if result or self.env.su or not self._ids:
            return result
        lines = self.sudo()
        leads = lines.lead_id.with_context(active_test=False)
        allowed = leads.sudo(False)._filtered_access("read")
        all_leads = self.env.user.has_group(ALL_LEADS_GROUP)
        forbidden = lines.filtered(
            lambda line: line.lead_id not in allowed if line.lead_id else not all_leads
        ).sudo(False)
        if not forbidden:
            return None
        Rule = self.env["ir.rule"]
        return forbidden, lambda: Rule._make_access_error(operation, forbidden)
