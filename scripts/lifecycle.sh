#!/usr/bin/env bash
# Install, upgrade and uninstall check (not a unit test; runnable in CI, about 6 minutes).
#
# Uninstall: a database with the addon, its demo data and data created like users do (processes,
#   moves, won, lost, step history) loses the addon; every crm.lead, crm.stage and crm.team of
#   the users must stay with the same key values (counts and checksums before/after), the addon's
#   tables and crm.lead columns must be gone, Odoo's crm tests must pass on that database, and
#   reinstalling must work and leave the existing opportunities as they are (no process).
#   Records of the addon's own demo data (its XML ids) are removed by Odoo's uninstall like any
#   module data: they are left out of the comparison and counted apart.
# Upgrade: a database installed and used with the previous release (PREV_RELEASE) is upgraded
#   (-u) with this checkout: processes, steps and opportunities must keep their values, and the
#   step history must be backfilled from the stage tracking.
#
# Settings (all optional):
#   LIFE_DB_PREFIX   prefix of the databases it (re)creates            [csp_life]
#   LIFE_HTTP_PORT   HTTP port of Odoo's crm tests (tours)             [8069]
#   PREV_RELEASE     commit of the previous release (19.0.1.0.1)      [81d90c73d388]
#   SKIP_CRM_TESTS=1 skips Odoo's crm tests after the uninstall
#   KEEP_DBS=1       keeps the databases afterwards (dropped by default)
# Exits non-zero with a message on the first failed check; prints a summary at the end.
source "$(dirname "$0")/env.sh"
setup_all

PREFIX=${LIFE_DB_PREFIX:-csp_life}
DB_UNINSTALL="${PREFIX}_uninstall"
DB_UPGRADE="${PREFIX}_upgrade"
PREV_RELEASE=${PREV_RELEASE:-81d90c73d388d3ed99a97ec65e4304703059a13b}
WORK=$(mktemp -d)
SUMMARY="$WORK/summary"
: >"$SUMMARY"

cleanup() {
    local status=$?
    if [ "${KEEP_DBS:-0}" != 1 ]; then
        dropdb --if-exists "$DB_UNINSTALL" 2>/dev/null || true
        dropdb --if-exists "$DB_UPGRADE" 2>/dev/null || true
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT

fail() { die "lifecycle: $*"; }
note() {
    log "$*"
    echo "$*" >>"$SUMMARY"
}
sql() { psql -d "$1" -AtX -v ON_ERROR_STOP=1 -c "$2"; }

# Odoo with another addons path (the previous release)
odoo_at() {
    local addons_path=$1
    shift
    "$ODOO_VENV/bin/python" "$ODOO_SRC/odoo-bin" --addons-path="$addons_path" "$@"
}

# Python from stdin in an Odoo shell of database $2 (addons path $1); it commits itself.
odoo_shell() {
    odoo_at "$1" shell -d "$2" --no-http --log-level=warn
}

# "count|md5" of key columns of a table's rows, leaving out the ids in $3 (a PostgreSQL array
# literal, e.g. {1,2}: records of the addon's own data).
checksum() {
    local db=$1 what=$2 excluded=${3:-}
    [ -n "$excluded" ] || excluded="{}"
    local table=$what columns
    case $what in
    crm_lead) columns="id, name, stage_id, probability, expected_revenue, active, team_id, user_id" ;;
    crm_stage) columns="id, name::text, sequence, is_won, fold" ;;
    crm_team) columns="id, name::text, active, user_id, company_id, sequence" ;;
    crm_sales_process) columns="id, name::text, active, default_scope, company_id" ;;
    crm_sales_process_step) columns="id, process_id, stage_id, sequence, probability" ;;
    crm_lead_process)
        table=crm_lead
        columns="id, stage_id, probability, automated_probability, active, sales_process_id,
                 sales_process_step_id, expected_revenue, user_id, team_id"
        ;;
    *) fail "no checksum for $what" ;;
    esac
    sql "$db" "SELECT count(*) || '|' || coalesce(md5(string_agg(row_text, ',' ORDER BY id)), '-')
                 FROM (SELECT id, ROW($columns)::text AS row_text FROM $table
                        WHERE id <> ALL('$excluded'::int[])) rows"
}

