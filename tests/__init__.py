from . import test_sales_process
