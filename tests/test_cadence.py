# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Time to respond: the first response of an opportunity on a process, and its hours."""

from datetime import datetime

from odoo.exceptions import ValidationError
from odoo.fields import Command
from odoo.tests import tagged

from .common import SalesProcessCommon

# A Monday, 08:00 UTC
MONDAY_8 = datetime(2026, 11, 30, 8, 0)


@tagged("post_install", "-at_install")
class TestTimeToRespond(SalesProcessCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.process = cls._create_process("Respond Sale", cls._standard_steps())
        # Mon-Fri 8-12 and 13-17 UTC: 8 working hours a day
        cls.calendar = cls.env["resource.calendar"].create(
            {
                "name": "Office Hours",
                "tz": "UTC",
                "attendance_ids": [
                    Command.create(
                        {"name": name, "dayofweek": str(day), "hour_from": start, "hour_to": end}
                    )
                    for day in range(5)
                    for name, start, end in (("Morning", 8, 12), ("Afternoon", 13, 17))
                ],
            }
        )

    def _lead(self, process=None, **vals):
        lead = self._create_lead(process or self.process, user_id=self.salesman.id, **vals)
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE crm_lead SET create_date = %s WHERE id = %s", (MONDAY_8, lead.id)
        )
        lead.invalidate_recordset(["create_date"])
        return lead

    def test_hours_with_calendar(self):
        """Monday 08:00 to Tuesday 10:00 is 10 working hours (8 + 2), 26 plain ones."""
        self.env.company.resource_calendar_id = self.calendar
        lead = self._lead()
        lead._set_sales_process_first_response(datetime(2026, 12, 1, 10, 0))
        self.assertEqual(lead.first_response_date, datetime(2026, 12, 1, 10, 0))
        self.assertEqual(lead.response_hours, 10.0)

    def test_hours_without_calendar(self):
        self.env.company.resource_calendar_id = False
        lead = self._lead()
        lead._set_sales_process_first_response(datetime(2026, 12, 1, 10, 0))
        self.assertEqual(lead.response_hours, 26.0)

    def test_set_once(self):
        self.env.company.resource_calendar_id = False
        lead = self._lead()
        lead._set_sales_process_first_response(datetime(2026, 11, 30, 9, 30))
        lead._set_sales_process_first_response(datetime(2026, 12, 3, 9, 30))
        self.assertEqual(lead.first_response_date, datetime(2026, 11, 30, 9, 30))
        self.assertEqual(lead.response_hours, 1.5)

    def test_activity_done(self):
        lead = self._lead()
        activity = lead.activity_schedule("mail.mail_activity_data_call", user_id=self.salesman.id)
        self.assertFalse(lead.first_response_date)
        activity.action_done()
        self.assertEqual(lead.first_response_date, self.env.cr.now().replace(microsecond=0))
        self.assertGreater(lead.response_hours, 0)

    def test_message_sent(self):
        """A message sent by an internal user answers; a note, OdooBot's message do not."""
        lead = self._lead()
        lead.message_post(body="Internal note", subtype_xmlid="mail.mt_note")
        lead.message_post(
            body="Bot",
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
            author_id=self.env.ref("base.partner_root").id,
        )
        self.assertFalse(lead.first_response_date)
        lead.with_user(self.salesman).message_post(
            body="Thank you for your request",
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        self.assertTrue(lead.first_response_date)

    def test_move_forward(self):
        """A move to a later step answers; going back and losing do not."""
        lead = self._lead(stage_id=self.stage_offer.id)
        lead.write({"stage_id": self.stage_lead.id})
        lead.action_set_lost()
        lead.action_unarchive()
        self.assertFalse(lead.first_response_date)
        lead.write({"stage_id": self.stage_offer.id})
        self.assertEqual(lead.first_response_date, self.env.cr.now().replace(microsecond=0))
        self.assertGreater(lead.response_hours, 0)

    def test_no_process(self):
        """Opportunities without a process are left as stock crm has them."""
        lead = self.env["crm.lead"].create({"name": "Stock", "type": "opportunity"})
        lead.activity_schedule(
            "mail.mail_activity_data_call", user_id=self.salesman.id
        ).action_done()
        lead.with_user(self.salesman).message_post(
            body="Hello", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        self.assertFalse(lead.first_response_date)
        self.assertFalse(lead.response_hours)

    def test_backfill(self):
        """Opportunities from before install get the first of their past responses."""
        self.env.company.resource_calendar_id = False
        lead = self._lead()
        lead.activity_schedule(
            "mail.mail_activity_data_call", user_id=self.salesman.id
        ).action_done()
        lead.with_user(self.salesman).message_post(
            body="Hello", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        self.env.flush_all()
        # as before install: no first response; the message was sent Monday 11:00
        self.env.cr.execute(
            "UPDATE crm_lead SET first_response_date = NULL, response_hours = NULL WHERE id = %s",
            (lead.id,),
        )
        self.env.cr.execute(
            "UPDATE mail_message SET date = %s WHERE model = 'crm.lead' AND res_id = %s",
            (datetime(2026, 11, 30, 11, 0), lead.id),
        )
        self.env.cr.execute(
            "UPDATE mail_activity SET write_date = %s WHERE res_model = 'crm.lead' AND res_id = %s",
            (datetime(2026, 11, 30, 12, 0), lead.id),
        )
        self.env.invalidate_all()
        self.assertEqual(self.env["crm.lead"]._backfill_sales_process_responses(), lead)
        self.assertEqual(lead.first_response_date, datetime(2026, 11, 30, 11, 0))
        self.assertEqual(lead.response_hours, 3.0)

    def test_response_target(self):
        self.assertEqual(self.process.response_target_hours, 24)
        self.env["ir.config_parameter"].set_param("crm_sales_process.response_target_hours", 8)
        self.assertEqual(self._create_process("Fast Sale").response_target_hours, 8)
        with self.assertRaises(ValidationError):
            self.process.response_target_hours = 0
