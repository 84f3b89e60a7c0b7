# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The opportunity's forecast category: how sure its salesperson is that it closes.

One owner, ``_compute_forecast_category``: entering a step gives the step's category, the
salesperson may change it (the field is editable) and the choice stays until the next change of
step; winning shows ``won``, losing (archiving) nothing. Opportunities without a process are in
``pipeline`` unless set by hand.
"""

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .crm_sales_process_step import FORECAST_CATEGORIES

# Categories an open opportunity may be in (won ones show "won", lost ones nothing)
OPEN_FORECAST_CATEGORIES = {key for key, _label in FORECAST_CATEGORIES}
# Figures of the forecast categories over the open pipeline: the categories each one sums (an
# opportunity without a category counts as pipeline). The one rule of the forecast wizard and
# of the analysis's KPIs (crm_sales_process_kpi_definitions.py).
CATEGORY_FIGURES = {
    "commit_revenue": {"commit"},
    "best_case_revenue": {"commit", "best_case"},
    "pipeline_revenue": {"commit", "best_case", "pipeline"},
}


class CrmLead(models.Model):
    _inherit = "crm.lead"

    forecast_category = fields.Selection(
        [*FORECAST_CATEGORIES, ("won", "Won")],
        compute="_compute_forecast_category",
        store=True,
        readonly=False,
        index=True,
        copy=False,
        help="Commit: will close in its period; Best Case: may close; Pipeline: open, not yet "
        "judged; Omitted: left out of the forecast. Set by the step on entry, then by the "
        "salesperson until the next step.",
    )

    # On the stage (winning moves it), not on won_status nor probability: a change of a step's
    # percentage recomputes the probability of its opportunities and must not reset the
    # categories chosen on them. Won as crm says it (won_status: the stage is read only at
    # 100 %, so bulk writes of open opportunities read no stage).
    @api.depends("sales_process_step_id", "stage_id", "active")
    def _compute_forecast_category(self):
        for lead in self:
            if not lead.active:
                lead.forecast_category = False
            elif lead.won_status == "won":
                lead.forecast_category = "won"
            elif lead.sales_process_step_id:
                lead.forecast_category = lead.sales_process_step_id.forecast_category
            elif lead.forecast_category not in OPEN_FORECAST_CATEGORIES:
                lead.forecast_category = "pipeline"

    @api.constrains("forecast_category", "stage_id", "active")
    def _check_forecast_category(self):
        """Won means won: only won opportunities are in ``won``, and they are in no other;
        lost (archived) ones are in none."""
        for lead in self:
            if not lead.active:
                expected_ok = not lead.forecast_category
            else:
                expected_ok = (lead.forecast_category == "won") == (lead.won_status == "won")
            if expected_ok:
                continue
            raise ValidationError(
                self.env._(
                    "“%(lead)s” cannot be in forecast category “%(category)s”: won opportunities "
                    "are in Won, open ones in Pipeline, Best Case, Commit or Omitted, lost or "
                    "archived ones in none.",
                    lead=lead.display_name,
                    category=dict(
                        self._fields["forecast_category"]._description_selection(self.env)
                    ).get(lead.forecast_category, lead.forecast_category),
                )
            )
