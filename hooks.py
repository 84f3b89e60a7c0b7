# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Install-time code: the step history of existing opportunities, and the demo's past."""

from datetime import datetime, time, timedelta

from odoo import Command, fields
from odoo.tools import SQL

# The demo opportunities' past (demo/crm_sales_process_history_demo.xml creates them in their
# final state): (opportunity, [(step, entered days ago), ...], closed days ago or False), by
# XML id (crm_lead_<name>_demo, crm_sales_process_<name>_demo). Payroll Outsourcing
# (seven_step_analysis) has been on its step for 40 days, past its 30 stall days: stalled.
DEMO_HISTORY = [
    ("five_step_new", [("five_step_new", 12)], False),
    (
        "five_step_contact",
        [
            ("five_step_new", 31),
            ("five_step_contact", 18),
        ],
        False,
    ),
    (
        "five_step_offer",
        [
            ("five_step_new", 52),
            ("five_step_contact", 41),
            ("five_step_offer", 20),
        ],
        False,
    ),
    (
        "five_step_acceptance",
        [
            ("five_step_new", 73),
            ("five_step_contact", 61),
            ("five_step_offer", 36),
            ("five_step_acceptance", 9),
        ],
        False,
    ),
    (
        "five_step_won",
        [
            ("five_step_new", 96),
            ("five_step_contact", 81),
            ("five_step_offer", 63),
            ("five_step_acceptance", 51),
            ("five_step_won", 44),
        ],
        False,
    ),
    (
        "five_step_lost",
        [
            ("five_step_new", 62),
            ("five_step_contact", 49),
        ],
        33,
    ),
    ("seven_step_needs", [("seven_step_needs", 10)], False),
    (
        "seven_step_contact",
        [
            ("seven_step_needs", 26),
            ("seven_step_contact", 11),
        ],
        False,
    ),
    (
        "seven_step_qualified",
        [
            ("seven_step_needs", 47),
            ("seven_step_contact", 38),
            ("seven_step_qualified", 17),
        ],
        False,
    ),
    (
        "seven_step_analysis",
        [
            ("seven_step_needs", 78),
            ("seven_step_contact", 69),
            ("seven_step_qualified", 57),
            ("seven_step_analysis", 40),
        ],
        False,
    ),
    (
        "seven_step_negotiation",
        [
            ("seven_step_needs", 82),
            ("seven_step_contact", 71),
            ("seven_step_qualified", 58),
            ("seven_step_analysis", 41),
            ("seven_step_negotiation", 16),
        ],
        False,
    ),
    (
        "seven_step_closing",
        [
            ("seven_step_needs", 104),
            ("seven_step_contact", 90),
            ("seven_step_qualified", 76),
            ("seven_step_analysis", 53),
            ("seven_step_negotiation", 31),
            ("seven_step_closing", 6),
        ],
        False,
    ),
    (
        "five_step_history_1",
        [
            ("five_step_new", 170),
            ("five_step_contact", 158),
            ("five_step_offer", 140),
            ("five_step_acceptance", 128),
            ("five_step_won", 121),
        ],
        False,
    ),
    (
        "five_step_history_2",
        [
            ("five_step_new", 160),
            ("five_step_contact", 150),
        ],
        139,
    ),
    (
        "five_step_history_3",
        [
            ("five_step_new", 150),
            ("five_step_contact", 141),
            ("five_step_offer", 119),
            ("five_step_acceptance", 104),
            ("five_step_won", 98),
        ],
        False,
    ),
    (
        "five_step_history_4",
        [
            ("five_step_new", 138),
            ("five_step_contact", 126),
            ("five_step_offer", 104),
        ],
        86,
    ),
    (
        "five_step_history_5",
        [
            ("five_step_new", 124),
            ("five_step_contact", 115),
            ("five_step_offer", 96),
            ("five_step_acceptance", 88),
            ("five_step_won", 83),
        ],
        False,
    ),
    ("five_step_history_6", [("five_step_new", 112)], 105),
    (
        "five_step_history_7",
        [
            ("five_step_new", 100),
            ("five_step_contact", 92),
            ("five_step_offer", 71),
            ("five_step_contact", 66),
            ("five_step_offer", 58),
            ("five_step_acceptance", 47),
            ("five_step_won", 40),
        ],
        False,
    ),
    (
        "five_step_history_8",
        [
            ("five_step_new", 84),
            ("five_step_contact", 75),
            ("five_step_offer", 57),
            ("five_step_acceptance", 45),
        ],
        37,
    ),
    (
        "five_step_history_9",
        [
            ("five_step_new", 66),
            ("five_step_contact", 59),
            ("five_step_offer", 44),
            ("five_step_acceptance", 30),
            ("five_step_won", 24),
        ],
        False,
    ),
    (
        "five_step_history_10",
        [
            ("five_step_new", 45),
            ("five_step_contact", 38),
        ],
        19,
    ),
    (
        "seven_step_history_1",
        [
            ("seven_step_needs", 180),
            ("seven_step_contact", 171),
            ("seven_step_qualified", 160),
            ("seven_step_analysis", 139),
            ("seven_step_negotiation", 118),
            ("seven_step_closing", 104),
            ("seven_step_after_sale", 97),
        ],
        False,
    ),
    (
        "seven_step_history_2",
        [
            ("seven_step_needs", 172),
            ("seven_step_contact", 165),
            ("seven_step_qualified", 150),
        ],
        141,
    ),
    (
        "seven_step_history_3",
        [
            ("seven_step_needs", 158),
            ("seven_step_contact", 150),
            ("seven_step_qualified", 139),
            ("seven_step_analysis", 121),
            ("seven_step_negotiation", 101),
        ],
        92,
    ),
    (
        "seven_step_history_4",
        [
            ("seven_step_needs", 146),
            ("seven_step_contact", 137),
            ("seven_step_qualified", 124),
            ("seven_step_analysis", 103),
            ("seven_step_negotiation", 80),
            ("seven_step_closing", 66),
            ("seven_step_after_sale", 60),
        ],
        False,
    ),
    (
        "seven_step_history_5",
        [
            ("seven_step_needs", 131),
            ("seven_step_contact", 124),
        ],
        117,
    ),
    (
        "seven_step_history_6",
        [
            ("seven_step_needs", 120),
            ("seven_step_contact", 113),
            ("seven_step_qualified", 99),
            ("seven_step_analysis", 80),
        ],
        70,
    ),
    (
        "seven_step_history_7",
        [
            ("seven_step_needs", 103),
            ("seven_step_contact", 94),
            ("seven_step_qualified", 82),
            ("seven_step_analysis", 63),
            ("seven_step_qualified", 57),
            ("seven_step_analysis", 49),
            ("seven_step_negotiation", 35),
            ("seven_step_closing", 22),
            ("seven_step_after_sale", 17),
        ],
        False,
    ),
    (
        "seven_step_history_8",
        [
            ("seven_step_needs", 88),
            ("seven_step_contact", 80),
            ("seven_step_qualified", 67),
            ("seven_step_analysis", 50),
            ("seven_step_negotiation", 34),
            ("seven_step_closing", 20),
        ],
        12,
    ),
    (
        "seven_step_history_9",
        [
            ("seven_step_needs", 70),
            ("seven_step_contact", 62),
            ("seven_step_qualified", 51),
            ("seven_step_analysis", 38),
            ("seven_step_negotiation", 24),
            ("seven_step_closing", 13),
            ("seven_step_after_sale", 8),
        ],
        False,
    ),
    ("seven_step_history_10", [("seven_step_needs", 52)], 44),
]


