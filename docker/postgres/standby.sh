#!/bin/sh
# The streaming standby: on first start, a base backup of the primary with
# recovery settings (-R) naming this standby `callaudit_standby`, the name the
# primary's synchronous_standby_names waits for; then PostgreSQL in recovery.
# Promote it with `pg_ctl promote` (see docs/operations.md#database-failover).
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_isready -h postgres -p 5432 -q; do sleep 1; done
    PGPASSWORD="$CALLAUDIT_REPLICATION_PASSWORD" pg_basebackup -h postgres -p 5432 -U replicator \
        -D "$PGDATA" -R -X stream -S callaudit_standby -c fast
    echo "primary_conninfo = 'host=postgres port=5432 user=replicator password=$CALLAUDIT_REPLICATION_PASSWORD application_name=callaudit_standby'" \
        >> "$PGDATA/postgresql.auto.conf"
    chmod 700 "$PGDATA"
fi
exec postgres -c hba_file=/etc/postgresql/pg_hba.conf
