# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    """Databases that used the addon before the step history get it from stage tracking."""
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["crm.sales.process.history"]._rebuild_from_tracking()
