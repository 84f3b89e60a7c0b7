// Copyright 2026 crm_sales_process authors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

/**
 * CRM > Reporting > Pipeline Review in a browser: the two snapshots it compares by default,
 * narrowed to one salesperson; the waterfall and its table; a change opens its opportunities.
 * Data and expected figures: tests/test_pipeline_review_ui.py.
 */
registry.category("web_tour.tours").add("crm_sales_process_pipeline_review_tour", {
    steps: () => [
        ...stepUtils.goToAppSteps("crm.crm_menu_root", "Open CRM"),
        {
            trigger: ".o_main_navbar [data-menu-xmlid='crm.crm_menu_report']",
            content: "Open Reporting",
            run: "click",
        },
        {
            trigger:
                ".dropdown-item[data-menu-xmlid='crm_sales_process.crm_sales_forecast_snapshot_menu_review']",
            content: "Open the Pipeline Review",
            run: "click",
        },
        {
            trigger: ".o_csp_review .o_csp_changes",
            content: "The review compares two snapshots",
        },
        {
            trigger: ".o_csp_filter_user",
            content: "Only Rita Review's opportunities",
            run: "selectByLabel Rita Review",
        },
        {
            trigger: ".o_csp_start_value:contains('3,000')",
            content: "Start: 1,000 + 2,000",
        },
        {
            trigger: ".o_csp_end_value:contains('2,200')",
            content: "End: 1,500 + 700",
        },
        {
            trigger: ".o_csp_change_new .o_csp_change_value:contains('700')",
        },
        {
            trigger: ".o_csp_change_increased .o_csp_change_value:contains('500')",
        },
        {
            trigger: ".o_csp_change_won .o_csp_change_value:contains('2,000')",
        },
        {
            trigger: ".o_csp_waterfall canvas[aria-label*='Start'][aria-label*='3,000']",
            content: "The waterfall is drawn",
        },
        {
            trigger: ".o_csp_count_moved_forward strong:text(1)",
            content: "One opportunity moved forward",
        },
        {
            trigger: ".o_csp_change_won",
            content: "Open the won opportunities",
            run: "click",
        },
        {
            trigger: ".o_list_view .o_data_row:contains('Review Won Deal')",
            content: "The won opportunity is listed",
        },
        {
            trigger: ".o_list_view:not(:has(.o_data_row:contains('Review Growing Deal')))",
        },
    ],
});
