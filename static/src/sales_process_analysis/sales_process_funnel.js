// Copyright 2026 crm_sales_process authors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { Component, onWillStart, onWillUnmount, useEffect, useRef } from "@odoo/owl";
import { loadBundle } from "@web/core/assets";
import { cookie } from "@web/core/browser/cookie";
import { getCustomColor, hexToRGBA } from "@web/core/colors/colors";
import { formatFloat } from "@web/views/fields/formatters";

const colorScheme = cookie.get("color_scheme");
const STEP_COLOR = "#017E84";
const WON_COLOR = "#28A745";
const LABEL_COLOR = getCustomColor(colorScheme, "#111827", "#E4E4E4");
const MUTED_COLOR = getCustomColor(colorScheme, "#6C757D", "#A3A6B3");
const INFO_WIDTH = 170;

/** A 0-100 figure as "42.5 %". */
export function formatPercent(value, digits = 1) {
    return `${formatFloat(value, { digits: [16, digits] })} %`;
}

/**
 * Funnel of one sales process with the web client's Chart.js: one centred horizontal bar per
 * step, as wide as the number of opportunities that reached the step, the count in the bar and
 * the conversion to the next step and the average days in the step (``info``) beside it.
 */
export class SalesProcessFunnel extends Component {
    static template = "crm_sales_process.SalesProcessFunnel";
    static props = { process: Object };

    setup() {
        this.canvasRef = useRef("canvas");
        this.chart = null;
        onWillStart(() => loadBundle("web.chartjs_lib"));
        useEffect(
            () => this.renderChart(),
            () => [this.props.process]
        );
        onWillUnmount(() => this.chart?.destroy());
    }

    get steps() {
        return this.props.process.steps;
    }

    get height() {
        return Math.max(this.steps.length * 44 + 16, 120);
    }

    /** Text alternative of the chart (screen readers, tours). */
    get ariaLabel() {
        return this.steps
            .map((step, index) => {
                return `${step.name}: ${step.reached} (${step.info})`;
            })
            .join("; ");
    }

    renderChart() {
        this.chart?.destroy();
        const steps = this.steps;
        const max = Math.max(this.props.process.max_reached, 1);
        const colors = steps.map((step, index) =>
            step.is_won
                ? WON_COLOR
                : hexToRGBA(STEP_COLOR, 1 - (0.55 * index) / Math.max(steps.length - 1, 1))
        );
        this.chart = new Chart(this.canvasRef.el, {
            type: "bar",
            data: {
                labels: steps.map((step) => `${step.number}. ${step.name}`),
                datasets: [
                    {
                        // Floating bars centred on 0 draw the funnel shape.
                        data: steps.map((step) => {
                            const half = Math.max(step.reached, max * 0.01) / 2;
                            return [-half, half];
                        }),
                        backgroundColor: colors,
                        borderRadius: 3,
                        borderSkipped: false,
                        barPercentage: 0.92,
                        categoryPercentage: 1,
                    },
                ],
            },
            options: {
                indexAxis: "y",
                maintainAspectRatio: false,
                animation: false,
                layout: { padding: { left: 8, right: INFO_WIDTH } },
                scales: {
                    x: { display: false, min: -max / 2, max: max / 2 },
                    y: {
                        grid: { display: false },
                        border: { display: false },
                        ticks: { color: LABEL_COLOR, font: { size: 13 } },
                    },
                },
                plugins: {
                    legend: { display: false },
                    tooltip: { enabled: false },
                },
            },
            plugins: [this.labelsPlugin()],
        });
    }

    /** Draws each step's count in its bar and its conversion and days to the right. */
    labelsPlugin() {
        const steps = this.steps;
        return {
            id: "crmSalesProcessFunnelLabels",
            afterDatasetsDraw(chart) {
                const { ctx, chartArea } = chart;
                const bars = chart.getDatasetMeta(0).data;
                ctx.save();
                ctx.textBaseline = "middle";
                bars.forEach((bar, index) => {
                    const step = steps[index];
                    const count = String(step.reached);
                    ctx.font = "bold 13px sans-serif";
                    const width = Math.abs(bar.x - bar.base);
                    const inside = width > ctx.measureText(count).width + 12;
                    ctx.fillStyle = inside ? "#FFFFFF" : LABEL_COLOR;
                    ctx.textAlign = inside ? "center" : "left";
                    const x = inside ? (bar.x + bar.base) / 2 : Math.max(bar.x, bar.base) + 6;
                    ctx.fillText(count, x, bar.y);
                    ctx.font = "12px sans-serif";
                    ctx.fillStyle = MUTED_COLOR;
                    ctx.textAlign = "left";
                    ctx.fillText(step.info, chartArea.right + 12, bar.y);
                });
                ctx.restore();
            },
        };
    }
}
