# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Shared test data, as chained classes on Odoo's BaseCommon (mail disabled, own company).

- SalesProcessBaseCommon: helpers only (salespeople, stages, processes).
- SalesProcessCommon: users of both sales groups, a team, a department, four stages and a
  second company.
- SalesProcessSampleCommon: two processes (one archived) for exports and reports.
- SalesProcessLeadCommon: processes and salespeople covering every default-process rule.

The tests build their own stages and processes so that they do not depend on demo data.
"""

import importlib.util
import subprocess
import tempfile
from pathlib import Path

from odoo.fields import Command
from odoo.tests import new_test_user

from odoo.addons.base.tests.common import BaseCommon


def run_poppler(tool, pdf, *args):
    """Output of a poppler tool (pdftotext, pdfinfo) on PDF bytes; pdftotext writes to stdout."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as pdf_file:
        pdf_file.write(pdf)
        pdf_file.flush()
        return subprocess.run(
            [tool, *args, pdf_file.name, *(["-"] if tool == "pdftotext" else [])],
            check=True,
            capture_output=True,
            text=True,
        ).stdout


def load_migration(version, name):
    """The module of a migration script of the addon (migrations/<version>/<name>.py)."""
    path = Path(__file__).resolve().parent.parent / "migrations" / version / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"crm_sales_process_migration_{version}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class SalesProcessBaseCommon(BaseCommon):
    """Helpers to build salespeople, stages and processes."""

    @classmethod
    def _create_salesperson(
        cls,
        login,
        name,
        groups="sales_team.group_sale_salesman",
        company=None,
        companies=None,
        department=None,
    ):
        """A user of ``company`` (default: the current one) allowed in ``companies`` (default:
        only that one), optionally an employee of ``department``."""
        company = company or cls.env.company
        user = new_test_user(
            cls.env,
            login=login,
            name=name,
            groups=groups,
            company_id=company.id,
            company_ids=[Command.set((companies or company).ids)],
        )
        if department:
            cls.env["hr.employee"].create(
                {
                    "name": name,
                    "user_id": user.id,
                    "department_id": department.id,
                    "company_id": company.id,
                }
            )
        return user

    @classmethod
    def _create_stages(cls, names, sequence, won=()):
        """Stages named ``names``, sequences from ``sequence`` on; names in ``won`` are won."""
        return cls.env["crm.stage"].create(
            [
                {"name": name, "sequence": sequence + index, "is_won": name in won}
                for index, name in enumerate(names)
            ]
        )

    @classmethod
    def _create_process(cls, name, steps=(), user=None, **vals):
        """A process with steps given as (stage, probability), in that order."""
        env = cls.env(user=user) if user else cls.env
        process = env["crm.sales.process"].create(
            {
                "name": name,
                "step_ids": [
                    Command.create(
                        {"stage_id": stage.id, "probability": probability, "sequence": seq}
                    )
                    for seq, (stage, probability) in enumerate(steps, start=1)
                ],
                **vals,
            }
        )
        # Stored computes are written at flush time, as the user who flushes: flush as the
        # creator so that "last modified by" is the creator, as in the web client.
        env.flush_all()
        return process.with_env(cls.env)

    @classmethod
    def _step(cls, process, stage):
        return process.step_ids.filtered(lambda step: step.stage_id == stage)


class SalesProcessCommon(SalesProcessBaseCommon):
    """Users of both sales groups, a team, a department, four stages, a second company."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = cls._create_salesperson(
            "sp_manager", "Mona Manager", groups="sales_team.group_sale_manager"
        )
        cls.other_manager = cls._create_salesperson(
            "sp_other_manager", "Otto Ole Olsen", groups="sales_team.group_sale_manager"
        )
        cls.salesman = cls._create_salesperson("sp_salesman", "Sam Sales")
        cls.team = cls.env["crm.team"].create({"name": "Team Nord"})
        cls.department = cls.env["hr.department"].create({"name": "Sales Nord"})
        cls.stage_lead, cls.stage_offer, cls.stage_verbal, cls.stage_won = cls._create_stages(
            ["SP Lead", "SP Offer", "SP Verbal", "SP Won"], 1001, won=["SP Won"]
        )
        cls.company_b = cls._create_company(name="Company B")
        cls.Process = cls.env["crm.sales.process"]

    @classmethod
    def _create_lead(cls, process, stage=None, **vals):
        """An opportunity following ``process``, in one of its steps' stages."""
        return cls.env["crm.lead"].create(
            {
                "name": f"Deal on {process.name}",
                "type": "opportunity",
                "sales_process_id": process.id,
                "stage_id": (stage or process.step_ids[:1].stage_id).id,
                **vals,
            }
        )

    @classmethod
    def _standard_steps(cls):
        """The simple model: 0 %, 50 %, 75 %, 100 % (won)."""
        return [
            (cls.stage_lead, 0),
            (cls.stage_offer, 50),
            (cls.stage_verbal, 75),
            (cls.stage_won, 100),
        ]


