#!/usr/bin/env bash
# Benchmark crm_sales_process against stock Odoo CRM (see bench/README.md). Not a test.
#   BENCH_LEADS        opportunities per database                         [100000]
#   BENCH_RUNS         runs per measurement (median reported)              [15]
#   BENCH_CREATE_RUNS  runs of the 10,000-opportunity bulk create          [3]
#   BENCH_XLSX=0       skip the (slow, informational) XLSX generation
#   BENCH_REUSE=1      keep bench_stock / bench_proc when they already hold BENCH_LEADS
#                      opportunities (the addon is updated in bench_proc)
#   STOCK_DB, PROC_DB  database names                                      [bench_stock, bench_proc]
#   BENCH_HTTP_PORT    port of the Odoo server started on PROC_DB for the export lines, so
#                      that wkhtmltopdf loads the reports' style sheets and fonts as in
#                      production (without it the PDF is laid out unstyled)    [8169]
source "$(dirname "$0")/../scripts/env.sh"
setup_all

BENCH_LEADS=${BENCH_LEADS:-100000}
STOCK_DB=${STOCK_DB:-bench_stock}
PROC_DB=${PROC_DB:-bench_proc}
export BENCH_LEADS

db_leads() {  # the number of opportunities a bench database was populated with, or nothing
    psql -d "$1" -tAc "SELECT value FROM ir_config_parameter
        WHERE key = 'crm_sales_process.bench_leads'" 2>/dev/null || true
}

prepare_db() {  # prepare_db <db> <modules>
    local db=$1 modules=$2
    if [ "${BENCH_REUSE:-0}" = 1 ] && [ "$(db_leads "$db")" = "$BENCH_LEADS" ]; then
        log "reusing $db"
        if [ "$db" = "$PROC_DB" ]; then
            odoo_bin -d "$db" -u "$MODULE" --stop-after-init --no-http --log-level=warn
        else  # stock: the automation rule of the key-activities line needs base_automation
            odoo_bin -d "$db" -i base_automation --stop-after-init --no-http --log-level=warn
        fi
        return
    fi
    log "creating $db with $modules (no demo data)"
    dropdb --if-exists "$db"
    odoo_bin -d "$db" -i "$modules" --stop-after-init --no-http --log-level=warn
}

start_report_server() {  # an HTTP server on PROC_DB only (no cron), stopped on exit
    local port=${BENCH_HTTP_PORT:-8169} tries=0
    log "starting an Odoo server on $PROC_DB, port $port, for the PDF's style sheets"
    "$ODOO_VENV/bin/python" "$ODOO_SRC/odoo-bin" --addons-path="$ADDONS_PATH" -d "$PROC_DB" \
        --http-port="$port" --http-interface=127.0.0.1 --max-cron-threads=0 \
        --log-level=warn >"${TMPDIR:-/tmp}/bench-report-server-$port.log" 2>&1 &
    report_server_pid=$!
    trap 'kill "$report_server_pid" 2>/dev/null || true' EXIT
    until curl -s -o /dev/null "http://127.0.0.1:$port/web/login"; do
        tries=$((tries + 1))
        [ "$tries" -lt 120 ] || die "the report server on port $port did not start"
        sleep 1
    done
    export BENCH_REPORT_URL="http://127.0.0.1:$port"
}

start=$(date +%s)
prepare_db "$STOCK_DB" crm,hr,base_automation
prepare_db "$PROC_DB" "$MODULE"
if [ "${BENCH_XLSX:-1}" != 0 ]; then
    case ",${BENCH_ONLY:-exports}," in
        *,exports,*) start_report_server ;;
    esac
fi
PYTHONPATH="$ODOO_SRC" "$ODOO_VENV/bin/python" "$REPO_DIR/bench/bench_forecast.py" \
    --stock-db "$STOCK_DB" --proc-db "$PROC_DB" --leads "$BENCH_LEADS"
log "benchmark done in $(( $(date +%s) - start )) s"
