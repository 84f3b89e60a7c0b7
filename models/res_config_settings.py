# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .crm_sales_process_checked_values import check_field_values

# The least value of the numeric settings
SETTING_MINIMUMS = {
    "sales_process_calibration_months": 1,
    "sales_process_calibration_min_sample": 1,
    "sales_process_forecast_pdf_detail_limit": 0,
    "sales_process_snapshot_keep": 1,
    "sales_process_response_target_hours": 1,
}
# The greatest: a calibration window of more than a century starts before the first date there
# is (the others are bounded by their integer column)
SETTING_MAXIMUMS = {"sales_process_calibration_months": 1200}


class ResConfigSettings(models.TransientModel):
    """The addon's settings (CRM › Configuration › Settings › Sales Processes), each kept as
    a system parameter and read back by ``_get_sales_process_setting``."""

    _inherit = "res.config.settings"

    sales_process_calibration_months = fields.Integer(
        string="Calibration Window (Months)",
        config_parameter="crm_sales_process.calibration_months",
        default=12,
        help="The observed percentage of a step counts the opportunities closed in the last "
        "this many months.",
    )
    sales_process_calibration_min_sample = fields.Integer(
        string="Minimum Closed Opportunities",
        config_parameter="crm_sales_process.calibration_min_sample",
        default=20,
        help="Apply Observed % is refused while a step has fewer closed opportunities in the "
        "calibration window.",
    )
    sales_process_forecast_pdf_detail_limit = fields.Integer(
        string="Forecast PDF Detail Limit",
        config_parameter="crm_sales_process.forecast_pdf_detail_limit",
        default=500,
        help="The forecast PDF lists the opportunities behind its figures up to this many "
        "(the spreadsheet lists them all).",
    )
    sales_process_response_target_hours = fields.Integer(
        string="Response Target (Hours)",
        config_parameter="crm_sales_process.response_target_hours",
        default=24,
        help="The response target of new sales processes: working hours from the creation of "
        "an opportunity to its first response.",
    )
    sales_process_stalled_reminder = fields.Boolean(
        string="Remind Stalled Opportunities",
        config_parameter="crm_sales_process.stalled_reminder",
        help="Every day, the salesperson (else the team leader) of each newly stalled "
        "opportunity gets a Stalled Opportunity activity.",
    )

    sales_process_snapshot_weekday = fields.Selection(
        [
            ("0", "Monday"),
            ("1", "Tuesday"),
            ("2", "Wednesday"),
            ("3", "Thursday"),
            ("4", "Friday"),
            ("5", "Saturday"),
            ("6", "Sunday"),
        ],
        string="Pipeline Snapshot Day",
        config_parameter="crm_sales_process.snapshot_weekday",
        default="0",
        help="Day of the week on which a snapshot of the pipeline is taken for the pipeline "
        "review.",
    )
    sales_process_snapshot_keep = fields.Integer(
        string="Pipeline Snapshots Kept",
        config_parameter="crm_sales_process.snapshot_keep",
        default=104,
        help="The weekly job keeps this many snapshots per company (104: two years) and "
        "deletes older ones.",
    )

    # Not the crm.sales.process.checked.values mixin: res.config.settings' own create reads
    # the values first, so the check must come before it in the MRO.
    @api.model_create_multi
    def create(self, vals_list):
        check_field_values(self, vals_list)
        return super().create(vals_list)

    def write(self, vals):
        check_field_values(self, vals)
        return super().write(vals)

    @api.constrains(*SETTING_MINIMUMS)
    def _check_sales_process_settings(self):
        for settings in self:
            for name, minimum in SETTING_MINIMUMS.items():
                value, maximum = settings[name], SETTING_MAXIMUMS.get(name)
                if value < minimum:
                    message = self.env._("%(setting)s must be at least %(minimum)s, not %(value)s.")
                elif maximum is not None and value > maximum:
                    message = self.env._("%(setting)s must be at most %(maximum)s, not %(value)s.")
                else:
                    continue
                raise ValidationError(
                    message
                    % {
                        "setting": self._fields[name]._description_string(self.env),
                        "minimum": minimum,
                        "maximum": maximum,
                        "value": value,
                    }
                )

    @api.model
    def _get_sales_process_setting(self, name):
        """The value of setting ``name`` (a field of this model) as saved, else its default.

        Read as the settings screen reads it; a value edited by hand in the system parameters
        that the setting does not accept counts as the default, rather than breaking the
        reports that read it.
        """
        value = self.default_get([name])[name]
        field = self._fields[name]
        if field.type == "integer" and not (
            SETTING_MINIMUMS[name] <= value <= SETTING_MAXIMUMS.get(name, value)
        ):
            return field.default(self)
        return value
