# shellcheck shell=bash
# Shared set-up for scripts/start.sh, scripts/test.sh and bench/run.sh.
# Source it; it defines functions and the settings below (all overridable):
#   ODOO_SRC     Odoo 19.0 Community source tree (holds odoo-bin)   [$HOME/odoo-19.0]
#   ODOO_VENV    virtualenv built from ODOO_SRC/requirements.txt    [$HOME/odoo-19.0-venv]
#   ODOO_CLONE   when ODOO_SRC is missing: 1 = clone the official 19.0 branch (shallow) into it
#                if GitHub is reachable, 0 = never clone, stop with instructions   [1]
#   PGVERSION    Debian PostgreSQL major version                    [15]
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ODOO_SRC=${ODOO_SRC:-$HOME/odoo-19.0}
ODOO_VENV=${ODOO_VENV:-$HOME/odoo-19.0-venv}
PGVERSION=${PGVERSION:-15}
ADDONS_DIR="$REPO_DIR/.addons"
MODULE=crm_sales_process
ODOO_REPO_URL=${ODOO_REPO_URL:-https://github.com/odoo/odoo.git}
# Odoo's crm_forecast tour races in stock Odoo 19: the kanban is mounted before its data is
# loaded, and the tour clicks "New" as soon as the column quick create shows; a click before the
# data opens the full form instead of the quick create, and the tour waits in vain for the quick
# create's name (measured on stock crm + hr without this addon: it fails in about one run in ten).
# pytest runs of crm's tests (scripts/test.sh, scripts/lifecycle.sh) rerun a failure of exactly
# that step, at most twice (pytest-rerunfailures); any other failure fails the run.
CRM_TOUR_RERUN_ARGS=(--reruns 2 --only-rerun "Tour crm_forecast → Step complete name")

log() { printf '[%s] %s\n' "$MODULE" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$MODULE" "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian packages: PostgreSQL, wkhtmltopdf (QWeb PDF), chromium (tours), poppler-utils (tests read
# the PDFs back with pdftotext), build deps of requirements.
ensure_system_packages() {
    local wanted=(postgresql-"$PGVERSION" libpq-dev wkhtmltopdf chromium libmagic1 git poppler-utils)
    local missing=()
    for pkg in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        log "installing Debian packages: ${missing[*]}"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

odoo_missing_help() {
    cat >&2 <<MSG
[$MODULE] ERROR: no Odoo 19.0 source tree found at ODOO_SRC=$ODOO_SRC${1:+ ($1)}
Provide Odoo 19.0 Community in one of these ways, then run the command again:
  * on a machine with internet access, clone the official 19.0 branch:
      git clone --depth 1 --branch 19.0 $ODOO_REPO_URL odoo-19.0
    and copy (or link) that folder to \$HOME/odoo-19.0 here (the folder holding odoo-bin), or
  * export ODOO_SRC=/path/to/odoo-19.0 pointing at an Odoo 19.0 tree you already have, or
  * once GitHub is reachable from here, run the command again: it clones the branch itself
    (unless ODOO_CLONE=0).
MSG
    exit 1
}

# No Odoo tree: clone the official 19.0 branch (shallow, about 1 GB) when GitHub answers;
# without network, stop with the instructions above.
ensure_odoo_source() {
    if [ ! -f "$ODOO_SRC/odoo-bin" ]; then
        if [ -e "$ODOO_SRC" ] && [ -n "$(ls -A "$ODOO_SRC" 2>/dev/null)" ]; then
            odoo_missing_help "the folder exists but holds no odoo-bin"
        fi
        [ "${ODOO_CLONE:-1}" = 1 ] || odoo_missing_help "ODOO_CLONE=0: not cloning"
        if ! timeout 60 git ls-remote --exit-code --heads "$ODOO_REPO_URL" 19.0 >/dev/null 2>&1; then
            odoo_missing_help "$ODOO_REPO_URL is not reachable from this machine"
        fi
        log "no Odoo tree at $ODOO_SRC: cloning the official 19.0 branch (shallow, about 1 GB)"
        log "from $ODOO_REPO_URL; set ODOO_SRC to use another tree"
        git clone --depth 1 --branch 19.0 "$ODOO_REPO_URL" "$ODOO_SRC" \
            || odoo_missing_help "the clone failed"
        log "cloned Odoo 19.0 into $ODOO_SRC"
    fi
    [ -f "$ODOO_SRC/odoo-bin" ] && [ -f "$ODOO_SRC/odoo/release.py" ] || odoo_missing_help
    grep -q "^version_info = (19, 0," "$ODOO_SRC/odoo/release.py" \
        || die "$ODOO_SRC is not Odoo 19.0 (see odoo/release.py); point ODOO_SRC at a 19.0 tree"
}

# The virtualenv: Odoo's requirements (minus python-ldap, which needs LDAP headers and is not used)
# plus the test tools. Rebuilt only when a requirements file changes.
ensure_venv() {
    local stamp="$ODOO_VENV/.crm_sales_process.stamp" want
    want=$(cat "$ODOO_SRC/requirements.txt" "$REPO_DIR/requirements-dev.txt" | sha256sum | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return
    fi
    log "building virtualenv $ODOO_VENV"
    [ -x "$ODOO_VENV/bin/python" ] || python3 -m venv "$ODOO_VENV"
    local tmp
    tmp=$(mktemp -d)
    grep -v -i '^python-ldap' "$ODOO_SRC/requirements.txt" >"$tmp/requirements.txt"
    # Old sdists (e.g. pinned by Odoo) still import pkg_resources while building.
    echo 'setuptools<70' >"$tmp/constraints.txt"
    # pip >= 26 takes build constraints apart (PIP_BUILD_CONSTRAINT); older pip reads PIP_CONSTRAINT
    # in the isolated build environment too.
    PIP_CONSTRAINT="$tmp/constraints.txt" PIP_BUILD_CONSTRAINT="$tmp/constraints.txt" \
        "$ODOO_VENV/bin/pip" install -q \
        -r "$tmp/requirements.txt" -r "$REPO_DIR/requirements-dev.txt"
    rm -rf "$tmp"
    echo "$want" >"$stamp"
}

# Odoo needs the addon's folder to carry the module name: link the checkout under .addons/.
ensure_addons_link() {
    mkdir -p "$ADDONS_DIR"
    ln -sfn "$REPO_DIR" "$ADDONS_DIR/$MODULE"
}

# Debian's cluster (pg_ctlcluster runs the server as the postgres user); the current user gets a
# superuser role so Odoo connects over the local socket without a password.
ensure_postgres() {
    if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -q "^$PGVERSION main$"; then
        as_root pg_createcluster "$PGVERSION" main >/dev/null
    fi
    if ! pg_lsclusters -h | awk -v v="$PGVERSION" '$1==v && $2=="main" {print $4}' | grep -q online; then
        log "starting PostgreSQL $PGVERSION"
        as_root pg_ctlcluster "$PGVERSION" main start
    fi
    local role
    role=$(id -un)
    if ! as_root su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='$role'\"" | grep -q 1; then
        as_root su postgres -c "createuser --superuser '$role'"
    fi
}

setup_all() {
    ensure_system_packages
    ensure_odoo_source
    ensure_venv
    ensure_addons_link
    ensure_postgres
    ADDONS_PATH="$ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$ADDONS_DIR"
    export ADDONS_PATH
}

odoo_bin() {
    "$ODOO_VENV/bin/python" "$ODOO_SRC/odoo-bin" --addons-path="$ADDONS_PATH" "$@"
}
