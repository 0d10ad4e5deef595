#!/usr/bin/env bash
# An Airflow deployment of the provider on one machine (LocalExecutor) or many (CeleryExecutor),
# on a PostgreSQL metadata database. Run it where Airflow and the provider are installed (the
# `airflow` command on PATH). Every process reads one environment file, so they all agree.
#
#   export AIRFLOW_HOME=/srv/airflow          # the deployment's folder: settings, DAGs, logs
#   deploy/airflow.sh init DATABASE_URL       # settings with fresh secrets, example DAGs, `db migrate`
#   deploy/airflow.sh start                   # api-server, scheduler, dag-processor, triggerer
#   deploy/airflow.sh password                # the admin user's password (the UI's sign-in)
#   deploy/airflow.sh pool NAME SLOTS
#   deploy/airflow.sh leadsquared-connection ID   # keys from LEADSQUARED_* variables; tests it
#   deploy/airflow.sh sql-connection ID       # from SQL_CONN_URI, e.g. postgres://user:pw@host:5432/db
#   deploy/airflow.sh unpause DAG_ID
#   deploy/airflow.sh backfill DAG_ID FROM TO [REPROCESS [MAX_ACTIVE_RUNS]]   # prints its id
#   deploy/airflow.sh status BACKFILL_ID      # the backfill and the state of each of its runs
#   deploy/airflow.sh wait BACKFILL_ID [SECONDS]  # until it completes; fails if a run failed
#   deploy/airflow.sh worker [ARGS...]        # CeleryExecutor: a worker, in the foreground
#   deploy/airflow.sh stop
#
# `init` writes every setting to $AIRFLOW_HOME/airflow.env (mode 600: it holds the secrets):
# the executor (EXECUTOR, default LocalExecutor), the API server's address (API_HOST, API_PORT,
# API_URL: what workers use to reach it), and every AIRFLOW__* and LEADACT_* variable set when
# it runs. Each process sources that file, so a setting changed there reaches a process at its
# next start. Process logs are in $AIRFLOW_HOME/process-logs, task logs in $AIRFLOW_HOME/logs.
set -euo pipefail

: "${AIRFLOW_HOME:?set AIRFLOW_HOME to the deployment folder, e.g. export AIRFLOW_HOME=/srv/airflow}"
export AIRFLOW_HOME
ENV_FILE=$AIRFLOW_HOME/airflow.env
LOGS=$AIRFLOW_HOME/process-logs
PIDS=$AIRFLOW_HOME/run
PROCESSES=(api-server scheduler dag-processor triggerer)

die() {
    echo "deploy/airflow.sh: $*" >&2
    exit 1
}

command -v airflow >/dev/null || die "airflow is not on PATH: activate the virtualenv where Airflow and the provider are installed"
# The interpreter beside `airflow`, which has Airflow's libraries (cryptography among them).
PYTHON=$(dirname "$(command -v airflow)")/python
[ -x "$PYTHON" ] || PYTHON=python3

load() {  # the deployment's environment, as every process gets it
    [ -f "$ENV_FILE" ] || die "$ENV_FILE is missing: run \`deploy/airflow.sh init DATABASE_URL\` first"
    set -a
    # shellcheck source=/dev/null
    . "$ENV_FILE"
    set +a
}

