# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    """Opportunities without a process lose the bogus step percentage of earlier versions."""
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["crm.lead"]._recompute_sales_process_percentage()
