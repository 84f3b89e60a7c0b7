# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    """The step history's path columns (when each opportunity last left a step before a stay,
    whether it moved on from it), which the KPIs read instead of sorting every stay: computed
    once for the stays already there; the opportunities' writes keep them from then on."""
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["crm.sales.process.history"]._update_path_columns()
