#!/usr/bin/env bash
# Export i18n/crm_sales_process.pot from a database with the addon installed and update the .po
# files with msgmerge. Usage: bash scripts/i18n.sh [DB]   (default: the test database)
set -euo pipefail
REPO_DIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/env.sh
source "$REPO_DIR/scripts/env.sh"
setup_all
command -v msgmerge >/dev/null || die "msgmerge not found: install gettext (apt-get install gettext)"
DB=${1:-${TEST_DB:-crm_sales_process_test}}
POT="$REPO_DIR/i18n/crm_sales_process.pot"
odoo_bin -d "$DB" -u crm_sales_process --stop-after-init --log-level=warn
odoo_bin i18n export -d "$DB" -o "$POT" crm_sales_process
# The addons link inside the checkout makes Odoo's source walk see the code again under
# .addons/crm_sales_process/...: keep only the real paths.
sed -i '/^#: code:addons\/crm_sales_process\/\.addons\//d' "$POT"
for po in "$REPO_DIR"/i18n/*.po; do
    [ -e "$po" ] || continue
    msgmerge --quiet --update --no-fuzzy-matching --backup=none "$po" "$POT"
done
