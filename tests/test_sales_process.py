# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Command
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import SalesProcessCommon


@tagged("post_install", "-at_install")
class TestSmoke(SalesProcessCommon):
    def test_demo(self):
        """The demo data holds the five-step process."""
        process = self.env.ref("crm_sales_process.crm_sales_process_five_step_demo")
        self.assertEqual(process.step_count, 5)
        self.assertEqual(process.step_ids.mapped("probability"), [0, 25, 50, 75, 100])


@tagged("post_install", "-at_install")
class TestSalesProcessRecord(SalesProcessCommon):
    """The Details tab: counts, audit initials, default for, step numbers."""

    def test_counts_and_numbers(self):
        """A process with four steps shows Steps 4, numbers 1..4 and In use = its opportunities."""
        process = self._create_process("Counted", self._standard_steps())
        self.assertEqual(process.step_count, 4)
        self.assertEqual(process.step_ids.mapped("number"), [1, 2, 3, 4])
        self.assertEqual(process.opportunity_count, 0)
        self._create_lead(process)
        self._create_lead(process, self.stage_offer)
        process.invalidate_recordset(["opportunity_count"])
        self.assertEqual(process.opportunity_count, 2)
        self.assertEqual(len(process.opportunity_ids), 2)
        # Reordering renumbers the steps.
        process.step_ids[-1].sequence = 0
        self.assertEqual(process.step_ids.sorted("number")[0].stage_id, self.stage_won)

    def test_audit_initials(self):
        """Created and last modified show the initials of who did it (Otto Ole Olsen → OOO)."""
        process = self._create_process("Audited", user=self.manager)
        self.assertEqual(process.create_user_initials, "MM")
        self.assertEqual(process.write_user_initials, "MM")
        process.with_user(self.other_manager).write({"note": "Checked"})
        process.invalidate_recordset()
        self.assertEqual(process.create_user_initials, "MM")
        self.assertEqual(process.write_user_initials, "OOO")

    def test_default_for_label(self):
        """The list's "Default for" names the scope and whom it is for."""
        process = self._create_process(
            "Team default", default_scope="team", default_team_ids=[Command.set(self.team.ids)]
        )
        self.assertEqual(process.default_for, "Sales Teams: Team Nord")
        process.write({"default_scope": "all"})
        self.assertEqual(process.default_for, "Everyone")

    def test_form_create_and_add_steps(self):
        """A manager creates a process in the form, saves, then adds steps on the Steps tab."""
        form = Form(self.Process.with_user(self.manager))
        form.name = "Form Process"
        form.note = "Made in the form"
        process = form.save()
        self.assertTrue(process.active)
        self.assertEqual(process.default_scope, "none")
        with Form(process.with_user(self.manager)) as form:
            with form.step_ids.new() as step:
                step.stage_id = self.stage_lead
                step.probability = 10
            with form.step_ids.new() as step:
                step.stage_id = self.stage_won
                step.probability = 100
        self.assertEqual(process.step_ids.mapped("name"), ["SP Lead", "SP Won"])
        self.assertEqual(process.step_ids.mapped("probability"), [10, 100])

    def test_action_view_opportunities(self):
        """The In use button opens the opportunities of the process."""
        process = self._create_process("Viewed", self._standard_steps())
        lead = self._create_lead(process)
        action = process.action_view_opportunities()
        self.assertEqual(self.env["crm.lead"].search(action["domain"]), lead)
        self.assertEqual(action["context"]["default_sales_process_id"], process.id)

    def test_copy(self):
        """A copy gets "(copy)", the same steps, and is the default for nobody."""
        process = self._create_process(
            "Original",
            self._standard_steps(),
            note="Keep me",
            default_scope="user",
            default_user_ids=[Command.set(self.salesman.ids)],
        )
        copy = process.copy()
        self.assertEqual(copy.name, "Original (copy)")
        self.assertEqual(copy.note, "Keep me")
        self.assertEqual(copy.default_scope, "none")
        self.assertEqual(
            copy.step_ids.mapped(lambda step: (step.stage_id, step.probability)),
            process.step_ids.mapped(lambda step: (step.stage_id, step.probability)),
        )
        self.assertFalse(copy.step_ids & process.step_ids)
        self.assertEqual(process.default_scope, "user")
        self.assertEqual(process.step_count, 4)
        named = process.copy({"name": "Renamed"})
        self.assertEqual(named.name, "Renamed")


