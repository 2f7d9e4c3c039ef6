#!/usr/bin/env bash
# ingest-callgrind.sh CALLS TAG [extra bench flags]: a fresh mock cluster and backlog outside valgrind, then only the
# ingest passes under callgrind (stripped release copy). Needs the debug callaudit for the cluster and loader.
set -euo pipefail
mkdir -p "${OUT:-/tmp/ingest-callgrind}"
calls=$1; tag=$2; shift 2
W="$(cd "$(dirname "$0")/../.." && pwd)"
CA=$W/.build/debug/callaudit
BENCH=${BENCH:?a stripped copy of the release callaudit-bench (strip --strip-debug)}
PORT=${CALLAUDIT_DEV_PG_PORT:?the port of your PostgreSQL}
ADMIN=postgresql://postgres@127.0.0.1:$PORT/postgres
for db in i22_sealed_$calls i22_plain_$calls; do
  psql "$ADMIN" -qX -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
  $CA migrate --database-url postgresql://postgres@127.0.0.1:$PORT/$db >/dev/null 2>&1
done
dir=${OUT:-/tmp/ingest-callgrind}/cluster-$tag-$calls; rm -rf $dir; mkdir -p $dir
$CA dev-kafka --bootstrap-file $dir/bootstrap --partitions 64 --log-level error >/dev/null 2>&1 &
kpid=$!
trap 'kill $kpid 2>/dev/null || true; wait $kpid 2>/dev/null || true' EXIT
for i in $(seq 100); do [ -s $dir/bootstrap ] && break; sleep 0.1; done
brokers=$(cat $dir/bootstrap)
out=$($CA simulate --brokers "$brokers" --calls $calls --malformed-rate 0 --seed 1)
msgs=$(echo "$out" | awk '{print $4}')
echo "loaded: $out (messages $msgs)"
nice -n 10 valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file=${OUT:-/tmp/ingest-callgrind}/cg.$tag.$calls.%p \
  $BENCH ingest --brokers "$brokers" --messages $msgs --ingest-only --disable-chain \
  --database-url postgresql://postgres@127.0.0.1:$PORT/i22_sealed_$calls \
  --plain-database-url postgresql://postgres@127.0.0.1:$PORT/i22_plain_$calls "$@" 2>&1 | grep -v "^==" | tail -5
echo "messages=$msgs" > ${OUT:-/tmp/ingest-callgrind}/cg.$tag.$calls.messages
