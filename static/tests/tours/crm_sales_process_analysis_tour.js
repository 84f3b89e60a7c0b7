// Copyright 2026 crm_sales_process authors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

/**
 * CRM > Reporting > Sales Process Analysis in a browser: open it from the menu, narrow it to
 * one process and read its KPI tiles, forecast, funnel and lead sources, then compare it with
 * another process. Data and expected figures:
 * tests/test_sales_process_analysis_ui.py.
 */

const PROCESS = "Tour Analysis Process";
const OTHER = "Tour Compare Process";
const section = `.o_csp_process:has(.o_csp_process_name:contains('${PROCESS}'))`;
const row = (step) => `${section} .o_csp_step:has(.o_csp_step_name:contains('${step}'))`;

registry.category("web_tour.tours").add("crm_sales_process_analysis_tour", {
    steps: () => [
        ...stepUtils.goToAppSteps("crm.crm_menu_root", "Open CRM"),
        {
            trigger: ".o_main_navbar [data-menu-xmlid='crm.crm_menu_report']",
            content: "Open Reporting",
            run: "click",
        },
        {
            trigger:
                ".dropdown-item[data-menu-xmlid='crm_sales_process.crm_sales_process_analysis_menu']",
            content: "Open the Sales Process Analysis",
            run: "click",
        },
        {
            trigger: ".o_csp_analysis .o_csp_process",
            content: "The analysis shows the processes",
        },
        {
            trigger: ".o_csp_filter_process",
            content: "Analyse one process",
            run: `selectByLabel ${PROCESS}`,
        },
        {
            trigger: `.o_csp_analysis:not(:has(.o_csp_process:not(${section}))) ${section}`,
            content: "Only that process is left",
        },
        // KPI tiles: 1 won, 1 lost of 2 closed
        {
            trigger: `${section} .o_csp_kpi_win_rate .o_csp_kpi_value:contains('50.0 %')`,
            content: "Win rate of the process",
        },
        {
            trigger: `${section} .o_csp_kpi_pipeline_value`,
        },
        {
            trigger: `${section} .o_csp_kpi_avg_response_hours .o_csp_kpi_value:contains(' h')`,
            content: "Time to respond, in working hours",
        },
        // The funnel: drawn by Chart.js, its figures in the canvas' text alternative and
        // in the steps table.
        {
            trigger: `${section} .o_csp_funnel canvas[aria-label*='Tour Lead: 4']`,
            content: "The funnel is drawn, 4 opportunities reached the first step",
        },
        {
            trigger: `${section} .o_csp_funnel canvas[aria-label*='Tour Offer: 2']`,
        },
        {
            trigger: `${section} .o_csp_funnel canvas[aria-label*='Tour Won: 1']`,
        },
        {
            trigger: `${row("Tour Lead")} .o_csp_step_reached:contains('4')`,
            content: "Step table: first step reached by 4",
        },
        {
            trigger: `${row("Tour Offer")} .o_csp_step_reached:contains('2')`,
        },
        {
            trigger: `${row("Tour Won")} .o_csp_step_reached:contains('1')`,
        },
        {
            trigger: `${row("Tour Lead")} .o_csp_step_conversion_rate:contains('50.0 %')`,
            content: "Half of the opportunities went on from the first step",
        },
        {
            trigger: `${row("Tour Lead")} .o_csp_step_fixed:contains('10 %')`,
        },
        // The forecast row: today's open pipeline by category (3,000 + 4,000, all in
        // Pipeline) and the 1,000 won in the period
        {
            trigger: `${section} .o_csp_forecast_pipeline_revenue:contains('7,000')`,
            content: "Forecast pipeline of the process",
        },
        {
            trigger: `${section} .o_csp_forecast_won_revenue:contains('1,000')`,
        },
        // Lead sources: one origin (none), 1 won and 1 lost
        {
            trigger: `${section} .o_csp_sources_table .o_csp_source:has(.o_csp_source_won:contains('1')) .o_csp_source_win_rate:contains('50.0 %')`,
            content: "Lead quality per origin",
        },
        // Two processes side by side
        {
            trigger: ".o_csp_compare .o_csp_compare_a",
            content: "Compare the process…",
            run: `selectByLabel ${PROCESS}`,
        },
        {
            trigger: ".o_csp_compare .o_csp_compare_b",
            content: "…with another one",
            run: `selectByLabel ${OTHER}`,
        },
        {
            trigger: ".o_csp_compare_table .o_csp_compare_win_rate td:nth-child(2):contains('50.0 %')",
            content: "Win rate of A beside that of B",
        },
        {
            trigger: ".o_csp_compare_table .o_csp_compare_win_rate td:nth-child(3):contains('100.0 %')",
        },
        {
            trigger: ".o_csp_compare_table .o_csp_compare_won_count td:nth-child(3):contains('2')",
        },
        // A salesperson filter narrows the figures
        {
            trigger: ".o_csp_filter_user",
            content: "Only Tina Tour's opportunities",
            run: "selectByLabel Tina Tour",
        },
        {
            trigger: `${row("Tour Lead")} .o_csp_step_reached:contains('1')`,
            content: "Tina has one opportunity on the first step",
        },
        {
            trigger: `${section} .o_csp_funnel canvas[aria-label*='Tour Lead: 1']`,
        },
    ],
});
