# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from lxml import etree

from odoo.exceptions import UserError
from odoo.fields import Command, Domain
from odoo.tests import tagged
from odoo.tools.safe_eval import safe_eval

from ..models.tools import name_initial, user_initials
from .common import SalesProcessCommon


@tagged("post_install", "-at_install")
class TestWildcardSearch(SalesProcessCommon):
    """The % rule for Name, Note and Free text: ``AS%`` starts with, ``%AS`` ends with,
    ``AS`` contains; case does not matter; ``_`` is an ordinary character."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.p1 = cls._create_process("AS Partner Deal", note="Assumed close in May")
        cls.p2 = cls._create_process("Nordic Trade AS", note="Signed in Bergen")
        cls.p3 = cls._create_process("Glass Sale")
        cls.p4 = cls._create_process("Hotel Deal", note="Booked by Oslo AS")
        cls.p5 = cls._create_process("Deal_2026", note="Ref_1 basic")
        cls.p6 = cls._create_process("Deal-2026", note="As agreed, Ref-1")
        cls.p7 = cls._create_process("Quick Win", note="Rapid deal")
        cls.ours = cls.p1 | cls.p2 | cls.p3 | cls.p4 | cls.p5 | cls.p6 | cls.p7

    def _find(self, field, value, operator="ilike"):
        """Search as the search view does: ``ilike`` on the search field, as a salesperson."""
        return self.Process.with_user(self.salesman).search(
            [(field, operator, value), ("id", "in", self.ours.ids)]
        )

    def assertFound(self, field, value, expected, operator="ilike"):
        self.assertEqual(
            set(self._find(field, value, operator).mapped("name")),
            set(expected.mapped("name")),
            f"{field} {operator} {value!r}",
        )

    # Name
    def test_name_starts_with(self):
        self.assertFound("search_name", "AS%", self.p1)

    def test_name_ends_with(self):
        self.assertFound("search_name", "%AS", self.p2)

    def test_name_contains(self):
        self.assertFound("search_name", "AS", self.p1 | self.p2 | self.p3)

    def test_name_case_insensitive(self):
        self.assertFound("search_name", "as%", self.p1)
        self.assertFound("search_name", "%aS", self.p2)
        self.assertFound("search_name", "gLASS", self.p3)

    def test_name_underscore_is_literal(self):
        self.assertFound("search_name", "Deal_2026", self.p5)
        self.assertFound("search_name", "deal_%", self.p5)

    # Note
    def test_note_starts_with(self):
        self.assertFound("search_note", "AS%", self.p1 | self.p6)

    def test_note_ends_with(self):
        self.assertFound("search_note", "%AS", self.p4)

    def test_note_contains(self):
        self.assertFound("search_note", "AS", self.p1 | self.p4 | self.p5 | self.p6)

    def test_note_case_insensitive(self):
        self.assertFound("search_note", "%oslo as", self.p4)
        self.assertFound("search_note", "as%", self.p1 | self.p6)

    def test_note_underscore_is_literal(self):
        self.assertFound("search_note", "Ref_1", self.p5)

    def test_note_negation_keeps_empty_notes(self):
        """ "Note does not contain" also lists processes without a note."""
        self.assertFound("search_note", "AS", self.p2 | self.p3 | self.p7, operator="not ilike")

    # Free text: name or note
    def test_free_text_starts_with(self):
        self.assertFound("search_text", "AS%", self.p1 | self.p6)

    def test_free_text_ends_with(self):
        self.assertFound("search_text", "%AS", self.p2 | self.p4)

    def test_free_text_contains(self):
        self.assertFound("search_text", "AS", self.ours - self.p7)
        self.assertFound("search_text", "bergen", self.p2)

    def test_free_text_case_insensitive(self):
        self.assertFound("search_text", "%oslo AS", self.p4)
        self.assertFound("search_text", "RAPID%", self.p7)

    def test_free_text_underscore_is_literal(self):
        self.assertFound("search_text", "_2026", self.p5)
        self.assertFound("search_text", "ref_%", self.p5)
        self.assertFound("search_text", "AS", self.p7, operator="not ilike")

    def test_lone_percent_and_blank(self):
        """``%`` alone or nothing matches everything."""
        self.assertFound("search_name", "%", self.ours)
        self.assertFound("search_text", "  ", self.ours)

    def test_wildcard_in_the_middle(self):
        """A % inside the text still means "anything" between the two parts."""
        self.assertFound("search_name", "%Partner%Deal", self.p1)

    def test_search_views_fields(self):
        """The search view offers Name, Note and Free text on the wildcard fields."""
        arch = etree.fromstring(
            self.Process.get_views([(False, "search")])["views"]["search"]["arch"]
        )
        labels = {field.get("name"): field.get("string") for field in arch.iter("field")}
        self.assertEqual(labels["search_name"], "Name")
        self.assertEqual(labels["search_note"], "Note")
        self.assertEqual(labels["search_text"], "Free Text")


@tagged("post_install", "-at_install")
class TestSearchFilters(SalesProcessCommon):
    """The five filters of the search view, read from the search view as the web client does."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Mona creates A; Otto creates B and Mona saves it last; Otto creates C;
        # Mona creates D and Otto deactivates it.
        cls.p_a = cls._create_process("Filter A", user=cls.manager)
        cls.p_b = cls._create_process("Filter B", user=cls.other_manager)
        cls.p_b.with_user(cls.manager).write({"note": "Saved by Mona"})
        cls.p_c = cls._create_process("Filter C", user=cls.other_manager)
        cls.p_d = cls._create_process("Filter D", user=cls.manager)
        cls.p_d.with_user(cls.other_manager).action_archive()
        cls.ours = cls.p_a | cls.p_b | cls.p_c | cls.p_d
        cls.arch = etree.fromstring(
            cls.Process.get_views([(False, "search")])["views"]["search"]["arch"]
        )

    def _filter(self, label, user):
        """The domain of the filter with this label, evaluated for ``user``."""
        nodes = self.arch.xpath(f"//filter[@string='{label}']")
        self.assertEqual(len(nodes), 1, f"one filter named {label!r}")
        return Domain(safe_eval(nodes[0].get("domain"), {"uid": user.id}))

    def _apply(self, user, *labels):
        """Search as ``user`` with the filters ANDed, as filters of different groups are."""
        domain = Domain.AND(self._filter(label, user) for label in labels)
        return self.Process.with_user(user).search(domain & Domain("id", "in", self.ours.ids))

    def test_all_active_is_default(self):
        action = self.env.ref("crm_sales_process.crm_sales_process_action")
        context = safe_eval(action.context)
        default = self.arch.xpath("//filter[@name='all_active']")[0]
        self.assertEqual(default.get("string"), "All active")
        self.assertTrue(context.get("search_default_all_active"))
        self.assertEqual(self._apply(self.manager, "All active"), self.p_a | self.p_b | self.p_c)

    def test_mine(self):
        """Mine: created or last saved by me (active ones, as All active stays on)."""
        self.assertEqual(self._apply(self.manager, "Mine"), self.p_a | self.p_b)
        self.assertEqual(self._apply(self.other_manager, "Mine"), self.p_b | self.p_c)
        self.assertEqual(self._apply(self.manager, "Mine", "All"), self.p_a | self.p_b | self.p_d)
        self.assertFalse(self._apply(self.salesman, "Mine"))

    def test_not_mine(self):
        """Not mine: neither created nor last saved by me."""
        self.assertEqual(self._apply(self.manager, "Not mine"), self.p_c)
        self.assertEqual(self._apply(self.other_manager, "Not mine"), self.p_a)
        self.assertEqual(self._apply(self.salesman, "Not mine"), self.p_a | self.p_b | self.p_c)

    def test_only_deactivated(self):
        self.assertEqual(self._apply(self.manager, "Only deactivated"), self.p_d)
        self.assertEqual(self._apply(self.other_manager, "Only deactivated", "Mine"), self.p_d)

    def test_all(self):
        self.assertEqual(self._apply(self.salesman, "All"), self.ours)

    def test_date_filters(self):
        """Created and Last modified have date filters; the client compares the dates."""
        dates = {node.get("date") for node in self.arch.xpath("//filter[@date]")}
        self.assertEqual(dates, {"create_date", "write_date"})
        self.p_c.write({"note": "touched"})
        self.env.flush_all()
        self.assertIn(
            self.p_c,
            self.Process.search([("write_date", ">=", self.p_c.create_date)]),
        )

    def test_people_and_team_fields(self):
        """Salesperson, sales team, department, created by and last modified by."""
        by_user = self._create_process(
            "For Sam", default_scope="user", default_user_ids=[Command.set(self.salesman.ids)]
        )
        by_team = self._create_process(
            "For Nord", default_scope="team", default_team_ids=[Command.set(self.team.ids)]
        )
        by_department = self._create_process(
            "For Dept",
            default_scope="department",
            default_department_ids=[Command.set(self.department.ids)],
        )
        arch_fields = {field.get("name") for field in self.arch.iter("field")}
        self.assertLessEqual(
            {"default_user_ids", "default_team_ids", "default_department_ids"}, arch_fields
        )
        self.assertLessEqual({"create_uid", "write_uid"}, arch_fields)
        Process = self.Process.with_user(self.salesman)
        self.assertEqual(Process.search([("default_user_ids", "ilike", "Sam Sa")]), by_user)
        self.assertEqual(Process.search([("default_user_ids", "in", self.salesman.ids)]), by_user)
        self.assertEqual(Process.search([("default_team_ids", "ilike", "Team Nord")]), by_team)
        self.assertEqual(
            Process.search([("default_department_ids", "ilike", "Sales Nord")]), by_department
        )
        self.assertEqual(
            Process.search([("create_uid", "ilike", "Otto Ole"), ("id", "in", self.ours.ids)]),
            self.p_b | self.p_c,
        )
        self.assertEqual(
            Process.search([("write_uid", "=", self.manager.id), ("id", "in", self.ours.ids)]),
            self.p_a | self.p_b,
        )


