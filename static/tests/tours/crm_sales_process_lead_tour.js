// Copyright 2026 crm_sales_process authors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { registry } from "@web/core/registry";
import { myProcessPipelineSteps } from "@crm_sales_process/../tests/tours/tour_utils";

/**
 * A salesperson opens the pipeline of her sales process ("My Sales Process" filter), sees its
 * steps as columns in step order, opens an opportunity and moves it to the next step with the
 * form's step path. Data: tests/test_crm_lead_process.py (TestLeadProcessTour).
 */
registry.category("web_tour.tours").add("crm_sales_process_lead_tour", {
    steps: () => [
        {
            trigger: ".o_kanban_renderer .o_kanban_record:contains('Tour Deal')",
        },
        ...myProcessPipelineSteps(["SP Lead In", "SP Meeting", "SP Offer", "SP Signed"]),
        {
            content: "The card shows its step's percentage",
            trigger: ".o_kanban_record:contains('Tour Deal') .o_crm_sales_process_step:contains('30 %')",
        },
        {
            trigger: ".o_kanban_record:contains('Tour Deal')",
            content: "Open the opportunity",
            run: "click",
        },
        {
            content: "The form shows the step path with the current step",
            trigger:
                ".o_field_widget[name=sales_process_step_id] .o_arrow_button_current:contains('SP Meeting (30 %)')",
        },
        {
            trigger: ".o_field_widget[name=sales_process_progress]:contains('Step 2/4')",
        },
        {
            trigger: ".o_field_widget[name=sales_process_step_id] button:contains('SP Offer (60 %)')",
            content: "Move to the next step",
            run: "click",
        },
        {
            trigger:
                ".o_field_widget[name=sales_process_step_id] .o_arrow_button_current:contains('SP Offer (60 %)')",
        },
        {
            content: "The probability is the step's percentage",
            trigger: ".o_field_widget[name=sales_process_progress]:contains('Step 3/4 · 60 %')",
        },
        {
            trigger: ".o_form_saved",
        },
    ],
});
