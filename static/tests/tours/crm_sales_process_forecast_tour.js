// Copyright 2026 crm_sales_process authors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";
import { myProcessPipelineSteps } from "@crm_sales_process/../tests/tours/tour_utils";

/**
 * End to end: a salesperson creates an opportunity in the pipeline of their sales process,
 * drags it through the kanban, marks it lost, and watches the Pipeline Forecast change.
 * Data and the checks of the figures behind it: tests/test_forecast_ui.py.
 */

const column = (title) => `.o_kanban_group:has(.o_column_title:contains('${title}'))`;
const card = (name) => `.o_kanban_record:contains('${name}')`;

/** Quick-create an opportunity in the first column, then drag it to a later step. */
function createAndDragSteps({ name, revenue, firstPercentage, target, targetPercentage }) {
    return [
        {
            trigger: ".o_kanban_group:first-child .o_kanban_quick_add",
            content: "Quick-create an opportunity in the first step",
            run: "click",
        },
        {
            trigger: ".o_kanban_quick_create .o_field_widget[name=name] input",
            content: "Name it",
            run: `edit ${name}`,
        },
        {
            trigger: ".o_kanban_quick_create .o_field_widget[name=expected_revenue] input",
            content: "Give it an expected revenue",
            run: `edit ${revenue}`,
        },
        {
            trigger: ".o_kanban_quick_create .o_kanban_add",
            content: "Add it",
            run: "click",
        },
        {
            content: "It lands in the first step, with the step's percentage",
            trigger: `.o_kanban_group:first-child ${card(name)} .o_crm_sales_process_step:contains('${firstPercentage}')`,
        },
        {
            // the quick create stays open for a next opportunity: close it
            trigger: ".o_kanban_renderer",
            run: "click",
        },
        {
            trigger: ".o_kanban_renderer:not(:has(.o_kanban_quick_create))",
        },
        {
            trigger: card(name),
            content: `Drag it to ${target}`,
            run: `drag_and_drop(${column(target)})`,
        },
        {
            content: "It is on the new step, with its percentage",
            trigger: `${column(target)} ${card(name)} .o_crm_sales_process_step:contains('${targetPercentage}')`,
        },
    ];
}

/** Open the Pipeline Forecast and read the salesperson's expected and weighted revenue. */
function forecastSteps(salesperson, expected, weighted) {
    return [
        // through the CRM app: the navbar shows its menus
        ...stepUtils.goToAppSteps("crm.crm_menu_root", "Open CRM"),
        {
            trigger: ".o_main_navbar [data-menu-xmlid='crm.crm_menu_report']",
            content: "Open the reporting menu",
            run: "click",
        },
        {
            trigger:
                ".dropdown-item[data-menu-xmlid='crm_sales_process.crm_lead_menu_pipeline_forecast']",
            content: "Open the Pipeline Forecast",
            run: "click",
        },
        {
            content: `${salesperson}: expected ${expected}, weighted ${weighted}`,
            trigger: `.o_pivot tr:has(th:contains('${salesperson}')):has(td:contains('${expected}')):has(td:contains('${weighted}'))`,
        },
    ];
}

registry.category("web_tour.tours").add("crm_sales_process_forecast_tour", {
    steps: () => [
        ...myProcessPipelineSteps([
            "E2E Lead In",
            "E2E Contact",
            "E2E Proposal",
            "E2E Negotiation",
            "E2E Won",
        ]),
        ...createAndDragSteps({
            name: "E2E Fresh Deal",
            revenue: "25000",
            firstPercentage: "10 %",
            target: "E2E Proposal",
            targetPercentage: "60 %",
        }),
        // E2E Running Deal (10,000 at 25 %) and E2E Fresh Deal (25,000 at 60 %)
        ...forecastSteps("Eva Forecast", "35,000.00", "17,500.00"),
    ],
});

registry.category("web_tour.tours").add("crm_sales_process_forecast_lost_tour", {
    steps: () => [
        {
            trigger: card("E2E Fresh Deal"),
            content: "Open the opportunity",
            run: "click",
        },
        {
            trigger: ".o_form_view .o_statusbar_buttons button:contains('Lost')",
            content: "Mark it lost",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name=lost_reason_id] .o_selection_badge:contains('Too expensive')",
            content: "Give a lost reason",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name=lost_reason_id] .o_selection_badge.active:contains('Too expensive')",
        },
        {
            trigger: ".modal button[name=action_lost_reason_apply]",
            content: "Confirm",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal)) .o_form_view .ribbon:contains('Lost')",
        },
        // Only E2E Running Deal is left in the forecast
        ...forecastSteps("Eva Forecast", "10,000.00", "2,500.00"),
        {
            content: "The lost opportunity's revenue is out of the figures",
            trigger: ".o_pivot:not(:has(td:contains('35,000.00')))",
        },
    ],
});

registry.category("web_tour.tours").add("crm_sales_process_forecast_demo_tour", {
    steps: () => [
        // Marc Demo's default process in the demo data
        ...myProcessPipelineSteps([
            "New",
            "Initial Contact",
            "Proposition",
            "Verbal Acceptance",
            "Won",
        ]),
        ...createAndDragSteps({
            name: "E2E Demo Deal",
            revenue: "40000",
            firstPercentage: "0 %",
            target: "Proposition",
            targetPercentage: "50 %",
        }),
    ],
});
