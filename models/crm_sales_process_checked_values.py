# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models

from .tools import check_field_values


class CrmSalesProcessCheckedValues(models.AbstractModel):
    """Values of the wrong type or range are refused with a clear error before saving (see
    tools.check_field_values), for the addon's models that need nothing else there."""

    _name = "crm.sales.process.checked.values"
    _description = "Sales Process Values Checked Before Saving"

    @api.model_create_multi
    def create(self, vals_list):
        check_field_values(self, vals_list)
        return super().create(vals_list)

    def write(self, vals):
        check_field_values(self, vals)
        return super().write(vals)
