# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Command
from odoo.tests import Form, tagged

from .common import SalesProcessLeadCommon


@tagged("post_install", "-at_install")
class TestMultiCompany(SalesProcessLeadCommon):
    """A process, its steps, its opportunities and the forecast stay within one company.

    Main company: team North, department Field Sales, Anna. Company "other": team South,
    department Field Sales Other, Olga (only in company other).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.team_other = cls.env["crm.team"].create(
            {"name": "South", "company_id": cls.company_other.id}
        )
        cls.team_shared = cls.env["crm.team"].create({"name": "Shared", "company_id": False})
        cls.user_olga = cls._create_salesperson("sp_olga", "Olga", company=cls.company_other)

    def test_default_targets_of_another_company_refused(self):
        """Teams, departments and salespeople of company other cannot be defaults in main."""
        for field, record in (
            ("default_team_ids", self.team_other),
            ("default_department_ids", self.department_other),
            ("default_user_ids", self.user_olga),
        ):
            with self.subTest(field=field), self.assertRaises(UserError) as error:
                self.process_user.write({field: [Command.link(record.id)]})
            message = str(error.exception)
            self.assertIn(self.process_user._fields[field].string, message)
            self.assertIn(record.display_name, message)
            self.assertNotIn(record, self.process_user[field], "nothing written")
        with self.assertRaises(UserError):
            self._create_process(
                "Mixed",
                [(self.stage_lead_in, 0)],
                default_scope="team",
                default_team_ids=[Command.set((self.team_north | self.team_other).ids)],
            )
        self.assertFalse(self.env["crm.sales.process"].search([("name", "=", "Mixed")]))

    def test_default_targets_without_company_or_of_both(self):
        """Teams and departments without company, salespeople allowed in the process's
        company, are fine."""
        department = self.env["hr.department"].create({"name": "Anywhere", "company_id": False})
        process = self._create_process(
            "Shared defaults",
            [(self.stage_lead_in, 0)],
            default_scope="team",
            default_team_ids=[Command.set(self.team_shared.ids)],
            default_department_ids=[Command.set(department.ids)],
            company_id=self.company_other.id,
        )
        process.default_user_ids = self.user_dina  # allowed in both companies
        self.assertEqual(process.default_user_ids, self.user_dina)

    def test_process_moves_company(self):
        """Moving a process to another company re-checks its defaults and opportunities."""
        with self.assertRaises(UserError):
            self.process_team.company_id = self.company_other  # team North is of main
        lead = self._create_lead(self.user_dina, team_id=False, company_id=self.company.id)
        process = lead.sales_process_id
        self.assertEqual(process, self.process_all)
        with self.assertRaises(ValidationError) as error:
            process.company_id = self.company_other
        self.assertIn("opportunities of company", str(error.exception))
        self.assertEqual(process.company_id, self.company)

    def test_step_stage_of_another_company(self):
        """A stage kept for teams of another company is no step of this company's process."""
        stage_south = self.env["crm.stage"].create(
            {"name": "South Only", "team_ids": [Command.set(self.team_other.ids)]}
        )
        with self.assertRaises(ValidationError) as error:
            self.process_user.write(
                {"step_ids": [Command.create({"stage_id": stage_south.id, "probability": 20})]}
            )
        self.assertIn("South Only", str(error.exception))
        self.assertEqual(len(self.process_user.step_ids), 4)
        # fine in company other, and for a stage shared with a team of main
        self.process_other.write(
            {"step_ids": [Command.create({"stage_id": stage_south.id, "probability": 30})]}
        )
        stage_south.team_ids |= self.team_north
        self.process_user.write(
            {"step_ids": [Command.create({"stage_id": stage_south.id, "probability": 20})]}
        )
        # the step form proposes only such stages
        domain = self.env["crm.sales.process.step"].fields_get(["stage_id"])["stage_id"]["domain"]
        self.assertIn("team_ids.company_id", domain)

    def test_lead_process_of_another_company(self):
        """An opportunity of main cannot follow a process of company other."""
        lead = self._create_lead(self.user_dina, team_id=False, company_id=self.company.id)
        with self.assertRaises(UserError):
            lead.sales_process_id = self.process_other
        self.assertEqual(lead.sales_process_id, self.process_all)
        # the field's domain comes from check_company
        domain = self.env["crm.lead"].fields_get(["sales_process_id"])["sales_process_id"]["domain"]
        self.assertIn("company_id", domain)

    def test_forecast_filters_of_another_company(self):
        """The forecast of main cannot be filtered on records of company other."""
        Wizard = self.env["crm.sales.forecast.wizard"]
        for field, record in (
            ("team_ids", self.team_other),
            ("department_ids", self.department_other),
            ("user_ids", self.user_olga),
            ("process_ids", self.process_other),
        ):
            with self.subTest(field=field), self.assertRaises(UserError):
                Wizard.create({"company_id": self.company.id, field: [Command.set(record.ids)]})
        wizard = Wizard.create(
            {
                "company_id": self.company_other.id,
                "team_ids": [Command.set(self.team_other.ids)],
                "user_ids": [Command.set((self.user_olga | self.user_dina).ids)],
            }
        )
        self.assertEqual(wizard.user_ids, self.user_olga | self.user_dina)

    def test_form_domains(self):
        """The process form offers only records of the process's company."""
        with Form(self.env["crm.sales.process"].with_company(self.company_other)) as form:
            form.name = "Form in other"
            form.default_scope = "team"
            form.default_team_ids.add(self.team_other)
        self.assertEqual(form.record.company_id, self.company_other)
        for field in ("default_team_ids", "default_department_ids", "default_user_ids"):
            domain = self.env["crm.sales.process"].fields_get([field])[field]["domain"]
            self.assertIn("company_id", domain, field)
