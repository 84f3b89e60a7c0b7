// Copyright 2026 crm_sales_process authors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { Component, onWillStart, onWillUnmount, useEffect, useRef, useState } from "@odoo/owl";
import { loadBundle } from "@web/core/assets";
import { serializeDate } from "@web/core/l10n/dates";
import { download } from "@web/core/network/download";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { useSetupAction } from "@web/search/action_hook";
import { Layout } from "@web/search/layout";
import { formatFloat, formatMonetary } from "@web/views/fields/formatters";
import { standardActionServiceProps } from "@web/webclient/actions/action_service";

const { DateTime } = luxon;
const MODEL = "crm.sales.forecast.snapshot";
const UP_COLOR = "#28A745";
const DOWN_COLOR = "#DC3545";
const TOTAL_COLOR = "#017E84";
const FORECAST_COLORS = { actual: "#343A40", process: "#017E84", predictive: "#6F42C1", commit: "#FD7E14" };

/**
 * CRM > Reporting > Pipeline Review: two snapshots of the pipeline compared (a waterfall from
 * the start value through each change to the end value, see
 * ``crm.sales.forecast.snapshot.get_pipeline_changes``), the pipeline and weighted value over
 * the snapshots, and the accuracy of the forecasts they held
 * (``get_forecast_accuracy``). Clicking a bar or a row opens the opportunities behind it.
 */
export class PipelineReview extends Component {
    static template = "crm_sales_process.PipelineReview";
    static components = { Layout };
    static props = { ...standardActionServiceProps };

    setup() {
        this.orm = useService("orm");
        this.actionService = useService("action");
        this.ui = useService("ui");
        this.display = { controlPanel: {} };
        this.waterfallRef = useRef("waterfall");
        this.trendRef = useRef("trend");
        this.accuracyRef = useRef("accuracy");
        this.charts = [];
        const saved = this.props.state || {};
        this.state = useState({
            options: null,
            snapshotFrom: saved.snapshotFrom || false,
            snapshotTo: saved.snapshotTo || false,
            filters: saved.filters || {
                process_ids: [],
                team_ids: [],
                department_ids: [],
                user_ids: [],
                date_deadline_from: false,
                date_deadline_to: false,
            },
            groupby: saved.groupby || "user_id",
            changes: null,
            accuracy: null,
            accuracyTotal: null,
        });
        useSetupAction({
            getLocalState: () => ({
                snapshotFrom: this.state.snapshotFrom,
                snapshotTo: this.state.snapshotTo,
                filters: this.state.filters,
                groupby: this.state.groupby,
            }),
        });
        onWillStart(async () => {
            await loadBundle("web.chartjs_lib");
            const options = await this.orm.call(MODEL, "get_review_options", []);
            this.state.options = options;
            this.state.snapshotFrom ||= options.snapshot_from;
            this.state.snapshotTo ||= options.snapshot_to;
            await this.load();
        });
        useEffect(
            () => this.renderCharts(),
            () => [this.state.changes, this.state.accuracyTotal, this.state.options]
        );
        onWillUnmount(() => this.destroyCharts());
    }

    // ------------------------------------------------------------------
    // Data
    // ------------------------------------------------------------------

    get accuracyPeriod() {
        const today = DateTime.local().startOf("month");
        return [serializeDate(today.minus({ months: 11 })), serializeDate(today.endOf("month"))];
    }

    async load() {
        const { snapshotFrom, snapshotTo, filters } = this.state;
        const [dateFrom, dateTo] = this.accuracyPeriod;
        const [changes, accuracy, accuracyTotal] = await Promise.all([
            snapshotFrom && snapshotTo
                ? this.orm.call(MODEL, "get_pipeline_changes", [snapshotFrom, snapshotTo, filters])
                : null,
            this.orm.call(MODEL, "get_forecast_accuracy", [
                dateFrom,
                dateTo,
                this.state.groupby || false,
                filters,
            ]),
            this.orm.call(MODEL, "get_forecast_accuracy", [dateFrom, dateTo, false, filters]),
        ]);
        Object.assign(this.state, { changes, accuracy, accuracyTotal });
    }

    // ------------------------------------------------------------------
    // Handlers
    // ------------------------------------------------------------------

    async onSnapshotChange(key, ev) {
        this.state[key] = parseInt(ev.target.value) || false;
        const from = this.snapshotDate(this.state.snapshotFrom);
        const to = this.snapshotDate(this.state.snapshotTo);
        // The server refuses a start later than the end: wait until both agree.
        if (!from || !to || from <= to) {
            await this.load();
        }
    }

    async onSelectChange(key, ev) {
        const value = parseInt(ev.target.value);
        this.state.filters[key] = value ? [value] : [];
        await this.load();
    }

    async onDateChange(key, ev) {
        this.state.filters[key] = ev.target.value || false;
        const { date_deadline_from: from, date_deadline_to: to } = this.state.filters;
        if (!from || !to || from <= to) {
            await this.load();
        }
    }

    async onGroupbyChange(ev) {
        this.state.groupby = ev.target.value;
        await this.load();
    }

    async onPrintPdf() {
        const action = await this.orm.call(MODEL, "action_print_review_pdf", [
            this.state.snapshotFrom,
            this.state.snapshotTo,
            this.state.filters,
            this.state.groupby || false,
        ]);
        await this.actionService.doAction(action);
    }