def post_init_hook(env):
    """Opportunities already on a process get their step history from the stage tracking
    and their first response; with the demo data, the demo opportunities get months of
    history."""
    env["crm.sales.process.history"]._rebuild_from_tracking()
    if env.ref(f"crm_sales_process.crm_lead_{DEMO_HISTORY[0][0]}_demo", raise_if_not_found=False):
        _load_demo_history(env)
        _load_demo_snapshots(env)
    # their first responses (time to respond), from their past
    env["crm.lead"]._backfill_sales_process_responses()


def _load_demo_history(env):
    """Replace the stays written when the demo opportunities were created (all "now") by
    their DEMO_HISTORY, and move their creation, closing and last stage dates along, so that
    the Sales Process Analysis shows months of figures right after install."""
    env = env(su=True)
    History = env["crm.sales.process.history"]
    Lead = env["crm.lead"].with_context(active_test=False)
    now = fields.Datetime.now().replace(microsecond=0)
    paths = [
        (
            env.ref(f"crm_sales_process.crm_lead_{lead}_demo").with_env(Lead.env),
            [
                (env.ref(f"crm_sales_process.crm_sales_process_{step}_demo"), days)
                for step, days in steps
            ],
            closed,
        )
        for lead, steps, closed in DEMO_HISTORY
    ]
    leads = Lead.browse([lead.id for lead, _steps, _closed in paths])
    History.search([("lead_id", "in", leads.ids)]).unlink()
    stays, lead_dates = [], []
    for lead, steps, closed_days in paths:
        dates = [now - timedelta(days=days, hours=lead.id % 7) for _step, days in steps]
        date_closed = now - timedelta(days=closed_days) if closed_days is not False else None
        stays += _prepare_demo_stays(lead, steps, dates, date_closed or now)
        if date_closed is None and lead.won_status == "won":
            date_closed = dates[-1]
        lead_dates.append((lead.id, dates[0], dates[-1], date_closed))
    History.create(stays)
    _create_demo_key_activities(env, stays)
    env.flush_all()
    # the creation date is the ORM's: set in SQL
    for lead_id, date_created, date_last_stage, date_closed in lead_dates:
        env.cr.execute(
            SQL(
                "UPDATE crm_lead SET create_date = %s, date_open = %s,"
                " date_last_stage_update = %s, date_closed = %s WHERE id = %s",
                date_created,
                date_created,
                date_last_stage,
                date_closed,
                lead_id,
            )
        )
    fnames = ["create_date", "date_open", "date_last_stage_update", "date_closed"]
    Lead.invalidate_model(fnames)
    # Stored figures derived from these dates (days to assign, days to close)
    leads.modified(fnames)
    # Closed opportunities were created on their last step, which scheduled its key
    # activities: a deal closed months ago has nothing left to do.
    closed = leads.filtered(lambda lead: not lead.active or lead.won_status == "won")
    env["mail.activity"].search(
        [
            ("res_model", "=", "crm.lead"),
            ("res_id", "in", closed.ids),
            ("sales_process_step_activity_id", "!=", False),
        ]
    ).unlink()
    env.flush_all()


