# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).


def post_init_hook(env):
    """Opportunities already on a process get their step history from the stage tracking."""
    env["crm.sales.process.history"]._rebuild_from_tracking()
