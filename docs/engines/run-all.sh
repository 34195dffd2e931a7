#!/usr/bin/env bash
# Start everything in dependency order: Postgres -> Kafka (KRaft) -> Connect (+Debezium connector) -> Flink JM -> TM -> SQL gateway.
# Usage: ./run-all.sh [--with-jobs]   (--with-jobs also submits sql/*.sql through the SQL gateway)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
T_ALL=$(now)
resolve_jars
start_postgres
start_kafka
start_connect
register_connector
start_flink
start_sql_gateway
if [[ ${1:-} == --with-jobs ]]; then
  for f in sql/*.sql; do log "submitting $f"; python3 sqlgw.py "$f" | grep -E 'jobID|HTTP' || true; done
fi
log "all up in $(since "$T_ALL")s"
