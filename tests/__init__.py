from . import test_sales_process
from . import test_crm_lead_process
