#!/usr/bin/env python3
# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Load and fault run against a running multi-worker Odoo (driven by bench/load.sh).

Concurrent clients use the web client's RPC (/web/dataset/call_kw with a session, so that
@api.readonly methods go to the read replica when Odoo has one), a manager changes the
processes at the same time, faults are injected, and the end state is checked. Only the
standard library, requests, psycopg2 and openpyxl (all in Odoo's virtualenv) are used.

Sub-commands:
  run      drive one server (stock or addon database) and write a JSON result file
  compare  print the result files side by side; exit 1 on any unexpected error or violation
"""

import argparse
import calendar
import io
import json
import os
import random
import re
import signal
import statistics
import threading
import time
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg2
import requests

ADMIN_LOGIN = ADMIN_PASSWORD = "admin"
SETUP_PARAM = "crm_sales_process.load_setup"
REQUEST_TIMEOUT = 120
# Operations compared between stock and addon (same calls in both runs)
COMMON_OPS = {"create", "move", "win", "lose", "restore", "forecast_read", "pipeline_read"}
READ_METHODS = {"formatted_read_group", "web_search_read", "get_kpis", "search_read", "read"}
# Operations that open or close an opportunity: their times tell which opportunities a pipeline
# snapshot must hold (check_snapshots)
OPENNESS_OPS = {"create": True, "restore": True, "win": False, "lose": False}
# Pipeline snapshots the manager takes during the addon run, at these shares of the run
SNAPSHOT_SHARES = (0.15, 0.35, 0.55, 0.75, 0.9)
# Stalled opportunities for the escalation cron: the load's steps stall after 1 day and
# escalate 1 day later; waves of opportunities are made stalled 3 days ago by SQL (the first
# before the clients start, the others just before the cron is triggered during the run)
ESCALATION_WAVES = 3
ESCALATION_WAVE_SIZE = 40
STALL_DAYS = ESCALATE_AFTER_DAYS = 1
STALLED_SINCE = timedelta(days=3)
POT_FILE = Path(__file__).resolve().parent.parent / "i18n" / "crm_sales_process.pot"
LOG_LINE = re.compile(
    r"^\S+ \S+ (?P<pid>\d+) \w+ \S+ werkzeug: .*\"(?P<verb>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+\" "
    r"(?P<status>\d+) [-\d]+ [-\d.]+ [-\d.]+ [-\d.]+(?: (?P<mode>ro|rw|ro->rw|-))?\s*$"
)


class Killed(Exception):
    """The connection dropped: the worker serving the request was killed."""


class Skip(Exception):
    """Nothing to do for this operation now (e.g. no lead on a process yet)."""


class RpcError(Exception):
    def __init__(self, name, message):
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def addon_message_patterns():
    """Regexes of the addon's own user-facing messages (its .pot msgids): a refusal is an
    expected one when its text is one of them."""
    if not POT_FILE.exists():
        return []
    text = POT_FILE.read_text(encoding="utf-8")
    patterns = []
    for block in re.findall(r'^msgid ((?:".*"\n)+)', text, flags=re.M):
        msgid = "".join(
            json.loads(line) for line in block.strip().splitlines() if line.startswith('"')
        )
        if len(msgid) < 25 or "%" not in msgid and "“" not in msgid:
            continue
        parts = re.split(r"%\([a-z_]+\)s|%s|%%", msgid)
        regex = ".*?".join(re.escape(part) for part in parts)
        patterns.append(re.compile(regex, re.S))
    return patterns


class Client:
    """One logged-in user of the web client (cookie session, no keep-alive)."""

    def __init__(self, url, db, login, password, stats):
        self.url, self.db, self.login, self.password = url, db, login, password
        self.http = requests.Session()
        self.http.headers["Connection"] = "close"
        self.stats = stats
        self.uid = None
        self.tag = threading.local()

    def _post(self, path, params):
        payload = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}
        try:
            response = self.http.post(self.url + path, json=payload, timeout=REQUEST_TIMEOUT)
        except requests.exceptions.Timeout as error:
            raise RpcError("timeout", str(error)) from error
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError) as e:
            raise Killed(str(e)) from e
        if response.status_code != 200:
            raise RpcError(f"http{response.status_code}", response.text[:300])
        body = response.json()
        if "error" in body:
            data = body["error"].get("data") or {}
            raise RpcError(data.get("name", "unknown"), data.get("message", str(body["error"])))
        return body.get("result")  # Odoo leaves out a None result

    def authenticate(self):
        result = self._retry_killed(
            lambda: self._post(
                "/web/session/authenticate",
                {"db": self.db, "login": self.login, "password": self.password},
            )
        )
        self.uid = result["uid"]
        return self

    def _retry_killed(self, func, tries=4):
        for attempt in range(tries):
            try:
                return func()
            except Killed:
                if attempt == tries - 1:
                    raise
                time.sleep(0.5)
        return None

    def call(self, model, method, *args, query="", **kwargs):
        # Tag the request with the operation it belongs to: Odoo's log line of the request
        # then tells the operation's server time and queries
        if not query and getattr(self.tag, "op", None):
            query = f"?op={self.tag.op}"
        return self._post(
            f"/web/dataset/call_kw/{model}.{method}{query}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def get(self, path):
        try:
            response = self.http.get(self.url + path, timeout=REQUEST_TIMEOUT)
        except requests.exceptions.Timeout as error:
            raise RpcError("timeout", str(error)) from error
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError) as e:
            raise Killed(str(e)) from e
        if response.status_code != 200:
            raise RpcError(f"http{response.status_code}", response.text[:300])
        return response


def execute_kw(url, db, uid, password, model, method, *args, **kwargs):
    """/jsonrpc execute_kw: always served by the primary database (read/write cursor)."""
    payload = {
        "jsonrpc": "2.0",
        "method": "call",
        "id": 1,
        "params": {
            "service": "object",
            "method": "execute_kw",
            "args": [db, uid, password, model, method, list(args), kwargs],
        },
    }
    body = requests.post(url + "/jsonrpc", json=payload, timeout=REQUEST_TIMEOUT).json()
    if "error" in body:
        data = body["error"].get("data") or {}
        raise RpcError(data.get("name", "unknown"), data.get("message", ""))
    return body.get("result")


class Stats:
    """Thread-safe counters of the run."""

    def __init__(self, patterns):
        self.lock = threading.Lock()
        self.patterns = patterns
        self.ok = Counter()
        self.refused = Counter()
        self.killed = Counter()
        self.unexpected = Counter()
        self.unexpected_samples = []
        self.not_refused = Counter()
        self.latency = defaultdict(list)

    def is_addon_message(self, message):
        return any(pattern.search(message) for pattern in self.patterns)

    def record(self, op, seconds, outcome, detail=""):
        with self.lock:
            if outcome == "ok":
                self.ok[op] += 1
                self.latency[op].append(seconds)
            elif outcome == "refused":
                self.refused[op] += 1
                self.latency[op].append(seconds)
            elif outcome == "killed":
                self.killed[op] += 1
            elif outcome == "not_refused":
                self.not_refused[op] += 1
                self.unexpected_samples.append(f"{op}: accepted, should be refused {detail}")
            else:
                self.unexpected[op] += 1
                if len(self.unexpected_samples) < 30:
                    self.unexpected_samples.append(f"{op}: {detail[:400]}")


USER_ERRORS = {
    "odoo.exceptions.UserError",
    "odoo.exceptions.ValidationError",
    "odoo.exceptions.AccessError",
}


def run_op(stats, op, func, expect_refusal=False):
    """Run ``func`` (an RPC sequence) as one operation; classify its outcome.

    A dropped connection (the fault killed the worker) is retried once, counted as killed.
    Returns (outcome, result).
    """
    for attempt in range(3):
        start = time.monotonic()
        try:
            result = func()
        except Skip:
            return "skip", None
        except Killed as error:
            stats.record(op, 0, "killed", str(error))
            if attempt == 2:
                stats.record(op, 0, "unexpected", f"connection dropped 3 times: {error}")
                return "unexpected", None
            time.sleep(0.3)
            continue
        except RpcError as error:
            elapsed = time.monotonic() - start
            if error.name in USER_ERRORS and stats.is_addon_message(error.message):
                stats.record(op, elapsed, "refused")
                return "refused", error
            stats.record(op, elapsed, "unexpected", f"{error.name}: {error.message}")
            return "unexpected", error
        except Exception as error:  # noqa: BLE001 - a client bug or an odd answer: counted
            stats.record(op, 0, "unexpected", f"{type(error).__name__}: {error}")
            return "unexpected", error
        elapsed = time.monotonic() - start
        if expect_refusal:
            stats.record(op, elapsed, "not_refused", repr(result)[:200])
            return "not_refused", result
        stats.record(op, elapsed, "ok")
        return "ok", result
    return "unexpected", None


# ----------------------------------------------------------------------------------------
# Set-up (idempotent per database: marked by an ir.config_parameter)
# ----------------------------------------------------------------------------------------


def xmlid(admin, module, name):
    rows = admin.call(
        "ir.model.data",
        "search_read",
        [("module", "=", module), ("name", "=", name)],
        fields=["res_id"],
    )
    return rows[0]["res_id"]


def setup(admin, mode, salespeople):
    """Users, teams, departments, stages and (addon) processes; returns the layout."""
    done = admin.call("ir.config_parameter", "get_param", SETUP_PARAM, False)
    if done:
        layout = json.loads(done)
        if len(layout["salespeople"]) >= salespeople:
            return layout
        raise SystemExit(
            f"database set up for {len(layout['salespeople'])} clients: drop it or reuse "
            f"with as many clients"
        )
    salesman = xmlid(admin, "sales_team", "group_sale_salesman")
    manager_group = xmlid(admin, "sales_team", "group_sale_manager")
    company_id = admin.call("res.users", "read", [admin.uid], ["company_id"])[0]["company_id"][0]
    departments = [
        admin.call("hr.department", "create", {"name": f"Load Department {i}"}) for i in range(3)
    ]
    teams = [admin.call("crm.team", "create", {"name": f"Load Team {i}"}) for i in range(2)]
    people = []
    for i in range(salespeople):
        login = f"load_sp{i}"
        user_id = admin.call(
            "res.users",
            "create",
            {
                "name": f"Load Salesperson {i}",
                "login": login,
                "password": login + "-pw",
                "group_ids": [(4, salesman)],
            },
        )
        admin.call(
            "hr.employee",
            "create",
            {
                "name": f"Load Salesperson {i}",
                "user_id": user_id,
                "department_id": departments[i % 3],
            },
        )
        team = teams[i % 2]
        admin.call("crm.team.member", "create", {"crm_team_id": team, "user_id": user_id})
        people.append(
            {"login": login, "uid": user_id, "team": team, "department": departments[i % 3]}
        )
    manager = admin.call(
        "res.users",
        "create",
        {
            "name": "Load Manager",
            "login": "load_mgr",
            "password": "load_mgr-pw",
            "group_ids": [(4, manager_group)],
        },
    )
    stages = {
        row["name"]: row["id"]
        for row in admin.call("crm.stage", "search_read", [], fields=["name"], order="sequence")
    }
    won_stage = admin.call("crm.stage", "search", [("is_won", "=", True)], limit=1)[0]
    for name, sequence in (("Discovery", 2), ("Demo", 3), ("Negotiation", 4)):
        stages[name] = admin.call("crm.stage", "create", {"name": name, "sequence": sequence})
    stages["Won"] = won_stage
    layout = {
        "company_id": company_id,
        "salespeople": people,
        "manager": {"login": "load_mgr", "uid": manager},
        "teams": teams,
        "departments": departments,
        "stages": stages,
        "won_stage": won_stage,
        "processes": {},
    }
    if mode == "proc":
        definitions = {
            # name: (steps [(stage, %)], scope, targets)
            "standard": (
                [("New", 10), ("Qualified", 30), ("Proposition", 60), ("Won", 100)],
                "all",
                [],
            ),
            "spare": (
                [("New", 10), ("Discovery", 25), ("Proposition", 50), ("Won", 100)],
                "none",
                [],
            ),
            "team": (
                [("Discovery", 15), ("Demo", 40), ("Negotiation", 70), ("Won", 100)],
                "team",
                [teams[0]],
            ),
            "department": (
                [("New", 20), ("Demo", 45), ("Negotiation", 80), ("Won", 100)],
                "department",
                [departments[1]],
            ),
            "user": (
                [("Qualified", 20), ("Negotiation", 65), ("Won", 100)],
                "user",
                [people[0]["uid"], people[1 % len(people)]["uid"]],
            ),
        }
        for key, (steps, scope, targets) in definitions.items():
            vals = {
                "name": f"Load {key.title()}",
                "default_scope": scope,
                "step_ids": [
                    (0, 0, {"stage_id": stages[stage], "probability": pct, "sequence": n})
                    for n, (stage, pct) in enumerate(steps)
                ],
            }
            if scope in ("user", "team", "department"):
                vals[f"default_{scope}_ids"] = [(6, 0, targets)]
            process_id = admin.call("crm.sales.process", "create", vals)
            # Through /jsonrpc (the primary): search_read is readonly, a lagging replica may
            # not have the process yet
            step_rows = execute_kw(
                admin.url,
                admin.db,
                admin.uid,
                admin.password,
                "crm.sales.process.step",
                "search_read",
                [("process_id", "=", process_id)],
                fields=["stage_id", "probability", "is_won"],
                order="sequence",
            )
            layout["processes"][key] = {
                "id": process_id,
                "steps": [
                    {"id": s["id"], "stage": s["stage_id"][0], "is_won": s["is_won"]}
                    for s in step_rows
                ],
            }
    admin.call("ir.config_parameter", "set_param", SETUP_PARAM, json.dumps(layout))
    return layout


# ----------------------------------------------------------------------------------------
# Clients
# ----------------------------------------------------------------------------------------


class Salesperson(threading.Thread):
    def __init__(self, run, person, seed):
        super().__init__(daemon=True)
        self.run_ = run
        self.person = person
        self.random = random.Random(seed)
        self.leads = {}  # id -> expected state as last acknowledged
        # id -> [(op, start, end)]: the acknowledged operations that opened or closed it
        self.events = defaultdict(list)
        self.client = None

    def expect(self, lead_id, **values):
        if lead_id in self.leads:
            self.leads[lead_id].update(values)

    def uncertain(self, lead_id):
        if lead_id in self.leads:
            self.leads[lead_id]["uncertain"] = True

    def run(self):
        run = self.run_
        self.client = Client(
            run.url, run.db, self.person["login"], self.person["login"] + "-pw", run.stats
        ).authenticate()
        ops = [
            ("create", 20),
            ("move", 28),
            ("win", 7),
            ("lose", 7),
            ("restore", 5),
            ("forecast_read", 8),
            ("pipeline_read", 6),
        ]
        if run.mode == "proc":
            ops += [
                ("wrong_stage", 5),
                ("wrong_probability", 5),
                ("change_process", 5),
                ("forecast_report", 3),
                ("kpis", 4),
            ]
        names, weights = zip(*ops, strict=True)
        while not run.stop.is_set():
            op = self.random.choices(names, weights)[0]
            try:
                getattr(self, "op_" + op)(op)
            except Exception as error:  # noqa: BLE001 - counted, the client goes on
                run.stats.record(op, 0, "unexpected", f"client: {error!r}")

    # helpers
    def open_leads(self):
        return [i for i, s in self.leads.items() if s["active"] and not s["won"]]

    def call_op(self, op, func, lead_id=None, expect_refusal=False):
        self.client.tag.op = op
        start = time.monotonic()
        try:
            outcome, result = run_op(self.run_.stats, op, func, expect_refusal)
        finally:
            self.client.tag.op = None
        if outcome in ("unexpected",) and lead_id:
            self.uncertain(lead_id)
        if outcome == "ok" and op in OPENNESS_OPS:
            self.events[lead_id or result].append((op, start, time.monotonic()))
        return outcome, result

    def read_lead(self, lead_id):
        rows = self.client.call(
            "crm.lead",
            "read",
            [lead_id],
            ["stage_id", "sales_process_id", "active", "probability"],
            context={"active_test": False},
        )
        return rows[0]

    def process_steps(self, process_id):
        return self.run_.steps_of(process_id)

    # operations
    def op_create(self, op):
        name = f"Load {self.person['login']} {uuid.uuid4().hex[:10]}"
        revenue = self.random.randint(10, 1000) * 100
        vals = {
            "name": name,
            "type": "opportunity",
            "expected_revenue": revenue,
            "user_id": self.client.uid,
            "team_id": self.person["team"],
        }
        if self.run_.mode == "stock":
            vals["stage_id"] = self.run_.layout["stages"]["New"]
        outcome, lead_id = self.call_op(op, lambda: self.client.call("crm.lead", "create", vals))
        if outcome == "ok":
            self.leads[lead_id] = {
                "name": name,
                "revenue": revenue,
                "active": True,
                "won": False,
                "stage": vals.get("stage_id"),
                "process": None,
                "uncertain": False,
            }
            self.run_.created.append(lead_id)

    def pick(self, candidates):
        return self.random.choice(candidates) if candidates else None

    def op_move(self, op):
        lead_id = self.pick(self.open_leads())
        if not lead_id:
            return self.op_create("create")
        run = self.run_
        if run.mode == "proc":

            def move():
                lead = self.read_lead(lead_id)
                steps = (
                    [s for s in self.process_steps(lead["sales_process_id"][0]) if not s["is_won"]]
                    if lead["sales_process_id"]
                    else []
                )
                if not steps:
                    return None
                hot = [s for s in steps if s["id"] in run.hot_steps]
                step = self.random.choice(hot if hot and self.random.random() < 0.5 else steps)
                self.client.call("crm.lead", "write", [lead_id], {"stage_id": step["stage"]})
                return step["stage"]
        else:
            stages = [v for k, v in run.layout["stages"].items() if k != "Won"]

            def move():
                # Read the opportunity first, as the addon's client does to pick a step
                self.client.call("crm.lead", "read", [lead_id], ["stage_id", "probability"])
                stage = self.random.choice(stages)
                self.client.call("crm.lead", "write", [lead_id], {"stage_id": stage})
                return stage

        outcome, stage = self.call_op(op, move, lead_id)
        if outcome == "ok" and stage:
            self.expect(lead_id, stage=stage)

    def op_win(self, op):
        lead_id = self.pick(self.open_leads())
        if not lead_id:
            return None
        outcome, _result = self.call_op(
            op, lambda: self.client.call("crm.lead", "action_set_won", [lead_id]), lead_id
        )
        if outcome == "ok":
            self.expect(lead_id, won=True, stage=None)
        return None

    def op_lose(self, op):
        lead_id = self.pick(self.open_leads())
        if not lead_id:
            return
        outcome, _result = self.call_op(
            op, lambda: self.client.call("crm.lead", "action_set_lost", [lead_id]), lead_id
        )
        if outcome == "ok":
            self.expect(lead_id, active=False)

    def op_restore(self, op):
        lost = [i for i, s in self.leads.items() if not s["active"]]
        lead_id = self.pick(lost)
        if not lead_id:
            return
        outcome, _result = self.call_op(
            op,
            lambda: self.client.call(
                "crm.lead", "action_restore", [lead_id], context={"active_test": False}
            ),
            lead_id,
        )
        if outcome == "ok":
            self.expect(lead_id, active=True)

    def op_forecast_read(self, op):
        # What CRM's Forecast view reads: the weighted pipeline per salesperson
        self.call_op(
            op,
            lambda: self.client.call(
                "crm.lead",
                "formatted_read_group",
                [("type", "=", "opportunity")],
                groupby=["user_id"],
                aggregates=["expected_revenue:sum", "prorated_revenue:sum"],
            ),
        )

    def op_pipeline_read(self, op):
        self.call_op(
            op,
            lambda: self.client.call(
                "crm.lead",
                "web_search_read",
                [("type", "=", "opportunity"), ("user_id", "=", self.client.uid)],
                specification={
                    "name": {},
                    "stage_id": {"fields": {"display_name": {}}},
                    "probability": {},
                    "expected_revenue": {},
                },
                limit=80,
            ),
        )

    def op_wrong_stage(self, op):
        lead_id = self.pick(self.open_leads())
        if not lead_id:
            return

        def wrong_stage():
            lead = self.read_lead(lead_id)
            if not lead["sales_process_id"]:
                raise Skip()
            mine = {s["stage"] for s in self.process_steps(lead["sales_process_id"][0])}
            other = [v for v in self.run_.layout["stages"].values() if v not in mine]
            self.client.call(
                "crm.lead", "write", [lead_id], {"stage_id": self.random.choice(other)}
            )

        self.refusal_op(op, wrong_stage, lead_id)

    def refusal_op(self, op, func, lead_id):
        outcome, _result = self.call_op(op, func, lead_id, expect_refusal=True)
        if outcome == "not_refused":
            self.uncertain(lead_id)

    def op_wrong_probability(self, op):
        lead_id = self.pick(self.open_leads())
        if not lead_id:
            return

        def wrong_probability():
            lead = self.read_lead(lead_id)
            if not lead["sales_process_id"]:
                raise Skip()
            self.client.call(
                "crm.lead",
                "write",
                [lead_id],
                {"probability": (lead["probability"] + 7.5) % 100},
            )

        self.refusal_op(op, wrong_probability, lead_id)

    def op_change_process(self, op):
        lead_id = self.pick(self.open_leads())
        if not lead_id:
            return
        process = self.random.choice(list(self.run_.layout["processes"].values()))
        outcome, _result = self.call_op(
            op,
            lambda: self.client.call(
                "crm.lead", "write", [lead_id], {"sales_process_id": process["id"]}
            ),
            lead_id,
        )
        if outcome == "ok":
            self.expect(lead_id, stage=None, process=process["id"])

    def op_forecast_report(self, op):
        """The forecast wizard's spreadsheet, as the Export button gets it: the wizard's
        action writes the file, then the browser downloads the URL it returns."""

        def export():
            wizard = self.client.call("crm.sales.forecast.wizard", "create", {})
            action = self.client.call("crm.sales.forecast.wizard", "action_export_xlsx", [wizard])
            content = self.client.get(action["url"]).content
            if not content.startswith(b"PK"):
                raise RpcError("xlsx", "the forecast download is no XLSX file")

        self.call_op(op, export)

    def op_kpis(self, op):
        processes = [p["id"] for p in self.run_.layout["processes"].values()]
        self.call_op(op, lambda: self.client.call("crm.sales.process", "get_kpis", processes))


class Manager(threading.Thread):
    """Changes step percentages, default rules and archives processes meanwhile."""

    def __init__(self, run, seed):
        super().__init__(daemon=True)
        self.run_ = run
        self.random = random.Random(seed)

    def run(self):
        run = self.run_
        self.client = Client(run.url, run.db, "load_mgr", "load_mgr-pw", run.stats).authenticate()
        if run.mode == "stock":
            # The same pace of manager calls as with the addon: the forecast read, and stage
            # settings (what a stock CRM manager edits) instead of processes
            stages = sorted(run.layout["stages"].values())
            while not run.stop.wait(self.random.uniform(0.15, 0.4)):
                if self.random.random() < 0.3:
                    run_op(
                        run.stats,
                        "mgr_forecast_read",
                        lambda: self.client.call(
                            "crm.lead",
                            "formatted_read_group",
                            [("type", "=", "opportunity")],
                            groupby=["user_id"],
                            aggregates=["prorated_revenue:sum"],
                        ),
                    )
                else:
                    stage = self.random.choice(stages)
                    run_op(
                        run.stats,
                        "mgr_stage_settings",
                        self.write(
                            "crm.stage",
                            [stage],
                            {"requirements": f"Load {self.random.randint(0, 999)}"},
                        ),
                    )
            return
        ops = [
            ("step_percentage", 40),
            ("rule_user", 10),
            ("rule_team", 10),
            ("rule_department", 10),
            ("rule_everyone", 8),
            ("archive", 12),
            ("conflicting_rule", 10),
        ]
        names, weights = zip(*ops, strict=True)
        while not run.stop.wait(self.random.uniform(0.15, 0.4)):
            op = self.random.choices(names, weights)[0]
            getattr(self, "op_" + op)("mgr_" + op)

    def write(self, model, ids, vals):
        return lambda: self.client.call(model, "write", ids, vals)

    def op_step_percentage(self, op, step_id=None):
        run = self.run_
        step_id = step_id or self.random.choice(sorted(run.hot_steps))
        run_op(
            run.stats,
            op,
            self.write(
                "crm.sales.process.step",
                [step_id],
                {"probability": self.random.choice(run.hot_steps[step_id])},
            ),
        )

    def op_rule_user(self, op):
        people = [p["uid"] for p in self.run_.layout["salespeople"]]
        chosen = self.random.sample(people, k=min(2, len(people)))
        process = self.run_.layout["processes"]["user"]["id"]
        run_op(
            self.run_.stats,
            op,
            self.write("crm.sales.process", [process], {"default_user_ids": [(6, 0, chosen)]}),
        )

    def op_rule_team(self, op):
        team = self.random.choice(self.run_.layout["teams"])
        process = self.run_.layout["processes"]["team"]["id"]
        run_op(
            self.run_.stats,
            op,
            self.write("crm.sales.process", [process], {"default_team_ids": [(6, 0, [team])]}),
        )

    def op_rule_department(self, op):
        department = self.random.choice(self.run_.layout["departments"])
        process = self.run_.layout["processes"]["department"]["id"]
        run_op(
            self.run_.stats,
            op,
            self.write(
                "crm.sales.process", [process], {"default_department_ids": [(6, 0, [department])]}
            ),
        )

    def op_rule_everyone(self, op):
        processes = self.run_.layout["processes"]
        standard, spare = processes["standard"]["id"], processes["spare"]["id"]

        def switch():
            current = self.client.call(
                "crm.sales.process",
                "search",
                [("default_scope", "=", "all"), ("id", "in", [standard, spare])],
            )
            new = spare if standard in current else standard
            if current:
                self.client.call("crm.sales.process", "write", current, {"default_scope": "none"})
            self.client.call("crm.sales.process", "write", [new], {"default_scope": "all"})

        run_op(self.run_.stats, op, switch)

    def op_archive(self, op):
        process = self.random.choice(
            [self.run_.layout["processes"][key]["id"] for key in ("spare", "team")]
        )

        def archive_and_back():
            self.client.call("crm.sales.process", "action_archive", [process])
            time.sleep(self.random.uniform(0.05, 0.3))
            self.client.call("crm.sales.process", "action_unarchive", [process])

        run_op(self.run_.stats, op, archive_and_back)

    def op_conflicting_rule(self, op):
        """Give a second process the everyone default: must be refused."""
        processes = self.run_.layout["processes"]

        def conflict():
            current = self.client.call(
                "crm.sales.process", "search", [("default_scope", "=", "all")]
            )
            if not current:
                raise Skip()
            other = processes["team"]["id"]
            self.client.call("crm.sales.process", "write", [other], {"default_scope": "all"})

        outcome, _result = run_op(self.run_.stats, op, conflict, expect_refusal=True)
        if outcome == "not_refused":
            # Put the team rule back so the run goes on with one everyone default
            self.client.call(
                "crm.sales.process", "write", [processes["team"]["id"]], {"default_scope": "team"}
            )


class Snapshots(threading.Thread):
    """The manager takes pipeline snapshots while the salespeople work (addon run)."""

    def __init__(self, run):
        super().__init__(daemon=True)
        self.run_ = run

    def run(self):
        run = self.run_
        manager = Client(run.url, run.db, "load_mgr", "load_mgr-pw", run.stats).authenticate()
        for share in SNAPSHOT_SHARES:
            deadline = run.started + run.duration * share
            while time.monotonic() < deadline and not run.stop.is_set():
                time.sleep(0.05)
            if run.stop.is_set():
                return
            start = time.monotonic()
            outcome, snapshot_ids = run_op(
                run.stats,
                "mgr_snapshot",
                lambda: manager.call("crm.sales.forecast.snapshot", "take_snapshot"),
            )
            if outcome == "ok":
                # The request's span: what was acknowledged before it started is in the
                # snapshot, what started after it ended is not
                run.snapshots.append({"ids": snapshot_ids, "start": start, "end": time.monotonic()})


# ----------------------------------------------------------------------------------------
# Faults
# ----------------------------------------------------------------------------------------


def worker_pids(logfile):
    """HTTP and cron worker pids the Odoo log announced, still alive."""
    http, cron = [], []
    for line in Path(logfile).read_text(errors="replace").splitlines():
        found = re.search(r"Worker (WorkerHTTP|WorkerCron) \((\d+)\) alive", line)
        if found:
            (http if found.group(1) == "WorkerHTTP" else cron).append(int(found.group(2)))

    def alive(pid):
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        stat = Path(f"/proc/{pid}/stat")
        return stat.exists() and stat.read_text().split()[2] != "Z"

    return [p for p in dict.fromkeys(http) if alive(p)], [
        p for p in dict.fromkeys(cron) if alive(p)
    ]


def utc(naive):
    """Seconds since the epoch of a naive UTC datetime (as Odoo stores them)."""
    return calendar.timegm(naive.timetuple())


def pg(dbname, port=5432):
    conn = psycopg2.connect(dbname=dbname, port=port)
    conn.autocommit = True
    return conn


class Faults(threading.Thread):
    def __init__(self, run):
        super().__init__(daemon=True)
        self.run_ = run
        self.events = []
        self.errors = []

    def log(self, text):
        self.events.append(f"t+{time.monotonic() - self.run_.started:5.1f}s {text}")

    def sleep_until(self, share):
        deadline = self.run_.started + self.run_.duration * share
        while time.monotonic() < deadline and not self.run_.stop.is_set():
            time.sleep(0.05)
        return not self.run_.stop.is_set()

    def run(self):
        """Each fault in its own thread at its own time: a slow one does not delay the
        others."""
        schedule = [
            (0.2, self.kill_busy_worker),
            (0.3, self.terminate_cron_connection),
            (0.7, self.second_trigger),
        ]
        if self.run_.mode == "proc":
            schedule.append((0.4, self.step_burst))
            schedule.append((0.5, self.escalation_trigger))
        threads = [threading.Thread(target=self.at, args=item, daemon=True) for item in schedule]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def at(self, share, fault):
        if not self.sleep_until(share):
            return
        try:
            fault()
        except Exception as error:  # noqa: BLE001 - reported, the run goes on
            self.errors.append(f"{getattr(fault, '__name__', 'fault')}: {error!r}")

    def kill_busy_worker(self):
        """SIGKILL an HTTP worker while it serves a request.

        HTTP workers' database connections carry the prefork master's pid in their
        application_name (the registry's connection settings are made before the fork), so
        the busy worker is found by its CPU time: one whose CPU time advances between two
        samples 10 ms apart, or running, is serving a request (an idle worker sleeps in
        select()).
        """
        run = self.run_
        http_pids, _cron = worker_pids(run.logfile)

        def cpu(pid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return None, None
            return fields[0], int(fields[11]) + int(fields[12])

        victim, busy = None, False
        deadline = time.monotonic() + 4
        before = {pid: cpu(pid)[1] for pid in http_pids}
        while time.monotonic() < deadline and not victim:
            time.sleep(0.01)
            for pid in http_pids:
                state, ticks = cpu(pid)
                if state == "R" or (
                    ticks is not None and before.get(pid) is not None and ticks > before[pid]
                ):
                    victim, busy = pid, True
                    break
                before[pid] = ticks
        if not victim and http_pids:
            victim = http_pids[0]
        if not victim:
            self.errors.append("no HTTP worker to kill")
            return
        os.kill(victim, signal.SIGKILL)
        run.killed_pid = victim
        self.log(f"SIGKILL HTTP worker {victim} ({'busy: serving a request' if busy else 'idle'})")

    def step_burst(self):
        """Change the hot steps' percentages in quick succession while clients move onto
        them."""
        run = self.run_
        manager = Client(run.url, run.db, "load_mgr", "load_mgr-pw", run.stats).authenticate()
        self.log("burst of percentage changes on the hot steps starts")
        for _ in range(10):
            for step_id, choices in run.hot_steps.items():
                run_op(
                    run.stats,
                    "mgr_step_percentage",
                    lambda s=step_id, c=choices: manager.call(
                        "crm.sales.process.step", "write", [s], {"probability": random.choice(c)}
                    ),
                )
        self.log("burst ends: 10 percentage changes per hot step")

    def escalation_trigger(self):
        """A second wave of stalled opportunities, then the stall cron run at once in an HTTP
        worker (Run Manually) while the salespeople move, win and lose them: the cron worker
        may still be busy with other jobs (on a new database, Odoo's auto-vacuum keeps it busy
        for the first minute)."""
        run = self.run_
        stalled = run.stall_wave(1)
        self.log(f"{stalled} more opportunities stalled: the stall cron runs manually")
        try:
            result = run.admin.call("ir.cron", "method_direct_trigger", [run.stall_cron_id])
        except RpcError as error:
            if "already executing" not in error.message:
                raise
            self.log("the stall cron is running in the cron worker: not run manually")
            return
        # A failed job (e.g. a serialization failure against a salesperson's write) is rolled
        # back and runs again later: the end check wants every stall escalated once
        self.log(
            "the stall cron ran manually"
            if result is True
            else f"the stall cron failed, rolled back: {json.dumps(result)[:200]}"
        )

    def second_trigger(self):
        run = self.run_
        if run.mode == "proc":
            stalled = run.stall_wave(2)
            self.log(f"{stalled} more opportunities stalled")
        self.trigger_crons("second trigger (the cron runs again)")

    def trigger_crons(self, label, cron_ids=None):
        """Make the crons due now. A cron being executed cannot be written (Odoo locks it):
        each is made due on its own, a running one is left running."""
        run = self.run_
        nextcall = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - 60))
        states = []
        for cron_id in cron_ids or run.cron_ids:
            for _attempt in range(5):
                try:
                    run.admin.call("ir.cron", "write", [cron_id], {"nextcall": nextcall})
                    states.append(f"{cron_id} due")
                    break
                except RpcError as error:
                    if "currently being executed" not in error.message:
                        raise
                    time.sleep(1)
            else:
                states.append(f"{cron_id} running")
        self.log(f"crons {', '.join(states)}: {label}")
        return time.time()

    def terminate_cron_connection(self):
        run = self.run_
        _http, cron_pids = worker_pids(run.logfile)
        if not cron_pids:
            self.errors.append("no cron worker found in the log")
            return
        pid = cron_pids[-1]
        run.cron_fault_time = self.trigger_crons("before terminating the cron connection")
        conn = pg("postgres")
        terminated, active = 0, False
        deadline = time.monotonic() + 8
        with conn.cursor() as cr:
            while time.monotonic() < deadline:
                cr.execute(
                    "SELECT pid, state FROM pg_stat_activity WHERE application_name = %s",
                    (f"odoo-{pid}",),
                )
                rows = cr.fetchall()
                if any(state == "active" for _pid, state in rows):
                    active = True
                    break
                time.sleep(0.005)
            cr.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (f"odoo-{pid}",),
            )
            terminated = cr.fetchone()[0]
        conn.close()
        self.log(
            f"pg_terminate_backend on {terminated} connection(s) of cron worker {pid} "
            f"({'during a cron query' if active else 'idle'})"
        )


# ----------------------------------------------------------------------------------------
# The run
# ----------------------------------------------------------------------------------------


class LoadRun:
    def __init__(self, args):
        self.args = args
        self.url = args.url
        self.db = args.db
        self.mode = args.mode
        self.duration = args.duration
        self.logfile = args.log
        self.stop = threading.Event()
        self.stats = Stats(addon_message_patterns())
        self.created = []
        self.hot_steps = {}
        self.killed_pid = None
        self.cron_fault_time = None
        self._steps_cache = {}
        self.snapshots = []  # [{"ids", "start", "end"}] taken by the manager (addon run)
        self.stall_cron_id = None
        self.escalation = {}  # the stalled opportunities' set-up (setup_escalations)

    def steps_of(self, process_id):
        if process_id not in self._steps_cache:
            for process in self.layout["processes"].values():
                self._steps_cache[process["id"]] = process["steps"]
        return self._steps_cache.get(process_id, [])

    def wait_server(self):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/web/login", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise SystemExit(f"Odoo does not answer on {self.url}")

    def execute(self):
        self.wait_server()
        self.admin = Client(self.url, self.db, ADMIN_LOGIN, ADMIN_PASSWORD, self.stats)
        self.admin.authenticate()
        self.layout = setup(self.admin, self.mode, self.args.clients)
        # Odoo's predictive lead scoring cron (inactive by default) rewrites probabilities in
        # SQL: run it too, it is the other writer of the figures the invariants check
        self.cron_ids = [xmlid(self.admin, "crm", "website_crm_score_cron")]
        self.admin.call("ir.cron", "write", self.cron_ids, {"active": True})
        if self.mode == "proc":
            # The stall cron: reminds the stalled opportunities, escalates the longer stalled
            self.stall_cron_id = xmlid(
                self.admin, "crm_sales_process", "ir_cron_crm_lead_stalled_reminder"
            )
            self.cron_ids.append(self.stall_cron_id)
            # The steps whose percentage the manager changes while leads move onto them
            for key in ("standard", "team"):
                step = self.layout["processes"][key]["steps"][1]
                self.hot_steps[step["id"]] = [30, 37, 43] if key == "standard" else [40, 47]
        replica_before = self.replica_xacts()
        threads = [
            Salesperson(self, person, seed=self.args.seed + n)
            for n, person in enumerate(self.layout["salespeople"][: self.args.clients])
        ]
        if self.mode == "proc":
            self.setup_escalations(threads)
        threads.append(Manager(self, seed=self.args.seed - 1))
        faults = Faults(self) if self.args.faults else None
        snapshots = Snapshots(self) if self.mode == "proc" else None
        self.started = time.monotonic()
        log_offset = Path(self.logfile).stat().st_size
        for thread in threads:
            thread.start()
        if faults:
            faults.start()
        if snapshots:
            snapshots.start()
        time.sleep(self.duration)
        self.stop.set()
        for thread in threads:
            thread.join(REQUEST_TIMEOUT + 10)
        if faults:
            faults.join(30)
        if snapshots:
            snapshots.join(REQUEST_TIMEOUT + 10)
        elapsed = time.monotonic() - self.started
        result = {
            "mode": self.mode,
            "db": self.db,
            "duration": elapsed,
            "clients": self.args.clients,
            "workers": self.args.workers,
            "replica": bool(self.args.replica_port),
        }
        result.update(self.summarize_ops(threads[:-1], elapsed))
        result["faults"] = faults.events if faults else []
        result["fault_errors"] = faults.errors if faults else []
        checks = Checks(self, threads[:-1], replica_before, log_offset)
        result["server"] = checks.server_profile()
        result["checks"] = checks.run_all()
        Path(self.args.result).write_text(json.dumps(result, indent=1))
        return result

    def setup_escalations(self, salespeople):
        """Stalled opportunities for the escalation cron: the load's steps stall after 1 day
        and escalate 1 day later, the team leaders get the escalations, and
        ESCALATION_WAVES x ESCALATION_WAVE_SIZE opportunities are created for the
        salespeople (who move, win and lose them like their own); the first wave is stalled
        at once, the others during the run (stall_wave)."""
        admin = self.admin
        step_ids = [
            step["id"]
            for process in self.layout["processes"].values()
            for step in process["steps"]
            if not step["is_won"]
        ]
        admin.call(
            "crm.sales.process.step",
            "write",
            step_ids,
            {"stall_days": STALL_DAYS, "escalate_after_days": ESCALATE_AFTER_DAYS},
        )
        admin.call(
            "crm.team", "write", self.layout["teams"], {"user_id": self.layout["manager"]["uid"]}
        )
        conn = pg(self.db)
        with conn.cursor() as cr:
            # What this run writes is above these ids (a reused database keeps older runs')
            cr.execute("SELECT coalesce(max(id), 0) FROM mail_message")
            message_floor = cr.fetchone()[0]
            cr.execute("SELECT coalesce(max(id), 0) FROM mail_activity")
            activity_floor = cr.fetchone()[0]
        conn.close()
        total = ESCALATION_WAVES * ESCALATION_WAVE_SIZE
        owners = [salespeople[i % len(salespeople)] for i in range(total)]
        vals_list = []
        for owner in owners:
            vals_list.append(
                {
                    "name": f"Load stalled {owner.person['login']} {uuid.uuid4().hex[:10]}",
                    "type": "opportunity",
                    "expected_revenue": random.Random(len(vals_list)).randint(10, 1000) * 100,
                    "user_id": owner.person["uid"],
                    "team_id": owner.person["team"],
                }
            )
        created = time.monotonic()
        lead_ids = admin.call("crm.lead", "create", vals_list)
        for lead_id, owner, vals in zip(lead_ids, owners, vals_list, strict=True):
            owner.leads[lead_id] = {
                "name": vals["name"],
                "revenue": vals["expected_revenue"],
                "active": True,
                "won": False,
                "stage": None,
                "process": None,
                "uncertain": False,
            }
            owner.events[lead_id].append(("create", created, created))
        self.escalation = {
            "lead_ids": lead_ids,
            "waves": [lead_ids[n::ESCALATION_WAVES] for n in range(ESCALATION_WAVES)],
            "stalled_since": {},  # lead id -> the stall start set by stall_wave
            "message_floor": message_floor,
            "activity_floor": activity_floor,
            "activity_type": xmlid(admin, "crm_sales_process", "mail_activity_type_escalated"),
        }
        self.stall_wave(0)

    def stall_wave(self, wave):
        """Make the open opportunities of a wave stalled since STALLED_SINCE ago (past their
        step's stall and escalate after days): one UPDATE, as if they had not moved since.
        Returns how many."""
        since = (datetime.now(timezone.utc) - STALLED_SINCE).replace(microsecond=0, tzinfo=None)
        conn = pg(self.db)
        with conn.cursor() as cr:
            cr.execute(
                "UPDATE crm_lead SET date_last_stage_update = %s WHERE id = ANY(%s) AND active "
                "AND won_status = 'pending' RETURNING id",
                (since, self.escalation["waves"][wave]),
            )
            stalled = [row[0] for row in cr.fetchall()]
        conn.close()
        self.escalation["stalled_since"].update(dict.fromkeys(stalled, since))
        return len(stalled)

    def replica_xacts(self):
        if not self.args.replica_port:
            return None
        conn = pg(self.db, self.args.replica_port)
        with conn.cursor() as cr:
            cr.execute(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                (self.db,),
            )
            value = cr.fetchone()[0]
        conn.close()
        return value

    def summarize_ops(self, salespeople, elapsed):
        stats = self.stats
        common = sum(stats.ok[op] + stats.refused[op] for op in COMMON_OPS)
        common_time = sum(sum(stats.latency[op]) for op in COMMON_OPS)
        clients = max(len(salespeople), 1)
        all_ops = sum(stats.ok.values()) + sum(stats.refused.values())
        latencies = {
            op: {
                "n": len(values),
                "p50_ms": round(statistics.median(values) * 1000, 1),
                "p95_ms": round(sorted(values)[int(len(values) * 0.95) - 1] * 1000, 1)
                if len(values) >= 20
                else None,
            }
            for op, values in sorted(stats.latency.items())
            if values
        }
        return {
            "ops": all_ops,
            "ops_per_s": all_ops / elapsed,
            # The common mix at the clients' pace: what the same clients doing only these
            # calls would achieve (time spent on process-specific calls left out)
            "common_ops": common,
            "common_ops_per_s": common / (common_time / clients) if common_time else 0.0,
            "ok": dict(stats.ok),
            "refused": dict(stats.refused),
            "killed": dict(stats.killed),
            "unexpected": dict(stats.unexpected),
            "not_refused": dict(stats.not_refused),
            "unexpected_samples": stats.unexpected_samples,
            "latency": latencies,
        }


class Checks:
    """End-of-run checks; every check returns {"violations": n, ...}."""

    def __init__(self, run, salespeople, replica_before, log_offset):
        self.run = run
        self.salespeople = salespeople
        self.replica_before = replica_before
        self.log_offset = log_offset
        self.conn = pg(run.db)

    def sql(self, query, params=()):
        with self.conn.cursor() as cr:
            cr.execute(query, params)
            return cr.fetchall()

    def run_all(self):
        run = self.run
        checks = {}
        # Let the cron run once more after the fault and settle
        checks["cron_after_fault"] = self.check_cron()
        if run.mode == "proc":
            checks["escalations"] = self.check_escalations()
        checks["committed_kept"] = self.check_committed()
        checks["lost_out_of_forecast"] = self.check_lost()
        checks["won_100"] = self.check_won()
        if run.mode == "proc":
            checks.update(self.check_process_invariants())
            checks["default_rules_unique"] = self.check_rules_unique()
            checks["worker_rule_cache"] = self.check_worker_cache()
            checks["forecast_wizard_vs_sql"] = self.check_forecast_wizard()
            checks["snapshots"] = self.check_snapshots()
        checks["forecast_read_vs_sql"] = self.check_forecast_read()
        checks["weighted_revenue_current"] = self.check_weighted_revenue()
        checks["workers"] = self.check_workers()
        if run.args.replica_port:
            checks["replica"] = self.check_replica()
        self.conn.close()
        return checks

    # -- invariants ------------------------------------------------------------------------

    def check_process_invariants(self):
        rows = self.sql(
            """
            SELECT
              count(*) FILTER (WHERE NOT EXISTS (
                  SELECT 1 FROM crm_sales_process_step s
                   WHERE s.process_id = l.sales_process_id AND s.stage_id = l.stage_id)),
              count(*) FILTER (WHERE step.id IS NULL OR step.process_id != l.sales_process_id
                               OR step.stage_id != l.stage_id),
              count(*) FILTER (WHERE l.active AND step.id IS NOT NULL
                               AND round(l.probability::numeric, 2)
                                   != round(step.probability::numeric, 2)),
              array_agg(l.id) FILTER (WHERE l.active AND step.id IS NOT NULL
                               AND round(l.probability::numeric, 2)
                                   != round(step.probability::numeric, 2)),
              count(*)
              FROM crm_lead l
              LEFT JOIN crm_sales_process_step step ON step.id = l.sales_process_step_id
             WHERE l.sales_process_id IS NOT NULL AND l.type = 'opportunity'
            """
        )
        off_stage, step_mismatch, off_percentage, off_ids, total = rows[0]
        samples = []
        for lead_id in (off_ids or [])[:5]:
            samples.append(
                self.sql(
                    "SELECT l.id, l.probability, s.probability, s.id FROM crm_lead l "
                    "JOIN crm_sales_process_step s ON s.id = l.sales_process_step_id "
                    "WHERE l.id = %s",
                    (lead_id,),
                )[0]
            )
        return {
            "on_a_step_of_its_process": {"violations": off_stage, "checked": total},
            "step_field_consistent": {"violations": step_mismatch, "checked": total},
            "step_percentage": {
                "violations": off_percentage,
                "checked": total,
                "samples (lead, lead %, step %, step)": samples,
            },
        }

    def check_won(self):
        rows = self.sql(
            "SELECT count(*) FILTER (WHERE l.probability != 100), count(*) FROM crm_lead l "
            "JOIN crm_stage s ON s.id = l.stage_id WHERE s.is_won AND l.active "
            "AND l.type = 'opportunity'"
        )
        return {"violations": rows[0][0], "checked": rows[0][1]}

    def check_lost(self):
        rows = self.sql(
            "SELECT count(*) FILTER (WHERE probability != 0 OR won_status != 'lost'), count(*) "
            "FROM crm_lead WHERE NOT active AND type = 'opportunity'"
        )
        return {"violations": rows[0][0], "checked": rows[0][1]}

    def check_rules_unique(self):
        rows = self.sql(
            """
            SELECT 'everyone', company_id::text, count(*) FROM crm_sales_process
             WHERE active AND default_scope = 'all' GROUP BY company_id HAVING count(*) > 1
            UNION ALL
            SELECT 'salesperson', r.user_id::text, count(*)
              FROM crm_sales_process_default_user_rel r JOIN crm_sales_process p
                ON p.id = r.process_id AND p.active AND p.default_scope = 'user'
             GROUP BY p.company_id, r.user_id HAVING count(*) > 1
            UNION ALL
            SELECT 'team', r.team_id::text, count(*)
              FROM crm_sales_process_default_team_rel r JOIN crm_sales_process p
                ON p.id = r.process_id AND p.active AND p.default_scope = 'team'
             GROUP BY p.company_id, r.team_id HAVING count(*) > 1
            UNION ALL
            SELECT 'department', r.department_id::text, count(*)
              FROM crm_sales_process_default_department_rel r JOIN crm_sales_process p
                ON p.id = r.process_id AND p.active AND p.default_scope = 'department'
             GROUP BY p.company_id, r.department_id HAVING count(*) > 1
            """
        )
        return {"violations": len(rows), "duplicates": rows}

    def check_committed(self):
        """Every opportunity a client saw created exists with its values, and its last
        acknowledged state (stage, won, lost) is the one in the database."""
        expected = {}
        for client in self.salespeople:
            expected.update(client.leads)
        if not expected:
            return {"violations": 0, "checked": 0}
        process = "l.sales_process_id" if self.run.mode == "proc" else "NULL"
        rows = self.sql(
            "SELECT l.id, l.name, l.expected_revenue, l.active, l.stage_id, s.is_won, "
            f"{process} FROM crm_lead l JOIN crm_stage s ON s.id = l.stage_id "
            "WHERE l.id = ANY(%s)",
            (list(expected),),
        )
        found = {row[0]: row for row in rows}
        problems = []
        uncertain = 0
        for lead_id, state in expected.items():
            row = found.get(lead_id)
            if not row:
                problems.append(f"{lead_id} missing")
                continue
            _id, name, revenue, active, stage, is_won, process = row
            if name != state["name"] or round(revenue) != state["revenue"]:
                problems.append(f"{lead_id} values changed: {name!r} {revenue}")
            if state["uncertain"]:
                uncertain += 1
                continue
            if active != state["active"]:
                problems.append(f"{lead_id} active={active}, expected {state['active']}")
            elif state["won"] and not is_won:
                problems.append(f"{lead_id} not won")
            elif not state["won"] and state["stage"] and stage != state["stage"]:
                problems.append(f"{lead_id} on stage {stage}, expected {state['stage']}")
            if state["process"] and process != state["process"]:
                problems.append(f"{lead_id} process {process}, expected {state['process']}")
        return {
            "violations": len(problems),
            "checked": len(expected),
            "uncertain_skipped": uncertain,
            "samples": problems[:10],
        }

    # -- forecast ----------------------------------------------------------------------------

    def sql_forecast(self):
        return self.sql(
            """
            SELECT count(*), coalesce(sum(expected_revenue), 0),
                   coalesce(sum(prorated_revenue), 0)
              FROM crm_lead
             WHERE type = 'opportunity' AND active AND won_status = 'pending'
               AND (company_id = %s OR company_id IS NULL)
            """,
            (self.run.layout["company_id"],),
        )[0]

    def check_weighted_revenue(self):
        """The stored weighted revenue of every open opportunity is expected revenue x
        probability. Opportunities with a process: a violation. Without one it is stock
        Odoo's business: Odoo 19's predictive lead scoring cron rewrites probabilities in SQL
        and leaves prorated_revenue as it was; reported, not counted."""
        process = "sales_process_id IS NOT NULL" if self.run.mode == "proc" else "false"
        rows = self.sql(
            f"""
            SELECT count(*) FILTER (WHERE {process}), count(*) FILTER (WHERE NOT ({process})),
                   count(*)
              FROM crm_lead
             WHERE type = 'opportunity' AND active AND won_status = 'pending'
               AND round(prorated_revenue::numeric, 2)
                   != round((expected_revenue * probability / 100)::numeric, 2)
            """
        )[0]
        return {
            "violations": rows[0],
            "stale_without_process (stock Odoo PLS cron)": rows[1],
        }

    def check_forecast_wizard(self):
        """The forecast wizard's figures (its XLSX Grand Total) against a direct SQL sum."""
        import openpyxl  # noqa: PLC0415 - only needed here

        admin = self.run.admin
        wizard = admin.call("crm.sales.forecast.wizard", "create", {})
        action = admin.call("crm.sales.forecast.wizard", "action_export_xlsx", [wizard])
        content = admin.get(action["url"]).content
        sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
        rows = [tuple(cell for cell in row) for row in sheet.iter_rows(values_only=True)]
        total = next(rows[i + 1] for i, row in enumerate(rows) if row and row[0] == "Grand Total")
        count, expected, prorated = self.sql_forecast()
        wizard_figures = [total[1], round(total[2], 2), round(total[3], 2)]
        sql_figures = [count, round(float(expected), 2), round(float(prorated), 2)]
        # Stored prorated revenue is rounded per opportunity: a cent per line at most
        ok = wizard_figures[:2] == sql_figures[:2] and abs(
            wizard_figures[2] - sql_figures[2]
        ) <= 0.01 * max(count, 1)
        return {"violations": 0 if ok else 1, "wizard": wizard_figures, "sql": sql_figures}

    def check_forecast_read(self):
        """CRM's forecast read (prorated revenue per salesperson) against SQL."""
        groups = self.run.admin.call(
            "crm.lead",
            "formatted_read_group",
            [("type", "=", "opportunity"), ("won_status", "=", "pending")],
            groupby=["user_id"],
            aggregates=["__count", "prorated_revenue:sum"],
        )
        count = sum(group["__count"] for group in groups)
        total = round(sum(group["prorated_revenue:sum"] or 0 for group in groups), 2)
        sql_count, _expected, prorated = self.sql_forecast()
        ok = count == sql_count and abs(total - float(prorated)) <= 0.01 * max(count, 1)
        return {
            "violations": 0 if ok else 1,
            "rpc": [count, total],
            "sql": [sql_count, round(float(prorated), 2)],
        }

    # -- pipeline snapshots ------------------------------------------------------------------

    def check_snapshots(self):
        """Each snapshot taken (during the load, and one more now that nothing moves) against
        SQL over its own lines: the stored totals are the lines' count and sums, one line per
        opportunity, each line a committed state of an open opportunity of the snapshot's
        company; the opportunities the clients had opened or closed before the snapshot's
        request (and did not touch during it) are in it or not; the last one holds exactly
        the open pipeline."""
        run = self.run
        company = run.layout["company_id"]
        final_ids = run.admin.call("crm.sales.forecast.snapshot", "take_snapshot")
        open_now = self.sql(
            """
            SELECT coalesce(array_agg(id), '{}'), coalesce(sum(coalesce(expected_revenue, 0)), 0)
              FROM crm_lead
             WHERE company_id = %s AND type = 'opportunity' AND active AND won_status != 'won'
            """,
            (company,),
        )[0]
        snapshot_ids = [i for snap in run.snapshots for i in snap["ids"]] + final_ids
        rows = self.sql(
            """
            SELECT s.id, s.line_count, s.pipeline_value, s.weighted_value,
                   count(l.id), count(DISTINCT l.lead_id),
                   coalesce(sum(l.expected_revenue), 0), coalesce(sum(l.weighted_revenue), 0),
                   count(l.id) FILTER (WHERE l.lead_id IS NULL),
                   count(l.id) FILTER (WHERE l.weighted_revenue
                       != round(l.expected_revenue * l.probability / 100, cur.decimal_places)),
                   count(l.id) FILTER (WHERE lead.company_id IS DISTINCT FROM s.company_id
                       OR lead.type != 'opportunity'
                       -- the snapshot's date is to the second, create_date is not
                       OR date_trunc('second', lead.create_date) > s.date),
                   count(l.id) FILTER (WHERE l.expected_revenue
                       != coalesce(lead.expected_revenue, 0)),
                   count(l.id) FILTER (WHERE step.id IS NOT NULL
                       AND (step.process_id IS DISTINCT FROM l.sales_process_id
                            OR step.stage_id IS DISTINCT FROM l.stage_id)),
                   count(l.id) FILTER (WHERE stage.is_won),
                   coalesce(array_agg(l.lead_id) FILTER (WHERE l.lead_id IS NOT NULL), '{}')
              FROM crm_sales_forecast_snapshot s
              JOIN res_company company ON company.id = s.company_id
              JOIN res_currency cur ON cur.id = company.currency_id
              LEFT JOIN crm_sales_forecast_snapshot_line l ON l.snapshot_id = s.id
              LEFT JOIN crm_lead lead ON lead.id = l.lead_id
              LEFT JOIN crm_sales_process_step step ON step.id = l.sales_process_step_id
              LEFT JOIN crm_stage stage ON stage.id = l.stage_id
             WHERE s.id = ANY(%s)
             GROUP BY s.id
            """,
            (snapshot_ids,),
        )
        line_problems = (
            "lines without an opportunity",
            "weighted revenue is not revenue x probability",
            "opportunity of another company, not an opportunity, or created after",
            "revenue differs from the opportunity's",
            "step not of its process and stage",
            "on a won stage",
        )
        problems = []
        lead_sets = {}
        lines = 0
        for row in rows:
            snapshot_id, header, counts = row[0], row[1:4], row[4:6]
            sums, flagged, lead_ids = row[6:8], row[8:14], row[14]
            lines += counts[0]
            lead_sets[snapshot_id] = set(lead_ids)
            if tuple(header) != (counts[0], *sums):
                problems.append(
                    f"snapshot {snapshot_id}: stored {list(map(str, header))}, lines give "
                    f"{[counts[0], *map(str, sums)]}"
                )
            if counts[1] + flagged[0] != counts[0]:
                problems.append(f"snapshot {snapshot_id}: an opportunity on several lines")
            problems += [
                f"snapshot {snapshot_id}: {count} line(s): {label}"
                for count, label in zip(flagged, line_problems, strict=True)
                if count
            ]
        problems += [f"snapshot {i} missing" for i in snapshot_ids if i not in lead_sets]
        membership, checked = self.snapshot_membership(lead_sets)
        problems += membership
        final = lead_sets.get(final_ids[0], set()) if final_ids else set()
        open_ids, open_value = set(open_now[0]), open_now[1]
        final_header = next((row[2] for row in rows if final_ids and row[0] == final_ids[0]), None)
        if final != open_ids or final_header != open_value:
            problems.append(
                f"last snapshot: {len(final)} opportunities, {final_header}; open pipeline in "
                f"SQL: {len(open_ids)}, {open_value} (missing {sorted(open_ids - final)[:5]}, "
                f"extra {sorted(final - open_ids)[:5]})"
            )
        return {
            "violations": len(problems),
            "snapshots": len(snapshot_ids),
            "lines": lines,
            "membership_checked": checked,
            "samples": problems[:10],
        }

    def snapshot_membership(self, lead_sets):
        """Each snapshot of the load against the salespeople's acknowledged operations: an
        opportunity opened (created, restored) before the snapshot's request started and not
        closed (won, lost) since is in it; one closed before, or created after it ended, is
        not. Opportunities with an operation during the request, or whose last request failed
        unexpectedly, can be either way: left out."""
        problems = []
        checked = 0
        for snap in self.run.snapshots:
            lead_ids = lead_sets.get(snap["ids"][0], set()) if snap["ids"] else set()
            for client in self.salespeople:
                for lead_id, events in client.events.items():
                    state = client.leads.get(lead_id)
                    if not state or state["uncertain"]:
                        continue
                    if any(
                        start <= snap["end"] and end >= snap["start"] for _op, start, end in events
                    ):
                        continue
                    before = [op for op, _start, end in events if end < snap["start"]]
                    expected = OPENNESS_OPS[before[-1]] if before else False
                    checked += 1
                    if expected != (lead_id in lead_ids):
                        problems.append(
                            f"snapshot {snap['ids'][0]}: opportunity {lead_id} "
                            f"{'missing' if expected else 'there'} (its operations before: "
                            f"{before or 'none, created after'})"
                        )
        return problems, checked

    # -- escalation of stalled opportunities -------------------------------------------------

    def run_stall_cron(self):
        """Run the stall cron once more now (Run Manually: in the HTTP worker, the answer
        comes when it is done), after the run's triggers and the killed cron run."""
        run = self.run
        deadline = time.monotonic() + 120
        while True:
            try:
                result = run.admin.call("ir.cron", "method_direct_trigger", [run.stall_cron_id])
            except RpcError as error:
                # still running from a trigger of the load: wait for it
                if "already executing" not in error.message or time.monotonic() > deadline:
                    raise
                time.sleep(1)
                continue
            if isinstance(result, dict):  # the job failed: Odoo's error dialog action
                return f"failed: {json.dumps(result.get('params'))[:300]}"
            return "done"

    def stall_cron_runs(self):
        """How the stall cron's runs of this run ended, from Odoo's log (cron worker and
        manual runs alike): a run that fails (e.g. a serialization failure against a
        salesperson's write) is rolled back whole."""
        ended = re.compile(
            rf"ir_cron: Job '.*' \({self.run.stall_cron_id}\) (fully done|partially done|failed)"
        )
        outcomes = Counter()
        with open(self.run.logfile, errors="replace") as log:
            log.seek(self.log_offset)
            for line in log:
                found = ended.search(line)
                if found:
                    outcomes[found.group(1)] += 1
        return dict(outcomes)

    def check_escalations(self):
        """The stall cron escalates each stall once (triggered during the load, once with the
        fault that terminates its connection, and once more now): no opportunity has two
        escalation notes or activities in this run (each opportunity was made stalled at most
        once; the stalls of the run's own opportunities are too young to escalate); an
        opportunity's stall is marked escalated exactly when it got its note (one
        transaction); after the last run no opportunity is left stalled past its escalation
        and not escalated (the model's own condition in SQL)."""
        run = self.run
        escalation = run.escalation
        final_run = self.run_stall_cron()
        notes = dict(
            self.sql(
                "SELECT res_id, count(*) FROM mail_message WHERE model = 'crm.lead' AND id > %s "
                "AND (body LIKE '%%Escalated to %%' OR body LIKE '%%Not escalated:%%') "
                "GROUP BY res_id",
                (escalation["message_floor"],),
            )
        )
        activities = dict(
            self.sql(
                "SELECT res_id, count(*) FROM mail_activity WHERE res_model = 'crm.lead' "
                "AND activity_type_id = %s AND id > %s GROUP BY res_id",
                (escalation["activity_type"], escalation["activity_floor"]),
            )
        )
        problems = [f"opportunity {i}: {n} escalation notes" for i, n in notes.items() if n > 1]
        problems += [
            f"opportunity {i}: {n} escalation activities" for i, n in activities.items() if n > 1
        ]
        created = set(run.created)
        problems += [
            f"opportunity {i} of the load escalated (too young)" for i in notes if i in created
        ]
        stalled_since = escalation["stalled_since"]
        rows = self.sql(
            "SELECT id, sales_process_escalated_stall, active AND won_status = 'pending', "
            "date_last_stage_update FROM crm_lead WHERE id = ANY(%s)",
            (escalation["lead_ids"],),
        )
        still_stalled = 0
        for lead_id, marker, is_open, last_move in rows:
            since = stalled_since.get(lead_id)
            marked = since is not None and marker == since
            if marked != (notes.get(lead_id, 0) == 1):
                problems.append(
                    f"opportunity {lead_id}: stall marked {marker}, "
                    f"{notes.get(lead_id, 0)} escalation note(s)"
                )
            if since is not None and is_open and last_move == since:
                still_stalled += 1
        pending = self.sql(
            """
            SELECT lead.id
              FROM crm_lead lead
              JOIN crm_sales_process_step step ON step.id = lead.sales_process_step_id
             WHERE step.stall_days > 0 AND step.escalate_after_days > 0
               AND lead.active AND lead.won_status = 'pending' AND lead.type = 'opportunity'
               AND COALESCE(lead.date_last_stage_update, lead.create_date)
                   + (step.stall_days + step.escalate_after_days) * INTERVAL '1 day'
                   < now() AT TIME ZONE 'UTC'
               AND lead.sales_process_escalated_stall IS DISTINCT FROM
                   COALESCE(lead.date_last_stage_update, lead.create_date)
            """
        )
        problems += [
            f"opportunity {row[0]} stalled past its escalation, not escalated" for row in pending
        ]
        return {
            "violations": len(problems),
            "stall_cron_runs": self.stall_cron_runs(),
            "final_run": final_run,
            "made_stalled": len(stalled_since),
            "escalated": len(notes),
            "still_stalled_at_end": still_stalled,
            "moved_or_closed_first": len(stalled_since) - len(notes),
            "samples": problems[:10],
        }

    # -- workers, cache, cron ----------------------------------------------------------------

    def expected_process(self, person):
        """The default process of a new opportunity of ``person``, from the rules in SQL."""
        company = self.run.layout["company_id"]
        rows = self.sql(
            """
            SELECT p.id, p.default_scope,
                   ARRAY(SELECT user_id FROM crm_sales_process_default_user_rel r
                          WHERE r.process_id = p.id),
                   ARRAY(SELECT team_id FROM crm_sales_process_default_team_rel r
                          WHERE r.process_id = p.id),
                   ARRAY(SELECT department_id FROM crm_sales_process_default_department_rel r
                          WHERE r.process_id = p.id)
              FROM crm_sales_process p
             WHERE p.active AND p.default_scope != 'none' AND p.company_id = %s
               AND EXISTS (SELECT 1 FROM crm_sales_process_step s WHERE s.process_id = p.id)
             ORDER BY p.id
            """,
            (company,),
        )
        for scope, key, index in (
            ("user", "uid", 2),
            ("team", "team", 3),
            ("department", "department", 4),
        ):
            for row in rows:
                if row[1] == scope and person[key] in row[index]:
                    return row[0]
        return next((row[0] for row in rows if row[1] == "all"), None)

    def log_requests(self):
        with open(self.run.logfile, errors="replace") as log:
            log.seek(self.log_offset)
            for line in log:
                found = LOG_LINE.match(line.rstrip("\n"))
                if found:
                    yield found

    def server_profile(self):
        """Per operation of the salespeople (the ``?op=`` tag of their requests in Odoo's
        log): operations done, SQL queries and server time per operation (query time + the
        rest, all its requests together), whatever the clients waited in the queue."""
        calls = defaultdict(lambda: [0, 0.0])
        for match in self.log_requests():
            path = match["path"]
            if "?op=" not in path or match["status"] != "200":
                continue
            figures = match.group(0).split('" 200 ', 1)[1].split()
            if len(figures) < 4 or not figures[1].isdigit():
                continue
            entry = calls[path.split("?op=", 1)[1]]
            entry[0] += int(figures[1])
            entry[1] += float(figures[2]) + float(figures[3])
        stats = self.run.stats
        profile = {}
        for op, (queries, seconds) in sorted(calls.items()):
            done = stats.ok[op] + stats.refused[op]
            if done:
                profile[op] = {
                    "n": done,
                    "queries": round(queries / done, 1),
                    "ms": round(seconds / done * 1000, 1),
                }
        return profile

    def check_worker_cache(self):
        """A new opportunity created through every HTTP worker gets the process the rules in
        the database give (the rules are cached per worker)."""
        run = self.run
        http_pids, _cron = worker_pids(run.logfile)
        clients = [c.client for c in self.salespeople if c.client]
        people = {p["uid"]: p for p in run.layout["salespeople"]}
        probes = {}
        seen = set()
        for attempt in range(80):
            client = clients[attempt % len(clients)]
            token = uuid.uuid4().hex[:12]
            vals = {
                "name": f"Load probe {token}",
                "type": "opportunity",
                "user_id": client.uid,
                "team_id": people[client.uid]["team"],
            }
            lead_id = client._retry_killed(
                lambda c=client, v=vals, t=token: c.call(
                    "crm.lead", "create", v, query=f"?probe={t}"
                )
            )
            probes[token] = (lead_id, client.uid)
            if attempt % 8 == 7:
                time.sleep(0.3)  # log lines are written after the response
                seen = {m["pid"] for m in self.log_requests() if "probe=" in m["path"]}
                if {str(p) for p in http_pids} <= seen:
                    break
        time.sleep(0.5)
        pid_of = {}
        for match in self.log_requests():
            if "probe=" in match["path"]:
                pid_of[match["path"].split("probe=")[1]] = int(match["pid"])
        wrong = []
        per_worker = Counter()
        for token, (lead_id, uid) in probes.items():
            expected = self.expected_process(people[uid])
            got = self.sql("SELECT sales_process_id FROM crm_lead WHERE id = %s", (lead_id,))[0][0]
            per_worker[pid_of.get(token, "?")] += 1
            if got != expected:
                wrong.append(
                    f"lead {lead_id} via worker {pid_of.get(token)}: process {got}, "
                    f"rules give {expected}"
                )
        missing = [pid for pid in http_pids if pid not in per_worker]
        return {
            "violations": len(wrong) + len(missing),
            "probes": len(probes),
            "per_worker": {str(k): v for k, v in per_worker.items()},
            "workers_not_reached": missing,
            "samples": wrong[:5],
        }

    def check_cron(self):
        run = self.run
        if not run.cron_fault_time:
            return {"violations": 0, "note": "no cron fault in this run"}
        deadline = time.time() + 60
        while time.time() < deadline:
            rows = self.sql(
                "SELECT id, lastcall, nextcall FROM ir_cron WHERE id = ANY(%s)", (run.cron_ids,)
            )
            after = [r for r in rows if r[1] and utc(r[1]) >= run.cron_fault_time - 5]
            if len(after) == len(run.cron_ids):
                return {"violations": 0, "crons_ran_after_fault": len(after)}
            time.sleep(1)
        return {
            "violations": 1,
            "note": "a cron did not run again after its connection was terminated",
            "crons": [list(map(str, r)) for r in rows],
        }

    def check_workers(self):
        http_pids, cron_pids = worker_pids(self.run.logfile)
        restarted = self.run.killed_pid is None or self.run.killed_pid not in http_pids
        return {
            "violations": 0 if restarted and http_pids and cron_pids else 1,
            "http_workers": http_pids,
            "cron_workers": cron_pids,
            "killed": self.run.killed_pid,
        }

    # -- replica -----------------------------------------------------------------------------

    def wait_replica(self, timeout=300):
        """Seconds the standby took to replay the primary's current WAL position (it replays
        the whole cluster's WAL: other databases' load delays it too)."""
        port = self.run.args.replica_port
        if not port:
            return None
        lsn = self.sql("SELECT pg_current_wal_lsn()")[0][0]
        replica = pg(self.run.db, port)
        start = time.monotonic()
        try:
            with replica.cursor() as cr:
                while time.monotonic() - start < timeout:
                    cr.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,))
                    if cr.fetchone()[0]:
                        return time.monotonic() - start
                    time.sleep(0.05)
        finally:
            replica.close()
        raise RuntimeError("the replica did not catch up in time")

    def check_replica(self):
        run = self.run
        catch_up = self.wait_replica()
        after = run.replica_xacts()
        served = Counter()
        for match in self.log_requests():
            path = match["path"]
            if "/web/dataset/call_kw/" not in path and "/report/" not in path:
                continue
            method = path.split("?")[0].rsplit(".", 1)[-1]
            is_read = method in READ_METHODS or path.startswith("/report/")
            if is_read:
                served["read", match["mode"]] += 1
        reads = sum(v for (kind, _mode), v in served.items() if kind == "read")
        replica_reads = served["read", "ro"]
        # The same figures through the replica (call_kw, readonly) and the primary (jsonrpc)
        admin = run.admin
        processes = [p["id"] for p in run.layout["processes"].values()]
        mismatches = []
        if processes:
            on_replica = admin.call("crm.sales.process", "get_kpis", processes)
            on_primary = execute_kw(
                run.url,
                run.db,
                admin.uid,
                ADMIN_PASSWORD,
                "crm.sales.process",
                "get_kpis",
                processes,
            )
            if on_replica != on_primary:
                mismatches.append("get_kpis differs between replica and primary")
        domain = [("type", "=", "opportunity")]
        kwargs = {"groupby": ["user_id"], "aggregates": ["__count", "prorated_revenue:sum"]}
        if admin.call("crm.lead", "formatted_read_group", domain, **kwargs) != execute_kw(
            run.url,
            run.db,
            admin.uid,
            ADMIN_PASSWORD,
            "crm.lead",
            "formatted_read_group",
            domain,
            **kwargs,
        ):
            mismatches.append("forecast read differs between replica and primary")
        return {
            "violations": len(mismatches),
            "mismatches": mismatches,
            "catch_up_s": round(catch_up, 3),
            "read_calls": reads,
            "read_calls_on_replica": replica_reads,
            "replica_share": round(replica_reads / reads, 3) if reads else None,
            "replica_transactions": (after - self.replica_before)
            if self.replica_before is not None
            else None,
        }


# ----------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------


def count_violations(checks):
    total = 0
    for value in checks.values():
        if isinstance(value, dict):
            if "violations" in value:
                total += value["violations"]
            else:
                total += count_violations(value)
    return total


def flatten_checks(checks, prefix=""):
    for name, value in checks.items():
        if isinstance(value, dict) and "violations" not in value:
            yield from flatten_checks(value, f"{prefix}{name}.")
        elif isinstance(value, dict):
            yield f"{prefix}{name}", value


def print_server_side(results, row):
    """Server-side figures per call from Odoo's log, and the capacity ratio."""
    methods = sorted({m for r in results for m in r.get("server", {})})
    print("\nserver side per operation (Odoo log): ops / SQL queries / ms (queue waits left out)")
    for method in methods:
        row(
            f"  {method}"[:34],
            [
                "{n} / {queries} q / {ms} ms".format(**r["server"][method])
                if method in r.get("server", {})
                else "-"
                for r in results
            ],
        )
    if len(results) == 2 and results[0]["mode"] == "stock" and all("server" in r for r in results):
        # The common calls' server time, weighted by the stock run's mix: what one worker
        # serves per second of that mix on each side
        stock_server, proc_server = results[0]["server"], results[1]["server"]
        common = [m for m in sorted(COMMON_OPS) if m in stock_server and m in proc_server]
        weights = {m: stock_server[m]["n"] for m in common}
        total = sum(weights.values())
        if total:
            per_op = [
                sum(weights[m] * r["server"][m]["ms"] for m in common) / total for r in results
            ]
            print(
                f"\nserver capacity, common calls (ops/s per worker): stock "
                f"{1000 / per_op[0]:.1f}, addon {1000 / per_op[1]:.1f}: addon / stock "
                f"{per_op[0] / per_op[1] * 100:.1f} % (target >= 90 %)"
            )


def print_result(label, result):
    """Faults, refusals, checks and errors of one run; True when it fails."""
    print(f"\n== {label}")
    for event in result["faults"]:
        print(f"  fault: {event}")
    for error in result["fault_errors"]:
        print(f"  FAULT INJECTION PROBLEM: {error}")
    if result["refused"]:
        print(f"  refused (expected): {result['refused']}")
    if result["killed"]:
        print(f"  killed (retried): {result['killed']}")
    for name, check in flatten_checks(result["checks"]):
        status = "ok" if not check["violations"] else f"VIOLATIONS: {check['violations']}"
        details = {k: v for k, v in check.items() if k != "violations" and v not in ([], None)}
        print(f"  check {name}: {status} {json.dumps(details, default=str)[:400]}")
    unexpected = sum(result["unexpected"].values()) + sum(result["not_refused"].values())
    if unexpected:
        print(f"  UNEXPECTED: {result['unexpected']} not refused: {result['not_refused']}")
        for sample in result["unexpected_samples"][:15]:
            print(f"    {sample}")
    # The stock run is the baseline: its invariant violations are stock Odoo's (e.g. the
    # predictive lead scoring cron giving a just-lost lead a probability), shown, not
    # failing the run; its unexpected errors and fault problems do fail it.
    violations = count_violations(result["checks"])
    if result["mode"] == "stock" and violations:
        print(f"  (stock Odoo: {violations} violation(s), informational)")
        violations = 0
    return bool(unexpected or violations or result["fault_errors"])


def compare(paths):
    results = [json.loads(Path(p).read_text()) for p in paths if Path(p).exists()]
    if not results:
        print("no results")
        return 1
    labels = [("stock crm" if r["mode"] == "stock" else "crm_sales_process") for r in results]

    def row(label, values):
        print(f"{label:<34}" + "".join(f"{v!s:>28}" for v in values))

    print()
    row("", labels)
    row("duration (s)", [round(r["duration"], 1) for r in results])
    row("clients / workers", [f"{r['clients']} / {r['workers']}" for r in results])
    row("replica", [r["replica"] for r in results])
    row("ops (all calls)", [r["ops"] for r in results])
    row("ops/s (all calls)", [round(r["ops_per_s"], 1) for r in results])
    row("ops/s (common mix)", [round(r["common_ops_per_s"], 1) for r in results])
    row("expected refusals", [sum(r["refused"].values()) for r in results])
    row("killed by fault (retried)", [sum(r["killed"].values()) for r in results])
    row(
        "unexpected errors",
        [sum(r["unexpected"].values()) + sum(r["not_refused"].values()) for r in results],
    )
    row(
        "invariant violations",
        [
            f"{count_violations(r['checks'])}{' (info)' if r['mode'] == 'stock' else ''}"
            for r in results
        ],
    )
    if any("snapshots" in r["checks"] for r in results):
        # The addon's pipeline snapshots and stall escalations (stock has neither)

        def figures(result, check, keys):
            values = result["checks"].get(check)
            return " / ".join(str(values.get(key)) for key in keys) if values else "-"

        row(
            "snapshots / lines checked",
            [figures(r, "snapshots", ("snapshots", "lines")) for r in results],
        )
        row(
            "stalled / escalated",
            [figures(r, "escalations", ("made_stalled", "escalated")) for r in results],
        )
    ops = sorted({op for r in results for op in r["latency"]})
    print("\nlatency p50 / p95 ms (n)")

    def latency(result, op):
        figures = result["latency"].get(op)
        if not figures:
            return "-"
        return f"{figures['p50_ms']}/{figures['p95_ms']} ({figures['n']})"

    for op in ops:
        row(f"  {op}", [latency(r, op) for r in results])
    print_server_side(results, row)
    if len(results) == 2 and results[0]["mode"] == "stock":
        stock, proc = results[0]["common_ops_per_s"], results[1]["common_ops_per_s"]
        if stock:
            print(
                f"\naddon / stock throughput (common mix): {proc / stock * 100:.1f} % "
                f"(target >= 90 %)"
            )
    failed = False
    for label, result in zip(labels, results, strict=True):
        failed = print_result(label, result) or failed
    print("\nRESULT:", "FAIL" if failed else "PASS")
    return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("--url", required=True)
    run.add_argument("--db", required=True)
    run.add_argument("--mode", choices=["stock", "proc"], required=True)
    run.add_argument("--duration", type=float, default=60)
    run.add_argument("--clients", type=int, default=6)
    run.add_argument("--workers", type=int, default=2)
    run.add_argument("--log", required=True, help="the Odoo server log file")
    run.add_argument("--replica-port", type=int, default=0)
    run.add_argument("--faults", type=int, default=1)
    run.add_argument("--seed", type=int, default=42)
    run.add_argument("--result", required=True)
    cmp_parser = sub.add_parser("compare")
    cmp_parser.add_argument("results", nargs="+")
    args = parser.parse_args()
    if args.command == "compare":
        raise SystemExit(compare(args.results))
    LoadRun(args).execute()


if __name__ == "__main__":
    main()
