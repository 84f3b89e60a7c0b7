from . import crm_sales_forecast_wizard
from . import crm_sales_process_calibration_wizard