init() {
    local database_url=${1:?usage: init DATABASE_URL (postgresql+psycopg2://user:password@host:5432/airflow)}
    [ -f "$ENV_FILE" ] && die "$ENV_FILE exists: its secrets encrypt what the database holds; remove it only with the database"
    local executor=${EXECUTOR:-LocalExecutor} host=${API_HOST:-127.0.0.1} port=${API_PORT:-8080}
    local url=${API_URL:-http://$host:$port}
    if [ "$executor" = CeleryExecutor ]; then
        # The result backend defaults to the metadata database; the broker has no default.
        : "${AIRFLOW__CELERY__BROKER_URL:?CeleryExecutor: set AIRFLOW__CELERY__BROKER_URL, e.g. redis://redis-host:6379/1}"
    fi
    mkdir -p "$AIRFLOW_HOME/dags" "$LOGS" "$PIDS"
    (
        umask 077
        {
            echo "# Written by deploy/airflow.sh init: the settings of every Airflow process of this deployment."
            # The variables given to init first, so the lines below (the deployment's own) win.
            env | grep -E '^(AIRFLOW__|LEADACT_)' | grep -vE '^AIRFLOW__(CORE__EXECUTOR|DATABASE__SQL_ALCHEMY_CONN)=' | sort |
                sed -E "s/'/'\\\\''/g; s/^([A-Z0-9_]+)=(.*)$/\\1='\\2'/"
            echo "AIRFLOW_HOME='$AIRFLOW_HOME'"
            echo "AIRFLOW__CORE__EXECUTOR=$executor"
            echo "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN='$database_url'"
            echo "AIRFLOW__CORE__DAGS_FOLDER='$AIRFLOW_HOME/dags'"
            echo "AIRFLOW__CORE__LOAD_EXAMPLES=False"
            # Secrets shared by the processes: the fernet key encrypts connections' passwords in the
            # database; the JWT secret signs what the API server hands the workers and the UI.
            echo "AIRFLOW__CORE__FERNET_KEY=$("$PYTHON" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
            echo "AIRFLOW__API_AUTH__JWT_SECRET=$("$PYTHON" -c 'import secrets; print(secrets.token_hex(32))')"
            echo "AIRFLOW__API__SECRET_KEY=$("$PYTHON" -c 'import secrets; print(secrets.token_hex(16))')"
            echo "AIRFLOW__API__HOST=$host"
            echo "AIRFLOW__API__PORT=$port"
            echo "AIRFLOW__API__BASE_URL=$url"
            # Where task processes (LocalExecutor) and workers (Celery) report to the API server.
            echo "AIRFLOW__CORE__EXECUTION_API_SERVER_URL=$url/execution/"
            # One user, admin; its password is generated at the API server's first start.
            echo "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=admin:admin"
            echo "AIRFLOW__CORE__TEST_CONNECTION=Enabled"
        } >"$ENV_FILE"
    )
    load
    leadact-sandbox example-dags "$AIRFLOW_HOME/dags" --force
    airflow db migrate >"$LOGS/db-migrate.log" 2>&1 || die "airflow db migrate failed; see $LOGS/db-migrate.log"
    echo "initialised $AIRFLOW_HOME: settings in $ENV_FILE, DAGs in $AIRFLOW_HOME/dags"
}

running() {  # running NAME: its process is alive
    [ -f "$PIDS/$1.pid" ] && kill -0 "$(cat "$PIDS/$1.pid")" 2>/dev/null
}

start() {
    load
    mkdir -p "$LOGS" "$PIDS"
    local name
    for name in "${PROCESSES[@]}"; do
        running "$name" && continue
        local args=("$name")
        [ "$name" = api-server ] && args+=(--host "$AIRFLOW__API__HOST" --port "$AIRFLOW__API__PORT")
        # A session of its own, so `stop` reaches the process's children (task processes) too.
        setsid airflow "${args[@]}" >>"$LOGS/$name.log" 2>&1 </dev/null &
        echo $! >"$PIDS/$name.pid"
    done
    local waited=0
    until rest GET /monitor/health --anonymous >/dev/null 2>&1; do
        for name in "${PROCESSES[@]}"; do
            running "$name" || die "$name exited; the end of $LOGS/$name.log:
$(tail -n 30 "$LOGS/$name.log")"
        done
        [ $waited -ge 180 ] && die "the API server did not answer at $AIRFLOW__API__BASE_URL within 180 s"
        sleep 2
        waited=$((waited + 2))
    done
    echo "started ${PROCESSES[*]}; the UI: $AIRFLOW__API__BASE_URL (user admin, \`deploy/airflow.sh password\`)"
}

stop() {
    local name pid
    for name in "${PROCESSES[@]}"; do
        [ -f "$PIDS/$name.pid" ] || continue
        pid=$(cat "$PIDS/$name.pid")
        kill -TERM -- "-$pid" 2>/dev/null || true
    done
    for name in "${PROCESSES[@]}"; do
        [ -f "$PIDS/$name.pid" ] || continue
        pid=$(cat "$PIDS/$name.pid")
        for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
        kill -KILL -- "-$pid" 2>/dev/null || true
        rm -f "$PIDS/$name.pid"
    done
    echo "stopped"
}

worker() {
    load
    exec airflow celery worker "$@"
}

password_file() {
    echo "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated}"
}

password() {
    load
    local file
    file=$(password_file)
    [ -f "$file" ] || die "$file does not exist yet: the API server writes it when it first starts"
    "$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["admin"])' "$file"
}

# rest METHOD PATH [--anonymous] [--quiet]: call $AIRFLOW__API__BASE_URL/api/v2 + PATH as admin, with
# the JSON body in $BODY; print the answer (or only its status with --quiet: some answers echo
# what was sent, a connection's login among it). Fails naming the status and Airflow's message.
rest() {
    METHOD=$1 API_PATH=$2 FLAGS="${*:3}" PASSWORDS=$(password_file) "$PYTHON" -c '
import json, os, sys, urllib.error, urllib.request

base = os.environ["AIRFLOW__API__BASE_URL"].rstrip("/")
flags = os.environ["FLAGS"].split()

def call(method, url, body=None, token=None):
    data = None if body is None else body.encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")

token = None
if "--anonymous" not in flags:
    with open(os.environ["PASSWORDS"]) as passwords:
        secret = json.load(passwords)["admin"]
    status, text = call("POST", f"{base}/auth/token", json.dumps({"username": "admin", "password": secret}))
    if status not in (200, 201):
        sys.exit(f"sign-in as admin failed: HTTP {status} {text[:300]}")
    token = json.loads(text)["access_token"]
method, path = os.environ["METHOD"], os.environ["API_PATH"]
status, text = call(method, f"{base}/api/v2{path}", os.environ.get("BODY"), token)
if status >= 300:
    detail = text if "--quiet" not in flags else "(answer not shown: it may echo what was sent)"
    sys.exit(f"{method} /api/v2{path}: HTTP {status} {detail[:1000]}")
print(f"{method} /api/v2{path}: HTTP {status}" if "--quiet" in flags else text)
'
}

json_body() {  # json_body PYTHON_EXPRESSION: print it as JSON (os and json imported; env in E)
    "$PYTHON" -c "import json, os; E = os.environ; print(json.dumps($1))"
}

leadsquared_connection() {
    local id=${1:?usage: leadsquared-connection CONN_ID (with LEADSQUARED_HOST, LEADSQUARED_ACCESS_KEY, LEADSQUARED_SECRET_KEY, optional LEADSQUARED_EXTRA)}
    : "${LEADSQUARED_HOST:?set LEADSQUARED_HOST, e.g. api-in21.leadsquared.com}"
    : "${LEADSQUARED_ACCESS_KEY:?set LEADSQUARED_ACCESS_KEY (read -rs LEADSQUARED_ACCESS_KEY keeps it out of your history)}"
    : "${LEADSQUARED_SECRET_KEY:?set LEADSQUARED_SECRET_KEY (read -rs LEADSQUARED_SECRET_KEY)}"
    load
    # The body the UI's connection form sends: the keys go in the body, never in a URL or argv.
    local body
    body=$(CONN_ID=$id json_body '{"connection_id": E["CONN_ID"], "conn_type": "leadsquared",
        "host": E["LEADSQUARED_HOST"], "login": E["LEADSQUARED_ACCESS_KEY"],
        "password": E["LEADSQUARED_SECRET_KEY"], "extra": E.get("LEADSQUARED_EXTRA") or "{}"}')
    BODY=$body rest POST /connections --quiet
    # Airflow answers the test with the provider's message, which names the host, never a key.
    BODY=$body rest POST /connections/test
}

sql_connection() {
    local id=${1:?usage: sql-connection CONN_ID (with SQL_CONN_URI, e.g. postgres://user:password@host:5432/db)}
    : "${SQL_CONN_URI:?set SQL_CONN_URI, e.g. postgres://user:password@host:5432/leadsquared}"
    load
    local body
    body=$(CONN_ID=$id "$PYTHON" -c '
import json, os
from urllib.parse import unquote, urlsplit
uri = urlsplit(os.environ["SQL_CONN_URI"])
print(json.dumps({"connection_id": os.environ["CONN_ID"], "conn_type": uri.scheme.replace("postgresql", "postgres"),
    "host": uri.hostname, "port": uri.port, "login": unquote(uri.username or "") or None,
    "password": unquote(uri.password or "") or None, "schema": uri.path.lstrip("/")}))')
    BODY=$body rest POST /connections --quiet
}

pool() {
    local name=${1:?usage: pool NAME SLOTS} slots=${2:?usage: pool NAME SLOTS}
    load
    BODY=$(NAME=$name SLOTS=$slots json_body '{"name": E["NAME"], "slots": int(E["SLOTS"]), "include_deferred": False}') \
        rest POST /pools --quiet
}

unpause() {
    local dag=${1:?usage: unpause DAG_ID}
    load
    local waited=0
    # A new DAG exists once the DAG processor has parsed its file (every 5 minutes by default).
    until rest GET "/dags/$dag" >/dev/null 2>&1; do
        [ $waited -ge 300 ] && die "DAG $dag not parsed within 300 s: see \`airflow dags list-import-errors\` and $LOGS/dag-processor.log"
        sleep 3
        waited=$((waited + 3))
    done
    BODY='{"is_paused": false}' rest PATCH "/dags/$dag" --quiet
}

backfill() {
    local usage="usage: backfill DAG_ID FROM TO [REPROCESS (none|failed|completed) [MAX_ACTIVE_RUNS]]"
    local dag=${1:?$usage} from=${2:?$usage} to=${3:?$usage}
    load
    BODY=$(DAG=$dag FROM=$from TO=$to REPROCESS=${4:-none} RUNS=${5:-10} json_body '{"dag_id": E["DAG"],
        "from_date": E["FROM"], "to_date": E["TO"], "reprocess_behavior": E["REPROCESS"],
        "max_active_runs": int(E["RUNS"]), "run_backwards": False, "dag_run_conf": {}}') \
        rest POST /backfills | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["id"])'
}

status() {
    local id=${1:?usage: status BACKFILL_ID}
    load
    local backfill runs
    backfill=$(rest GET "/backfills/$id")
    runs=$(rest GET "/dags/$(echo "$backfill" | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["dag_id"])')/dagRuns?limit=1000&order_by=logical_date")
    BACKFILL=$backfill RUNS=$runs "$PYTHON" -c '
import json, os
backfill, runs = json.loads(os.environ["BACKFILL"]), json.loads(os.environ["RUNS"])["dag_runs"]
number, dag = backfill["id"], backfill["dag_id"]
done = "completed at " + backfill["completed_at"] if backfill.get("completed_at") else "running"
print(f"backfill {number} of {dag}, " + backfill["from_date"] + " to " + backfill["to_date"] + ": " + done)
for run in runs:
    if run.get("run_type") == "backfill" and run.get("backfill_id") in (None, number):
        print("  " + run["data_interval_start"] + "  " + run["state"])
'
}

wait_backfill() {
    local id=${1:?usage: wait BACKFILL_ID [SECONDS]} limit=${2:-3600} waited=0
    load
    until rest GET "/backfills/$id" | "$PYTHON" -c 'import json, sys; sys.exit(not json.load(sys.stdin).get("completed_at"))'; do
        [ "$waited" -ge "$limit" ] && die "backfill $id not complete within $limit s: \`deploy/airflow.sh status $id\`"
        sleep 3
        waited=$((waited + 3))
    done
    local report
    report=$(status "$id")
    echo "$report"
    if grep -qE '^  [^ ]+  (failed|upstream_failed)$' <<<"$report"; then
        die "backfill $id: some runs failed; their task logs are under $AIRFLOW_HOME/logs"
    fi
}

command=${1:-}
[ $# -gt 0 ] && shift
case $command in
    init) init "$@" ;;
    start) start ;;
    stop) stop ;;
    worker) worker "$@" ;;
    password) password ;;
    pool) pool "$@" ;;
    leadsquared-connection) leadsquared_connection "$@" ;;
    sql-connection) sql_connection "$@" ;;
    unpause) unpause "$@" ;;
    backfill) backfill "$@" ;;
    status) status "$@" ;;
    wait) wait_backfill "$@" ;;
    *) sed -n '2,25p' "$0" >&2; exit 2 ;;
esac