@tagged("post_install", "-at_install")
class TestCountComparisons(SalesProcessCommon):
    """ID, number of steps and In use compare with >=, <=, = and !=."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.empty = cls._create_process("No steps")
        cls.two = cls._create_process("Two steps", [(cls.stage_lead, 0), (cls.stage_won, 100)])
        cls.four = cls._create_process("Four steps", cls._standard_steps())
        cls._create_lead(cls.two)
        for _index in range(3):
            cls._create_lead(cls.four, cls.stage_offer)
        cls.ours = cls.empty | cls.two | cls.four

    def _compare(self, field, operator, value):
        return self.Process.with_user(self.salesman).search(
            [(field, operator, value), ("id", "in", self.ours.ids)]
        )

    def test_id(self):
        middle = self.two.id
        self.assertEqual(self._compare("id", ">=", middle), self.two | self.four)
        self.assertEqual(self._compare("id", "<=", middle), self.empty | self.two)
        self.assertEqual(self._compare("id", "=", middle), self.two)
        self.assertEqual(self._compare("id", "!=", middle), self.empty | self.four)

    def test_step_count(self):
        self.assertEqual(self._compare("step_count", ">=", 2), self.two | self.four)
        self.assertEqual(self._compare("step_count", "<=", 2), self.empty | self.two)
        self.assertEqual(self._compare("step_count", "=", 4), self.four)
        self.assertEqual(self._compare("step_count", "=", 0), self.empty)
        self.assertEqual(self._compare("step_count", "!=", 2), self.empty | self.four)

    def test_opportunity_count(self):
        """In use counts the opportunities following the process (0, 1 and 3 here)."""
        self.assertEqual(self.ours.mapped("opportunity_count"), [0, 1, 3])
        self.assertEqual(self._compare("opportunity_count", ">=", 1), self.two | self.four)
        self.assertEqual(self._compare("opportunity_count", "<=", 1), self.empty | self.two)
        self.assertEqual(self._compare("opportunity_count", "=", 3), self.four)
        self.assertEqual(self._compare("opportunity_count", "=", 0), self.empty)
        self.assertEqual(self._compare("opportunity_count", "!=", 0), self.two | self.four)
        self.assertEqual(self._compare("opportunity_count", "!=", 3), self.empty | self.two)
        self.assertEqual(self._compare("opportunity_count", ">", 1), self.four)
        self.assertEqual(self._compare("opportunity_count", "<", 1), self.empty)
        self.assertEqual(self._compare("opportunity_count", "in", [0, 3]), self.empty | self.four)
        self.assertEqual(self._compare("opportunity_count", "not in", [1]), self.empty | self.four)
        # "is set" in the custom filter: False counts as 0
        self.assertEqual(self._compare("opportunity_count", "!=", False), self.two | self.four)

    def test_opportunity_count_rejects_text(self):
        with self.assertRaises(UserError):
            self._compare("opportunity_count", ">=", "many")
        with self.assertRaises(UserError):
            self._compare("opportunity_count", ">=", 1.5)


@tagged("post_install", "-at_install")
class TestFirstLetters(SalesProcessCommon):
    """The first-letter buttons: Æ, Ø and Å are letters of their own."""

    def test_name_initial_helper(self):
        cases = {
            "Ærlig salg": "Æ",
            "øst-salg": "Ø",
            "Åpen prosess": "Å",
            "Éclair": "E",
            "über": "U",
            "ñandu": "N",
            "  zebra": "Z",
            "2026 plan": "#",
            "-dash": "#",
            "": "#",
        }
        for name, letter in cases.items():
            self.assertEqual(name_initial(name), letter, name)
        self.assertEqual(user_initials(self.other_manager), "OOO")

    def test_letter_field_and_panel(self):
        """The search panel lists all letters in alphabet order and filters on them."""
        ae = self._create_process("Ærlig salg")
        oe = self._create_process("øst-salg")
        aa = self._create_process("Åpen prosess")
        digit = self._create_process("2026 plan")
        accented = self._create_process("Éclair")
        self.assertEqual(
            (ae | oe | aa | digit | accented).mapped("name_initial"), ["Æ", "Ø", "Å", "#", "E"]
        )
        Process = self.Process.with_user(self.salesman)
        self.assertEqual(Process.search([("name_initial", "=", "Æ")]), ae)
        self.assertEqual(Process.search([("name_initial", "=", "Ø")]), oe)
        self.assertEqual(Process.search([("name_initial", "=", "Å")]), aa)
        self.assertIn(accented, Process.search([("name_initial", "=", "E")]))
        # As the view asks for it: all letters (expand), in the Norwegian/Danish order.
        panel = Process.search_panel_select_range("name_initial", expand=True)
        letters = [value["id"] for value in panel["values"]]
        self.assertEqual(letters[:3], ["A", "B", "C"])
        self.assertEqual(letters[-5:], ["Z", "Æ", "Ø", "Å", "#"])
        ae.name = "Bedre salg"
        self.assertEqual(ae.name_initial, "B")

    def test_search_panel_in_view(self):
        arch = etree.fromstring(
            self.Process.get_views([(False, "search")])["views"]["search"]["arch"]
        )
        panel_fields = arch.xpath("//searchpanel/field")
        self.assertEqual([field.get("name") for field in panel_fields], ["name_initial"])
        self.assertEqual(panel_fields[0].get("select"), "one")
        self.assertEqual(panel_fields[0].get("expand"), "1")
        letters = [value for value, _label in self.Process._fields["name_initial"].selection]
        self.assertEqual(letters[-4:], ["Æ", "Ø", "Å", "#"])
