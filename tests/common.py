# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import subprocess
import tempfile

from odoo.fields import Command
from odoo.tests import TransactionCase, new_test_user


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


class SalesProcessCommon(TransactionCase):
    """Users of both sales groups, own stages and a helper to build processes and leads.

    The tests build their own stages and processes so that they do not depend on demo data.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(
            context=dict(
                cls.env.context, tracking_disable=True, mail_create_nolog=True, mail_notrack=True
            )
        )
        cls.company = cls.env.company
        cls.manager = new_test_user(
            cls.env,
            "sp_manager",
            groups="sales_team.group_sale_manager",
            name="Mona Manager",
        )
        cls.other_manager = new_test_user(
            cls.env,
            "sp_other_manager",
            groups="sales_team.group_sale_manager",
            name="Otto Ole Olsen",
        )
        cls.salesman = new_test_user(
            cls.env,
            "sp_salesman",
            groups="sales_team.group_sale_salesman",
            name="Sam Sales",
        )
        cls.team = cls.env["crm.team"].create({"name": "Team Nord"})
        cls.department = cls.env["hr.department"].create({"name": "Sales Nord"})
        Stage = cls.env["crm.stage"]
        cls.stage_lead = Stage.create({"name": "SP Lead", "sequence": 1001})
        cls.stage_offer = Stage.create({"name": "SP Offer", "sequence": 1002})
        cls.stage_verbal = Stage.create({"name": "SP Verbal", "sequence": 1003})
        cls.stage_won = Stage.create({"name": "SP Won", "sequence": 1004, "is_won": True})
        cls.Process = cls.env["crm.sales.process"]

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
        """The seed's simple model: 0 %, 50 %, 75 %, 100 % (won)."""
        return [
            (cls.stage_lead, 0),
            (cls.stage_offer, 50),
            (cls.stage_verbal, 75),
            (cls.stage_won, 100),
        ]
