# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The step history, written by the opportunities themselves (one SQL statement per write)."""

from odoo import api, fields, models
from odoo.tools import SQL

from .tools import (
    ensure_one_record,
)


class CrmLead(models.Model):
    _inherit = "crm.lead"

    sales_process_history_ids = fields.One2many(
        "crm.sales.process.history",
        "lead_id",
        string="Step History",
        readonly=True,
    )

    @api.readonly
    def action_view_sales_process_history(self):
        """The opportunity's stays in the steps of its processes, latest first."""
        ensure_one_record(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_sales_process.crm_sales_process_history_action"
        )
        action["domain"] = [("lead_id", "=", self.id)]
        return action

    def _get_sales_process_history_leads(self, vals):
        """Leads whose stays a write of ``vals`` may open or close: those on a process, and
        all of them when the write takes their process away."""
        if "sales_process_id" in vals and not vals["sales_process_id"]:
            return self
        return self.filtered("sales_process_id")

    def _sales_process_history_update(self, created=False):
        """Close the stays these leads have left and open those they entered, in SQL.

        One query whatever the number of leads: a stay closes when its lead is on another
        step or process, or archived; a stay opens for an active lead on a step without an
        open stay. A lead created archived (e.g. imported lost) gets a closed stay at once.
        ``created``: the leads were just created, they have no stay to close (imports).

        The stays' path columns (see ``crm.sales.process.history._update_path_columns``)
        follow: a stay opened on a step the lead was on before gets when it last left it,
        and entering a later step of the process marks the stays it went on from as moved on.
        """
        if not self:
            return
        self.env["crm.sales.process.step"].flush_model(["process_id", "sequence", "stage_id"])
        self.env["crm.stage"].flush_model(["is_won"])
        # all fields: flushing only some would split the lead's pending UPDATE in two
        self.flush_recordset()
        self.env["crm.sales.process.history"].flush_model()
        now = self.env.cr.now()
        lost = bool(self.env.context.get("crm_sales_process_history_lost"))
        # Without JIT: PostgreSQL would compile the statement of a bulk move (its estimated
        # cost is above jit_above_cost) for a tenth of its run time, to run it once. The
        # setting is put back right after, in the same round trip.
        if created:
            # New leads have no stay yet, unless a write of create() opened it already
            query = self._get_history_open_query(now, lost)
            self.env.cr.execute(SQL("SET LOCAL jit = off; %s; RESET jit", query))
        else:
            query = self._get_history_move_query(now, lost)
            self.env.cr.execute(
                SQL(
                    "SET LOCAL jit = off; %s; RESET jit; %s",
                    query,
                    self._get_history_answered_query(now),
                )
            )
            self._update_response_hours(self.env.cr.fetchall())
        self.env["crm.sales.process.history"].invalidate_model()
        self.invalidate_recordset(["sales_process_history_ids"])

    def _get_history_leads_cte(self):
        """The leads, read once (a materialized CTE, used by every part of the statement);
        their stays are reached through the lead index, never by scanning the whole history."""
        return SQL(
            """
            lead AS MATERIALIZED (
                SELECT id, sales_process_id, sales_process_step_id, active, probability,
                       user_id, team_id, department_id, expected_revenue
                  FROM crm_lead
                 WHERE id = ANY(%(ids)s)
            )
            """,
            ids=list(self.ids),
        )

    def _get_history_insert_query(self, now, lost, created):
        """INSERT … SELECT of the stays the leads enter (conditions are appended with AND)."""
        return SQL(
            """
            INSERT INTO crm_sales_process_history
                   (lead_id, step_id, user_id, team_id, department_id,
                    expected_revenue, probability, date_in, date_out, duration_days,
                    exit_reason, previous_date_out)
            SELECT lead.id, lead.sales_process_step_id, lead.user_id, lead.team_id,
                   lead.department_id, lead.expected_revenue, lead.probability, %(now)s,
                   CASE WHEN lead.active THEN NULL ELSE %(now)s END,
                   0.0,
                   CASE WHEN lead.active THEN NULL
                        WHEN %(lost)s OR lead.probability = 0 THEN 'lost'
                        ELSE 'archived' END,
                   %(previous_out)s
              FROM lead
             WHERE lead.sales_process_step_id IS NOT NULL
            """,
            now=now,
            lost=lost,
            # when it last left the step it enters, if it was on it before (lead index)
            previous_out=SQL(
                """
                (SELECT MAX(COALESCE(earlier.date_out, %s))
                   FROM crm_sales_process_history earlier
                  WHERE earlier.lead_id = lead.id
                    AND earlier.step_id = lead.sales_process_step_id)
                """,
                now,
            )
            if not created
            else SQL("NULL"),
        )

    def _get_history_open_query(self, now, lost):
        """The stays of just created leads (imports): no stay to close."""
        return SQL(
            """
            WITH %(leads)s
            %(insert)s
               AND NOT EXISTS (SELECT 1 FROM crm_sales_process_history stay
                                WHERE stay.lead_id = lead.id)
            """,
            leads=self._get_history_leads_cte(),
            insert=self._get_history_insert_query(now, lost, created=True),
        )

    def _get_history_move_query(self, now, lost):
        """Close the stays the leads left, mark the stays they went on from, open the stays
        they entered. Long because it is one SQL statement, and must stay one (below)."""
        # One statement: the INSERT sees the stays as they were before the UPDATE, hence
        # the stays it closes (RETURNING) count as closed. The lead ids are repeated on the
        # stays: PostgreSQL then reads them through the lead index (a bulk move would
        # otherwise scan every open stay). "known": whether each lead had
        # stays, and an open one, grouped from its stays (no subquery per lead).
        return SQL(
            """
            WITH %(leads)s,
            closed AS (
                UPDATE crm_sales_process_history stay
                   SET date_out = %(now)s,
                       duration_days = EXTRACT(EPOCH FROM %(now)s - stay.date_in)
                                       / 86400.0,
                       exit_reason = CASE
                           WHEN NOT lead.active THEN
                               CASE WHEN %(lost)s OR lead.probability = 0 THEN 'lost'
                                    ELSE 'archived' END
                           WHEN lead.sales_process_id
                                IS DISTINCT FROM old_step.process_id
                               THEN 'process_change'
                           WHEN new_stage.is_won THEN 'won'
                           WHEN (new_step.sequence, new_step.id)
                                > (old_step.sequence, old_step.id) THEN 'forward'
                           ELSE 'backward'
                       END,
                       moved_on = lead.active
                           AND new_step.process_id = old_step.process_id
                           AND (new_step.sequence, new_step.id)
                               > (old_step.sequence, old_step.id)
                  FROM lead
             LEFT JOIN crm_sales_process_step new_step
                    ON new_step.id = lead.sales_process_step_id
             LEFT JOIN crm_stage new_stage ON new_stage.id = new_step.stage_id,
                       crm_sales_process_step old_step
                 WHERE stay.lead_id = lead.id
                   AND stay.lead_id = ANY(%(ids)s)
                   AND old_step.id = stay.step_id
                   AND stay.date_out IS NULL
                   AND (NOT lead.active
                        OR lead.sales_process_step_id IS DISTINCT FROM stay.step_id)
             RETURNING stay.lead_id, stay.moved_on OR stay.exit_reason = 'won' AS forward
            ),
            -- a move to a later step answers the customer: the first response of those
            -- that had none (see crm_lead_response)
            responded AS (
                UPDATE crm_lead responded
                   SET first_response_date = %(response_date)s
                 WHERE responded.id IN (SELECT closed.lead_id FROM closed WHERE closed.forward)
                   AND responded.first_response_date IS NULL
            ),
            known AS (
                SELECT stay.lead_id, bool_or(stay.date_out IS NULL) AS has_open
                  FROM lead
                  JOIN crm_sales_process_history stay ON stay.lead_id = lead.id
              GROUP BY stay.lead_id
            ),
            -- earlier closed stays on lower steps of the process the lead is on now,
            -- not marked "moved on" yet: it went back, and now goes on from them
            -- (none of those "closed" updates). Found lead by lead through the lead
            -- index, then updated through the primary key.
            passed AS (
                UPDATE crm_sales_process_history stay
                   SET moved_on = TRUE
                 WHERE stay.id = ANY(ARRAY(
                    SELECT earlier.id
                      FROM lead
                      JOIN crm_sales_process_step new_step
                        ON new_step.id = lead.sales_process_step_id
                     CROSS JOIN LATERAL (
                         SELECT earlier.id, earlier.step_id
                           FROM crm_sales_process_history earlier
                          WHERE earlier.lead_id = lead.id
                            AND earlier.date_out IS NOT NULL
                            AND earlier.moved_on IS NOT TRUE
                     ) earlier
                      JOIN crm_sales_process_step old_step
                        ON old_step.id = earlier.step_id
                     WHERE lead.active
                       AND old_step.process_id = new_step.process_id
                       AND (new_step.sequence, new_step.id)
                           > (old_step.sequence, old_step.id)
                 ))
            )
            %(insert)s
               AND (lead.active
                    OR NOT EXISTS (SELECT 1 FROM known WHERE known.lead_id = lead.id))
               AND (lead.id IN (SELECT closed.lead_id FROM closed)
                    OR NOT EXISTS (SELECT 1 FROM known
                                    WHERE known.lead_id = lead.id AND known.has_open))
            """,
            leads=self._get_history_leads_cte(),
            ids=list(self.ids),
            now=now,
            # a datetime field's value: whole seconds
            response_date=now.replace(microsecond=0),
            lost=lost,
            insert=self._get_history_insert_query(now, lost, created=False),
        )

    def _get_history_answered_query(self, now):
        """The leads the move statement answered (first response set by it), read in the
        same round trip after it, to compute their response hours."""
        return SQL(
            """
            SELECT %(response_columns)s FROM crm_lead lead
             WHERE lead.id = ANY(%(ids)s)
               AND lead.first_response_date = %(response_date)s
               AND lead.response_hours IS NULL
            """,
            response_columns=self._get_response_hours_columns(),
            ids=list(self.ids),
            response_date=now.replace(microsecond=0),
        )

    def _merge_sales_process_history(self, opportunities):
        """The stays of ``opportunities``, merged into this one (and deleted by crm), become
        this opportunity's: the KPIs keep the steps they went through. Their open stays end
        as "merged"."""
        self.ensure_one()
        # Stock's merges (e.g. the lead assignment's deduplication) read no history: a lead
        # gets stays only on a process (those left after its process was taken away go
        # with it, as they did before merging kept any)
        if not (self | opportunities).filtered("sales_process_id"):
            return
        stays = (
            self.env["crm.sales.process.history"]
            .sudo()
            .search([("lead_id", "in", opportunities.ids)])
        )
        if not stays:
            return
        stays.filtered(lambda stay: not stay.date_out).write(
            {"date_out": self.env.cr.now(), "exit_reason": "merged"}
        )
        stays.write({"lead_id": self.id})
