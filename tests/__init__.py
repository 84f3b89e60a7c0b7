from . import test_sales_process
from . import test_sales_process_search
from . import test_sales_process_export
from . import test_sales_process_report
from . import test_sales_process_ui
from . import test_crm_lead_process
from . import test_forecast
from . import test_forecast_ui
