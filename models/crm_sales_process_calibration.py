# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Calibration: the steps' fixed percentages set to what the closed opportunities show."""

from dateutil.relativedelta import relativedelta
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare

from .tools import ensure_one_record, format_percentage


class CrmSalesProcess(models.Model):
    _inherit = "crm.sales.process"

    def action_apply_observed_probabilities(self):
        """Confirmation dialog: each step's percentage → its observed one (managers)."""
        ensure_one_record(self)
        self.check_access("write")
        self._check_calibration_sample()
        wizard = self.env["crm.sales.process.calibration.wizard"].create({"process_id": self.id})
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Apply Observed Percentages"),
            "res_model": wizard._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }

    @api.model
    def _get_calibration_months(self):
        return self.env["res.config.settings"]._get_sales_process_setting(
            "sales_process_calibration_months"
        )

    @api.model
    def _get_calibration_min_sample(self):
        return self.env["res.config.settings"]._get_sales_process_setting(
            "sales_process_calibration_min_sample"
        )

    @api.model
    def _get_calibration_date_from(self):
        """First day of the calibration window (the last N months, today included)."""
        return fields.Date.context_today(self) - relativedelta(
            months=self._get_calibration_months()
        )

    def _get_observed_percentages(self):
        """[(step, current %, observed % rounded, closed sample)] in step order; won steps
        stay at 100 %."""
        self.ensure_one()
        kpis = self.get_kpis(date_from=self._get_calibration_date_from())[0]
        by_step = {values["step_id"]: values for values in kpis["steps"]}
        result = []
        for step in self._get_ordered_steps():
            values = by_step.get(step.id, {})
            observed = 100.0 if step.is_won else float(round(values.get("win_rate_from_step", 0)))
            result.append((step, step.probability, observed, values.get("closed_count", 0)))
        return result

    def _check_calibration_sample(self):
        """Refuse calibrating on too few closed opportunities (threshold: system parameter)."""
        self.ensure_one()
        threshold = self._get_calibration_min_sample()
        short = [
            (step, sample)
            for step, _current, _observed, sample in self._get_observed_percentages()
            if not step.is_won and sample < threshold
        ]
        if short:
            raise UserError(
                self.env._(
                    "The observed percentages of “%(process)s” rest on too few closed "
                    "opportunities: each step needs at least %(threshold)s in the last "
                    "%(months)s months. Too few on: %(steps)s. Nothing was changed.",
                    process=self.display_name,
                    threshold=threshold,
                    months=self._get_calibration_months(),
                    steps=", ".join(
                        self.env._("%(step)s (%(count)s)", step=step.name, count=sample)
                        for step, sample in short
                    ),
                )
            )

    def _apply_observed_percentages(self, percentages=None):
        """Set each step's percentage to the observed one and log it in the chatter.

        ``percentages`` ({step: new percentage}) are the values the user confirmed; without
        them the observed ones are read now. The step write realigns the open opportunities.
        """
        self.ensure_one()
        self._check_calibration_sample()
        if percentages is None:
            percentages = {
                step: observed
                for step, _current, observed, _sample in self._get_observed_percentages()
            }
        changes = [
            (step, step.probability, observed)
            for step, observed in percentages.items()
            if float_compare(step.probability, observed, precision_digits=2)
        ]
        if not changes:
            return False
        for step, _current, observed in changes:
            step.probability = observed
        lines = Markup("").join(
            Markup("<li>%s</li>")
            % self.env._(
                "%(step)s: %(old)s %% → %(new)s %%",
                step=step.name,
                old=format_percentage(self.env, current),
                new=format_percentage(self.env, observed),
            )
            for step, current, observed in changes
        )
        self.message_post(
            body=Markup("<p>%s</p><ul>%s</ul>")
            % (
                self.env._("Step percentages set to the observed ones:"),
                lines,
            ),
            subtype_xmlid="mail.mt_note",
        )
        return True
