# Shared by ops/demo, ops/test and ops/bench: install what is missing, start and stop the dev services.
# Everything lives under .dev/ (git-ignored) and is torn down by stop_all.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEV="$ROOT/.dev"
PG_PORT="${CALLAUDIT_DEV_PG_PORT:-54329}"
PG_BIN="/usr/lib/postgresql/15/bin"
ADMIN_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
STARTED_PIDS=()

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

ensure_packages() {
    local wanted=(librdkafka-dev libpq-dev libjemalloc-dev zlib1g-dev python3 postgresql-15 postgresql-client-15 kcat pkg-config curl openssl socat)
    local missing=()
    for p in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    command -v swift >/dev/null || { echo "swift is not on PATH: install Swift 6.3 first" >&2; exit 1; }
}

ensure_python_jsonschema() {
    python3 -c 'import jsonschema, rfc3339_validator' 2>/dev/null && return
    log "installing python jsonschema"
    python3 -m pip install -q jsonschema rfc3339-validator
}

# What the tests hold the API and reports to: schemathesis and the OpenAPI
# validator, Python's RFC 8785, OpenSSL, headless Chromium and the console's browser suite.
ensure_test_tools() {
    if ! python3 -c 'import rfc8785, yaml, openapi_spec_validator' 2>/dev/null || ! command -v schemathesis >/dev/null; then
        log "installing schemathesis, rfc8785, openapi-spec-validator"
        python3 -m pip install -q schemathesis==4.32.5 rfc8785 pyyaml openapi-spec-validator
    fi
    # The console's browser suite (Tests/Browser): Selenium drives Debian's chromium through
    # chromium-driver, and axe-selenium-python brings axe-core along.
    if ! python3 -c 'import selenium, axe_selenium_python' 2>/dev/null; then
        log "installing selenium, axe-selenium-python"
        python3 -m pip install -q selenium axe-selenium-python
    fi
    local missing=()
    command -v chromium >/dev/null || missing+=(chromium)
    command -v chromedriver >/dev/null || missing+=(chromium-driver)
    command -v openssl >/dev/null || missing+=(openssl)
    command -v promtool >/dev/null || missing+=(prometheus)
    command -v docker-compose >/dev/null || missing+=(docker-compose)
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

# The data folder must be reachable by the postgres user; a checkout under a
# private home (/root) is not, so the cluster then lives in /tmp, linked from .dev/pg.
pg_data_root() {
    mkdir -p "$DEV"
    if [ ! -e "$DEV/pg" ]; then
        if runuser -u postgres -- test -x "$DEV"; then
            mkdir -p "$DEV/pg"
        else
            ln -s "$(mktemp -d /tmp/callaudit-pg.XXXXXX)" "$DEV/pg"
        fi
    fi
    chown postgres:postgres "$DEV/pg/" && chmod 700 "$DEV/pg/"
    echo "$DEV/pg"
}

start_postgres() {
    local root; root="$(pg_data_root)"
    local data="$root/data"
    if [ ! -f "$data/PG_VERSION" ]; then
        log "creating a throwaway PostgreSQL 15 cluster in $data"
        runuser -u postgres -- "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
        cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$root'
max_connections = 200
shared_buffers = 512MB
max_wal_size = 4GB
synchronous_commit = on
fsync = on
CONF
    fi
    if ! runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$data" -o "-p $PG_PORT" -l "$root/server.log" -w start >/dev/null
    fi
    export CALLAUDIT_TEST_ADMIN_URL="$ADMIN_URL"
    export CALLAUDIT_PG_DATA="$data"
}

stop_postgres() {
    local data="$DEV/pg/data"
    [ -f "$data/PG_VERSION" ] || return 0
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
}

# create_database NAME: a fresh, migrated database and the service's login role.
create_database() {
    local name="$1"
    psql "$ADMIN_URL" -qX -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" -c "CREATE DATABASE $name" >/dev/null
    "$CALLAUDIT" migrate --database-url "postgresql://postgres@127.0.0.1:$PG_PORT/$name" >&2
    psql "$ADMIN_URL" -qX -v ON_ERROR_STOP=1 >/dev/null <<SQL
DO \$\$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'callaudit_service') THEN
        CREATE ROLE callaudit_service LOGIN IN ROLE callaudit_writer;
    END IF;
END \$\$;
SQL
}

# start_dev_kafka: librdkafka's mock cluster in the background; exports CALLAUDIT_KAFKA_BROKERS.
start_dev_kafka() {
    local file="$DEV/kafka.bootstrap"
    rm -f "$file"
    "$CALLAUDIT" dev-kafka --bootstrap-file "$file" "$@" >/dev/null 2>"$DEV/dev-kafka.log" &
    STARTED_PIDS+=($!)
    for _ in $(seq 1 100); do [ -s "$file" ] && break; sleep 0.1; done
    [ -s "$file" ] || { cat "$DEV/dev-kafka.log" >&2; echo "dev kafka did not start" >&2; exit 1; }
    CALLAUDIT_KAFKA_BROKERS="$(cat "$file")"
    export CALLAUDIT_KAFKA_BROKERS
    log "dev kafka at $CALLAUDIT_KAFKA_BROKERS"
}

stop_all() {
    for pid in "${STARTED_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${STARTED_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    STARTED_PIDS=()
    stop_postgres
}

build() {
    log "building ($1)"
    mkdir -p "$DEV"
    (cd "$ROOT" && swift build -c "$1" >"$DEV/build-$1.log" 2>&1) || { tail -60 "$DEV/build-$1.log" >&2; exit 1; }
    CALLAUDIT="$ROOT/.build/$1/callaudit"
    export CALLAUDIT
}
