# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.fields import Command
from odoo.tests import TransactionCase, new_test_user


class SalesProcessLeadCommon(TransactionCase):
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
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.company_other = cls.env["res.company"].create({"name": "Other Company"})
        Stage = cls.env["crm.stage"]
        # Stage sequences differ from step order on purpose (Offer first).
        cls.stage_offer = Stage.create({"name": "SP Offer", "sequence": 901})
        cls.stage_lead_in = Stage.create({"name": "SP Lead In", "sequence": 903})
        cls.stage_meeting = Stage.create({"name": "SP Meeting", "sequence": 904})
        cls.stage_signed = Stage.create({"name": "SP Signed", "sequence": 905, "is_won": True})
        cls.stage_outside = Stage.create({"name": "SP Outside", "sequence": 906})

        cls.department = cls.env["hr.department"].create({"name": "Field Sales"})
        cls.department_other = cls.env["hr.department"].create(
            {"name": "Field Sales Other", "company_id": cls.company_other.id}
        )
        groups = "sales_team.group_sale_salesman"
        companies = {"company_id": cls.company.id, "company_ids": [Command.set(cls.company.ids)]}
        cls.user_anna = new_test_user(cls.env, "sp_anna", groups, name="Anna", **companies)
        cls.user_bert = new_test_user(cls.env, "sp_bert", groups, name="Bert", **companies)
        cls.user_carl = new_test_user(cls.env, "sp_carl", groups, name="Carl", **companies)
        cls.user_dina = new_test_user(
            cls.env,
            "sp_dina",
            groups,
            name="Dina",
            company_id=cls.company.id,
            company_ids=[Command.set((cls.company | cls.company_other).ids)],
        )
        cls.team_north = cls.env["crm.team"].create({"name": "North", "company_id": cls.company.id})
        cls.team_north.member_ids = cls.user_anna | cls.user_bert
        Employee = cls.env["hr.employee"]
        for user in cls.user_anna | cls.user_bert | cls.user_carl:
            Employee.create(
                {"name": user.name, "user_id": user.id, "department_id": cls.department.id}
            )

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

    @classmethod
    def _create_process(cls, name, steps, **values):
        return cls.env["crm.sales.process"].create(
            {
                "name": name,
                "step_ids": [
                    Command.create(
                        {"sequence": index, "stage_id": stage.id, "probability": probability}
                    )
                    for index, (stage, probability) in enumerate(steps, start=1)
                ],
                **values,
            }
        )

    @classmethod
    def _step(cls, process, stage):
        return process.step_ids.filtered(lambda step: step.stage_id == stage)

    def _create_lead(self, user=None, **values):
        values.setdefault("name", "Deal")
        values.setdefault("type", "opportunity")
        if user is not None:
            values.setdefault("user_id", user.id)
        return self.env["crm.lead"].create(values)
