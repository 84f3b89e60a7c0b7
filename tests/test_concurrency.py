# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Two transactions at once, as two HTTP workers run them on one database.

Each test opens real cursors (``registry.cursor()``) that commit, in an order chosen to hit one
interleaving of a manager's change and a salesperson's move. What they commit is removed again
(see _cleanup): the test database is left as found.

The tests run under pytest-odoo and under Odoo's own runner (``odoo-bin --test-enable``). The
latter runs every test inside ``ThreadedServer.run``'s ``with Registry._lock:`` (odoo/service/
server.py): a second thread's first ``api.Environment`` on a new cursor calls
``Registry(dbname)``, which takes that lock and would wait for ever. The class therefore does
what Odoo's HttpCase does for its HTTP threads: it swaps the registry lock for a DummyRLock while
it runs (nothing loads a registry meanwhile). The transactions stay real, committing ones on
connections of their own (checked: no TestCursor).
"""

import sys
import threading
import time
import traceback
from concurrent.futures import Future
from contextlib import contextmanager
from unittest.mock import patch

from psycopg2.errors import SerializationFailure

from odoo import SUPERUSER_ID, api
from odoo.exceptions import ConcurrencyError, UserError
from odoo.fields import Command
from odoo.modules.registry import DummyRLock, Registry
from odoo.tests import TransactionCase, tagged, test_cursor
from odoo.tools import SQL, mute_logger

NAME = "CSP concurrency test"
# How long a transaction in another thread is given to reach its wait on a lock of the other
# transaction, and at most to finish once that one ended; a thread still running at the end of
# its test has its connection terminated and fails the test (nothing hangs).
LOCK_SECONDS = 20
WAIT_SECONDS = 60


@tagged("post_install", "-at_install")
class TestSalesProcessConcurrency(TransactionCase):
    """A manager changes a step's percentage (or archives a default process) while a
    salesperson puts an opportunity on that step (or creates one by the default rule)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Odoo's runner holds Registry._lock in the main thread during the whole run (see the
        # module's docstring): without this, the other thread waits for it for ever.
        cls.startClassPatcher(patch.object(Registry, "_lock", DummyRLock()))

    def setUp(self):
        super().setUp()
        self.admin_id = self.env.ref("base.user_admin").id
        self.demo_id = self.env.ref("base.user_demo").id
        self.stage_ids = [self.env.ref(f"crm.stage_lead{number}").id for number in range(1, 5)]
        # a stage of the demo data that is no step of the test process
        self.other_stage_id = self.env.ref("crm_sales_process.crm_stage_negotiation_demo").id
        with self.registry.cursor() as cr:
            # real transactions, not the test cursor's savepoints (registry test mode)
            self.assertNotIsInstance(
                cr, test_cursor.TestCursor, "the registry must not be in test mode"
            )
            cr.execute("SELECT * FROM crm_lead_scoring_frequency ORDER BY id")
            frequency_columns = [column.name for column in cr.description]
            frequencies = cr.fetchall()
        self.addCleanup(self._cleanup, frequency_columns, frequencies)
        # the backends of the cursors each thread opened, and the threads of this test; cleanups
        # run last in, first out: the threads are stopped before _cleanup deletes
        self._backend_pids = {}
        self._threads = []
        self.addCleanup(self._stop_threads)
        with self._env(self.admin_id) as env:
            process = env["crm.sales.process"].create(
                {
                    "name": NAME,
                    "step_ids": [
                        Command.create({"stage_id": stage_id, "probability": probability})
                        for stage_id, probability in zip(
                            self.stage_ids, (10, 30, 50, 100), strict=True
                        )
                    ],
                }
            )
            steps = process._get_ordered_steps()
            lead = env["crm.lead"].create(
                {
                    "name": NAME,
                    "type": "opportunity",
                    "user_id": self.demo_id,
                    "sales_process_id": process.id,
                    "stage_id": self.stage_ids[0],
                }
            )
        self.process_id, self.lead_id = process.id, lead.id
        self.step_ids = steps.ids

    def _stop_threads(self):
        """No thread outlives its test: one still running (which a passing test never leaves)
        gets its database connections terminated, so that it holds no lock and no transaction,
        and fails the test. Threads are daemons: one stuck in Python cannot keep the process."""
        deadline = time.monotonic() + WAIT_SECONDS
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [thread for thread in self._threads if thread.is_alive()]
        if not stuck:
            return
        stacks = self._stacks(stuck)
        pids = [pid for thread in stuck for pid in self._backend_pids.get(thread, ())]
        with self.registry.cursor() as cr:
            cr.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s) AS pid", [pids])
        for thread in stuck:
            thread.join(10)
        self.fail(
            f"threads still running at the end of the test (backends {pids} ended):\n{stacks}"
        )

    @staticmethod
    def _stacks(threads):
        frames = sys._current_frames()
        return "\n".join(
            f"{thread.name}:\n" + "".join(traceback.format_stack(frames[thread.ident]))
            for thread in threads
            if thread.ident in frames
        )

    def _cleanup(self, frequency_columns, frequencies):
        """Remove every record the test committed, and put back the scoring frequencies that
        winning or losing changed."""
        with self.registry.cursor() as cr:
            cr.execute("SELECT id FROM crm_lead WHERE name = %s", [NAME])
            lead_ids = [row[0] for row in cr.fetchall()]
            cr.execute("SELECT id FROM crm_sales_process WHERE name->>'en_US' = %s", [NAME])
            process_ids = [row[0] for row in cr.fetchall()]
            for model, ids in (("crm.lead", lead_ids), ("crm.sales.process", process_ids)):
                cr.execute(
                    "DELETE FROM mail_activity WHERE res_model = %s AND res_id = ANY(%s)",
                    [model, ids],
                )
                cr.execute(
                    "DELETE FROM mail_followers WHERE res_model = %s AND res_id = ANY(%s)",
                    [model, ids],
                )
                cr.execute(
                    "DELETE FROM mail_message WHERE model = %s AND res_id = ANY(%s)",
                    [model, ids],
                )
            cr.execute(
                "DELETE FROM crm_sales_process_history WHERE lead_id = ANY(%s) "
                "OR step_id IN (SELECT id FROM crm_sales_process_step"
                " WHERE process_id = ANY(%s))",
                [lead_ids, process_ids],
            )
            cr.execute("DELETE FROM crm_lead WHERE id = ANY(%s)", [lead_ids])
            cr.execute(
                "DELETE FROM crm_sales_process_step WHERE process_id = ANY(%s)", [process_ids]
            )
            cr.execute("DELETE FROM crm_sales_process WHERE id = ANY(%s)", [process_ids])
            cr.execute("DELETE FROM crm_lead_scoring_frequency")
            if frequencies:
                cr.execute(
                    SQL(
                        "INSERT INTO crm_lead_scoring_frequency (%s) VALUES %s",
                        SQL(", ").join(map(SQL.identifier, frequency_columns)),
                        SQL(", ").join(SQL("%s", tuple(row)) for row in frequencies),
                    )
                )
        self.registry.clear_cache()

    # ------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------

    @contextmanager
    def _env(self, uid, commit=True):
        """An environment on a new cursor of its own (a transaction of its own), committed at
        the end unless told otherwise; rolled back on error."""
        with self.registry.cursor() as cr:
            self._backend_pids.setdefault(threading.current_thread(), []).append(
                cr._cnx.get_backend_pid()  # libpq's, no query: no snapshot taken here
            )
            # nothing here may wait for ever on a lock (SET takes no snapshot)
            cr.execute("SET LOCAL lock_timeout = '60s'")
            yield api.Environment(cr, uid, {})
            if not commit:
                cr.rollback()

    def _begin(self, env):
        """Take the transaction's snapshot now (repeatable read: at its first statement)."""
        env.cr.execute("SELECT 1")

    def _read(self, field, model="crm.lead", record_id=None):
        """A value as committed, read in a new transaction."""
        with self._env(SUPERUSER_ID, commit=False) as env:
            record = env[model].with_context(active_test=False).browse(record_id or self.lead_id)
            return record[field]

    def _lead(self, env):
        return env["crm.lead"].with_context(active_test=False).browse(self.lead_id)

    def _step(self, env, index=2):
        return env["crm.sales.process.step"].browse(self.step_ids[index])

    def _in_thread(self, func, env=None):
        """Run ``func`` in another thread (as another worker would); check that its transaction
        (the one it opens, or ``env``'s when it runs on that one) waits on a database lock held
        by another transaction of this test. Returns its future."""
        future = Future()

        def run():
            future.set_running_or_notify_cancel()
            try:
                future.set_result(func())
            except BaseException as exc:  # noqa: BLE001 -- handed to the test through future
                future.set_exception(exc)

        thread = threading.Thread(target=run, name=f"csp-{self._testMethodName}", daemon=True)

        def waiting_pids():
            if env is not None:
                return [env.cr._cnx.get_backend_pid()]
            return self._backend_pids.get(thread)

        # the transactions it may wait for: this test's, opened before the thread starts
        own_pids = {pid for pids in self._backend_pids.values() for pid in pids}
        own_pids -= set(waiting_pids() or ())
        self._threads.append(thread)
        thread.start()
        deadline = time.monotonic() + LOCK_SECONDS
        with self.registry.cursor() as cr:
            while True:
                if future.done():
                    self.fail(
                        "the transaction should wait on a lock; it ended first"
                        f" ({future.exception()!r})"
                    )
                pids = waiting_pids()
                if pids:
                    cr.execute(
                        "SELECT wait_event_type, pg_blocking_pids(pid) FROM pg_stat_activity"
                        " WHERE pid = %s",
                        [pids[-1]],
                    )
                    row = cr.fetchone()
                    if row and row[0] == "Lock" and set(row[1]) & own_pids:
                        return future
                if time.monotonic() > deadline:
                    self.fail(
                        f"the transaction should wait on a lock of this test's transactions"
                        f" {sorted(own_pids)}; after {LOCK_SECONDS} s its backend {pids} shows"
                        f" {row if pids else 'no cursor'}:\n{self._stacks([thread])}"
                    )
                cr.rollback()  # a new snapshot of pg_stat_activity
                time.sleep(0.02)

    def _assert_serialization_failure(self, func):
        with mute_logger("odoo.sql_db"), self.assertRaises(SerializationFailure):
            func()

    def _assert_retried(self, func):
        """``func`` fails with an error Odoo retries the request on (a serialization failure
        of PostgreSQL or the addon's concurrency error)."""
        with mute_logger("odoo.sql_db"), self.assertRaises(Exception) as caught:
            func()
        self.assertIsInstance(caught.exception, (SerializationFailure, ConcurrencyError))

    def _change_percentage(self, percentage=57):
        """The manager's change as Odoo's retry runs it: a new transaction, committed."""
        with self._env(self.admin_id) as manager:
            self._step(manager).write({"probability": percentage})

    def _assert_on_step(self, probability, step_index=2):
        self.assertEqual(self._read("sales_process_step_id").id, self.step_ids[step_index])
        self.assertEqual(self._read("probability"), probability)
        self.assertEqual(self._read("automated_probability"), probability)

    # ------------------------------------------------------------
    # step percentage vs a move onto the step
    # ------------------------------------------------------------

    def test_percentage_vs_move_lead_commits_in_between(self):
        """The salesperson's move commits after the manager's snapshot, before the manager
        changes the step: the manager's snapshot does not show the opportunity on the step,
        so the change fails with a serialization error, and Odoo's retry realigns it."""
        with self._env(self.admin_id, commit=False) as manager:
            self._begin(manager)
            with self._env(self.demo_id) as sales:
                self._lead(sales).write({"stage_id": self.stage_ids[2]})
            self._assert_retried(lambda: self._step(manager).write({"probability": 57}))
        self._change_percentage()
        self._assert_on_step(57)

    def test_percentage_vs_move_manager_commits_first(self):
        """The manager's change commits after the salesperson's snapshot: the move fails with a
        serialization error (Odoo retries it) and the retry gets 57 %."""
        with self._env(self.demo_id, commit=False) as sales:
            self._begin(sales)
            with self._env(self.admin_id) as manager:
                self._step(manager).write({"probability": 57})
            self._assert_serialization_failure(
                lambda: self._lead(sales).write({"stage_id": self.stage_ids[2]})
            )
        with self._env(self.demo_id) as sales:
            self._lead(sales).write({"stage_id": self.stage_ids[2]})
        self._assert_on_step(57)

    def test_percentage_vs_move_manager_running(self):
        """The manager's change is written but not committed: the move waits, then fails."""
        with self._env(self.admin_id) as manager:
            self._step(manager).write({"probability": 57})
            manager.flush_all()

            def move():
                # fails when the manager commits, before the test reads its result: the
                # failed query's log is muted here (an ERROR line fails OCA's log check)
                with mute_logger("odoo.sql_db"), self._env(self.demo_id) as sales:
                    self._lead(sales).write({"stage_id": self.stage_ids[2]})

            future = self._in_thread(move)
        with self.assertRaises(SerializationFailure):
            future.result(timeout=WAIT_SECONDS)
        self._assert_on_step(10, step_index=0)

    def test_percentage_vs_move_lead_running(self):
        """The move is written but not committed: the manager's change waits for it, then
        fails with a serialization error (the opportunity changed after its snapshot); Odoo's
        retry sets 57 %."""

        def change():
            # the serialization failure expected in that thread is logged there
            with mute_logger("odoo.sql_db"), self._env(self.admin_id) as manager:
                self._step(manager).write({"probability": 57})

        with self._env(self.demo_id) as sales:
            self._lead(sales).write({"stage_id": self.stage_ids[2]})
            sales.flush_all()
            future = self._in_thread(change)
        self._assert_retried(lambda: future.result(timeout=WAIT_SECONDS))
        self._change_percentage()
        self._assert_on_step(57)

    def test_percentage_vs_move_manager_alone_first(self):
        """Manager first, committed before the salesperson starts: nothing special."""
        with self._env(self.admin_id) as manager:
            self._step(manager).write({"probability": 57})
        with self._env(self.demo_id) as sales:
            self._lead(sales).write({"stage_id": self.stage_ids[2]})
        self._assert_on_step(57)

    # ------------------------------------------------------------
    # step percentage vs creation on the step
    # ------------------------------------------------------------

    def _create_on_step(self, env, stage_id=None):
        lead = env["crm.lead"].create(
            {
                "name": NAME,
                "type": "opportunity",
                "user_id": self.demo_id,
                "sales_process_id": self.process_id,
                "stage_id": stage_id or self.stage_ids[2],
            }
        )
        self.lead_id = lead.id
        return lead

    def test_percentage_vs_create_lead_commits_in_between(self):
        """Created on the step after the manager's snapshot: the change fails with a
        concurrency error (the snapshot does not show the opportunity); the retry sees it."""
        with self._env(self.admin_id, commit=False) as manager:
            self._begin(manager)
            with self._env(self.demo_id) as sales:
                self._create_on_step(sales)
            self._assert_retried(lambda: self._step(manager).write({"probability": 57}))
        self._change_percentage()
        self._assert_on_step(57)

    def test_percentage_vs_create_manager_commits_first(self):
        with self._env(self.demo_id, commit=False) as sales:
            self._begin(sales)
            with self._env(self.admin_id) as manager:
                self._step(manager).write({"probability": 57})
            self._assert_serialization_failure(lambda: self._create_on_step(sales))
        with self._env(self.demo_id) as sales:
            self._create_on_step(sales)
        self._assert_on_step(57)

    def test_percentage_vs_create_lead_running(self):
        """The creation holds its share lock on the step: the change waits, then fails with a
        concurrency error; the retry sets 57 %."""

        def change():
            # the serialization failure expected in that thread is logged there
            with mute_logger("odoo.sql_db"), self._env(self.admin_id) as manager:
                self._step(manager).write({"probability": 57})

        with self._env(self.demo_id) as sales:
            self._create_on_step(sales)
            sales.flush_all()
            future = self._in_thread(change)
        self._assert_retried(lambda: future.result(timeout=WAIT_SECONDS))
        self._change_percentage()
        self._assert_on_step(57)

    # ------------------------------------------------------------
    # default process archived vs creation by the default rule
    # ------------------------------------------------------------

    def _make_default(self):
        """The test process becomes the admin's default process."""
        with self._env(self.admin_id) as manager:
            manager["crm.sales.process"].browse(self.process_id).write(
                {"default_scope": "user", "default_user_ids": [Command.set([self.admin_id])]}
            )

    def _create_by_rule(self, env):
        lead = env["crm.lead"].create(
            {"name": NAME, "type": "opportunity", "user_id": self.admin_id}
        )
        self.lead_id = lead.id
        return lead

    def test_archive_vs_create_by_rule_manager_commits_first(self):
        """The default process is archived after the salesperson's snapshot: the creation
        fails (retried by Odoo), the retry gets no process."""
        self._make_default()
        with self._env(self.admin_id, commit=False) as sales:
            self._begin(sales)
            with self._env(self.admin_id) as manager:
                manager["crm.sales.process"].browse(self.process_id).action_archive()
            self._assert_serialization_failure(lambda: self._create_by_rule(sales))
        with self._env(self.admin_id) as sales:
            self._create_by_rule(sales)
        self.assertFalse(self._read("sales_process_id"))

    def test_archive_vs_create_by_rule_stale_cache(self):
        """Another worker archived the default process; this worker's cache of the rules has
        not heard of it yet (and Odoo's retry keeps the cache): the creation reads the rules
        again and the opportunity gets no process."""
        self._make_default()
        with self._env(self.admin_id, commit=False) as sales:
            rules = sales["crm.sales.process"]._get_default_process_rules({sales.company.id})
            self.assertIn(self.process_id, rules[sales.company.id]["user"].values())
        with self._env(self.admin_id) as other_worker:
            # in SQL: the cache of this process is not cleared, as in another worker
            other_worker.cr.execute(
                "UPDATE crm_sales_process SET active = FALSE WHERE id = %s", [self.process_id]
            )
        with self._env(self.admin_id) as sales:
            self._create_by_rule(sales)
        self.assertFalse(self._read("sales_process_id"))

    def test_default_rule_changed_vs_create_by_rule_stale_cache(self):
        """Another worker removed the salesperson from the process's defaults (the process
        stays a default, for someone else): the stale rules are noticed, read again, and the
        opportunity does not get the process."""
        self._make_default()
        with self._env(self.admin_id, commit=False) as sales:
            sales["crm.sales.process"]._get_default_process_rules({sales.company.id})
        with self._env(self.admin_id) as other_worker:
            # as its ORM write does (it bumps the change date), without clearing this cache
            other_worker.cr.execute(
                """
                UPDATE crm_sales_process_default_user_rel SET user_id = %s
                 WHERE process_id = %s;
                UPDATE crm_sales_process SET write_date = now() AT TIME ZONE 'UTC'
                 WHERE id = %s
                """,
                [SUPERUSER_ID, self.process_id, self.process_id],
            )
        with self._env(self.admin_id) as sales:
            self._create_by_rule(sales)
        self.assertNotEqual(self._read("sales_process_id").id, self.process_id)

    def test_archive_vs_create_by_rule_lead_running(self):
        """The creation holds its lock: archiving waits, then archives; the opportunity keeps
        the process it got while it was the default (as if created just before)."""
        self._make_default()

        def archive():
            with self._env(self.admin_id) as manager:
                manager["crm.sales.process"].browse(self.process_id).action_archive()

        with self._env(self.admin_id) as sales:
            self._create_by_rule(sales)
            sales.flush_all()
            future = self._in_thread(archive)
        future.result(timeout=WAIT_SECONDS)
        self.assertEqual(self._read("sales_process_id").id, self.process_id)
        self.assertFalse(self._read("active", "crm.sales.process", self.process_id))
        with self._env(self.admin_id) as sales:
            self._create_by_rule(sales)
        self.assertFalse(self._read("sales_process_id"))

    # ------------------------------------------------------------
    # restore / lost vs a change of the step's percentage
    # ------------------------------------------------------------

    def _put_on_step_lost(self):
        with self._env(self.demo_id) as sales:
            self._lead(sales).write({"stage_id": self.stage_ids[2]})
            self._lead(sales).action_set_lost()

    def _change_and_flush(self, manager, probability=57):
        self._step(manager).write({"probability": probability})
        manager.flush_all()

    def test_percentage_vs_restore_lead_commits_in_between(self):
        """Restored after the manager's snapshot: the change also rewrites the stored step
        percentage of the opportunities on the step, lost ones included, so it conflicts with
        the restore and is retried (by Odoo), which then realigns the opportunity."""
        self._put_on_step_lost()
        with self._env(self.admin_id, commit=False) as manager:
            self._begin(manager)
            with self._env(self.demo_id) as sales:
                self._lead(sales).action_restore()
            self._assert_serialization_failure(lambda: self._change_and_flush(manager))
        with self._env(self.admin_id) as manager:
            self._change_and_flush(manager)
        self.assertTrue(self._read("active"))
        self._assert_on_step(57)

    def test_percentage_vs_restore_manager_commits_first(self):
        self._put_on_step_lost()
        with self._env(self.demo_id, commit=False) as sales:
            self._begin(sales)
            with self._env(self.admin_id) as manager:
                self._step(manager).write({"probability": 57})
            self._assert_serialization_failure(lambda: self._lead(sales).action_restore())
        with self._env(self.demo_id) as sales:
            self._lead(sales).action_restore()
        self._assert_on_step(57)

    def test_percentage_vs_lost(self):
        """Lost while the percentage changes: whichever commits second is retried; the lost
        opportunity stays at 0 %, out of the forecast."""
        with self._env(self.demo_id) as sales:
            self._lead(sales).write({"stage_id": self.stage_ids[2]})
        # salesperson commits in between: the manager's realignment write conflicts
        with self._env(self.admin_id, commit=False) as manager:
            self._begin(manager)
            with self._env(self.demo_id) as sales:
                self._lead(sales).action_set_lost()
            self._assert_serialization_failure(lambda: self._change_and_flush(manager))
        with self._env(self.admin_id) as manager:
            self._step(manager).write({"probability": 57})
        self.assertFalse(self._read("active"))
        self.assertEqual(self._read("probability"), 0)
        # manager commits first: losing (a write of the realigned opportunity) is retried
        with self._env(self.demo_id) as sales:
            self._lead(sales).action_restore()
        self._assert_on_step(57)
        with self._env(self.demo_id, commit=False) as sales:
            self._begin(sales)
            with self._env(self.admin_id) as manager:
                self._step(manager).write({"probability": 61})

            def lose():
                self._lead(sales).action_set_lost()
                sales.flush_all()

            self._assert_serialization_failure(lose)
        self._assert_on_step(61)

    def test_won_vs_percentage_of_current_step(self):
        """Won while the step it leaves changes: the change is retried; the opportunity ends
        won at 100 %."""
        with self._env(self.demo_id) as sales:
            self._lead(sales).write({"stage_id": self.stage_ids[2]})
        with self._env(self.admin_id, commit=False) as manager:
            self._begin(manager)
            with self._env(self.demo_id) as sales:
                self._lead(sales).action_set_won()
            self._assert_serialization_failure(lambda: self._change_and_flush(manager))
        with self._env(self.admin_id) as manager:
            self._change_and_flush(manager)
        self._assert_on_step(100, step_index=3)
        self.assertEqual(self._read("probability", "crm.sales.process.step", self.step_ids[2]), 57)

    # ------------------------------------------------------------
    # a step's stage changed or the step deleted vs a move onto it
    # ------------------------------------------------------------

    def _change_after_concurrent_move(self, change, create=False):
        """A salesperson moves (or creates) an opportunity onto step 2 and holds the lock;
        ``change`` (manager, snapshot taken before that commits) waits for it. Returns the
        manager's future."""
        with self._env(self.admin_id, commit=False) as manager:
            self._begin(manager)
            with self._env(self.demo_id) as sales:
                if create:
                    self._create_on_step(sales, self.stage_ids[1])
                else:
                    self._lead(sales).write({"stage_id": self.stage_ids[1]})
                sales.flush_all()
                future = self._in_thread(lambda: change(self._step(manager, 1)), manager)
            try:
                future.result(timeout=WAIT_SECONDS)
            finally:
                manager.cr.rollback()

    def _change_stage(self, step):
        step.write({"stage_id": self.other_stage_id})

    def test_step_stage_change_vs_move(self):
        """The opportunity moved onto the step meanwhile: the stage change is retried (and
        then refused as usual)."""
        with mute_logger("odoo.sql_db"), self.assertRaises(SerializationFailure):
            self._change_after_concurrent_move(self._change_stage)
        self._assert_on_step(30, step_index=1)
        self.assertEqual(
            self._read("stage_id", "crm.sales.process.step", self.step_ids[1]).id,
            self.stage_ids[1],
        )

    def test_step_stage_change_vs_create(self):
        """The opportunity created on the step meanwhile: the stage change is retried, and
        then refused as usual."""
        self._assert_retried(
            lambda: self._change_after_concurrent_move(self._change_stage, create=True)
        )
        with self._env(self.admin_id) as manager:
            with self.assertRaisesRegex(UserError, "opportunities are on this step"):
                self._change_stage(self._step(manager, 1))
        self._assert_on_step(30, step_index=1)

    def test_step_unlink_vs_create(self):
        self._assert_retried(
            lambda: self._change_after_concurrent_move(lambda step: step.unlink(), create=True)
        )
        with self._env(self.admin_id) as manager:
            with self.assertRaisesRegex(UserError, "opportunities are on this step"):
                self._step(manager, 1).unlink()
        self._assert_on_step(30, step_index=1)

    def test_step_stage_change_after_own_move(self):
        """No concurrency: the manager moves the opportunity away and changes the stage of its
        step in one transaction: allowed (the committed opportunity it moved does not count)."""
        with self._env(self.admin_id, commit=False) as manager:
            self._lead(manager).write({"stage_id": self.stage_ids[1]})
            self._change_stage(self._step(manager, 0))
            manager.flush_all()
            self.assertEqual(self._step(manager, 0).stage_id.id, self.other_stage_id)
