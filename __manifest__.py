# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "CRM Sales Processes",
    "summary": "Structured sales processes: ordered steps with fixed probabilities, "
    "default processes per salesperson, team or department, pipeline forecast",
    "version": "19.0.3.0.0",
    "category": "Sales/CRM",
    "website": "https://github.com/crm-sales-process/crm_sales_process",
    "author": "crm_sales_process authors",
    "maintainers": ["crm-sales-process"],
    "license": "LGPL-3",
    "development_status": "Beta",
    "application": False,
    "depends": ["crm", "hr"],
    "external_dependencies": {"python": ["xlsxwriter"]},
    "data": [
        "security/ir.model.access.csv",
        "security/crm_sales_process_security.xml",
        "security/crm_sales_forecast_wizard_security.xml",
        "security/crm_sales_forecast_snapshot_security.xml",
        "data/ir_config_parameter_data.xml",
        "data/mail_activity_type_data.xml",
        "data/ir_cron_data.xml",
        "views/crm_sales_process_history_views.xml",
        "views/crm_sales_process_step_views.xml",
        "views/crm_sales_process_views.xml",
        "views/crm_lead_views.xml",
        "views/crm_sales_process_analysis_views.xml",
        "report/crm_sales_process_reports.xml",
        "report/crm_sales_process_templates.xml",
        "report/crm_sales_forecast_reports.xml",
        "report/crm_sales_forecast_templates.xml",
        "report/crm_sales_process_analysis_reports.xml",
        "report/crm_sales_process_analysis_templates.xml",
        "report/crm_sales_forecast_review_reports.xml",
        "report/crm_sales_forecast_review_templates.xml",
        "wizards/crm_sales_forecast_wizard_views.xml",
        "wizards/crm_sales_process_calibration_wizard_views.xml",
        "views/crm_lead_forecast_views.xml",
        "views/crm_sales_forecast_snapshot_views.xml",
        "views/crm_sales_forecast_snapshot_review_views.xml",
        "views/res_config_settings_views.xml",
        "views/crm_sales_process_menus.xml",
    ],
    "demo": [
        "demo/crm_sales_process_demo.xml",
        "demo/crm_sales_process_step_activity_demo.xml",
        "demo/crm_sales_process_history_demo.xml",
    ],
    "post_init_hook": "post_init_hook",
    "assets": {
        "web.assets_backend": [
            "crm_sales_process/static/src/sales_process_analysis/*",
            "crm_sales_process/static/src/pipeline_review/*",
        ],
        # Print > Sales Processes: the only sheet of its PDF; in the report bundle too for its
        # HTML preview
        "crm_sales_process.report_assets_process": [
            "crm_sales_process/static/src/report/process_report.css",
        ],
        "web.report_assets_common": [
            "crm_sales_process/static/src/report/process_report.css",
        ],
        "web.assets_tests": [
            "crm_sales_process/static/tests/tours/*.js",
        ],
    },
}
