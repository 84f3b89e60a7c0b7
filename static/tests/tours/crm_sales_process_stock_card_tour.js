// Copyright 2026 crm_sales_process authors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { registry } from "@web/core/registry";

/**
 * The administrator opens Odoo's CRM start screen ("My Pipeline"): the card of an opportunity
 * without a sales process is Odoo's own, with no step badge and no technical text.
 * Data: tests/test_crm_lead_process.py (TestStockPipelineTour).
 */
registry.category("web_tour.tours").add("crm_sales_process_stock_card_tour", {
    steps: () => [
        {
            content: "The pipeline shows the opportunity without a process",
            trigger: ".o_kanban_renderer .o_kanban_record:contains('Stock Deal')",
        },
        {
            content: "Its card has no step badge",
            trigger:
                ".o_kanban_record:contains('Stock Deal'):not(:has(.o_crm_sales_process_step))",
        },
        {
            content: "The card of an opportunity with a process shows its step's percentage",
            trigger: ".o_kanban_record:contains('Process Deal') .o_crm_sales_process_step:contains('40 %')",
        },
        {
            content: "No card shows a technical record name",
            trigger: ".o_kanban_renderer:not(:contains('crm.sales.process'))",
        },
    ],
});
