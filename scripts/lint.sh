#!/usr/bin/env bash
# Lint like OCA: ruff (check + format) and pylint-odoo. pylint-odoo must see the addon under its
# module name, so it runs on the .addons/crm_sales_process link. Tools come from a private venv.
set -euo pipefail
REPO_DIR=$(cd "$(dirname "$0")/.." && pwd)
LINT_VENV=${LINT_VENV:-$HOME/.cache/crm_sales_process/lint-venv}
if [ ! -x "$LINT_VENV/bin/pylint" ]; then
    python3 -m venv "$LINT_VENV"
    "$LINT_VENV/bin/pip" install -q ruff==0.13.0 pylint-odoo==10.0.12
fi
mkdir -p "$REPO_DIR/.addons"
ln -sfn "$REPO_DIR" "$REPO_DIR/.addons/crm_sales_process"
cd "$REPO_DIR"
"$LINT_VENV/bin/ruff" check --no-fix .
"$LINT_VENV/bin/ruff" format --check .
cd "$REPO_DIR/.addons"
"$LINT_VENV/bin/pylint" --rcfile="$REPO_DIR/.pylintrc-mandatory" crm_sales_process
