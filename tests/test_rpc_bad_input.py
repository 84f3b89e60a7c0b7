# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Bad input everywhere, over real RPC.

Every public method and every writable field the addon defines (on its own models and on the
models it extends) is called over JSON-RPC (``/web/dataset/call_kw``) and XML-RPC
(``/xmlrpc/2/object``) with wrong types, out-of-range numbers, huge and empty strings, ids of
another company's and of deleted records, and wildcards. The methods and fields are found by
introspection, so that what is added later is swept too.

Every call must either work correctly (a value is stored as typed) or be refused with an Odoo
error (UserError, ValidationError, AccessError, MissingError) whose message holds no database
error text, and a refused call must leave the database as it was. Each call runs inside a
savepoint rolled back afterwards, so calls do not depend on each other.
"""

import inspect
import json
import logging
import math
import xmlrpc.client
from contextlib import closing

from odoo import models
from odoo.fields import Command
from odoo.service.model import get_public_method
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from .common import SalesProcessCommon

_logger = logging.getLogger(__name__)

MODULE = "crm_sales_process"
NAN, INF = float("nan"), float("inf")
HUGE = "x" * (1024 * 1024)
WILDCARDS = ["%%", "_", "\\", "50%_off\\"]
INT4_OVERFLOW = 2**31
# Odoo errors the client shows as a message (anything else is a server error)
CLEAN_ERRORS = {
    "odoo.exceptions.UserError",
    "odoo.exceptions.ValidationError",
    "odoo.exceptions.AccessError",
    "odoo.exceptions.MissingError",
    "odoo.exceptions.RedirectWarning",
}
XMLRPC_FAULTS = {2: "odoo.exceptions.UserError", 4: "odoo.exceptions.AccessError"}
# Texts of PostgreSQL / psycopg2 errors that must never reach a client
DATABASE_TEXTS = (
    "violates",
    "invalid input syntax",
    "numeric field overflow",
    "out of range",
    "psycopg2",
    "syntax error at",
    "current transaction is aborted",
    "DETAIL:",
    "Traceback",
)
# Fields the ORM manages itself
MAGIC_FIELDS = {"id", "display_name", *models.LOG_ACCESS_COLUMNS}


class SweepResult:
    """Counts of a sweep and the description of each failure."""

    def __init__(self, name):
        self.name = name
        self.tried = self.worked = self.refused = 0
        self.failures = []

    def log(self):
        _logger.info(
            "bad input sweep %s: %s calls tried, %s worked, %s refused cleanly, %s failures",
            self.name,
            self.tried,
            self.worked,
            self.refused,
            len(self.failures),
        )


def _short(value):
    text = repr(value)
    return text if len(text) < 60 else f"{text[:57]}..."


@tagged("post_install", "-at_install")
class RpcSweepCommon(HttpCase, SalesProcessCommon):
    """Users, records of two companies and deleted records to throw at the RPC."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company_a = cls.env.company
        cls.company_a = company_a
        # A manager of company A only, a manager of company B only
        cls.manager_a = cls._create_salesperson(
            "sweep_manager_a", "Sweep Manager A", groups="sales_team.group_sale_manager"
        )
        cls.manager_b = cls._create_salesperson(
            "sweep_manager_b",
            "Sweep Manager B",
            groups="sales_team.group_sale_manager",
            company=cls.company_b,
        )
        cls.stage_spare = cls._create_stages(["SP Spare"], 1010)
        cls.process_a = cls._create_process(
            "Sweep Process A",
            cls._standard_steps(),
            default_scope="user",
            default_user_ids=[Command.set(cls.salesman.ids)],
        )
        cls.process_b = cls._create_process(
            "Sweep Process B", cls._standard_steps(), company_id=cls.company_b.id
        )
        cls.step_a = cls._step(cls.process_a, cls.stage_offer)
        cls.step_b = cls._step(cls.process_b, cls.stage_offer)
        Activity = cls.env["crm.sales.process.step.activity"]
        cls.activity_a = Activity.create({"step_id": cls.step_a.id, "summary": "Call A"})
        cls.criterion_a = cls.env["crm.sales.process.exit.criterion"].create(
            {"step_id": cls.step_a.id, "criterion_type": "field", "field_name": "partner_id"}
        )
        cls.activity_b = Activity.create({"step_id": cls.step_b.id, "summary": "Call B"})
        cls.team_b = cls.env["crm.team"].create(
            {"name": "Team Sweep B", "company_id": cls.company_b.id}
        )
        cls.lead_a = cls._create_lead(
            cls.process_a, cls.stage_offer, user_id=cls.salesman.id, expected_revenue=1000
        )
        cls.lead_b = cls._create_lead(
            cls.process_b, cls.stage_offer, company_id=cls.company_b.id, expected_revenue=2000
        )
        History = cls.env["crm.sales.process.history"]
        cls.history_a = History.search([("lead_id", "=", cls.lead_a.id)], limit=1)
        cls.history_b = History.search([("lead_id", "=", cls.lead_b.id)], limit=1)
        cls.mail_activity_a = cls.lead_a.activity_ids.filtered("sales_process_step_activity_id")[:1]
        # Records that existed once: their ids are what a stale client sends
        gone_process = cls._create_process("Sweep Gone", [(cls.stage_lead, 0)])
        gone_lead = cls._create_lead(cls.process_a)
        gone_activity = Activity.create({"step_id": cls.step_a.id, "summary": "Gone"})
        gone_team = cls.env["crm.team"].create({"name": "Gone Team"})
        cls.gone = {
            "crm.sales.process": gone_process.id,
            "crm.sales.process.step": gone_process.step_ids.id,
            "crm.sales.process.step.activity": gone_activity.id,
            "crm.lead": gone_lead.id,
            "crm.team": gone_team.id,
            "crm.sales.process.history": gone_lead.sales_process_history_ids[:1].id,
        }
        gone_lead.unlink()
        for record in (gone_activity, gone_process, gone_team):
            record.unlink()
        cls.other_company = {
            "crm.sales.process": cls.process_b.id,
            "crm.sales.process.step": cls.step_b.id,
            "crm.sales.process.step.activity": cls.activity_b.id,
            "crm.lead": cls.lead_b.id,
            "crm.team": cls.team_b.id,
            "crm.sales.process.history": cls.history_b.id,
            "res.company": cls.company_b.id,
        }

    # ------------------------------------------------------------------
    # RPC
    # ------------------------------------------------------------------

    def _jsonrpc(self, model, method, args, kwargs=None):
        """(ok, result or error dict) of a call_kw over JSON-RPC as the logged-in user."""
        # NaN and Infinity as JavaScript writes them (json.dumps' default; requests refuses)
        body = json.dumps(
            {
                "jsonrpc": "2.0",
                "method": "call",
                "id": 1,
                "params": {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
            }
        )
        response = self.opener.post(
            f"{self.base_url()}/web/dataset/call_kw/{model}/{method}",
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=60,
        )
        if response.status_code != 200:
            return False, {"name": f"HTTP {response.status_code}", "message": response.text}
        payload = response.json()
        if "error" in payload:
            data = payload["error"].get("data") or {}
            return False, {"name": data.get("name"), "message": data.get("message") or ""}
        return True, payload.get("result")

    def _xmlrpc(self, login, model, method, args, kwargs=None):
        """(ok, result or error dict) of an execute_kw over XML-RPC."""
        password = login if len(login) >= 8 else login + "x" * (8 - len(login))
        uid = self.env["res.users"].search([("login", "=", login)]).id
        try:
            result = self.xmlrpc_object.execute_kw(
                self.env.cr.dbname, uid, password, model, method, args, kwargs or {}
            )
        except xmlrpc.client.Fault as fault:
            # /xmlrpc/2/: 2 = user error (validation, missing record), 4 = access error,
            # 1 = any other error, its message being the traceback
            name = XMLRPC_FAULTS.get(fault.faultCode, f"fault {fault.faultCode}")
            return False, {"name": name, "message": fault.faultString}
        except xmlrpc.client.ProtocolError as error:
            return False, {"name": f"HTTP {error.errcode}", "message": error.errmsg}
        return True, result

    def _is_clean_error(self, error):
        """Why ``error`` is no clear Odoo error, or None when it is one."""
        if error["name"] not in CLEAN_ERRORS:
            message = error["message"].strip()
            if message.startswith("Traceback"):  # XML-RPC: the error is the last line
                message = message.splitlines()[-1]
            return f"{error['name']}: {message[:300]}"
        message = error["message"]
        if not message.strip():
            return f"{error['name']} without a message"
        for text in DATABASE_TEXTS:
            if text.lower() in message.lower():
                return f"database text {text!r} in {error['name']}: {message[:300]}"
        return None

    # ------------------------------------------------------------------
    # Database fingerprint
    # ------------------------------------------------------------------

    @classmethod
    def _addon_tables(cls):
        """Tables of the addon's models and relations, crm_lead and mail_activity."""
        tables = {"crm_lead", "mail_activity", "crm_stage", "crm_team"}
        for model in cls.env.registry.values():
            if getattr(model, "_module", None) == MODULE and not model._abstract:
                tables.add(model._table)
            for field in model._fields.values():
                if field._module == MODULE and field.type == "many2many" and field.store:
                    tables.add(field.relation)
        return sorted(tables)

    def _fingerprint(self):
        """One digest per table of every row's text."""
        self.env.flush_all()
        digests = {}
        for table in self._addon_tables():
            self.env.cr.execute(
                f"SELECT md5(COALESCE(string_agg(t::text, '|' ORDER BY t::text), '')) "  # noqa: S608
                f'FROM "{table}" t'
            )
            digests[table] = self.env.cr.fetchone()[0]
        return digests

    def _run(self, result, label, call, check_worked=None, read_only=False):
        """Run ``call`` (returning ``(ok, payload)``) in a savepoint rolled back afterwards.

        A refusal must be a clean Odoo error and leave the database unchanged; a call that
        worked is checked by ``check_worked(payload)`` (returns a problem text or None).
        """
        result.tried += 1
        with closing(self.env.cr.savepoint(flush=True)):
            before = None if read_only else self._fingerprint()
            with mute_logger("odoo.http", "odoo.sql_db", "odoo.addons.rpc.controllers.xmlrpc"):
                ok, payload = call()
            self.env.invalidate_all()
            if ok:
                problem = check_worked(payload) if check_worked else None
                if not read_only:
                    problem = problem or self._check_still_readable()
                if problem:
                    result.failures.append(f"{label}: worked but {problem}")
                else:
                    result.worked += 1
            else:
                problem = self._is_clean_error(payload)
                if problem is None and not read_only:
                    changed = [
                        table
                        for table, digest in self._fingerprint().items()
                        if before[table] != digest
                    ]
                    if changed:
                        problem = f"refused but changed {', '.join(changed)}"
                if problem:
                    result.failures.append(f"{label}: {problem}")
                else:
                    result.refused += 1
        self.env.invalidate_all()
        if not read_only:
            self.env.registry.clear_cache()

    def _check_still_readable(self):
        """After a call that worked, the records it may have touched read fine over RPC
        (computed fields included): a value stored is no error postponed to every reader."""
        for model, record in self._readable_after().items():
            ok, payload = self._jsonrpc(model, "read", [record.ids, []])
            if not ok:
                return f"reading {model} afterwards: {payload['name']}: {payload['message'][:200]}"
        return None

    def _readable_after(self):
        return {}

    def _assert_sweep(self, result):
        result.log()
        self.assertGreater(result.tried, 0)
        self.assertEqual(
            result.tried, result.worked + result.refused + len(result.failures), "counts add up"
        )
        self.assertFalse(
            result.failures,
            f"{len(result.failures)} of {result.tried} calls failed:\n"
            + "\n".join(result.failures[:400]),
        )

    # ------------------------------------------------------------------
    # Introspection
    # ------------------------------------------------------------------

    @classmethod
    def _addon_models(cls):
        """Names of the models the addon defines or extends with fields or public methods."""
        names = []
        for name in sorted(cls.env.registry):
            if name.startswith("report."):
                continue  # report values are no RPC entry point (private methods only)
            model = cls.env[name]
            if cls._addon_fields(model) or cls._addon_methods(model):
                names.append(name)
        return names

    @classmethod
    def _addon_fields(cls, model):
        return [
            field
            for field in model._fields.values()
            if field._module == MODULE and field.name not in MAGIC_FIELDS
        ]

    @classmethod
    def _writable_fields(cls, model):
        """Addon fields a client can write: editable ones and stored plain ones."""
        return [
            field
            for field in cls._addon_fields(model)
            if not field.readonly or (field.store and not field.compute and not field.related)
        ]

    @classmethod
    def _addon_methods(cls, model):
        """{name: function} of the public methods that addon classes of ``model`` define,
        as Odoo's RPC lets them be called."""
        methods = {}
        for klass in type(model).mro():
            if not klass.__module__.startswith(f"odoo.addons.{MODULE}."):
                continue
            for name, value in vars(klass).items():
                if name.startswith("_") or not inspect.isfunction(value) or name in methods:
                    continue
                try:
                    methods[name] = get_public_method(model, name)
                except Exception:  # noqa: BLE001 (private: not callable over RPC)
                    continue
        return methods


@tagged("post_install", "-at_install")
class TestRpcBadInput(RpcSweepCommon):
    """The sweep itself."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Wizard = cls.env["crm.sales.forecast.wizard"].with_user(cls.manager_a)
        cls.wizard_a = Wizard.create({}).with_env(cls.env)
        Calibration = cls.env["crm.sales.process.calibration.wizard"]
        cls.calibration_a = Calibration.with_user(cls.manager_a).create(
            {"process_id": cls.process_a.id}
        )
        cls.calibration_a = cls.calibration_a.with_env(cls.env)
        # Settings are written by administrators only (res.config.settings' access rule is
        # for base.group_system): an administrator of company A who also manages sales
        cls.admin_a = cls._create_salesperson(
            "sweep_admin_a",
            "Sweep Admin A",
            groups="base.group_system,sales_team.group_sale_manager",
        )
        cls.settings_a = (
            cls.env["res.config.settings"].with_user(cls.admin_a).create({}).with_env(cls.env)
        )
        # Read-only for everybody: every write and create is refused, cleanly
        Snapshot = cls.env["crm.sales.forecast.snapshot"]
        cls.snapshot_a = Snapshot.browse(Snapshot.with_user(cls.manager_a).take_snapshot()[:1])

    def _readable_after(self):
        return {
            "crm.sales.process": self.process_a,
            "crm.sales.process.step": self.process_a.step_ids,
            "crm.lead": self.lead_a,
        }

    # ------------------------------------------------------------------
    # Values
    # ------------------------------------------------------------------

    def _bad_values(self, field):
        """Values to write into ``field``: wrong types, limits, wildcards."""
        wrong = [{"x": 1}, [1, "a"]]
        if field.type in ("char", "text", "html"):
            return ["", HUGE, *WILDCARDS, "nul \x00 byte", 123, *wrong]
        if field.type == "integer":
            return [
                -1,
                INT4_OVERFLOW - 1,
                INT4_OVERFLOW,
                -INT4_OVERFLOW - 1,
                1.5,
                NAN,
                INF,
                1e308,
                "abc",
                *wrong,
            ]
        if field.type in ("float", "monetary"):
            return [-1, 100.001, NAN, INF, -INF, 1e308, "abc", *wrong]
        if field.type == "boolean":
            return ["abc", NAN, *wrong]
        if field.type == "selection":
            return ["no_such_value", "", 1, *wrong]
        if field.type in ("date", "datetime"):
            return ["abc", "2026-13-45", "%%", -1, 1e308, *wrong]
        if field.type == "binary":
            return ["not base64 \\ %%", 1, *wrong]
        comodel = field.comodel_name
        gone = self.gone.get(comodel, 999_999_999)
        other = self.other_company.get(comodel)
        if field.type == "many2one":
            values = [-1, gone, INT4_OVERFLOW, "abc", "%%", 1.5, NAN, *wrong]
            return values + ([other] if other else [])
        if field.type in ("one2many", "many2many"):
            values = [
                [Command.set([gone])],
                [Command.link(gone)],
                [Command.link(INT4_OVERFLOW)],
                [Command.set(["abc"])],
                [Command.update(gone, {})],
                [Command.delete(gone)],
                [[99, 0, 0]],
                [["x"]],
                [Command.create("abc")] if field.type == "one2many" else [[0, 0, "abc"]],
                "abc",
                [{"x": 1}],
            ]
            return values + ([[Command.link(other)]] if other else [])
        return ["abc", *wrong]

    def _targets(self):
        """{model: (login, record writable by them, valid create values)}."""
        spare_stage = self.stage_spare
        lead_model_id = self.env["ir.model"]._get_id("crm.lead")
        return {
            "crm.sales.process": ("sweep_manager_a", self.process_a, {"name": "Sweep New"}),
            "crm.sales.process.step": (
                "sweep_manager_a",
                self.step_a,
                {"process_id": self.process_a.id, "stage_id": spare_stage.id},
            ),
            "crm.sales.process.step.activity": (
                "sweep_manager_a",
                self.activity_a,
                {"step_id": self.step_a.id, "summary": "New"},
            ),
            "crm.sales.process.exit.criterion": (
                "sweep_manager_a",
                self.criterion_a,
                {"step_id": self.step_a.id, "criterion_type": "activities"},
            ),
            "crm.sales.process.history": (
                "sweep_manager_a",
                self.history_a,
                {
                    "lead_id": self.lead_a.id,
                    "process_id": self.process_a.id,
                    "step_id": self.step_a.id,
                    "date_in": "2026-01-01 00:00:00",
                },
            ),
            "crm.lead": (
                "sweep_manager_a",
                self.lead_a,
                {"name": "Sweep Deal", "type": "opportunity"},
            ),
            "crm.sales.forecast.wizard": ("sweep_manager_a", self.wizard_a, {}),
            "crm.sales.process.calibration.wizard": (
                "sweep_manager_a",
                self.calibration_a,
                {"process_id": self.process_a.id},
            ),
            "crm.sales.process.calibration.wizard.line": (
                "sweep_manager_a",
                self.calibration_a.line_ids[:1],
                {"wizard_id": self.calibration_a.id},
            ),
            "mail.activity": (
                "sweep_manager_a",
                self.mail_activity_a,
                {
                    "res_model_id": lead_model_id,
                    "res_id": self.lead_a.id,
                    "summary": "Sweep",
                    "activity_type_id": self.env.ref("mail.mail_activity_data_todo").id,
                },
            ),
            "res.config.settings": ("sweep_admin_a", self.settings_a, {}),
            "crm.sales.forecast.snapshot": (
                "sweep_manager_a",
                self.snapshot_a,
                {"company_id": self.snapshot_a.company_id.id},
            ),
            "crm.sales.forecast.snapshot.line": (
                "sweep_manager_a",
                self.snapshot_a.line_ids[:1],
                {"snapshot_id": self.snapshot_a.id},
            ),
        }

    def _stored_as_sent(self, record, field, value):
        """A check of a write that worked: the field holds what was sent."""

        def check(_payload):
            stored = record.with_context(active_test=False)[field.name]
            if field.type in ("char", "text") and isinstance(value, str):
                if field.required and not value:
                    return f"stored {_short(stored)} in a required field"
                return None if stored in (value, value or False) else f"stored {_short(stored)}"
            if field.type == "integer" and not isinstance(value, bool) and isinstance(value, int):
                return None if stored == value else f"stored {_short(stored)}"
            if field.type == "float" and isinstance(value, (int, float)):
                if math.isfinite(value) and abs(stored - value) < 0.01:
                    return None
                return f"stored {_short(stored)}"
            if field.type == "selection" and isinstance(value, str):
                return None if stored == (value or False) else f"stored {_short(stored)}"
            if field.type == "many2one" and isinstance(value, int):
                return None if stored.id == value else f"stored {_short(stored)}"
            if field.type in ("date", "datetime"):
                return f"stored {_short(stored)} for {_short(value)}"
            if field.type == "html" and isinstance(value, str):
                return None
            if field.type == "binary" and isinstance(value, str):
                return None
            if field.type in ("one2many", "many2many"):
                return f"stored {_short(stored)}"
            if field.type == "boolean":
                return None if isinstance(value, (bool, int)) else f"stored {_short(stored)}"
            return f"stored {_short(stored)} for a {type(value).__name__}"

        return check

    # ------------------------------------------------------------------
    # Sweeps
    # ------------------------------------------------------------------

    def test_sweep_fields(self):
        """Every writable addon field, written and created with every bad value."""
        result = SweepResult("fields")
        targets = self._targets()
        swept_models = set()
        for model_name in self._addon_models():
            Model = self.env[model_name]
            writable = self._writable_fields(Model)
            if not writable:
                continue
            self.assertIn(model_name, targets, f"no sweep target for {model_name}")
            login, record, create_vals = targets[model_name]
            self.assertTrue(record, f"no record of {model_name} to write on")
            swept_models.add(model_name)
            self.authenticate(login, login)
            for field in writable:
                for value in self._bad_values(field):
                    label = f"{model_name}.{field.name}={_short(value)}"
                    self._run(
                        result,
                        f"write {label}",
                        lambda m=model_name, r=record, f=field, v=value: self._jsonrpc(
                            m, "write", [r.ids, {f.name: v}]
                        ),
                        self._stored_as_sent(record, field, value),
                    )
                    self._run(
                        result,
                        f"create {label}",
                        lambda m=model_name, f=field, v=value, c=create_vals: self._jsonrpc(
                            m, "create", [{**c, f.name: v}]
                        ),
                    )
        self.assertGreaterEqual(
            swept_models,
            {
                "crm.sales.process",
                "crm.sales.process.step",
                "crm.sales.process.step.activity",
                "crm.lead",
                "crm.sales.forecast.wizard",
                "res.config.settings",
            },
        )
        self._assert_sweep(result)

    def _bad_arguments(self):
        """Arguments of the wrong type or range for any parameter of a public method."""
        return [
            "abc",
            "",
            "9999-12-31",
            "0001-01-01",
            HUGE,
            *WILDCARDS,
            -1,
            0,
            NAN,
            INF,
            1e308,
            INT4_OVERFLOW,
            {"x": 1},
            [1, "a"],
            [self.gone["crm.sales.process"]],
            [self.other_company["crm.sales.process"]],
            None,
            True,
        ]

    def _method_records(self):
        """{model: (record to call methods on, a second record of the same company)}."""
        targets = self._targets()
        second = {
            "crm.sales.process": self._create_process("Sweep Second", [(self.stage_lead, 0)]),
            "crm.lead": self._create_lead(self.process_a),
        }
        return {
            model: (record, second.get(model, record))
            for model, (_login, record, _vals) in targets.items()
        }

    def test_sweep_methods(self):
        """Every public addon method with ids of other companies, deleted and no records,
        and every parameter with every bad argument."""
        result = SweepResult("methods")
        records = self._method_records()
        self.authenticate("sweep_manager_a", "sweep_manager_a")
        swept = 0
        for model_name in self._addon_models():
            Model = self.env[model_name]
            for name, method in sorted(self._addon_methods(Model).items()):
                swept += 1
                record, second = records.get(model_name, (Model.browse(), Model.browse()))
                parameters = list(inspect.signature(method).parameters.values())[1:]
                is_model = getattr(method, "_api_model", False)
                prefix = [] if is_model else [record.ids]
                # the required arguments not swept are given as "nothing"
                required = {
                    other.name: None
                    for other in parameters
                    if other.default is other.empty
                    and other.kind in (other.POSITIONAL_OR_KEYWORD, other.KEYWORD_ONLY)
                }
                if not is_model:
                    id_variants = {
                        "deleted": [self.gone.get(model_name, 999_999_999)],
                        "other company": [self.other_company.get(model_name, 999_999_999)],
                        "none": [],
                        "two": (record | second).ids,
                        "int4 overflow": [INT4_OVERFLOW],
                    }
                    if name not in ("create", "write"):  # no values: swept with the fields
                        for variant, ids in id_variants.items():
                            self._run(
                                result,
                                f"{model_name}.{name} on {variant} ids {ids}",
                                lambda m=model_name, n=name, i=ids, r=required: self._jsonrpc(
                                    m, n, [i], r
                                ),
                            )
                for parameter in parameters:
                    if parameter.kind == parameter.VAR_KEYWORD:
                        variants = [{"x_no_such_field": 1}, {"sales_process_id": "abc"}]
                        for kwargs in variants:
                            self._run(
                                result,
                                f"{model_name}.{name}(**{kwargs})",
                                lambda m=model_name, n=name, k=kwargs, a=prefix: self._jsonrpc(
                                    m, n, a, k
                                ),
                            )
                        continue
                    if parameter.kind == parameter.VAR_POSITIONAL:
                        continue
                    for value in self._bad_arguments():
                        self._run(
                            result,
                            f"{model_name}.{name}({parameter.name}={_short(value)})",
                            lambda m=model_name,
                            n=name,
                            p=parameter.name,
                            v=value,
                            r=required,
                            a=prefix: self._jsonrpc(m, n, a, {**r, p: v}),
                        )
        _logger.info("bad input sweep: %s public methods of the addon swept", swept)
        self.assertGreater(swept, 10)
        self._assert_sweep(result)

    def _domain_cases(self, field):
        """(operators, values) to search ``field`` with.

        The addon's search methods get every bad value with the operators of their type;
        stored text fields get the wildcards. Values of the wrong type on stored fields
        (``("active", ">=", "abc")``), dictionaries as values and raw ``=like`` patterns
        ending in a backslash are refused by Odoo's domain parser or PostgreSQL for every
        model, stock ones included: ORM behaviour, not swept. Related fields search their
        target's field.
        """
        bad = [NAN, INF, INT4_OVERFLOW, -1, "abc", *WILDCARDS, [1, "a"], None]
        if field.related:
            return (), ()
        if field.search:
            if field.type == "boolean":
                return ("=", "!=", "in"), bad
            if field.type in ("char", "text", "html", "selection"):
                return ("=", "!=", "ilike", "not ilike", "like"), [*bad, "", HUGE]
            return ("=", "!=", ">=", "<", "in", "not in"), bad
        if field.store and not field.related and field.type in ("char", "text", "selection"):
            return ("=", "ilike", "not ilike"), ["abc", "", *WILDCARDS]
        if field.store and not field.related and field.type == "html":
            return ("ilike", "not ilike"), ["abc", *WILDCARDS]
        if field.store and not field.related and field.type in ("many2one", "many2many"):
            gone = self.gone.get(field.comodel_name, 999_999_999)
            other = self.other_company.get(field.comodel_name, 999_999_999)
            return ("in", "ilike"), [[gone], [other], *WILDCARDS]
        return (), ()

    def test_sweep_domains(self):
        """The addon's search methods and stored text fields in search domains with bad
        values and wildcards (read-only calls: no fingerprint needed)."""
        result = SweepResult("domains")
        self.authenticate("sweep_manager_a", "sweep_manager_a")
        for model_name in self._addon_models():
            Model = self.env[model_name]
            if Model._abstract:
                continue
            for field in self._addon_fields(Model):
                operators, values = self._domain_cases(field)
                for operator in operators:
                    for value in values:
                        domain = [(field.name, operator, value)]
                        self._run(
                            result,
                            f"{model_name}.search_count({_short(domain)})",
                            lambda m=model_name, d=domain: self._jsonrpc(m, "search_count", [d]),
                            read_only=True,
                        )
        self._assert_sweep(result)

    def test_sweep_xmlrpc(self):
        """The same over XML-RPC with a password, as integrations call: every public method
        on deleted, other companies' and no records, with bad arguments, and every writable
        field with wrong types (values XML-RPC can carry: no None, no 64-bit integers)."""
        result = SweepResult("xmlrpc")
        records = self._method_records()
        targets = self._targets()
        login = "sweep_manager_a"
        self.authenticate(login, login)  # the checks read over JSON-RPC
        arguments = ["abc", "%%", "\\", NAN, INF, 1e308, -1, {"x": 1}, [1, "a"]]
        for model_name in self._addon_models():
            Model = self.env[model_name]
            record, second = records.get(model_name, (Model.browse(), Model.browse()))
            for name, method in sorted(self._addon_methods(Model).items()):
                parameters = [
                    parameter
                    for parameter in list(inspect.signature(method).parameters.values())[1:]
                    if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
                ]
                is_model = getattr(method, "_api_model", False)
                prefix = [] if is_model else [record.ids]
                required = {p.name: False for p in parameters if p.default is p.empty}
                calls = []
                if not is_model and name not in ("create", "write"):
                    for ids in (
                        [self.gone.get(model_name, 999_999_999)],
                        [self.other_company.get(model_name, 999_999_999)],
                        [],
                        (record | second).ids,
                        # a valid record: what the method answers must travel (no None)
                        record.ids,
                    ):
                        calls.append((f" on ids {ids}", [ids], required))
                for parameter in parameters:
                    for value in arguments:
                        calls.append(
                            (
                                f"({parameter.name}={_short(value)})",
                                prefix,
                                {**required, parameter.name: value},
                            )
                        )
                for label, args, kwargs in calls:
                    self._run(
                        result,
                        f"xmlrpc {model_name}.{name}{label}",
                        lambda m=model_name, n=name, a=args, k=kwargs: self._xmlrpc(
                            login, m, n, a, k
                        ),
                    )
            if not record or Model._abstract:
                continue
            # fields are written by who may write them (settings: an administrator)
            writer = targets.get(model_name, (login,))[0]
            for field in self._writable_fields(Model):
                for value in ("abc", NAN, "%%", [1, "a"]):
                    self._run(
                        result,
                        f"xmlrpc write {model_name}.{field.name}={_short(value)}",
                        lambda m=model_name, r=record, f=field, v=value, w=writer: self._xmlrpc(
                            w, m, "write", [r.ids, {f.name: v}]
                        ),
                        self._stored_as_sent(record, field, value),
                    )
        self._assert_sweep(result)
