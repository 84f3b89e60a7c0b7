from . import test_sales_process
from . import test_forecast
