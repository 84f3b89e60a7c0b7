from . import crm_sales_process
from . import crm_sales_process_step
from . import crm_sales_process_step_activity
from . import mail_activity
from . import crm_sales_process_history
from . import crm_lead
from . import crm_sales_process_analysis
from . import ir_actions_report
