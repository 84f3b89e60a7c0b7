# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Queries of the single-record operations a salesperson does all day (warm caches).

Each operation starts with an empty record cache, as a new request does; Odoo's caches
(access rights, record rules, the companies having default processes) are warm. The
opportunity without a process must cost what stock crm costs; the one following a process
only a few queries more (rules, steps, share lock, step history).
"""

from odoo import Command
from odoo.tests import tagged, warmup

from .common import SalesProcessCommon


@tagged("post_install", "-at_install")
class TestSingleRecordQueries(SalesProcessCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.process = cls._create_process(
            "Query Sale",
            [(cls.stage_lead, 10), (cls.stage_offer, 50), (cls.stage_won, 100)],
            default_scope="user",
            default_user_ids=[cls.salesman.id],
        )
        cls.env["crm.team.member"].create({"crm_team_id": cls.team.id, "user_id": cls.salesman.id})

    def _run(self, counts, vals):
        """Create, move, lose, restore and win one opportunity as the salesperson, each
        operation in at most ``counts[operation]`` queries."""
        env = self.env(user=self.salesman)
        Lead = env["crm.lead"]

        def step(name, operation):
            # as a new request: empty record cache and transaction-level look-ups
            env.invalidate_all()
            env.cr.cache.clear()
            with self.assertQueryCount(counts[name]):
                result = operation()
                env.flush_all()
            return result

        lead = step("create", lambda: Lead.create(vals))
        target = self.stage_offer if lead.sales_process_id else self.stage_verbal
        step("move", lambda: lead.write({"stage_id": target.id}))
        step("lose", lead.action_set_lost)
        step("restore", lead.with_context(active_test=False).action_restore)
        step("win", lead.action_set_won)
        return lead

    def _vals(self, **vals):
        return {
            "name": "Query Deal",
            "type": "opportunity",
            "user_id": self.salesman.id,
            "team_id": self.team.id,
            **vals,
        }

    @warmup
    def test_process_lead(self):
        """Created with the salesperson's default process, then moved, lost, restored, won."""
        # create: rules (one query, share-locking the default processes), steps (3), the
        # step share lock, step history; no predictive scoring look-ups. move: steps, share
        # lock, history. win: steps, history (a won step is not share-locked: always 100 %).
        # lose: history only. Steps without key activities read none (stored count). The
        # move forward is the first response (time to respond): its working hours read the
        # company's working schedule (attendances, leaves) and store the figure.
        lead = self._run(
            {"create": 17, "move": 14, "lose": 10, "restore": 15, "win": 17}, self._vals()
        )
        self.assertEqual(lead.sales_process_id, self.process)
        self.assertEqual((lead.stage_id, lead.probability), (self.stage_won, 100))
        self.assertEqual(
            lead.sales_process_history_ids.mapped("exit_reason"), [False, "won", "lost", "forward"]
        )

    @warmup
    def test_lead_without_process(self):
        """The same operations on an opportunity without a process: stock crm's queries."""
        lead = self._run(
            {"create": 17, "move": 10, "lose": 9, "restore": 21, "win": 15},
            self._vals(stage_id=self.stage_lead.id, sales_process_id=False),
        )
        self.assertFalse(lead.sales_process_id)
        self.assertEqual(lead.probability, 100)

    def test_rule_changes_keep_odoo_caches(self):
        """Archiving a default process or changing its rule clears none of Odoo's caches (a
        clear reaches every worker: their next requests would run cold); new opportunities
        follow the change at once. Only a company gaining its first default process or losing
        its last one clears them."""
        team_process = self._create_process(
            "Team Sale",
            [(self.stage_lead, 20), (self.stage_won, 100)],
            default_scope="team",
            default_team_ids=[self.team.id],
        )
        Lead = self.env(user=self.salesman)["crm.lead"]
        self.registry.reset_changes()
        try:
            self.process.action_archive()
            self.assertEqual(Lead.create(self._vals()).sales_process_id, team_process)
            self.process.action_unarchive()
            self.assertEqual(Lead.create(self._vals()).sales_process_id, self.process)
            self.process.write({"default_user_ids": [Command.clear()], "default_scope": "none"})
            self.assertEqual(Lead.create(self._vals()).sales_process_id, team_process)
            self.assertNotIn("default", self.registry.cache_invalidated)
            # the only default process of a company
            only = self._create_process(
                "Only Sale",
                [(self.stage_lead, 10)],
                company_id=self.company_b.id,
                default_scope="all",
            )
            self.assertIn("default", self.registry.cache_invalidated)
            self.registry.reset_changes()
            only.action_archive()
            self.assertIn("default", self.registry.cache_invalidated)
        finally:
            # this test's data must not stay in the caches of the next tests
            self.registry.clear_cache()
