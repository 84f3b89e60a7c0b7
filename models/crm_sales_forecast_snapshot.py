# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Pipeline snapshots: the open opportunities of a company as they were at a moment.

Taken by a manager (the Take Snapshot button, ``take_snapshot``) or by the weekly cron
(``_cron_take_snapshots``, weekday and retention in the settings), never edited: read-only for
everybody. The pipeline review compares two of them (``get_pipeline_changes``) and scores the
forecasts they held against what closed (``get_forecast_accuracy``), see
crm_sales_forecast_snapshot_review.py.
"""

from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

MANAGER_GROUP = "sales_team.group_sale_manager"


class CrmSalesForecastSnapshot(models.Model):
    _name = "crm.sales.forecast.snapshot"
    _description = "Pipeline Snapshot"
    _order = "date desc, id desc"
    _rec_names_search = ["company_id"]

    date = fields.Datetime(required=True, readonly=True, index=True, default=fields.Datetime.now)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        readonly=True,
        index=True,
        default=lambda self: self.env.company,
    )
    currency_id = fields.Many2one(related="company_id.currency_id", string="Currency")
    line_ids = fields.One2many(
        "crm.sales.forecast.snapshot.line", "snapshot_id", string="Snapshot Lines", readonly=True
    )
    # The snapshot's totals over all its lines, stored when it is taken (a salesperson reading
    # the lines sees those of the opportunities he may read)
    line_count = fields.Integer(string="Opportunities", readonly=True)
    pipeline_value = fields.Monetary(
        string="Pipeline",
        readonly=True,
        help="Expected revenue of the open opportunities when the snapshot was taken.",
    )
    weighted_value = fields.Monetary(
        string="Weighted",
        readonly=True,
        help="Expected revenue × probability of the open opportunities when the snapshot was "
        "taken.",
    )

    @api.depends("date", "company_id")
    def _compute_display_name(self):
        for snapshot in self:
            date = (
                fields.Datetime.context_timestamp(snapshot, snapshot.date) if snapshot.date else ""
            )
            snapshot.display_name = (
                f"{snapshot.company_id.name} · {date:%Y-%m-%d %H:%M}" if date else ""
            )

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_take_snapshot(self):
        """The list's Take Snapshot button: a snapshot of each current company."""
        self.take_snapshot()
        return {"type": "ir.actions.client", "tag": "soft_reload"}

    # ------------------------------------------------------------
    # TAKING SNAPSHOTS
    # ------------------------------------------------------------

    @api.model
    def take_snapshot(self):
        """A snapshot of the open opportunities of each current company (managers only);
        returns the new snapshots' ids."""
        if not self.env.su and not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(self.env._("Only sales managers may take pipeline snapshots."))
        now = fields.Datetime.now()
        snapshots = self.sudo().create(
            [{"date": now, "company_id": company.id} for company in self.env.companies]
        )
        self.env.flush_all()
        for snapshot in snapshots:
            self.env.cr.execute(snapshot._get_snapshot_insert_query())
        # the lines and totals were written in SQL
        snapshots.invalidate_recordset()
        return snapshots.ids

    def _get_snapshot_insert_query(self):
        """One statement writing the snapshot's lines and totals.

        Raw SQL on purpose: an INSERT … SELECT copies the open opportunities inside PostgreSQL;
        through the ORM every opportunity would be read into Python and written back (a
        100,000-opportunity pipeline took minutes, against seconds here), and the query count
        would grow with the pipeline.
        """
        self.ensure_one()
        return SQL(
            """
            WITH inserted AS (
                INSERT INTO crm_sales_forecast_snapshot_line
                       (snapshot_id, lead_id, user_id, team_id, department_id,
                        sales_process_id, sales_process_step_id, stage_id, expected_revenue,
                        probability, automated_probability, forecast_category, date_deadline,
                        weighted_revenue)
                SELECT %(snapshot)s, lead.id, lead.user_id, lead.team_id,
                       lead.department_id, lead.sales_process_id, lead.sales_process_step_id,
                       lead.stage_id, COALESCE(lead.expected_revenue, 0),
                       COALESCE(lead.probability, 0), COALESCE(lead.automated_probability, 0),
                       COALESCE(lead.forecast_category, 'pipeline'), lead.date_deadline,
                       ROUND(COALESCE(lead.expected_revenue, 0)
                             * COALESCE(lead.probability, 0)::numeric / 100,
                             %(digits)s)
                  FROM crm_lead lead
                  LEFT JOIN crm_stage stage ON stage.id = lead.stage_id
                 WHERE lead.company_id = %(company)s
                   AND lead.type = 'opportunity'
                   AND lead.active
                   AND NOT COALESCE(stage.is_won, FALSE)
             RETURNING expected_revenue, weighted_revenue
            )
            UPDATE crm_sales_forecast_snapshot
               SET line_count = totals.line_count,
                   pipeline_value = totals.pipeline_value,
                   weighted_value = totals.weighted_value
              FROM (SELECT COUNT(*) AS line_count,
                           COALESCE(SUM(expected_revenue), 0) AS pipeline_value,
                           COALESCE(SUM(weighted_revenue), 0) AS weighted_value
                      FROM inserted) AS totals
             WHERE crm_sales_forecast_snapshot.id = %(snapshot)s
            """,
            snapshot=self.id,
            company=self.company_id.id,
            digits=self.currency_id.decimal_places,
        )

    @api.model
    def _cron_take_snapshots(self):
        """Weekly: on the weekday of the settings, a snapshot of every company that has none
        yet that day; then the oldest snapshots beyond the number to keep are deleted."""
        Settings = self.env["res.config.settings"]
        today = fields.Date.context_today(self)
        weekday = int(Settings._get_sales_process_setting("sales_process_snapshot_weekday") or 0)
        if today.weekday() == weekday:
            start = fields.Datetime.to_datetime(today)
            taken = (
                self.sudo()
                .search([("date", ">=", start), ("date", "<", start + timedelta(days=1))])
                .company_id
            )
            companies = self.env["res.company"].sudo().search([("id", "not in", taken.ids)])
            if companies:
                self.sudo().with_context(allowed_company_ids=companies.ids).take_snapshot()
        self._delete_old_snapshots(
            Settings._get_sales_process_setting("sales_process_snapshot_keep")
        )

    @api.model
    def _delete_old_snapshots(self, keep):
        """Keep the ``keep`` latest snapshots of each company, delete the older ones."""
        self.env.cr.execute(
            SQL(
                """
                SELECT id
                  FROM (SELECT id, ROW_NUMBER() OVER (
                                   PARTITION BY company_id ORDER BY date DESC, id DESC
                               ) AS position
                          FROM crm_sales_forecast_snapshot) AS ranked
                 WHERE position > %s
                """,
                keep,
            )
        )
        old_ids = [row[0] for row in self.env.cr.fetchall()]
        self.sudo().browse(old_ids).unlink()
        return old_ids
