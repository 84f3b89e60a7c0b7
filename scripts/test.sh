#!/usr/bin/env bash
# Run the test suite on a fresh database: this addon's tests and Odoo's own crm tests (which must
# keep passing with the addon installed). Does all set-up itself (see scripts/env.sh).
#   TEST_DB      database to (re)create                  [crm_sales_process_test]
#   PYTEST_ARGS  extra pytest arguments, e.g. "-x --maxfail=3"
#   PYTEST_K     a pytest -k expression to run a subset, e.g. "wildcard"
#   SKIP_CRM_TESTS=1 runs only this addon's tests (quicker while developing)
#   TEST_HTTP_PORT  port of the test HTTP server (tours)  [8069]
source "$(dirname "$0")/env.sh"
setup_all

TEST_DB=${TEST_DB:-crm_sales_process_test}
log "creating database $TEST_DB with $MODULE and demo data"
dropdb --if-exists "$TEST_DB"
odoo_bin -d "$TEST_DB" -i "$MODULE" --with-demo --stop-after-init --log-level=warn \
    --http-interface=127.0.0.1 --no-http

conf=$(mktemp)
trap 'rm -f "$conf"' EXIT
cat >"$conf" <<CONF
[options]
addons_path = $ADDONS_PATH
db_name = $TEST_DB
http_interface = 127.0.0.1
http_port = ${TEST_HTTP_PORT:-8069}
CONF

targets=("$ADDONS_DIR/$MODULE/tests")
[ "${SKIP_CRM_TESTS:-0}" = 1 ] || targets+=("$ODOO_SRC/addons/crm/tests")

# Odoo's TestLeadAssignPerf.test_assign_perf_no_duplicates already fails on stock Odoo 19 once hr
# (a dependency of this addon) is installed: 554 queries > 552 expected, measured without this
# addon. It is left out; every other crm test runs.
k_expr="not test_assign_perf_no_duplicates"
[ -z "${PYTEST_K:-}" ] || k_expr="($PYTEST_K) and $k_expr"

# pytest must see the addon through its link (odoo.addons.crm_sales_process), not the checkout.
cd "$ADDONS_DIR"
# shellcheck disable=SC2086
PYTHONPATH="$ODOO_SRC" "$ODOO_VENV/bin/python" -m pytest -p no:cacheprovider --rootdir="$ADDONS_DIR" \
    --odoo-config="$conf" --odoo-database="$TEST_DB" --odoo-http --odoo-log-level=warn \
    -k "$k_expr" -rR "${CRM_TOUR_RERUN_ARGS[@]}" ${PYTEST_ARGS:-} "${targets[@]}"
