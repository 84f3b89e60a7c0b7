// Copyright 2026 crm_sales_process authors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { registry } from "@web/core/registry";

/**
 * The administrator's pipeline: cards of opportunities on a process show a health dot (its
 * warnings as tooltip), the card without a process none; the "At Risk" filter keeps the red one.
 * Data: tests/test_cadence.py (TestHealthTour).
 */
registry.category("web_tour.tours").add("crm_sales_process_health_tour", {
    steps: () => [
        {
            content: "The deal at risk has a red dot with its warnings",
            trigger:
                ".o_kanban_record:contains('Risky Deal') .o_crm_sales_process_health_red[title*='Expected closing date is past']",
        },
        {
            content: "The healthy deal has a green dot",
            trigger: ".o_kanban_record:contains('Healthy Deal') .o_crm_sales_process_health_green",
        },
        {
            content: "The card without a process has no dot",
            trigger:
                ".o_kanban_record:contains('Stock Deal'):not(:has(.o_crm_sales_process_health))",
        },
        {
            trigger: ".o_control_panel_actions .o_searchview_dropdown_toggler",
            content: "Open the filters",
            run: "click",
        },
        {
            trigger: ".o_filter_menu .o_menu_item:contains('At Risk')",
            content: "Keep the deals at risk",
            run: "click",
        },
        {
            content: "The deal at risk stays",
            trigger: ".o_kanban_record:contains('Risky Deal')",
        },
        {
            content: "The healthy deal and the one without a process are gone",
            trigger:
                ".o_kanban_renderer:not(:has(.o_kanban_record:contains('Healthy Deal'))):not(:has(.o_kanban_record:contains('Stock Deal')))",
        },
    ],
});
