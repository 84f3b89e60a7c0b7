from . import crm_sales_forecast_report
from . import crm_sales_process_report
from . import crm_sales_process_analysis_report
