# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).


def migrate(cr, version):
    """Less to write per stay and per opportunity (bulk moves and imports):

    - the step history's process is now read from its step: its column goes, with its
      foreign key, index and NOT NULL (which would refuse every new stay);
    - the opportunities' department has no index any more (Odoo keeps an index a field no
      longer asks for).
    """
    if not version:
        return
    cr.execute("ALTER TABLE IF EXISTS crm_sales_process_history DROP COLUMN IF EXISTS process_id")
    cr.execute(
        "DELETE FROM ir_model_constraint WHERE name = 'crm_sales_process_history_process_id_fkey'"
    )
    cr.execute("DROP INDEX IF EXISTS crm_lead__department_id_index")