    async onExportXlsx() {
        this.ui.block();
        try {
            await download({
                url: "/crm_sales_process/review/xlsx",
                data: {
                    filters: JSON.stringify({
                        snapshot_from: this.state.snapshotFrom,
                        snapshot_to: this.state.snapshotTo,
                        filters: this.state.filters,
                        groupby: this.state.groupby,
                    }),
                },
            });
        } finally {
            this.ui.unblock();
        }
    }

    async openDetails(item) {
        if (item?.details) {
            await this.actionService.doAction(item.details);
        }
    }

    // ------------------------------------------------------------------
    // Formatting
    // ------------------------------------------------------------------

    snapshotDate(id) {
        return this.state.options?.snapshots.find((snapshot) => snapshot.id === id)?.date;
    }

    selectedId(key) {
        return this.state.filters[key][0] || 0;
    }

    formatAmount(value) {
        if (value === null || value === undefined) {
            return "";
        }
        return formatMonetary(value, {
            currencyId: this.state.options.currency_id,
            digits: [16, 0],
        });
    }

    formatPercent(value) {
        return value === null || value === undefined
            ? "–"
            : `${formatFloat(value, { digits: [16, 1] })} %`;
    }

    forecastLabel(forecast) {
        return {
            process: _t("Process"),
            predictive: _t("Predictive"),
            commit: _t("Commit"),
        }[forecast];
    }

    /** The waterfall's bars: start, each change, end; floating from the running total. */
    get waterfallBars() {
        const changes = this.state.changes;
        if (!changes) {
            return [];
        }
        let running = changes.start_value;
        const bars = [{ label: _t("Start"), range: [0, running], color: TOTAL_COLOR, value: running }];
        for (const change of changes.changes) {
            const next = running + change.value;
            bars.push({
                label: change.label,
                range: [running, next],
                color: change.value < 0 ? DOWN_COLOR : UP_COLOR,
                value: change.value,
                change,
            });
            running = next;
        }
        bars.push({ label: _t("End"), range: [0, changes.end_value], color: TOTAL_COLOR, value: changes.end_value });
        return bars;
    }

    get waterfallLabel() {
        return this.waterfallBars
            .map((bar) => `${bar.label}: ${this.formatAmount(bar.value)}`)
            .join("; ");
    }

    get trendLabel() {
        return (this.state.options?.trend || [])
            .map((point) => `${point.date.slice(0, 10)}: ${this.formatAmount(point.pipeline_value)}`)
            .join("; ");
    }

    get accuracyLabel() {
        return (this.state.accuracyTotal?.rows || [])
            .map((row) => `${row.month}: ${this.formatAmount(row.actual)}`)
            .join("; ");
    }

    // ------------------------------------------------------------------
    // Charts (the web client's Chart.js)
    // ------------------------------------------------------------------

    destroyCharts() {
        for (const chart of this.charts) {
            chart.destroy();
        }
        this.charts = [];
    }

    renderCharts() {
        this.destroyCharts();
        if (this.waterfallRef.el && this.state.changes) {
            this.charts.push(this.renderWaterfall());
        }
        if (this.trendRef.el && this.state.options?.trend.length) {
            this.charts.push(this.renderTrend());
        }
        if (this.accuracyRef.el && this.state.accuracyTotal?.rows.length) {
            this.charts.push(this.renderAccuracy());
        }
    }

    renderWaterfall() {
        const bars = this.waterfallBars;
        return new Chart(this.waterfallRef.el, {
            type: "bar",
            data: {
                labels: bars.map((bar) => bar.label),
                datasets: [
                    {
                        data: bars.map((bar) => bar.range),
                        backgroundColor: bars.map((bar) => bar.color),
                        borderSkipped: false,
                    },
                ],
            },
            options: {
                maintainAspectRatio: false,
                animation: false,
                plugins: {
                    legend: { display: false },
                    tooltip: {
                        callbacks: { label: (item) => this.formatAmount(bars[item.dataIndex].value) },
                    },
                },
                onClick: (event, elements) => {
                    const bar = elements.length && bars[elements[0].index];
                    if (bar?.change) {
                        this.openDetails(bar.change);
                    }
                },
            },
        });
    }

    renderTrend() {
        const trend = this.state.options.trend;
        return new Chart(this.trendRef.el, {
            type: "line",
            data: {
                labels: trend.map((point) => point.date.slice(0, 10)),
                datasets: [
                    {
                        label: _t("Pipeline"),
                        data: trend.map((point) => point.pipeline_value),
                        borderColor: TOTAL_COLOR,
                        backgroundColor: TOTAL_COLOR,
                    },
                    {
                        label: _t("Weighted"),
                        data: trend.map((point) => point.weighted_value),
                        borderColor: FORECAST_COLORS.predictive,
                        backgroundColor: FORECAST_COLORS.predictive,
                    },
                ],
            },
            options: { maintainAspectRatio: false, animation: false },
        });
    }

    renderAccuracy() {
        const rows = this.state.accuracyTotal.rows;
        const datasets = ["actual", ...this.state.accuracyTotal.forecasts].map((key) => ({
            label: key === "actual" ? _t("Won") : this.forecastLabel(key),
            data: rows.map((row) => row[key]),
            backgroundColor: FORECAST_COLORS[key],
        }));
        return new Chart(this.accuracyRef.el, {
            type: "bar",
            data: { labels: rows.map((row) => row.month), datasets },
            options: { maintainAspectRatio: false, animation: false },
        });
    }
}

registry.category("actions").add("crm_sales_process.pipeline_review", PipelineReview);