class SalesProcessSampleCommon(SalesProcessCommon):
    """Alpha Solution Sale (default for team Nord, a note, saved by the manager) and the
    archived Beta Quick Sale (12.5 %, won): what exports and reports show."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alpha = cls._create_process(
            "Alpha Solution Sale",
            cls._standard_steps(),
            note="Qualify with BANT first.",
            default_scope="team",
            default_team_ids=[Command.set(cls.team.ids)],
            user=cls.manager,
        )
        cls.beta = cls._create_process(
            "Beta Quick Sale",
            [(cls.stage_lead, 12.5), (cls.stage_won, 100)],
            active=False,
        )
        cls.processes = cls.alpha | cls.beta


class SalesProcessLeadCommon(SalesProcessBaseCommon):
    """Processes and salespeople covering every default-process rule.

    Company "main" (the current company):
    - Direct Sale (user rule for Anna): Lead In 0 %, Meeting 30 %, Offer 60 %, Signed 100 %;
      its steps are ordered differently from the stages' own sequence.
    - Team Sale (team rule for team North): Lead In 10 %, Offer 40 %, Signed 100 %.
    - Department Sale (department rule for Field Sales): Lead In 0 %, Offer 50 %, Signed 100 %.
    - Everyone's Sale (scope "all"): Lead In 5 %, Signed 100 %.
    Company "other": Other Sale (scope "all"): Lead In 20 %, Signed 100 %.

    Salespeople: Anna (team North, Field Sales), Bert (team North, Field Sales), Carl (Field
    Sales, no team), Dina (nothing; also in company other).
    """

    @classmethod
    def default_env_context(cls):
        # Opportunities keep their chatter and tracking, as in use: tests read them.
        return {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_other = cls._create_company(name="Other Company")
        # Stage sequences differ from step order on purpose (Offer first).
        names = ["SP Offer", "SP Lead In", "SP Meeting", "SP Signed", "SP Outside"]
        stages = cls._create_stages(names, 901, won=["SP Signed"])
        cls.stage_offer, cls.stage_lead_in, cls.stage_meeting = stages[:3]
        cls.stage_signed, cls.stage_outside = stages[3:]
        cls.department = cls.env["hr.department"].create({"name": "Field Sales"})
        cls.department_other = cls.env["hr.department"].create(
            {"name": "Field Sales Other", "company_id": cls.company_other.id}
        )
        cls.user_anna, cls.user_bert, cls.user_carl = (
            cls._create_salesperson(login, name, department=cls.department)
            for login, name in (("sp_anna", "Anna"), ("sp_bert", "Bert"), ("sp_carl", "Carl"))
        )
        cls.user_dina = cls._create_salesperson(
            "sp_dina", "Dina", companies=cls.company | cls.company_other
        )
        cls.team_north = cls.env["crm.team"].create({"name": "North", "company_id": cls.company.id})
        cls.team_north.member_ids = cls.user_anna | cls.user_bert

        cls.process_user = cls._create_process(
            "Direct Sale",
            [
                (cls.stage_lead_in, 0),
                (cls.stage_meeting, 30),
                (cls.stage_offer, 60),
                (cls.stage_signed, 100),
            ],
            default_scope="user",
            default_user_ids=[Command.set(cls.user_anna.ids)],
        )
        cls.process_team = cls._create_process(
            "Team Sale",
            [(cls.stage_lead_in, 10), (cls.stage_offer, 40), (cls.stage_signed, 100)],
            default_scope="team",
            default_team_ids=[Command.set(cls.team_north.ids)],
        )
        cls.process_department = cls._create_process(
            "Department Sale",
            [(cls.stage_lead_in, 0), (cls.stage_offer, 50), (cls.stage_signed, 100)],
            default_scope="department",
            default_department_ids=[Command.set(cls.department.ids)],
        )
        cls.process_all = cls._create_process(
            "Everyone's Sale",
            [(cls.stage_lead_in, 5), (cls.stage_signed, 100)],
            default_scope="all",
        )
        cls.process_other = cls._create_process(
            "Other Sale",
            [(cls.stage_lead_in, 20), (cls.stage_signed, 100)],
            default_scope="all",
            company_id=cls.company_other.id,
        )

    def _create_lead(self, user=None, **values):
        values.setdefault("name", "Deal")
        values.setdefault("type", "opportunity")
        if user is not None:
            values.setdefault("user_id", user.id)
        return self.env["crm.lead"].create(values)