def _create_demo_key_activities(env, stays):
    """The key activities of the demo's past stays, done: most on time, one in four late, so
    that cadence compliance and the steps' win rates on time and late have figures."""
    today = fields.Date.context_today(env.user)
    Step = env["crm.sales.process.step"]
    model_id = env["ir.model"]._get_id("crm.lead")
    values, done_dates = [], []
    for stay in stays:
        if not stay["date_out"]:
            continue
        for template in Step.browse(stay["step_id"]).key_activity_ids:
            deadline = stay["date_in"].date() + timedelta(days=template.delay_days)
            if (stay["lead_id"] + template.id) % 4:
                done = datetime.combine(deadline - timedelta(days=1), time(10))
            else:
                done = datetime.combine(deadline + timedelta(days=2), time(10))
            # done a few hours after entering the step at the earliest
            done = max(done, stay["date_in"] + timedelta(hours=3))
            if done.date() > today:
                continue
            values.append(
                {
                    "res_model_id": model_id,
                    "res_id": stay["lead_id"],
                    "activity_type_id": template.activity_type_id.id,
                    "summary": template.summary,
                    "user_id": stay["user_id"] or env.user.id,
                    "date_deadline": deadline,
                    "automated": True,
                    "sales_process_step_id": stay["step_id"],
                    "sales_process_step_activity_id": template.id,
                    "active": False,
                }
            )
            done_dates.append(done)
    activities = env["mail.activity"].with_context(mail_activity_quick_update=True).create(values)
    env.flush_all()
    # mail computes the done date "today" and the ORM writes the write date: set in SQL, in
    # one statement (the write date of a done activity is when it was done, see
    # crm_lead_response)
    env.cr.execute(
        SQL(
            """
            UPDATE mail_activity activity
               SET date_done = done.moment::date, write_date = done.moment
              FROM (SELECT UNNEST(%s::int[]) AS id, UNNEST(%s::timestamp[]) AS moment) done
             WHERE activity.id = done.id
            """,
            activities.ids,
            done_dates,
        )
    )
    activities.invalidate_recordset(["date_done", "write_date"])


