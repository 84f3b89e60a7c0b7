#!/usr/bin/env bash
# Load and fault run: Odoo with several HTTP workers and a cron worker, concurrent clients over
# the web client's RPC, faults (SIGKILL of a busy worker, pg_terminate_backend of the cron
# worker's connection, step percentages changed under moving opportunities), then every
# invariant checked; stock crm and the addon side by side. See bench/README.md.
#
#   bash bench/load.sh [--duration S] [--clients N] [--workers N] [--replica] [--no-stock]
#                      [--reuse] [--no-faults] [--sequential]
# or the same through the environment: LOAD_DURATION (60), LOAD_CLIENTS (6), LOAD_WORKERS (2),
# LOAD_REPLICA=1, LOAD_STOCK=0, LOAD_REUSE=1, LOAD_FAULTS=0, LOAD_PARALLEL=0, LOAD_STOCK_DB
# (load_stock), LOAD_PROC_DB (load_proc), LOAD_PORT (8180: stock 8180, addon 8182, gevent +1),
# LOAD_REPLICA_PORT (5433), LOAD_OUT (bench/.load: logs and JSON results).
# Exit code 1 on any unexpected error, invariant violation or failed fault injection.
source "$(dirname "$0")/../scripts/env.sh"

DURATION=${LOAD_DURATION:-60}
CLIENTS=${LOAD_CLIENTS:-6}
WORKERS=${LOAD_WORKERS:-2}
REPLICA=${LOAD_REPLICA:-0}
STOCK=${LOAD_STOCK:-1}
REUSE=${LOAD_REUSE:-0}
FAULTS=${LOAD_FAULTS:-1}
PARALLEL=${LOAD_PARALLEL:-1}
STOCK_DB=${LOAD_STOCK_DB:-load_stock}
PROC_DB=${LOAD_PROC_DB:-load_proc}
PORT=${LOAD_PORT:-8180}
REPLICA_PORT=${LOAD_REPLICA_PORT:-5433}
while [ $# -gt 0 ]; do
    case $1 in
        --duration) DURATION=$2; shift ;;
        --clients) CLIENTS=$2; shift ;;
        --workers) WORKERS=$2; shift ;;
        --replica) REPLICA=1 ;;
        --no-stock) STOCK=0 ;;
        --reuse) REUSE=1 ;;
        --no-faults) FAULTS=0 ;;
        --sequential) PARALLEL=0 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done
[ "$WORKERS" -ge 2 ] || die "--workers must be 2 or more (the run kills one)"

setup_all
OUT=${LOAD_OUT:-$REPO_DIR/bench/.load}
mkdir -p "$OUT"
PGBIN=/usr/lib/postgresql/$PGVERSION/bin
PGMAIN_CONF=/etc/postgresql/$PGVERSION/main
REPLICA_DIR=/var/lib/postgresql/$PGVERSION/load_replica
start=$(date +%s)

pg_as_postgres() { as_root runuser -u postgres -- "$@"; }

cleanup() {
    local pidfile
    for pidfile in "$OUT"/odoo-*.pid; do
        [ -f "$pidfile" ] && stop_odoo "$(cat "$pidfile")" && rm -f "$pidfile"
    done
    [ "$REPLICA" = 1 ] && stop_replica
    return 0
}
trap cleanup EXIT

# --- PostgreSQL: the hot standby --------------------------------------------------------------