# ids of the addon's own records of a model (its data and demo XML ids)
owned_ids() {
    sql "$1" "SELECT '{' || coalesce(string_agg(res_id::text, ','), '') || '}'
                FROM ir_model_data WHERE module = '$MODULE' AND model = '$2'"
}

# Union of two id array literals ({1,2} and {3} -> {1,2,3})
merge_ids() {
    local ids
    ids=$(printf '%s,%s' "${1//[\{\}]/}" "${2//[\{\}]/}" | tr -s ',' | sed 's/^,//; s/,$//')
    echo "{$ids}"
}

# Data as users make it, with the API of the version installed: a process on stock stages, new
# opportunities moved forward in separate transactions (stage tracking, step history), won,
# lost, and opportunities of the demo processes moved too.
create_user_data() {
    odoo_shell "$1" "$2" <<'PY'
from odoo import Command

stages = [env.ref(f"crm.stage_lead{number}") for number in range(1, 5)]
process = env["crm.sales.process"].create({
    "name": "Lifecycle check process",
    "step_ids": [
        Command.create({"stage_id": stage.id, "sequence": index, "probability": probability})
        for index, (stage, probability) in enumerate(zip(stages, (10, 35, 70, 100)))
    ],
})
user = env.ref("base.user_admin")
leads = env["crm.lead"].create([
    {
        "name": f"Lifecycle check {number}",
        "type": "opportunity",
        "user_id": user.id,
        "team_id": env.ref("sales_team.team_sales_department").id,
        "expected_revenue": 1000 * number,
        "sales_process_id": process.id,
        "stage_id": stages[0].id,
    }
    for number in range(1, 21)
])
env.cr.commit()
for step_stage in stages[1:3]:
    leads[:12].write({"stage_id": step_stage.id})
    env.cr.commit()
leads[:4].action_set_won()
leads[12:15].action_set_lost()
env.cr.commit()
# opportunities of the other processes (demo) move back to their first step
others = env["crm.lead"].search([
    ("sales_process_id", "not in", [False, process.id]), ("won_status", "=", "pending"),
])
for lead in others[:5]:
    first = lead.sales_process_id._get_step_stages()[:1]
    if first and first != lead.stage_id:
        lead.write({"stage_id": first.id})
env["crm.lead"].create({"name": "Lifecycle check without process", "type": "opportunity"})
env.cr.commit()
print("created", len(leads) + 1, "opportunities")
PY
}

# Tables compared by the upgrade check, and their models (for the addon's own records)
declare -A UPGRADE_MODELS=(
    [crm_sales_process]=crm.sales.process
    [crm_sales_process_step]=crm.sales.process.step
    [crm_lead_process]=crm.lead
    [crm_stage]=crm.stage
    [crm_team]=crm.team
)

