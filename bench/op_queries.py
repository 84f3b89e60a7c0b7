#!/usr/bin/env python3
# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Queries and time of the single-record operations of a salesperson, without load.

Each operation runs as a salesperson in its own transaction (a new cursor and an empty record
cache, as a request has), committed, after warm-up runs: create (default process from the
rules; without a process: with a stage given), move (write stage_id), lose, restore, win. The
count includes the commit (mail tracking, followers). With ``--stock-db`` the same operations
run on a stock crm + hr database, alternating round by round with the addon's, and a table
compares them (medians over all rounds).

Run with Odoo's Python, Odoo's source on PYTHONPATH:
  op_queries.py --db DB --addons-path PATH [--stock-db DB] [--login LOGIN] [--runs N]
      [--rounds N]
(--login: a salesperson, default the demo user). Creates opportunities named "op_queries N"
in the databases: use copies (e.g. demo databases made for the purpose).
"""

import argparse
import statistics
import time

from odoo import api
from odoo.modules.registry import Registry
from odoo.tools import config

OPERATIONS = ("create", "move", "lose", "restore", "win")


class Series:
    """The operations of one database, as its salesperson runs them."""

    def __init__(self, db, login, stock):
        self.registry = Registry(db)
        self.stock = stock
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            user = (
                env["res.users"].search([("login", "=", login)])
                if login
                else env.ref("base.user_demo")
            )
            team = env["crm.team.member"].search([("user_id", "=", user.id)], limit=1)
            self.user_id = user.id
            self.vals = {
                "type": "opportunity",
                "expected_revenue": 1000,
                "user_id": user.id,
                "team_id": team.crm_team_id.id,
            }
            stages = env["crm.stage"].search([("is_won", "=", False)], order="sequence").ids
            self.label = "stock" if stock else "process"
            if stock:
                self.vals["stage_id"] = stages[0]
                self.move_stage = stages[1]
                return
            probe = (
                env["crm.lead"]
                .with_user(user)
                .new({"user_id": user.id, "team_id": team.crm_team_id.id, "type": "opportunity"})
            )
            process = probe._get_sales_process_by_rules().get(probe)
            if not process:
                raise SystemExit(f"{user.login} gets no default process in {db}")
            open_steps = [step for step in process._get_ordered_steps() if not step.is_won]
            self.move_stage = open_steps[1].stage_id.id
            print(f"{db}: salesperson {user.login}, default process {process.name}")

    def run(self, operation):
        """(queries, ms) of ``operation(env)`` in a transaction of its own, commit included."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, self.user_id, {})
            start_count, start = cr.sql_log_count, time.perf_counter()
            result = operation(env)
            env.flush_all()
            cr.commit()
            return result, cr.sql_log_count - start_count, (time.perf_counter() - start) * 1000

    def once(self, index, figures):
        """Create, move, lose, restore and win one opportunity; add (queries, ms) each."""
        vals = dict(self.vals, name=f"op_queries {index}")
        lead_id, queries, ms = self.run(lambda env: env["crm.lead"].create(vals).id)
        figures["create"].append((queries, ms))
        actions = {
            "move": lambda lead: lead.write({"stage_id": self.move_stage}),
            "lose": lambda lead: lead.action_set_lost(),
            "restore": lambda lead: lead.action_restore(),
            "win": lambda lead: lead.action_set_won(),
        }
        for name, action in actions.items():
            _result, queries, ms = self.run(
                lambda env, action=action: action(
                    env["crm.lead"].with_context(active_test=False).browse(lead_id)
                )
            )
            figures[name].append((queries, ms))


def summary(figures):
    """{operation: (sorted distinct query counts, median ms)}"""
    return {
        name: (
            sorted({queries for queries, _ms in values}),
            statistics.median(ms for _q, ms in values),
        )
        for name, values in figures.items()
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--stock-db")
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("--login")
    parser.add_argument("--runs", type=int, default=10, help="operations per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    args = parser.parse_args()
    config.parse_config(["--addons-path", args.addons_path, "--log-level=warn"])
    series = [Series(args.db, args.login, stock=False)]
    if args.stock_db:
        series.append(Series(args.stock_db, args.login, stock=True))
    figures = {item.label: {name: [] for name in OPERATIONS} for item in series}
    for item in series:  # warm-up, not counted
        item.once("warm-up", {name: [] for name in OPERATIONS})
    index = 0
    for _round in range(args.rounds):
        for item in series:
            for _run in range(args.runs):
                index += 1
                item.once(index, figures[item.label])
    results = {label: summary(values) for label, values in figures.items()}
    print(f"{args.rounds} rounds x {args.runs} runs, medians")
    header = f"{'operation':10} {'queries':>16} {'ms':>18} {'ratio':>6}"
    print(header)
    for name in OPERATIONS:
        addon_queries, addon_ms = results["process"][name]
        if "stock" not in results:
            print(f"{name:10} {str(addon_queries):>16} {addon_ms:>18.1f}")
            continue
        stock_queries, stock_ms = results["stock"][name]
        print(
            f"{name:10} {str(addon_queries) + ' / ' + str(stock_queries):>16} "
            f"{f'{addon_ms:.1f} / {stock_ms:.1f}':>18} {addon_ms / stock_ms:>5.2f}x"
        )


if __name__ == "__main__":
    main()