# The primary must ship WAL to a standby: wal_level replica (Debian's default), WAL senders,
# and a replication entry for the local postgres user (Debian's default pg_hba has one). Only
# what is missing is changed, so a fresh machine and an already set-up one end the same.
ensure_primary_replication() {
    local level senders
    level=$(pg_as_postgres psql -p 5432 -tAc "SHOW wal_level")
    senders=$(pg_as_postgres psql -p 5432 -tAc "SHOW max_wal_senders")
    if [ "$level" = minimal ] || [ "$senders" -lt 2 ]; then
        log "primary: setting wal_level=replica, max_wal_senders=10 (restarts PostgreSQL)"
        pg_as_postgres psql -p 5432 -qc "ALTER SYSTEM SET wal_level = replica"
        pg_as_postgres psql -p 5432 -qc "ALTER SYSTEM SET max_wal_senders = 10"
        as_root pg_ctlcluster "$PGVERSION" main restart
    fi
    if ! pg_as_postgres psql -p 5432 -tAc "SELECT 1 FROM pg_hba_file_rules
            WHERE type = 'local' AND 'replication' = ANY(database)
              AND ('postgres' = ANY(user_name) OR 'all' = ANY(user_name))
              AND auth_method IN ('peer', 'trust')" | grep -q 1; then
        log "primary: allowing local replication for postgres in pg_hba.conf"
        echo "local   replication     postgres                                peer" \
            | as_root tee -a "$PGMAIN_CONF/pg_hba.conf" >/dev/null
        pg_as_postgres psql -p 5432 -qc "SELECT pg_reload_conf()"
    fi
}

stop_replica() {
    if [ -f "$REPLICA_DIR/postmaster.pid" ]; then
        pg_as_postgres "$PGBIN/pg_ctl" -D "$REPLICA_DIR" -m fast -w stop >/dev/null || true
    fi
    as_root rm -rf "$REPLICA_DIR"
}

# A second cluster on REPLICA_PORT, copied with pg_basebackup -R (standby.signal and
# primary_conninfo: it streams from the primary), read-only hot standby. Its own small
# configuration: Debian keeps the primary's in /etc, which the copy does not include.
start_replica() {
    stop_replica
    ensure_primary_replication
    log "creating the hot standby in $REPLICA_DIR (port $REPLICA_PORT)"
    pg_as_postgres "$PGBIN/pg_basebackup" -h /var/run/postgresql -p 5432 -U postgres \
        -D "$REPLICA_DIR" -R -X stream -c fast
    local max_connections
    max_connections=$(pg_as_postgres psql -p 5432 -tAc "SHOW max_connections")
    pg_as_postgres tee "$REPLICA_DIR/postgresql.conf" >/dev/null <<CONF
port = $REPLICA_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '/var/run/postgresql'
max_connections = $max_connections
hot_standby = on
hot_standby_feedback = on
shared_buffers = 128MB
logging_collector = off
CONF
    # Odoo reaches the replica over TCP as the current user: trusted on localhost only
    pg_as_postgres tee "$REPLICA_DIR/pg_hba.conf" >/dev/null <<HBA
local   all   all                 peer
host    all   all   127.0.0.1/32  trust
HBA
    # -t 900: the standby replays the WAL since the copy began before it accepts connections
    pg_as_postgres "$PGBIN/pg_ctl" -D "$REPLICA_DIR" -l "$REPLICA_DIR/server.log" -w -t 900 start \
        >/dev/null
    pg_as_postgres psql -p "$REPLICA_PORT" -tAc "SELECT pg_is_in_recovery()" | grep -q t \
        || die "the replica is not in recovery (not a standby)"
    log "hot standby streaming: $(pg_as_postgres psql -p 5432 -tAc \
        "SELECT state FROM pg_stat_replication LIMIT 1")"
}

# --- Databases and Odoo ---------------------------------------------------------------------

prepare_db() {  # prepare_db <db> <modules>
    local db=$1 modules=$2
    if [ "$REUSE" = 1 ] && psql -d "$db" -tAc "SELECT 1 FROM ir_module_module
            WHERE name = '${modules%%,*}' AND state = 'installed'" 2>/dev/null | grep -q 1; then
        log "reusing $db"
        if [ "$modules" = "$MODULE" ]; then
            odoo_bin -d "$db" -u "$MODULE" --stop-after-init --no-http --log-level=warn
        fi
        return
    fi
    log "creating $db with $modules (no demo data)"
    dropdb --if-exists "$db"
    odoo_bin -d "$db" -i "$modules" --stop-after-init --no-http --log-level=warn
}

