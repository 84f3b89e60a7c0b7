import { registry } from "@web/core/registry";

/**
 * An administrator manages sales processes the way the README describes: CRM > Configuration >
 * Sales Processes, a new process with two steps, a wildcard search, a first-letter button and
 * a delete from the list's Actions menu. The test prepares two stages (Tour Contact, Tour Offer)
 * and two processes (Zeta Reference Process, Æsel Obsolete Process).
 */
registry.category("web_tour.tours").add("crm_sales_process_tour", {
    url: "/odoo/crm",
    steps: () => [
        {
            content: "Open the CRM configuration menu",
            trigger: ".o_main_navbar [data-menu-xmlid='crm.crm_menu_config']",
            run: "click",
        },
        {
            content: "Open Sales Processes",
            trigger: ".dropdown-item[data-menu-xmlid='crm_sales_process.crm_sales_process_menu']",
            run: "click",
        },
        {
            content: "The list shows the demo processes with their columns",
            trigger:
                ".o_list_renderer:has(th[data-name='step_count']):has(th[data-name='write_user_initials']) .o_data_row:contains('Zeta Reference Process')",
        },
        {
            content: "Create a new sales process",
            trigger: ".o_list_button_add",
            run: "click",
        },
        {
            content: "Name it",
            trigger: ".o_field_widget[name=name] input",
            run: "edit Ærlig Tour Process",
        },
        {
            content: "Save it: the other tabs appear",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "Open the Steps tab",
            trigger: ".o_notebook .nav-link:contains('Steps')",
            run: "click",
        },
        {
            content: "Add a first step",
            trigger: ".o_field_widget[name=step_ids] .o_field_x2many_list_row_add a",
            run: "click",
        },
        {
            content: "Choose its stage",
            trigger: ".o_field_widget[name=step_ids] .o_data_row .o_field_widget[name=stage_id] input",
            run: "edit Tour Contact",
        },
        {
            trigger: ".o-autocomplete--dropdown-item:contains('Tour Contact')",
            run: "click",
        },
        {
            content: "Give it a percentage",
            trigger: ".o_field_widget[name=step_ids] .o_data_row .o_field_widget[name=probability] input",
            run: "edit 30",
        },
        {
            content: "Add a second step",
            trigger: ".o_field_widget[name=step_ids] .o_field_x2many_list_row_add a",
            run: "click",
        },
        {
            content: "Choose its stage",
            trigger:
                ".o_field_widget[name=step_ids] .o_data_row:eq(1) .o_field_widget[name=stage_id] input",
            run: "edit Tour Offer",
        },
        {
            trigger: ".o-autocomplete--dropdown-item:contains('Tour Offer')",
            run: "click",
        },
        {
            content: "Give it a percentage",
            trigger:
                ".o_field_widget[name=step_ids] .o_data_row:eq(1) .o_field_widget[name=probability] input",
            run: "edit 60",
        },
        {
            content: "Save the process with its steps",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "Saved: two numbered steps",
            trigger:
                ".o_form_saved .o_field_widget[name=step_ids] .o_data_row:eq(1):contains('Tour Offer'):contains('60')",
        },
        {
            content: "Back to the list",
            trigger: ".o_breadcrumb .o_back_button a, .o_breadcrumb .breadcrumb-item a",
            run: "click",
        },
        {
            content: "Search the name with a wildcard: starts with 'ærlig'",
            trigger: ".o_searchview_input",
            run: "edit ærlig%",
        },
        {
            content: "Search in Name",
            trigger: ".o_searchview_autocomplete .o-dropdown-item:contains('Name')",
            run: "click",
        },
        {
            content: "Only the new process is found",
            trigger:
                ".o_list_renderer:not(:has(.o_data_row:contains('Zeta Reference'))):not(:has(.o_data_row:contains('Æsel'))) .o_data_row:contains('Ærlig Tour Process')",
        },
        {
            content: "Remove the search",
            trigger: ".o_searchview_facet:contains('ærlig%') .o_facet_remove",
            run: "click",
        },
        {
            content: "All active processes again",
            trigger: ".o_list_renderer .o_data_row:contains('Zeta Reference Process')",
        },
        {
            content: "Click the first letter Æ",
            trigger: ".o_search_panel_category_value header:contains('Æ')",
            run: "click",
        },
        {
            content: "Only processes starting with Æ are listed",
            trigger:
                ".o_list_renderer:not(:has(.o_data_row:contains('Zeta Reference'))):has(.o_data_row:contains('Ærlig Tour Process')) .o_data_row:contains('Æsel Obsolete Process')",
        },
        {
            content: "Select the obsolete one",
            trigger: ".o_data_row:contains('Æsel Obsolete Process') .o_list_record_selector input",
            run: "click",
        },
        {
            content: "Open the Actions menu",
            trigger: ".o_cp_action_menus button:has(.fa-cog)",
            run: "click",
        },
        {
            content: "Delete",
            trigger: ".o-dropdown-item:contains('Delete')",
            run: "click",
        },
        {
            content: "Confirm",
            trigger: ".modal .modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "The obsolete process is gone, the new one stays",
            trigger:
                ".o_list_renderer:not(:has(.o_data_row:contains('Æsel Obsolete Process'))) .o_data_row:contains('Ærlig Tour Process')",
        },
    ],
});