# ------------------------------------------------------------------
# Upgrade from the previous release (run in the background meanwhile)
# ------------------------------------------------------------------
upgrade_check() {
    local prev="$WORK/prev"
    mkdir -p "$prev/$MODULE"
    git -C "$REPO_DIR" archive "$PREV_RELEASE" | tar -x -C "$prev/$MODULE" \
        || fail "cannot extract the previous release $PREV_RELEASE"
    local prev_version
    prev_version=$(grep -o '"version": *"[^"]*"' "$prev/$MODULE/__manifest__.py" | cut -d'"' -f4)
    local prev_path="$ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$prev"
    dropdb --if-exists "$DB_UPGRADE"
    odoo_at "$prev_path" -d "$DB_UPGRADE" -i "$MODULE" --with-demo --stop-after-init \
        --no-http --log-level=warn || fail "install of the previous release $prev_version failed"
    create_user_data "$prev_path" "$DB_UPGRADE" >/dev/null || fail "data of the previous release"
    # The addon's demo records are left out: an upgrade loads the new version's demo data too.
    local table before=() owned_before=()
    for table in "${!UPGRADE_MODELS[@]}"; do
        owned_before+=("$(owned_ids "$DB_UPGRADE" "${UPGRADE_MODELS[$table]}")")
    done
    local index=0
    for table in "${!UPGRADE_MODELS[@]}"; do
        before+=("$(checksum "$DB_UPGRADE" "$table" "${owned_before[$index]}")")
        index=$((index + 1))
    done
    odoo_bin -d "$DB_UPGRADE" -u "$MODULE" --stop-after-init --no-http --log-level=warn \
        || fail "upgrade (-u) from $prev_version failed"
    local version
    version=$(sql "$DB_UPGRADE" "SELECT latest_version FROM ir_module_module WHERE name='$MODULE'")
    local after excluded
    index=0
    for table in "${!UPGRADE_MODELS[@]}"; do
        excluded=$(merge_ids "${owned_before[$index]}" \
            "$(owned_ids "$DB_UPGRADE" "${UPGRADE_MODELS[$table]}")")
        after=$(checksum "$DB_UPGRADE" "$table" "$excluded")
        [ "$after" = "${before[$index]}" ] \
            || fail "upgrade changed $table: before ${before[$index]}, after $after"
        index=$((index + 1))
    done
    local stays missing moved
    stays=$(sql "$DB_UPGRADE" "SELECT count(*) FROM crm_sales_process_history")
    [ "$stays" -gt 0 ] || fail "upgrade: no step history backfilled"
    # every opportunity on a step has its stay there (open while active)
    missing=$(sql "$DB_UPGRADE" "SELECT count(*) FROM crm_lead lead
        WHERE lead.sales_process_step_id IS NOT NULL AND NOT EXISTS (
              SELECT 1 FROM crm_sales_process_history stay
               WHERE stay.lead_id = lead.id AND stay.step_id = lead.sales_process_step_id
                 AND (stay.date_out IS NULL OR NOT lead.active))")
    [ "$missing" = 0 ] || fail "upgrade: $missing opportunities on a step without their stay"
    # the opportunities moved twice went through three steps
    moved=$(sql "$DB_UPGRADE" "SELECT count(*) FROM crm_lead lead
        WHERE lead.name LIKE 'Lifecycle check %' AND lead.id IN (
              SELECT lead_id FROM crm_sales_process_history GROUP BY lead_id
              HAVING count(DISTINCT step_id) >= 3)")
    [ "$moved" -ge 12 ] || fail "upgrade: $moved of 12 moved opportunities have their three stays"
    # the opportunities moved forward before the upgrade were answered then (time to respond)
    local answered
    answered=$(sql "$DB_UPGRADE" "SELECT count(*) FROM crm_lead lead
        WHERE lead.name LIKE 'Lifecycle check %' AND lead.first_response_date IS NOT NULL
          AND lead.response_hours IS NOT NULL AND lead.id IN (
              SELECT lead_id FROM crm_sales_process_history GROUP BY lead_id
              HAVING count(DISTINCT step_id) >= 3)")
    [ "$answered" -ge 12 ] || fail "upgrade: $answered of 12 moved opportunities have a first response"
    local counts="" name
    index=0
    for table in "${!UPGRADE_MODELS[@]}"; do
        name=${UPGRADE_MODELS[$table]}
        counts+="${counts:+, }${before[$index]%%|*} $name"
        index=$((index + 1))
    done
    note "upgrade $prev_version -> $version: $counts unchanged (checksums, the addon's demo" \
        "records apart); $stays stays of step history backfilled; $answered moved" \
        "opportunities answered"
}

# ------------------------------------------------------------------
# Uninstall, Odoo's crm tests, reinstall
# ------------------------------------------------------------------
uninstall_check() {
    dropdb --if-exists "$DB_UNINSTALL"
    odoo_bin -d "$DB_UNINSTALL" -i "$MODULE" --with-demo --stop-after-init --no-http \
        --log-level=warn || fail "install failed"
    create_user_data "$ADDONS_PATH" "$DB_UNINSTALL" >/dev/null || fail "data creation failed"
    local owned_leads owned_stages owned_teams
    owned_leads=$(owned_ids "$DB_UNINSTALL" crm.lead)
    owned_stages=$(owned_ids "$DB_UNINSTALL" crm.stage)
    owned_teams=$(owned_ids "$DB_UNINSTALL" crm.team)
    local leads_before stages_before teams_before stays processes
    leads_before=$(checksum "$DB_UNINSTALL" crm_lead "$owned_leads")
    stages_before=$(checksum "$DB_UNINSTALL" crm_stage "$owned_stages")
    teams_before=$(checksum "$DB_UNINSTALL" crm_team "$owned_teams")
    stays=$(sql "$DB_UNINSTALL" "SELECT count(*) FROM crm_sales_process_history")
    processes=$(sql "$DB_UNINSTALL" "SELECT count(*) FROM crm_sales_process")
    local on_process
    on_process=$(sql "$DB_UNINSTALL" "SELECT count(*) FROM crm_lead
        WHERE sales_process_id IS NOT NULL AND id <> ALL('$owned_leads'::int[])")

    odoo_shell "$ADDONS_PATH" "$DB_UNINSTALL" <<'PY' || fail "uninstall failed"
module = env["ir.module.module"].search([("name", "=", "crm_sales_process")])
module.button_immediate_uninstall()
PY
    local state
    state=$(sql "$DB_UNINSTALL" "SELECT state FROM ir_module_module WHERE name='$MODULE'")
    [ "$state" = uninstalled ] || fail "module state after uninstall: $state"
    local leads_after stages_after teams_after
    leads_after=$(checksum "$DB_UNINSTALL" crm_lead "$owned_leads")
    stages_after=$(checksum "$DB_UNINSTALL" crm_stage "$owned_stages")
    teams_after=$(checksum "$DB_UNINSTALL" crm_team "$owned_teams")
    [ "$leads_after" = "$leads_before" ] \
        || fail "uninstall changed crm.lead: before $leads_before, after $leads_after"
    [ "$stages_after" = "$stages_before" ] \
        || fail "uninstall changed crm.stage: before $stages_before, after $stages_after"
    [ "$teams_after" = "$teams_before" ] \
        || fail "uninstall changed crm.team: before $teams_before, after $teams_after"
    local leftovers
    leftovers=$(sql "$DB_UNINSTALL" "SELECT string_agg(table_name || '.' || column_name, ', ')
        FROM information_schema.columns
        WHERE (table_name = 'crm_lead' AND (column_name LIKE 'sales_process%'
               OR column_name IN ('department_id', 'is_stalled')))
           OR table_name LIKE 'crm_sales_process%'")
    [ -z "$leftovers" ] || fail "uninstall left tables/columns behind: $leftovers"
    local removed_leads removed_stages
    # the addon's own demo records Odoo removed (a stage still used by other opportunities stays)
    removed_leads=$(sql "$DB_UNINSTALL" "SELECT coalesce(cardinality('$owned_leads'::int[]), 0)
        - (SELECT count(*) FROM crm_lead WHERE id = ANY('$owned_leads'::int[]))")
    removed_stages=$(sql "$DB_UNINSTALL" "SELECT coalesce(cardinality('$owned_stages'::int[]), 0)
        - (SELECT count(*) FROM crm_stage WHERE id = ANY('$owned_stages'::int[]))")
    note "uninstall: ${leads_before%%|*} opportunities (of which $on_process on $processes" \
        "processes, $stays stays of history), ${stages_before%%|*} stages, ${teams_before%%|*}" \
        "teams kept with the same key values; the addon's own demo records removed" \
        "($removed_leads opportunities, $removed_stages stages); its tables" \
        "and crm.lead columns dropped"

    if [ "${SKIP_CRM_TESTS:-0}" != 1 ]; then
        local conf="$WORK/odoo.conf"
        cat >"$conf" <<CONF
[options]
addons_path = $ADDONS_PATH
db_name = $DB_UNINSTALL
http_interface = 127.0.0.1
http_port = ${LIFE_HTTP_PORT:-8069}
CONF
        local result
        # As scripts/test.sh runs them (same deselection: fails on stock Odoo 19 with hr; same
        # reruns of the forecast tour's race in stock Odoo, see scripts/env.sh)
        crm_pytest() {
            (cd "$ADDONS_DIR" && PYTHONPATH="$ODOO_SRC" "$ODOO_VENV/bin/python" -m pytest \
                -p no:cacheprovider -q --rootdir="$ADDONS_DIR" --odoo-config="$conf" \
                --odoo-database="$DB_UNINSTALL" --odoo-http --odoo-log-level=warn \
                "${CRM_TOUR_RERUN_ARGS[@]}" "$@")
        }
        if crm_pytest -k "not test_assign_perf_no_duplicates" "$ODOO_SRC/addons/crm/tests" \
            >"$WORK/crm-tests.log" 2>&1; then
            result=$(grep -E "[0-9]+ passed" "$WORK/crm-tests.log" | tail -1)
            note "Odoo's crm tests after the uninstall: $result"
        else
            tail -40 "$WORK/crm-tests.log" >&2
            fail "Odoo's crm tests fail after the uninstall (log above)"
        fi
    fi

    odoo_bin -d "$DB_UNINSTALL" -i "$MODULE" --stop-after-init --no-http --log-level=warn \
        || fail "reinstall failed"
    state=$(sql "$DB_UNINSTALL" "SELECT state FROM ir_module_module WHERE name='$MODULE'")
    [ "$state" = installed ] || fail "module state after reinstall: $state"
    # The processes went with the uninstall: the opportunities stay as they are, without one,
    # with their probabilities (they get a process again when a user gives them one). The
    # demo data of a database with demo is loaded again: new records of the addon.
    owned_leads=$(merge_ids "$owned_leads" "$(owned_ids "$DB_UNINSTALL" crm.lead)")
    leads_after=$(checksum "$DB_UNINSTALL" crm_lead "$owned_leads")
    [ "$leads_after" = "$leads_before" ] \
        || fail "reinstall changed crm.lead: before $leads_before, after $leads_after"
    local with_process
    with_process=$(sql "$DB_UNINSTALL" "SELECT count(*) FROM crm_lead
        WHERE sales_process_id IS NOT NULL AND id <> ALL('$owned_leads'::int[])")
    [ "$with_process" = 0 ] || fail "reinstall gave $with_process existing opportunities a process"
    note "reinstall: works; existing opportunities unchanged and without a process"
}

start=$(date +%s)
log "lifecycle: upgrade from $PREV_RELEASE in the background, uninstall meanwhile"
(upgrade_check) >"$WORK/upgrade.log" 2>&1 &
upgrade_pid=$!
# not "|| status=$?": errexit must stay on inside the checks
set +e
(
    set -e
    uninstall_check
)
uninstall_status=$?
wait "$upgrade_pid"
upgrade_status=$?
set -e
if [ "$upgrade_status" != 0 ]; then
    grep -v "^Running as user 'root'" "$WORK/upgrade.log" | tail -30 >&2
    fail "upgrade check failed (log above)"
fi
[ "$uninstall_status" = 0 ] || fail "uninstall check failed (see above)"
echo "== lifecycle checks passed in $(($(date +%s) - start)) s =="
cat "$SUMMARY"