stop_odoo() {  # stop_odoo <master pid>: the server this script started, and its workers
    local pid=$1
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        if kill -0 "$pid" 2>/dev/null; then
            pkill -KILL -P "$pid" 2>/dev/null || true
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    return 0
}

run_mode() {  # run_mode <stock|proc> <db> <port>
    local mode=$1 db=$2 port=$3 logfile="$OUT/odoo-$1.log" replica_args=() status=0
    log "$mode run on $db (port $port): ${DURATION}s, $CLIENTS clients, $WORKERS workers$(
        [ "$REPLICA" = 1 ] && echo ', replica')"
    if [ "$REPLICA" = 1 ]; then
        replica_args=(--db_replica_host=127.0.0.1 "--db_replica_port=$REPLICA_PORT")
    fi
    : >"$logfile"
    # ODOO_NOTIFY_CRON_CHANGES: a cron made due by RPC wakes the cron worker at once
    ODOO_NOTIFY_CRON_CHANGES=1 "$ODOO_VENV/bin/python" "$ODOO_SRC/odoo-bin" \
        --addons-path="$ADDONS_PATH" -d "$db" --db-filter="^$db\$" \
        --workers="$WORKERS" --max-cron-threads=1 \
        --http-port="$port" --gevent-port=$((port + 1)) --http-interface=127.0.0.1 \
        --limit-time-real=600 --limit-time-cpu=300 --limit-request=100000 \
        --log-level=info --logfile="$logfile" "${replica_args[@]}" >"$logfile.out" 2>&1 &
    local pid=$!
    echo "$pid" >"$OUT/odoo-$mode.pid"
    "$ODOO_VENV/bin/python" "$REPO_DIR/bench/load_run.py" run --mode "$mode" --db "$db" \
        --url "http://127.0.0.1:$port" --duration "$DURATION" --clients "$CLIENTS" \
        --workers "$WORKERS" --log "$logfile" --faults "$FAULTS" \
        --replica-port "$([ "$REPLICA" = 1 ] && echo "$REPLICA_PORT" || echo 0)" \
        --result "$OUT/result-$mode.json" >"$OUT/driver-$mode.log" 2>&1 || status=$?
    stop_odoo "$pid"
    rm -f "$OUT/odoo-$mode.pid"
    if [ "$status" != 0 ]; then
        log "$mode run failed ($status): $OUT/driver-$mode.log"
        tail -20 "$OUT/driver-$mode.log" >&2
    fi
    return $status
}

rm -f "$OUT"/result-*.json
if [ "$STOCK" = 1 ]; then
    prepare_db "$STOCK_DB" crm,hr &
    stock_prep=$!
fi
prepare_db "$PROC_DB" "$MODULE"
if [ "$STOCK" = 1 ]; then wait "$stock_prep"; fi
[ "$REPLICA" = 1 ] && start_replica

failed=0
results=()
# In parallel (default) both servers share the machine's load alike, which matters more for
# the side by side than having the machine alone; --sequential runs them one after the other.
if [ "$STOCK" = 1 ]; then
    results+=("$OUT/result-stock.json")
    if [ "$PARALLEL" = 1 ]; then
        run_mode stock "$STOCK_DB" "$PORT" &
        stock_run=$!
    else
        run_mode stock "$STOCK_DB" "$PORT" || failed=1
    fi
fi
run_mode proc "$PROC_DB" $((PORT + 2)) || failed=1
results+=("$OUT/result-proc.json")
if [ "$STOCK" = 1 ] && [ "$PARALLEL" = 1 ]; then wait "$stock_run" || failed=1; fi
"$ODOO_VENV/bin/python" "$REPO_DIR/bench/load_run.py" compare "${results[@]}" || failed=1
log "load run done in $(( $(date +%s) - start )) s (logs and results in $OUT)"
exit $failed
