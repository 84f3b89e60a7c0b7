// Copyright 2026 crm_sales_process authors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { Component, onWillUpdateProps, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { KeepLast } from "@web/core/utils/concurrency";
import { useService } from "@web/core/utils/hooks";
import { formatFloat, formatMonetary } from "@web/views/fields/formatters";

/**
 * The analysis's comparison of two processes (a pilot against the standard): their KPIs side
 * by side and whether the differences in win rate and sales cycle are significant
 * (``crm.sales.process.compare_kpis``), for the analysis's period and filters.
 */
export class SalesProcessCompare extends Component {
    static template = "crm_sales_process.SalesProcessCompare";
    static props = { processes: Array, filters: Object };

    setup() {
        this.orm = useService("orm");
        this.state = useState({ processA: 0, processB: 0, result: null });
        // the latest answer only, whatever order the answers come in
        this.keepLast = new KeepLast();
        this.filtersKey = this.getFiltersKey(this.props.filters);
        // the dashboard renders again for many reasons: compare again only for new filters
        onWillUpdateProps((nextProps) => {
            const filtersKey = this.getFiltersKey(nextProps.filters);
            if (filtersKey !== this.filtersKey) {
                this.filtersKey = filtersKey;
                return this.load(nextProps.filters);
            }
        });
    }

    getFiltersKey(filters) {
        return JSON.stringify([
            filters.date_from || false,
            filters.date_to || false,
            filters.team_ids,
            filters.user_ids,
            filters.department_ids,
        ]);
    }

    get rows() {
        return [
            ["win_rate", _t("Win Rate"), "percent"],
            ["avg_cycle_days", _t("Sales Cycle (days)"), "days"],
            ["won_count", _t("Won"), "count"],
            ["lost_count", _t("Lost"), "count"],
            ["avg_won_amount", _t("Average Deal"), "monetary"],
            ["pipeline_value", _t("Pipeline"), "monetary"],
        ];
    }

    async onSelect(key, ev) {
        this.state[key] = parseInt(ev.target.value) || 0;
        await this.load(this.props.filters);
    }

    async load(filters) {
        const { processA, processB } = this.state;
        if (!processA || !processB || processA === processB) {
            this.keepLast.add(Promise.resolve());
            this.state.result = null;
            return;
        }
        this.state.result = await this.keepLast.add(
            this.orm.call("crm.sales.process", "compare_kpis", [
                processA,
                processB,
                filters.date_from || false,
                filters.date_to || false,
                filters.team_ids,
                filters.user_ids,
                filters.department_ids,
            ])
        );
    }

    format(value, unit, kpi) {
        if (value === null || value === undefined) {
            return "–";
        }
        switch (unit) {
            case "percent":
                return `${formatFloat(value, { digits: [16, 1] })} %`;
            case "days":
                return formatFloat(value, { digits: [16, 1] });
            case "monetary":
                return formatMonetary(value, { currencyId: kpi.currency_id, digits: [16, 0] });
            default:
                return String(value);
        }
    }

    verdict(test) {
        if (!test) {
            return "";
        }
        if (test.sample_too_small) {
            return _t("Sample too small (fewer than 5 on a side)");
        }
        const p = formatFloat(test.p_value, { digits: [16, 3] });
        return test.significant
            ? _t("Significant (p = %(p)s)", { p })
            : _t("Not significant (p = %(p)s)", { p });
    }
}
