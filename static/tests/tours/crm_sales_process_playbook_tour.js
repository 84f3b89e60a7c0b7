// Copyright 2026 crm_sales_process authors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { registry } from "@web/core/registry";
import { myProcessPipelineSteps } from "@crm_sales_process/../tests/tours/tour_utils";

const column = (title) => `.o_kanban_group:has(.o_column_title:contains('${title}'))`;

/**
 * A salesperson drags a card forward without the step's required fields: the error names
 * them. She fills them in on the form, moves the opportunity with the step path and sees the
 * next step's key activities. The card of an opportunity past its stall days is highlighted
 * and found by the "Stalled" filter. Data: tests/test_step_playbook.py (TestStepPlaybookTour).
 */
registry.category("web_tour.tours").add("crm_sales_process_playbook_tour", {
    steps: () => [
        {
            trigger: ".o_kanban_renderer .o_kanban_record:contains('Playbook Deal')",
        },
        // Only the steps of the process are columns
        ...myProcessPipelineSteps(["SP Lead In", "SP Meeting", "SP Offer", "SP Signed"]),
        {
            content: "The step's exit criteria: one of three met",
            trigger: `${column("SP Meeting")} .o_kanban_record:contains('Playbook Deal') .o_crm_sales_process_checklist_badge:contains('1/3')`,
        },
        {
            content: "The card of the opportunity past its stall days is highlighted",
            trigger: `${column("SP Lead In")} .o_kanban_record.oe_kanban_card_rotting:contains('Sleepy Deal')`,
        },
        {
            content: "Drag the card to the next step",
            trigger: `${column("SP Meeting")} .o_kanban_record:contains('Playbook Deal')`,
            run: `drag_and_drop (.o_opportunity_kanban ${column("SP Offer")})`,
        },
        {
            content: "The move is refused, naming the missing fields",
            trigger: ".modal:contains('Playbook Deal'):contains('Expected Revenue'):contains('Contact')",
        },
        {
            trigger: ".modal .modal-footer .btn-primary",
            content: "Close the error",
            run: "click",
        },
        {
            content: "The card stayed on its step",
            trigger: `body:not(:has(.modal)) ${column("SP Meeting")} .o_kanban_record:contains('Playbook Deal')`,
            run: "click",
        },
        {
            content: "The form shows the guidance and the open exit criteria",
            trigger: ".o_crm_sales_process_playbook .o_criterion_open:contains('Expected Revenue')",
        },
        {
            trigger: ".o_field_widget[name=expected_revenue] input",
            run: "edit 5000",
        },
        {
            trigger: ".o_field_widget[name=partner_id] input",
            run: "edit Playbook Cust",
        },
        {
            trigger: ".o-autocomplete--dropdown-item:contains('Playbook Customer')",
            run: "click",
        },
        {
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            trigger: ".o_form_saved",
        },
        {
            trigger: ".o_field_widget[name=sales_process_step_id] button:contains('SP Offer (60 %)')",
            content: "Move to the next step with the step path",
            run: "click",
        },
        {
            trigger:
                ".o_field_widget[name=sales_process_step_id] .o_arrow_button_current:contains('SP Offer (60 %)')",
        },
        {
            content: "The next step's key activities are planned",
            trigger: ".o_crm_sales_process_key_activities:contains('Offer 1'):contains('Legal review')",
        },
        {
            trigger: ".o_breadcrumb .breadcrumb-item a",
            content: "Back to the pipeline",
            run: "click",
        },
        {
            trigger: `${column("SP Offer")} .o_kanban_record:contains('Playbook Deal')`,
        },
        {
            trigger: ".o_control_panel_actions .o_searchview_dropdown_toggler",
            content: "Open the filters",
            run: "click",
        },
        {
            trigger: ".o_filter_menu .o_menu_item:contains('Stalled')",
            content: "Only stalled opportunities",
            run: "click",
        },
        {
            content: "The stalled opportunity, and only it",
            trigger:
                ".o_kanban_renderer:not(:has(.o_kanban_record:contains('Playbook Deal'))) .o_kanban_record:contains('Sleepy Deal')",
        },
    ],
});
