# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Focused tests of the defects the RPC sweep (test_rpc_bad_input) found, through the ORM."""

from odoo.exceptions import UserError, ValidationError
from odoo.fields import Command
from odoo.tests import tagged

from .common import SalesProcessCommon


@tagged("post_install", "-at_install")
class TestBadInput(SalesProcessCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.process = cls._create_process("Checked Sale", cls._standard_steps())
        cls.step = cls._step(cls.process, cls.stage_offer)
        cls.lead = cls._create_lead(cls.process, cls.stage_offer, expected_revenue=100)

    def _assert_refused(self, records, vals, message, boundary=True):
        """``vals`` written on ``records`` is refused with ``message``, nothing written;
        the values checked before saving (``boundary``) say so."""
        fields = [name for name in vals if name in records._fields] or ["write_date"]
        before = records.read(fields)
        with self.assertRaises(ValidationError) as error:
            records.write(vals)
        self.assertIn(message, str(error.exception))
        if boundary:
            self.assertIn("Nothing was saved.", str(error.exception))
        self.env.invalidate_all(flush=False)
        self.assertEqual(records.read(fields), before)

    def test_wrong_types_and_ranges(self):
        """Values the ORM would turn into a Python or database error, or silently change,
        get a clear error naming the field and what it expects."""
        nan = float("nan")
        for vals, message in (
            ({"probability": "abc"}, "must be a number greater than -1000 and less than 1000"),
            ({"probability": nan}, "not nan"),
            ({"probability": float("inf")}, "not inf"),
            ({"probability": 1e308}, "less than 1000"),
            ({"stall_days": 1.5}, "a whole number from -2147483648 to 2147483647, not 1.5"),
            ({"sequence": 2**31}, "not 2147483648"),
            ({"stall_days": "3"}, "a whole number"),
            ({"require_activities_done": {"x": 1}}, "true or false"),
            ({"stage_id": "abc"}, "the id of a record of CRM Stages"),
            ({"key_activity_ids": [[99, 0, 0]]}, "a list of commands"),
            ({"required_field_ids": "abc"}, "a list of commands"),
        ):
            with self.subTest(vals=vals):
                self._assert_refused(self.step, vals, message)
        for vals, message in (
            ({"name": 123}, "must be a text"),
            ({"note": "a\x00b"}, "without NUL characters"),
            ({"default_scope": "nobody"}, "one of “none”, “all”, “user”"),
            ({"no_such_field": 1}, "has no field “'no_such_field'”"),
        ):
            with self.subTest(vals=vals):
                self._assert_refused(self.process, vals, message)
        with self.assertRaisesRegex(ValidationError, "must map field names to values"):
            self.Process.create(["abc"])

    def test_blank_names(self):
        """A required name is no blank text either (the constraints of the models)."""
        activity = self.env["crm.sales.process.step.activity"].create(
            {"step_id": self.step.id, "summary": "Call"}
        )
        for records, vals, message in (
            (self.process, {"name": ""}, "A sales process needs a name: it cannot be empty."),
            (self.process, {"name": "   "}, "needs a name"),
            (activity, {"summary": " "}, "needs a summary: it cannot be empty."),
        ):
            with self.subTest(vals=vals):
                self._assert_refused(records, vals, message, boundary=False)

    def test_exit_criterion_of_unknown_field(self):
        """The fields an exit criterion may check are a dynamic selection, which the ORM does
        not check: the criterion's constraint does."""
        with self.assertRaisesRegex(ValidationError, "which opportunities do not have"):
            self.env["crm.sales.process.exit.criterion"].create(
                {"step_id": self.step.id, "criterion_type": "field", "field_name": "x_none"}
            )

    def test_settings_wrong_types(self):
        """The settings take whole numbers and booleans, not values the ORM would turn into
        others (1.5 into 1, "abc" into True) nor integers beyond the column's."""
        Settings = self.env["res.config.settings"]
        for vals, message in (
            ({"sales_process_calibration_months": 1.5}, "must be a whole number"),
            ({"sales_process_forecast_pdf_detail_limit": 2**31}, "not 2147483648"),
            ({"sales_process_stalled_reminder": "abc"}, "must be true or false"),
        ):
            with self.subTest(vals=vals), self.assertRaisesRegex(ValidationError, message):
                Settings.create(vals)

    def test_x2many_commands(self):
        """x2many values are lists of Command or of ids; anything else, or a mix, is refused."""
        team = self.env["crm.team"].create({"name": "Commands Team"})
        self.process.write({"default_team_ids": [team.id]})
        self.assertEqual(self.process.default_team_ids, team)
        self.process.write({"default_team_ids": [Command.clear()]})
        self.assertFalse(self.process.default_team_ids)
        for value in ([team.id, Command.link(team.id)], [(7, team.id)], [Command.set("abc")]):
            with self.subTest(value=value):
                self._assert_refused(
                    self.process, {"default_team_ids": value}, "must be a list of commands"
                )

    def test_deleted_records(self):
        """An id of a deleted record gets "does not exist or has been deleted", not the
        foreign key's "you are trying to delete" nor a KeyError."""
        team = self.env["crm.team"].create({"name": "Gone"})
        team_id = team.id
        team.unlink()
        self._assert_refused(
            self.process,
            {"default_team_ids": [Command.link(team_id)]},
            f"does not exist or has been deleted (Sales Team, id {team_id})",
        )
        gone = self._create_process("Gone", [(self.stage_lead, 0)])
        gone_id = gone.id
        gone.unlink()
        self._assert_refused(self.lead, {"sales_process_id": gone_id}, "has been deleted")
        with self.assertRaisesRegex(ValidationError, "has been deleted"):
            self.env["crm.lead"].create({"name": "Stale", "sales_process_id": gone_id})

    def test_limits_kept(self):
        """Values of the right type within range are stored as typed."""
        self.step.write({"stall_days": 36500, "sequence": -1, "probability": 50.0})
        self.assertEqual((self.step.stall_days, self.step.sequence), (36500, -1))
        self.process.write({"name": "50%_off\\", "note": "%% _"})
        self.env.invalidate_all()
        self.assertEqual((self.process.name, self.process.note), ("50%_off\\", "%% _"))

    def test_wildcards_in_names_and_search(self):
        """% is the only wildcard of the name pattern; _ and \\ are matched literally."""
        names = ["W_1", "Wx1", "W\\1", "W%1"]
        processes = {name: self._create_process(name) for name in names}

        def found(pattern):
            result = self.Process.search([("search_name", "ilike", pattern)])
            return sorted(result.filtered(lambda p: p in processes.values()).mapped("name"))

        self.assertEqual(found("W_1"), ["W_1"])
        self.assertEqual(found("W\\1"), ["W\\1"])
        self.assertEqual(found("W%1"), sorted(names))
        self.assertEqual(found("%%"), sorted(names))
        self.assertEqual(found("\\"), ["W\\1"])

    def test_kpis_bad_arguments(self):
        """get_kpis (the public KPI contract) refuses malformed periods and filters."""
        with self.assertRaisesRegex(UserError, "“'abc'” is not a valid date"):
            self.process.get_kpis(date_from="abc")
        with self.assertRaisesRegex(UserError, "not a valid date"):
            self.process.get_kpis(date_to=-1)
        with self.assertRaisesRegex(UserError, "Sales Teams must be a list of record ids"):
            self.process.get_kpis(team_ids="x")
        with self.assertRaisesRegex(UserError, "Salespeople must be a list of record ids"):
            self.process.get_kpis(user_ids=[1, "a"])
        # the last day there is, and ids as a single id, work
        kpis = self.process.get_kpis(date_to="9999-12-31", team_ids=self.team.id)
        self.assertEqual(kpis[0]["process_id"], self.process.id)
        Analysis = self.env["crm.sales.process.analysis"]
        with self.assertRaisesRegex(UserError, "must be a dictionary"):
            Analysis.get_analysis("abc")
        with self.assertRaisesRegex(UserError, "must be a list of record ids"):
            Analysis.get_analysis({"process_ids": [float("inf")]})

    def test_search_in_use_with_nan(self):
        for value in (float("nan"), float("inf"), "abc"):
            with self.subTest(value=value), self.assertRaisesRegex(UserError, "whole number"):
                self.Process.search([("opportunity_count", ">=", value)])

    def test_one_record_actions(self):
        """Actions on one record refuse none or several with a clear error."""
        second = self._create_process("Second", [(self.stage_lead, 0)])
        for records, method in (
            (self.process | second, "action_view_opportunities"),
            (self.Process, "action_apply_observed_probabilities"),
            (self.env["crm.lead"], "action_view_sales_process_history"),
            (self.env["crm.lead"], "action_set_automated_probability"),
        ):
            with self.subTest(method=method), self.assertRaisesRegex(UserError, "one record"):
                getattr(records, method)()

    def test_convert_opportunity_with_ids(self):
        """convert_opportunity takes the customer, salespeople and team as ids over RPC."""
        lead = self.env["crm.lead"].create({"name": "To convert", "type": "lead"})
        partner = self.env["res.partner"].create({"name": "Convert Customer"})
        lead.convert_opportunity(partner.id, user_ids=[self.salesman.id], team_id=self.team.id)
        self.assertEqual(
            (lead.type, lead.partner_id, lead.user_id, lead.team_id),
            ("opportunity", partner, self.salesman, self.team),
        )
        other = self.env["crm.lead"].create({"name": "Not converted", "type": "lead"})
        with self.assertRaisesRegex(UserError, "The customer must be given as an id"):
            other.convert_opportunity("abc")
        with self.assertRaisesRegex(UserError, "The salespeople must be given as ids"):
            other.convert_opportunity(False, user_ids="abc")
        self.assertEqual(other.type, "lead")

    def test_copy_with_bad_defaults(self):
        with self.assertRaisesRegex(UserError, "must map field names to values"):
            self.process.copy_data("abc")
        with self.assertRaisesRegex(ValidationError, "must be a number"):
            self.process.copy({"step_ids": [Command.create({"probability": "x"})]})

    def test_lost_answers_true(self):
        """XML-RPC cannot carry None: marking lost answers True."""
        self.assertIs(self.lead.action_set_lost(), True)

    def test_forecast_of_another_company(self):
        """A manager of one company cannot make the forecast of another, nor filter it by
        another company's team."""
        Wizard = self.env["crm.sales.forecast.wizard"].with_user(self.manager)
        with self.assertRaisesRegex(ValidationError, "no access to it"):
            Wizard.create({"company_id": self.company_b.id})
        team_b = self.env["crm.team"].create({"name": "Team B", "company_id": self.company_b.id})
        with self.assertRaises(UserError):
            Wizard.create({"team_ids": [Command.set(team_b.ids)]})
