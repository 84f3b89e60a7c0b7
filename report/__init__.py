from . import abstract_xlsx
from . import crm_sales_forecast_report
from . import crm_sales_forecast_xlsx
from . import crm_sales_process_report
from . import crm_sales_process_xlsx
from . import crm_sales_process_analysis_report
from . import crm_sales_process_analysis_xlsx
from . import crm_sales_forecast_review_xlsx
