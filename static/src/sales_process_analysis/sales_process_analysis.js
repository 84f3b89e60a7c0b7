// Copyright 2026 crm_sales_process authors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { Component, onWillStart, useState } from "@odoo/owl";
import { serializeDate } from "@web/core/l10n/dates";
import { _t } from "@web/core/l10n/translation";
import { download } from "@web/core/network/download";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { useSetupAction } from "@web/search/action_hook";
import { Layout } from "@web/search/layout";
import { formatFloat, formatMonetary } from "@web/views/fields/formatters";
import { standardActionServiceProps } from "@web/webclient/actions/action_service";
import { SalesProcessCompare } from "./sales_process_compare";
import { formatPercent, SalesProcessFunnel } from "./sales_process_funnel";

const { DateTime } = luxon;
const MODEL = "crm.sales.process.analysis";

/** Period choices: [key, label, first day of the period (null: open)]; they end today. */
function getPeriods() {
    const today = DateTime.local().startOf("day");
    return [
        ["last_3_months", _t("Last 3 months"), today.minus({ months: 3 })],
        ["last_6_months", _t("Last 6 months"), today.minus({ months: 6 })],
        ["last_12_months", _t("Last 12 months"), today.minus({ months: 12 })],
        ["this_year", _t("This year"), today.startOf("year")],
        ["all", _t("All time"), null],
        ["custom", _t("Custom period"), null],
    ];
}

/**
 * CRM > Reporting > Sales Process Analysis: per sales process, the KPIs of
 * ``crm.sales.process.get_kpis`` as tiles, the funnel of its steps and the fixed versus the
 * observed percentage of every step, for a period, team, department and salesperson. Prints
 * the same figures as PDF and exports them as XLSX.
 */
export class SalesProcessAnalysis extends Component {
    static template = "crm_sales_process.SalesProcessAnalysis";
    static components = { Layout, SalesProcessCompare, SalesProcessFunnel };
    static props = { ...standardActionServiceProps };

    setup() {
        this.orm = useService("orm");
        this.actionService = useService("action");
        this.ui = useService("ui");
        this.periods = getPeriods();
        this.display = { controlPanel: {} };
        const saved = this.props.state?.filters;
        this.state = useState({
            period: this.props.state?.period || "last_12_months",
            filters: saved || {
                date_from: false,
                date_to: false,
                process_ids: [],
                team_ids: [],
                department_ids: [],
                user_ids: [],
            },
            options: { processes: [], teams: [], departments: [], users: [] },
            analysis: null,
        });
        if (!saved) {
            this.applyPeriod(this.state.period);
        }
        // Back from a breadcrumb: the same filters.
        useSetupAction({
            getLocalState: () => ({ filters: this.state.filters, period: this.state.period }),
        });
        onWillStart(async () => {
            const [options] = await Promise.all([
                this.orm.call(MODEL, "get_filter_options", []),
                this.load(),
            ]);
            this.state.options = options;
        });
    }

    // ------------------------------------------------------------------
    // Data
    // ------------------------------------------------------------------

    async load() {
        this.state.analysis = await this.orm.call(MODEL, "get_analysis", [this.state.filters]);
    }

    applyPeriod(period) {
        const start = this.periods.find(([key]) => key === period)?.[2];
        if (period !== "custom") {
            this.state.filters.date_from = start ? serializeDate(start) : false;
            this.state.filters.date_to =
                period === "all" ? false : serializeDate(DateTime.local().startOf("day"));
        }
    }

    // ------------------------------------------------------------------
    // Handlers
    // ------------------------------------------------------------------

    async onPeriodChange(ev) {
        this.state.period = ev.target.value;
        this.applyPeriod(this.state.period);
        await this.load();
    }

    async onDateChange(key, ev) {
        this.state.filters[key] = ev.target.value || false;
        const { date_from, date_to } = this.state.filters;
        // The server refuses a reversed period: wait until both ends agree.
        if (!date_from || !date_to || date_from <= date_to) {
            await this.load();
        }
    }

    async onSelectChange(key, ev) {
        const value = parseInt(ev.target.value);
        this.state.filters[key] = value ? [value] : [];
        await this.load();
    }

    async onPrintPdf() {
        const action = await this.orm.call(MODEL, "action_print_pdf", [this.state.filters]);
        await this.actionService.doAction(action);
    }

    async onExportXlsx() {
        this.ui.block();
        try {
            await download({
                url: "/crm_sales_process/analysis/xlsx",
                data: { filters: JSON.stringify(this.state.filters) },
            });
        } finally {
            this.ui.unblock();
        }
    }

    // ------------------------------------------------------------------
    // Formatting
    // ------------------------------------------------------------------

    selectedId(key) {
        return this.state.filters[key][0] || 0;
    }

    /**
     * A KPI value as its unit shows it (units and labels come with the KPI definitions of
     * ``crm.sales.process._get_kpi_definitions``): in a tile, or in a cell of the steps table.
     */
    formatKpi(value, unit, process, inTable = false) {
        switch (unit) {
            case "percent":
                return formatPercent(value);
            case "days": {
                const days = formatFloat(value, { digits: [16, 1] });
                return inTable ? days : _t("%(days)s days", { days });
            }
            case "hours": {
                const hours = formatFloat(value, { digits: [16, 1] });
                return inTable ? hours : _t("%(hours)s h", { hours });
            }
            case "monetary":
                return formatMonetary(value, { currencyId: process.currency_id, digits: [16, 0] });
            case "count":
                return String(value);
            default:
                return formatFloat(value, { digits: [16, 2] });
        }
    }

    formatPercent(value, digits = 1) {
        return formatPercent(value, digits);
    }

    observedClass(step) {
        if (!step.deviates) {
            return "";
        }
        return step.observed_probability < step.probability
            ? "text-bg-danger o_csp_deviates"
            : "text-bg-warning o_csp_deviates";
    }

    observedTitle(step) {
        if (!step.observed_sample) {
            return _t("No closed opportunity reached this step in the calibration window.");
        }
        const title = _t("%(count)s closed opportunities behind this figure", {
            count: step.observed_sample,
        });
        if (step.deviates) {
            return `${title}. ${_t("It differs from the fixed % by more than 10 points.")}`;
        }
        return title;
    }
}

registry.category("actions").add("crm_sales_process.analysis", SalesProcessAnalysis);