@tagged("post_install", "-at_install")
class TestSalesProcessDelete(SalesProcessCommon):
    """Delete one or many; a process used by an opportunity cannot be deleted."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.used = cls._create_process("Used Process", cls._standard_steps())
        cls.unused = cls._create_process("Unused Process", cls._standard_steps())
        cls.unused_2 = cls._create_process("Other Unused", cls._standard_steps())
        cls.lead = cls._create_lead(cls.used)

    def test_delete_unused(self):
        """Deleting unused processes (one, then several) removes them and their steps."""
        steps = self.unused.step_ids
        self.unused.with_user(self.manager).unlink()
        self.assertFalse(self.unused.exists())
        self.assertFalse(steps.exists())
        batch = self.unused_2 | self._create_process("Third Unused")
        batch.with_user(self.manager).unlink()
        self.assertFalse(batch.exists())

    def test_delete_in_use(self):
        """Deleting a process in use fails with its name and a hint to archive it."""
        with self.assertRaises(UserError) as error:
            self.used.with_user(self.manager).unlink()
        message = str(error.exception)
        self.assertIn("“Used Process”", message)
        self.assertIn("Archive it instead", message)
        self.assertTrue(self.used.exists())

    def test_delete_batch_with_one_in_use(self):
        """Actions > Delete on a selection with one process in use deletes nothing."""
        batch = self.unused | self.used | self.unused_2
        with self.assertRaises(UserError) as error:
            batch.with_user(self.manager).unlink()
        self.assertIn("“Used Process”", str(error.exception))
        self.assertNotIn("Unused Process", str(error.exception))
        self.assertEqual(batch.exists(), batch)
        self.assertEqual(self.unused.step_count, 4)

    def test_delete_used_by_lost_opportunity(self):
        """A lost (archived) opportunity still keeps its process from being deleted."""
        self.lead.action_set_lost()
        self.assertFalse(self.lead.active)
        with self.assertRaises(UserError):
            self.used.unlink()
        self.assertTrue(self.used.exists())

    def test_archive_in_use(self):
        """Archiving is the way out: the opportunity keeps its process."""
        self.used.with_user(self.manager).action_archive()
        self.assertFalse(self.used.active)
        self.assertEqual(self.lead.sales_process_id, self.used)


@tagged("post_install", "-at_install")
class TestSalesProcessConstraints(SalesProcessCommon):
    """Bad input gives a clear error and writes nothing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.process = cls._create_process("Checked", cls._standard_steps())

    def test_probability_range(self):
        """Percentages below 0 or above 100 are refused; nothing is clamped."""
        step = self.process.step_ids[1]
        for value in (-1, 100.01, 250):
            with self.assertRaises(ValidationError) as error:
                step.write({"probability": value})
            self.assertIn("between 0 and 100", str(error.exception))
            self.assertEqual(step.probability, 50)
        with self.assertRaises(ValidationError):
            self._create_process("Too high", [(self.stage_lead, 101)])
        self.assertFalse(self.Process.search([("name", "=", "Too high")]))
        for value in (0, 100, 33.5):
            step.probability = value
            self.assertEqual(step.probability, value)

    def test_won_step_is_100(self):
        """A won stage closes the process: its step must be 100 %."""
        with self.assertRaises(ValidationError) as error:
            self.process.step_ids[-1].probability = 90
        self.assertIn("won stage", str(error.exception))

    def test_step_without_stage(self):
        """A step without stage is refused with a clear message, in create and in write."""
        with self.assertRaises(ValidationError) as error:
            self.process.write({"step_ids": [Command.create({"probability": 20})]})
        self.assertIn("needs a stage", str(error.exception))
        self.assertIn("“Checked”", str(error.exception))
        self.assertEqual(self.process.step_count, 4)
        with self.assertRaises(ValidationError):
            self.process.step_ids[0].write({"stage_id": False})
        self.assertEqual(self.process.step_ids[0].stage_id, self.stage_lead)
        with self.assertRaises(ValidationError):
            self._create_process("No stage", [(self.env["crm.stage"], 10)])
        self.assertFalse(self.Process.search([("name", "=", "No stage")]))

    @mute_logger("odoo.sql_db")
    def test_stage_once_per_process(self):
        """A stage appears once in a process."""
        with self.assertRaises(IntegrityError):
            self._create_process("Twice", [(self.stage_lead, 0), (self.stage_lead, 10)])

    def test_default_user_claimed_once(self):
        """A salesperson has one default process per company; a second one is refused."""
        first = self._create_process(
            "Sam's process", default_scope="user", default_user_ids=[Command.set(self.salesman.ids)]
        )
        with self.assertRaises(ValidationError) as error:
            self._create_process(
                "Also Sam's",
                default_scope="user",
                default_user_ids=[Command.set((self.salesman | self.manager).ids)],
            )
        message = str(error.exception)
        self.assertIn("Sam Sales", message)
        self.assertIn("“Sam's process”", message)
        self.assertFalse(self.Process.search([("name", "=", "Also Sam's")]))
        # Another salesperson, another company or an archived first process is fine.
        second = self._create_process(
            "Mona's", default_scope="user", default_user_ids=[Command.set(self.manager.ids)]
        )
        self.salesman.company_ids |= self.company_b
        self._create_process(
            "Sam's in B",
            company_id=self.company_b.id,
            default_scope="user",
            default_user_ids=[Command.set(self.salesman.ids)],
        )
        with self.assertRaises(ValidationError):
            second.write({"default_user_ids": [Command.link(self.salesman.id)]})
        self.assertEqual(second.default_user_ids, self.manager)
        first.action_archive()
        second.write({"default_user_ids": [Command.link(self.salesman.id)]})
        # Reactivating the first one would make two defaults again.
        with self.assertRaises(ValidationError):
            first.action_unarchive()
        self.assertFalse(first.active)

    def test_default_team_and_department_claimed_once(self):
        """Teams and departments, like salespeople, have one default process per company."""
        self._create_process(
            "Team", default_scope="team", default_team_ids=[Command.set(self.team.ids)]
        )
        with self.assertRaises(ValidationError) as error:
            self._create_process(
                "Team 2", default_scope="team", default_team_ids=[Command.set(self.team.ids)]
            )
        self.assertIn("Team Nord", str(error.exception))
        self._create_process(
            "Dept",
            default_scope="department",
            default_department_ids=[Command.set(self.department.ids)],
        )
        with self.assertRaises(ValidationError) as error:
            self._create_process(
                "Dept 2",
                default_scope="department",
                default_department_ids=[Command.set(self.department.ids)],
            )
        self.assertIn("Sales Nord", str(error.exception))

    def test_default_everyone_once(self):
        """Only one active process is the default for everyone in a company."""
        self._create_process("For all", default_scope="all")
        with self.assertRaises(ValidationError) as error:
            self._create_process("For all too", default_scope="all")
        self.assertIn("“For all”", str(error.exception))
        self._create_process("For all in B", default_scope="all", company_id=self.company_b.id)

    def test_default_scope_needs_targets(self):
        """ "Default for salespeople" without any salesperson is refused."""
        with self.assertRaises(ValidationError) as error:
            self.process.write({"default_scope": "user"})
        self.assertIn("none is selected", str(error.exception))
        self.assertEqual(self.process.default_scope, "none")


