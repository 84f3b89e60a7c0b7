#!/usr/bin/env bash
# Start Odoo 19 on http://localhost:8069 with crm_sales_process and its demo data
# (login admin / admin). Does all set-up itself (see scripts/env.sh).
#   DEMO_DB  database to use; created with demo data when missing  [crm_sales_process_demo]
#   RESET=1  drop and re-create the database first
#   HTTP_PORT  port to serve on  [8069]
source "$(dirname "$0")/env.sh"
setup_all

DEMO_DB=${DEMO_DB:-crm_sales_process_demo}
if [ "${RESET:-0}" = 1 ]; then
    dropdb --if-exists "$DEMO_DB"
fi
if ! psql -lqt | cut -d'|' -f1 | grep -qw "$DEMO_DB"; then
    log "creating database $DEMO_DB with $MODULE and demo data"
    odoo_bin -d "$DEMO_DB" -i "$MODULE" --with-demo --stop-after-init --no-http
else
    log "updating $MODULE in $DEMO_DB"
    odoo_bin -d "$DEMO_DB" -u "$MODULE" --stop-after-init --no-http
fi
log "Odoo on http://localhost:${HTTP_PORT:-8069} — database $DEMO_DB, login admin / admin"
exec "$ODOO_VENV/bin/python" "$ODOO_SRC/odoo-bin" --addons-path="$ADDONS_PATH" \
    -d "$DEMO_DB" --db-filter="^$DEMO_DB\$" --http-interface=127.0.0.1 --http-port="${HTTP_PORT:-8069}"