def _prepare_demo_stays(lead, steps, dates, date_lost):
    """The stays of one demo opportunity: one per step of its path, entered on ``dates``."""
    stays = []
    for index, (step, _days) in enumerate(steps):
        date_out = exit_reason = False
        if index + 1 < len(steps):
            next_step = steps[index + 1][0]
            date_out = dates[index + 1]
            if next_step.is_won:
                exit_reason = "won"
            else:
                exit_reason = "forward" if next_step.number > step.number else "backward"
        elif not lead.active:
            date_out, exit_reason = date_lost, "lost"
        stays.append(
            {
                "lead_id": lead.id,
                "step_id": step.id,
                "date_in": dates[index],
                "date_out": date_out,
                "exit_reason": exit_reason,
                "user_id": lead.user_id.id,
                "team_id": lead.team_id.id,
                "department_id": lead.department_id.id,
                "expected_revenue": lead.expected_revenue,
                "probability": step.probability,
            }
        )
    return stays


def _load_demo_snapshots(env):
    """A year of weekly pipeline snapshots of the demo, as the step history says the
    opportunities were each week (on which step, hence which percentage and category), and
    one of today's pipeline: the Pipeline Review has something to show right after install."""
    env = env(su=True)
    Lead = env["crm.lead"].with_context(active_test=False)
    leads = Lead.search([("type", "=", "opportunity"), ("sales_process_id", "!=", False)])
    stays = env["crm.sales.process.history"].search([("lead_id", "in", leads.ids)])
    stays_by_lead = stays.sorted("date_in").grouped("lead_id")
    # crm's own demo opportunities (no process) still open: in the pipeline since they opened,
    # as they are now, so that today's snapshot continues the trend
    stock_leads = Lead.search(
        [
            ("type", "=", "opportunity"),
            ("sales_process_id", "=", False),
            ("active", "=", True),
            ("won_status", "=", "pending"),
        ]
    )
    now = fields.Datetime.now().replace(microsecond=0, second=0)
    Snapshot = env["crm.sales.forecast.snapshot"]
    for company, company_leads in (leads | stock_leads).grouped("company_id").items():
        if not company:
            continue
        values = []
        for weeks in range(52, 0, -1):
            date = now - timedelta(weeks=weeks)
            lines = [
                _prepare_demo_snapshot_line(lead, stay)
                for lead in company_leads & leads
                for stay in stays_by_lead.get(lead, stays.browse())
                if stay.date_in <= date
                and (not stay.date_out or stay.date_out > date)
                and not stay.step_id.is_won
            ] + [
                _prepare_demo_stock_snapshot_line(lead)
                for lead in company_leads & stock_leads
                if (lead.date_open or lead.create_date) <= date
            ]
            if not lines and not values:
                continue  # before the demo's history
            values.append(
                {
                    "date": date,
                    "company_id": company.id,
                    "line_ids": [Command.create(line) for line in lines],
                    "line_count": len(lines),
                    "pipeline_value": sum(line["expected_revenue"] for line in lines),
                    "weighted_value": sum(line["weighted_revenue"] for line in lines),
                }
            )
        Snapshot.create(values)
        Snapshot.with_context(allowed_company_ids=company.ids).take_snapshot()


def _prepare_demo_stock_snapshot_line(lead):
    """The snapshot line of an open demo opportunity without a process, as it is now."""
    return {
        "lead_id": lead.id,
        "user_id": lead.user_id.id,
        "team_id": lead.team_id.id,
        "department_id": lead.department_id.id,
        "stage_id": lead.stage_id.id,
        "expected_revenue": lead.expected_revenue,
        "probability": lead.probability,
        "automated_probability": lead.automated_probability,
        "forecast_category": lead.forecast_category or "pipeline",
        "date_deadline": lead.date_deadline,
        "weighted_revenue": lead.company_id.currency_id.round(
            lead.expected_revenue * lead.probability / 100
        ),
    }


def _prepare_demo_snapshot_line(lead, stay):
    """The snapshot line of a demo opportunity during one of its stays."""
    step = stay.step_id
    return {
        "lead_id": lead.id,
        "user_id": lead.user_id.id,
        "team_id": lead.team_id.id,
        "department_id": lead.department_id.id,
        "sales_process_id": step.process_id.id,
        "sales_process_step_id": step.id,
        "stage_id": step.stage_id.id,
        "expected_revenue": lead.expected_revenue,
        "probability": step.probability,
        "automated_probability": step.probability,
        "forecast_category": step.forecast_category,
        "date_deadline": lead.date_deadline,
        "weighted_revenue": lead.company_id.currency_id.round(
            lead.expected_revenue * step.probability / 100
        ),
    }