@tagged("post_install", "-at_install")
class TestSalesProcessAccess(SalesProcessCommon):
    """Salespeople read processes; sales managers manage them; companies see their own."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.process = cls._create_process("Shared", cls._standard_steps(), note="Read me")
        cls.process_b = cls._create_process(
            "Only B", cls._standard_steps(), company_id=cls.company_b.id
        )
        cls.manager_b = cls._create_salesperson(
            "sp_manager_b",
            "Manager B",
            groups="sales_team.group_sale_manager",
            company=cls.company_b,
        )

    def test_salesman_reads_only(self):
        """A salesperson can list and read processes and steps, but change nothing."""
        process = self.process.with_user(self.salesman)
        self.assertIn(process, process.search([]))
        self.assertEqual(process.read(["name", "note"])[0]["note"], "Read me")
        self.assertEqual(process.step_ids.mapped("probability"), [0, 50, 75, 100])
        with self.assertRaises(AccessError):
            process.write({"name": "Changed"})
        with self.assertRaises(AccessError):
            self.Process.with_user(self.salesman).create({"name": "Mine"})
        with self.assertRaises(AccessError):
            process.unlink()
        with self.assertRaises(AccessError):
            process.step_ids[0].write({"probability": 5})
        with self.assertRaises(AccessError):
            self.env["crm.sales.process.step"].with_user(self.salesman).create(
                {"process_id": process.id, "stage_id": self.stage_offer.id}
            )
        with self.assertRaises(AccessError):
            process.step_ids[0].unlink()
        self.assertEqual(self.process.name, "Shared")

    def test_manager_full_access(self):
        """A sales manager creates, changes, archives and deletes processes and steps."""
        Process = self.Process.with_user(self.manager)
        process = Process.create(
            {"name": "Managed", "step_ids": [Command.create({"stage_id": self.stage_lead.id})]}
        )
        process.write({"name": "Managed 2"})
        process.step_ids.write({"probability": 15})
        self.env["crm.sales.process.step"].with_user(self.manager).create(
            {"process_id": process.id, "stage_id": self.stage_won.id, "probability": 100}
        )
        self.assertEqual(process.step_count, 2)
        process.step_ids[0].unlink()
        process.action_archive()
        self.assertFalse(process.active)
        process.unlink()
        self.assertFalse(process.exists())

    def test_company_rule(self):
        """Each company sees its own processes and steps; a user of both sees both."""
        main_ids = self.Process.with_user(self.manager).search([]).ids
        self.assertIn(self.process.id, main_ids)
        self.assertNotIn(self.process_b.id, main_ids)
        with self.assertRaises(AccessError):
            self.process_b.with_user(self.manager).read(["name"])
        b_processes = self.Process.with_user(self.manager_b).search([])
        self.assertIn(self.process_b, b_processes)
        self.assertNotIn(self.process, b_processes)
        steps_b = self.env["crm.sales.process.step"].with_user(self.manager_b).search([])
        self.assertEqual(steps_b.process_id, self.process_b)
        with self.assertRaises(AccessError):
            self.process.with_user(self.manager_b).write({"name": "Taken over"})
        # A user allowed in both companies sees both when both are selected.
        self.manager.write({"company_ids": [Command.link(self.company_b.id)]})
        both = self.Process.with_user(self.manager).with_context(
            allowed_company_ids=[self.company.id, self.company_b.id]
        )
        self.assertLessEqual(self.process | self.process_b, both.search([]))

    def test_views_load_for_both_groups(self):
        """The list, kanban (phones), form and search views load for salespeople and managers."""
        for user in (self.salesman, self.manager):
            views = self.Process.with_user(user).get_views(
                [(False, "list"), (False, "kanban"), (False, "form"), (False, "search")]
            )
            self.assertEqual(set(views["views"]), {"list", "kanban", "form", "search"})
        kanban = views["views"]["kanban"]["arch"]
        for field in ("name", "default_for", "step_count", "opportunity_count", "active"):
            self.assertIn(f'name="{field}"', kanban)
        self.assertIn("o_kanban_mobile", kanban)
        action = self.env.ref("crm_sales_process.crm_sales_process_action")
        # small screens open the action's kanban view instead of the list
        self.assertEqual(action.view_mode, "list,kanban,form")
        self.assertEqual(action.mobile_view_mode, "kanban")
