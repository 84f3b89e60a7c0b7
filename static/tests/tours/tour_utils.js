// Copyright 2026 crm_sales_process authors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

/** Filter the pipeline on "My Sales Process": the columns are its steps, in step order. */
export function myProcessPipelineSteps(columns) {
    return [
        {
            trigger: ".o_kanban_renderer .o_kanban_group",
        },
        {
            trigger: ".o_control_panel_actions .o_searchview_dropdown_toggler",
            content: "Open the filters",
            run: "click",
        },
        {
            trigger: ".o_filter_menu .o_menu_item:contains('My Sales Process')",
            content: "Show the pipeline of my sales process",
            run: "click",
        },
        {
            trigger: ".o_control_panel_actions .o_searchview_dropdown_toggler",
            content: "Close the filters",
            run: "click",
        },
        {
            trigger: ".o_searchview_facet:contains('My Sales Process')",
        },
        ...columns.map((title, index) => ({
            content: `Column ${index + 1} of the process is ${title}`,
            trigger: `.o_kanban_group:nth-child(${index + 1}) .o_column_title:contains('${title}')`,
        })),
        {
            content: "No other column",
            trigger: `.o_kanban_renderer:not(:has(.o_kanban_group:nth-child(${columns.length + 1})))`,
        },
    ];
}
