from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestSmoke(TransactionCase):
    def test_demo(self):
        self.assertEqual(
            self.env.ref("crm_sales_process.crm_sales_process_five_step_demo").step_count, 5
        )
