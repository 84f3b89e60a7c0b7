#!/usr/bin/env python3
# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Queries and time of the single-record operations of the load run, without load.

Each operation runs as a salesperson in its own transaction (a new cursor and an empty record
cache, as a request has), committed, after warm-up runs: create (default process from the
rules, or with the stage given and no process), move (write stage_id), lose, restore, win.
The count includes the commit (mail tracking, followers). Deterministic, unlike a throughput
run: compare an addon database with a stock crm + hr one.

Run with Odoo's Python, Odoo's source on PYTHONPATH:
  op_queries.py --db DB --addons-path PATH [--login LOGIN] [--runs N] [--stock]
(--login: a salesperson, default the demo user; --stock: a database without the addon).
Creates opportunities named "op_queries N" in the database: use a copy.
"""

import argparse
import statistics
import time

from odoo import api
from odoo.modules.registry import Registry
from odoo.tools import config

OPERATIONS = ("create", "move", "lose", "restore", "win")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("--login")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--stock", action="store_true")
    args = parser.parse_args()
    config.parse_config(["-d", args.db, "--addons-path", args.addons_path, "--log-level=warn"])
    registry = Registry(args.db)

    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        if args.login:
            user = env["res.users"].search([("login", "=", args.login)])
        else:
            user = env.ref("base.user_demo")
        team = env["crm.team.member"].search([("user_id", "=", user.id)], limit=1).crm_team_id
        stages = env["crm.stage"].search([("is_won", "=", False)], order="sequence").ids
        process_stages = None
        if not args.stock:
            probe = (
                env["crm.lead"]
                .with_user(user)
                .new({"user_id": user.id, "team_id": team.id, "type": "opportunity"})
            )
            process = probe._get_sales_process_by_rules().get(probe)
            if process:
                process_stages = [
                    step.stage_id.id for step in process._get_ordered_steps() if not step.is_won
                ]
                print(f"salesperson {user.login}: default process {process.name}")

    def run(operation):
        """(queries, ms) of ``operation(env)`` in a transaction of its own, commit included."""
        with registry.cursor() as cr:
            env = api.Environment(cr, user.id, {})
            start_count, start = cr.sql_log_count, time.perf_counter()
            result = operation(env)
            env.flush_all()
            cr.commit()
            return result, cr.sql_log_count - start_count, (time.perf_counter() - start) * 1000

    def act(lead_id, name, move_stage):
        """The operation ``name`` on opportunity ``lead_id``, as a function of the env."""

        def operation(env):
            lead = env["crm.lead"].with_context(active_test=False).browse(lead_id)
            if name == "move":
                return lead.write({"stage_id": move_stage})
            if name == "lose":
                return lead.action_set_lost()
            if name == "restore":
                return lead.action_restore()
            return lead.action_set_won()

        return operation

    def series(label, vals, move_stages):
        figures = {name: [] for name in OPERATIONS}
        for index in range(args.runs + 2):
            lead_vals = dict(vals, name=f"op_queries {index}")
            lead_id, queries, ms = run(lambda env, v=lead_vals: env["crm.lead"].create(v).id)
            figures["create"].append((queries, ms))
            for name in OPERATIONS[1:]:
                _result, queries, ms = run(act(lead_id, name, move_stages[1]))
                figures[name].append((queries, ms))
        for name, values in figures.items():
            values = values[2:]  # warm-up
            counts = sorted({queries for queries, _ms in values})
            median = statistics.median(ms for _queries, ms in values)
            print(f"{label:12} {name:8} queries {counts}  median {median:.1f} ms")

    base = {
        "type": "opportunity",
        "expected_revenue": 1000,
        "user_id": user.id,
        "team_id": team.id,
    }
    if process_stages:
        series("process", base, process_stages)
    without = dict(base, stage_id=stages[0])
    if not args.stock:
        without["sales_process_id"] = False
    series("no process", without, stages)


if __name__ == "__main__":
    main()
