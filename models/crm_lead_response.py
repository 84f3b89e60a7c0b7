# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Time to respond: when an opportunity on a sales process first got an answer.

The first response is the first of: a key or any other activity marked done, a message sent
to the customer by an internal user ("Send message", an e-mail; not a note, not OdooBot, not
an automatic message), a move to a later step of its process. It is set once, by the hooks
where those happen (``mail.activity._action_done``, ``_message_create`` below, the step
history writer), in SQL for the whole batch; opportunities without a process are left alone.
"""

from bisect import bisect_left
from datetime import UTC

from odoo import api, fields, models
from odoo.tools import SQL


class CrmLead(models.Model):
    _inherit = "crm.lead"

    first_response_date = fields.Datetime(
        string="First Response",
        copy=False,
        readonly=True,
        help="When the opportunity was first answered: an activity done, a message sent to "
        "the customer or a move to a later step of its sales process.",
    )
    response_hours = fields.Float(
        string="Hours to Respond",
        copy=False,
        readonly=True,
        aggregator="avg",
        help="Working hours (the company's working schedule) from the creation of the "
        "opportunity to its first response.",
    )

    def _message_create(self, values_list):
        messages = super()._message_create(values_list)
        lead_ids = self._get_sales_process_response_lead_ids(values_list)
        if lead_ids:
            self.browse(lead_ids)._set_sales_process_first_response()
        return messages

    @api.model
    def _get_sales_process_response_lead_ids(self, values_list):
        """Leads on a process that the messages of ``values_list`` answer: "Send message"
        (the comment subtype) or an e-mail, by an internal user other than OdooBot; notes,
        tracking and automatic messages are not answers. Decided from the values (nothing
        read for other messages), then the leads (in cache), then the authors."""
        comment = self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_comment")
        bot = self.env["ir.model.data"]._xmlid_to_res_id("base.partner_root")
        authors = {
            values["res_id"]: values["author_id"]
            for values in values_list
            if values.get("model") == self._name
            and values.get("res_id")
            and values.get("message_type") in ("comment", "email")
            and values.get("subtype_id") == comment
            and values.get("author_id") not in (None, False, bot)
        }
        if not authors:
            return []
        leads = (
            self.browse(authors)
            .sudo()
            .filtered(lambda lead: lead.sales_process_id and not lead.first_response_date)
        )
        if not leads:
            return []
        internal = set(
            self.env["res.partner"]
            .sudo()
            .browse({authors[lead.id] for lead in leads})
            .user_ids.filtered(lambda user: not user.share)
            .partner_id.ids
        )
        return [lead.id for lead in leads if authors[lead.id] in internal]

    def _set_sales_process_first_response(self, date=None):
        """Record ``date`` (now by default) as the first response of those of these leads on
        a process that have none yet, and their working hours to it: one UPDATE, and the
        hours of the leads it set."""
        # read from the records (in cache where a message or an activity was just posted on
        # them): opportunities without a process or already answered cost no query more
        ids = [
            lead.id
            for lead in self.browse(lead_id for lead_id in self._ids if lead_id).sudo()
            if lead.sales_process_id and not lead.first_response_date
        ]
        if not ids:
            return self.browse()
        self.flush_model(["first_response_date", "sales_process_id"])
        rows = self.env.execute_query(
            SQL(
                """
                UPDATE crm_lead lead SET first_response_date = %s
                 WHERE id = ANY(%s) AND first_response_date IS NULL
                   AND sales_process_id IS NOT NULL
             RETURNING %s
                """,
                (date or self.env.cr.now()).replace(microsecond=0),
                ids,
                self._get_response_hours_columns(),
            )
        )
        return self._update_response_hours(rows)

    @api.model
    def _get_response_hours_columns(self):
        """The columns ``_update_response_hours`` takes, of a lead (alias ``lead``)."""
        return SQL(
            """
            lead.id, lead.create_date, lead.first_response_date,
            (SELECT company.resource_calendar_id FROM res_company company
              WHERE company.id = lead.company_id)
            """
        )

    @api.model
    def _update_response_hours(self, rows):
        """Store the working hours from creation to the first response of the leads of
        ``rows`` (see ``_get_response_hours_columns``, read in SQL with the statement that set
        the response, not lead by lead): per working schedule, its work intervals read once
        for the whole batch; the company's schedule of the user for leads without a company,
        the plain hours where there is none. Returns the leads."""
        leads = self.browse(row[0] for row in rows)
        leads.invalidate_recordset(["first_response_date", "response_hours"])
        if not rows:
            return leads
        default_calendar = self.env.company.resource_calendar_id.id
        spans_by_calendar = {}
        for lead_id, create_date, response_date, calendar_id in rows:
            spans_by_calendar.setdefault(calendar_id or default_calendar, {})[lead_id] = (
                create_date,
                max(response_date, create_date),
            )
        hours_by_lead = {}
        Calendar = self.env["resource.calendar"].sudo()
        for calendar_id, spans in spans_by_calendar.items():
            hours_by_lead.update(self._get_work_hours(Calendar.browse(calendar_id), spans))
        # one statement for the batch: each lead has its own figure
        self.env.execute_query(
            SQL(
                """
                UPDATE crm_lead SET response_hours = hours.value
                  FROM (SELECT UNNEST(%s::int[]) AS id, UNNEST(%s::float[]) AS value) hours
                 WHERE crm_lead.id = hours.id
                """,
                list(hours_by_lead),
                list(hours_by_lead.values()),
            )
        )
        return leads

    @api.model
    def _get_work_hours(self, calendar, spans):
        """{key: working hours of ``calendar`` between start and end} for ``spans``
        ({key: (start, end)}, naive UTC datetimes); the plain hours without a calendar."""
        if not spans:
            return {}
        if not calendar:
            return {
                key: round((end - start).total_seconds() / 3600.0, 2)
                for key, (start, end) in spans.items()
            }
        start = min(span[0] for span in spans.values()).replace(tzinfo=UTC)
        end = max(span[1] for span in spans.values()).replace(tzinfo=UTC)
        intervals = sorted(
            (begin, stop)
            for begin, stop, _meta in calendar._work_intervals_batch(start, end)[False]
        )
        # hours worked before each interval: a span's hours are two look-ups and its edges
        ends = [stop for _begin, stop in intervals]
        before = [0.0]
        for begin, stop in intervals:
            before.append(before[-1] + (stop - begin).total_seconds())

        def worked_until(moment):
            index = bisect_left(ends, moment)
            seconds = before[index]
            if index < len(intervals) and intervals[index][0] < moment:
                seconds += (moment - intervals[index][0]).total_seconds()
            return seconds

        return {
            key: round(
                (worked_until(stop.replace(tzinfo=UTC)) - worked_until(begin.replace(tzinfo=UTC)))
                / 3600.0,
                2,
            )
            for key, (begin, stop) in spans.items()
        }

    @api.model
    def _backfill_sales_process_responses(self):
        """First responses of the opportunities on a process that have none, from their past:
        their done activities (``date_done``), the messages sent to the customer, their moves
        to a later step (the step history). One statement for all, then their hours."""
        comment = self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_comment")
        bot = self.env["ir.model.data"]._xmlid_to_res_id("base.partner_root")
        self.env.flush_all()
        rows = self.env.execute_query(
            SQL(
                """
                WITH response AS (
                    -- archived when done: its last write is when (date_done is a date)
                    SELECT activity.res_id AS lead_id,
                           MIN(COALESCE(activity.write_date, activity.date_done)) AS date
                      FROM mail_activity activity
                     WHERE activity.res_model = 'crm.lead' AND activity.active IS NOT TRUE
                       AND activity.date_done IS NOT NULL
                  GROUP BY activity.res_id
                     UNION ALL
                    SELECT message.res_id, MIN(message.date)
                      FROM mail_message message
                     WHERE message.model = 'crm.lead'
                       AND message.message_type IN ('comment', 'email')
                       AND message.subtype_id = %(comment)s
                       AND message.author_id != %(bot)s
                       AND EXISTS (SELECT 1 FROM res_users author
                                    WHERE author.partner_id = message.author_id
                                      AND NOT author.share)
                  GROUP BY message.res_id
                     UNION ALL
                    SELECT stay.lead_id, MIN(stay.date_out)
                      FROM crm_sales_process_history stay
                     WHERE stay.moved_on OR stay.exit_reason = 'won'
                  GROUP BY stay.lead_id
                )
                UPDATE crm_lead lead SET first_response_date = first.date
                  FROM (SELECT lead_id, MIN(date) AS date FROM response GROUP BY lead_id) first
                 WHERE lead.id = first.lead_id
                   AND lead.sales_process_id IS NOT NULL
                   AND lead.first_response_date IS NULL
             RETURNING %(columns)s
                """,
                comment=comment,
                bot=bot,
                columns=self._get_response_hours_columns(),
            )
        )
        return self._update_response_hours(rows)
