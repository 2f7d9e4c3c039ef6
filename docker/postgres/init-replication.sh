#!/bin/sh
# Runs once, when the primary's data folder is created (docker-entrypoint-initdb.d):
# the role the standby streams WAL with, and a slot so the primary keeps the WAL
# the standby has not received yet.
set -eu
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" <<SQL
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '${CALLAUDIT_REPLICATION_PASSWORD:-change-me-replication}';
SELECT pg_catalog.pg_create_physical_replication_slot('callaudit_standby');
SQL
