#!/usr/bin/env bash
# Shared definitions for run-all.sh / stop-all.sh. Source it; do not run it.
# Everything lives under $ROOT; every process writes its pid to $ROOT/data/<name>.pid.
ROOT="${ROOT:-/work/jvm-stack}"
cd "$ROOT" || exit 1

PG_BIN=/usr/lib/postgresql/15/bin
PG_PORT=15432
KAFKA_PORT=19092
CONNECT_PORT=18083
FLINK_REST_PORT=18081
SQL_GATEWAY_PORT=18084

log() { echo "[$(date +%T)] $*"; }

# wait_http URL TIMEOUT_S PIDFILE -> 0 when URL answers 2xx, 1 on timeout or process death
wait_http() {
  local url=$1 t=${2:-120} pidf=$3 s=$SECONDS
  until curl -sf -o /dev/null "$url"; do
    if [[ -n $pidf ]] && ! kill -0 "$(cat "$pidf")" 2>/dev/null; then echo "process from $pidf died" >&2; return 1; fi
    (( SECONDS - s > t )) && { echo "timeout waiting for $url" >&2; return 1; }
    sleep 0.2
  done
}
wait_port() {
  local p=$1 t=${2:-120} pidf=$3 s=$SECONDS
  until (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null; do
    if [[ -n $pidf ]] && ! kill -0 "$(cat "$pidf")" 2>/dev/null; then echo "process from $pidf died" >&2; return 1; fi
    (( SECONDS - s > t )) && { echo "timeout waiting for port $p" >&2; return 1; }
    sleep 0.1
  done
}
now() { date +%s.%N; }
since() { printf '%.2f' "$(echo "$(now) - $1" | bc)"; }

resolve_jars() {
  # idempotent; a no-op when the dirs are already filled
  [[ -d libs/kafka ]]   || mvn -q -B -f poms/kafka/pom.xml   dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$ROOT/libs/kafka"
  [[ -d libs/connect ]] || mvn -q -B -f poms/connect/pom.xml dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$ROOT/libs/connect"
  [[ -d plugins/debezium-connector-postgres ]] || mvn -q -B -f poms/debezium-pg/pom.xml dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$ROOT/plugins/debezium-connector-postgres"
  [[ -d libs/flink ]]   || mvn -q -B -f poms/flink/pom.xml   dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$ROOT/libs/flink"
  [[ -d libs/flink-connectors ]] || mvn -q -B -f poms/flink-connectors/pom.xml dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$ROOT/libs/flink-connectors"
}

# ---------------- PostgreSQL 15 (Debian package binaries, private data dir) ----------------
start_postgres() {
  mkdir -p data/pg data/pgsock logs; chown postgres:postgres data/pg data/pgsock; chmod 700 data/pg
  touch logs/postgres.log; chown postgres:postgres logs/postgres.log
  local fresh=0
  if [[ ! -f data/pg/data/PG_VERSION ]]; then
    su postgres -c "$PG_BIN/initdb -D $ROOT/data/pg/data -U postgres --auth=trust -E UTF8 --no-locale" > logs/initdb.log 2>&1 || return 1
    fresh=1
  fi
  local t0; t0=$(now)
  su postgres -c "$PG_BIN/pg_ctl -D $ROOT/data/pg/data -l $ROOT/logs/postgres.log -w -o \"-p $PG_PORT -c listen_addresses=127.0.0.1 -k $ROOT/data/pgsock -c wal_level=logical -c max_wal_senders=10 -c max_replication_slots=10 -c shared_buffers=64MB\" start" >/dev/null || return 1
  log "postgres up in $(since "$t0")s"
  if (( fresh )); then psql -h 127.0.0.1 -p $PG_PORT -U postgres -v ON_ERROR_STOP=1 -q -f config/init.sql; fi
}

# ---------------- Kafka 4.3.1 KRaft combined node ----------------
KAFKA_JAVA=(java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
            -Dlog4j2.configurationFile=config/log4j2-kafka.properties -cp 'libs/kafka/*')
start_kafka() {
  if [[ ! -f data/kafka/meta.properties ]]; then
    local cid; cid=$(java -Xmx128m -Dlog4j2.configurationFile=config/log4j2-tools.properties -cp 'libs/kafka/*' kafka.tools.StorageTool random-uuid)
    java -Xmx128m -Dlog4j2.configurationFile=config/log4j2-tools.properties -cp 'libs/kafka/*' kafka.tools.StorageTool format -t "$cid" -c config/server.properties >/dev/null || return 1
  fi
  local t0; t0=$(now)
  nohup "${KAFKA_JAVA[@]}" kafka.Kafka config/server.properties > logs/kafka.log 2>&1 &
  echo $! > data/kafka.pid
  wait_port $KAFKA_PORT 120 data/kafka.pid || return 1
  log "kafka broker listening in $(since "$t0")s"
}

# ---------------- Kafka Connect 4.3.1 distributed + Debezium on plugin.path ----------------
CONNECT_JAVA=(java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
              -Dlog4j2.configurationFile=config/log4j2-kafka.properties -cp 'libs/connect/*')
start_connect() {
  local t0; t0=$(now)
  nohup "${CONNECT_JAVA[@]}" org.apache.kafka.connect.cli.ConnectDistributed config/worker.properties >> logs/connect.log 2>&1 &
  echo $! > data/connect.pid
  wait_http "http://127.0.0.1:$CONNECT_PORT/connector-plugins" 180 data/connect.pid || return 1
  log "kafka connect REST up in $(since "$t0")s"
}
register_connector() {
  # PUT .../config is idempotent: creates or updates
  curl -sf -X PUT -H 'Content-Type: application/json' --data @config/connector-pg-cdc.json \
    "http://127.0.0.1:$CONNECT_PORT/connectors/pg-cdc/config" > /dev/null || return 1
  local s=$SECONDS
  until curl -s "http://127.0.0.1:$CONNECT_PORT/connectors/pg-cdc/status" | grep -q '"tasks":\[{"id":0,"state":"RUNNING"'; do
    (( SECONDS - s > 60 )) && { echo "connector task not RUNNING" >&2; return 1; }; sleep 0.5; done
  log "debezium connector pg-cdc RUNNING"
}

# ---------------- Flink 1.20.3 session cluster + SQL gateway ----------------
FLINK_CONF=config/flink
# connector jars on the JM/TM/gateway system classpath (simplest). Set FLINK_CP='libs/flink/*' to test the ADD JAR route instead.
FLINK_CP="${FLINK_CP:-libs/flink/*:libs/flink-connectors/*}"
FLINK_JVM_COMMON=(@config/flink/java17-opens.args "-Dlog4j.configurationFile=file:$ROOT/config/flink/log4j.properties")
# BashJavaUtils is what bin/jobmanager.sh / taskmanager.sh use to turn *.memory.process.size into -Xmx etc.
# Output: two lines prefixed BASH_JAVA_UTILS_EXEC_RESULT: (1) JVM flags (2) '-D k=v' dynamic properties
flink_mem() { java -Xmx128m -cp "$FLINK_CP" org.apache.flink.runtime.util.bash.BashJavaUtils "$1" --configDir $FLINK_CONF 2>/dev/null | grep '^BASH_JAVA_UTILS_EXEC_RESULT:' | sed 's/^BASH_JAVA_UTILS_EXEC_RESULT://'; }
start_flink() {
  mkdir -p data/flink/{checkpoints,savepoints,tmp,web-upload}
  local jm tm t0
  mapfile -t jm < <(flink_mem GET_JM_RESOURCE_PARAMS)
  mapfile -t tm < <(flink_mem GET_TM_RESOURCE_PARAMS)
  [[ ${#jm[@]} -eq 2 && ${#tm[@]} -eq 2 ]] || { echo "BashJavaUtils failed" >&2; return 1; }
  t0=$(now)
  # shellcheck disable=SC2086  # word splitting of the computed flags is intended
  nohup java ${jm[0]} "${FLINK_JVM_COMMON[@]}" -Dlog.file="$ROOT/logs/flink-jobmanager.log" -cp "$FLINK_CP" \
    org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint --configDir $FLINK_CONF ${jm[1]} \
    > logs/flink-jobmanager.out 2>&1 &
  echo $! > data/flink-jm.pid
  wait_http "http://127.0.0.1:$FLINK_REST_PORT/config" 180 data/flink-jm.pid || return 1
  log "flink jobmanager REST up in $(since "$t0")s"
  t0=$(now)
  # shellcheck disable=SC2086
  nohup java ${tm[0]} "${FLINK_JVM_COMMON[@]}" -Dlog.file="$ROOT/logs/flink-taskmanager.log" -cp "$FLINK_CP" \
    org.apache.flink.runtime.taskexecutor.TaskManagerRunner --configDir $FLINK_CONF ${tm[1]} \
    > logs/flink-taskmanager.out 2>&1 &
  echo $! > data/flink-tm.pid
  local s=$SECONDS
  until curl -s "http://127.0.0.1:$FLINK_REST_PORT/overview" | grep -q '"taskmanagers":1'; do
    kill -0 "$(cat data/flink-tm.pid)" 2>/dev/null || { echo "taskmanager died" >&2; return 1; }
    (( SECONDS - s > 180 )) && { echo "taskmanager did not register" >&2; return 1; }; sleep 0.2; done
  log "flink taskmanager registered in $(since "$t0")s"
}
start_sql_gateway() {
  local t0; t0=$(now)
  # SqlGateway reads config.yaml from $FLINK_CONF_DIR (no --configDir flag); -Dkey=value args override it.
  FLINK_CONF_DIR="$ROOT/$FLINK_CONF" nohup java -Xms256m -Xmx512m -XX:MaxMetaspaceSize=256m "${FLINK_JVM_COMMON[@]}" \
    -Dlog.file="$ROOT/logs/flink-sql-gateway.log" -cp "$FLINK_CP" \
    org.apache.flink.table.gateway.SqlGateway \
    > logs/flink-sql-gateway.out 2>&1 &
  echo $! > data/flink-sql-gateway.pid
  wait_http "http://127.0.0.1:$SQL_GATEWAY_PORT/v1/info" 180 data/flink-sql-gateway.pid || return 1
  log "flink sql gateway up in $(since "$t0")s"
}

# ---------------- stop helpers ----------------
stop_pidfile() {
  local name=$1 pidf=data/$1.pid t=${2:-30}
  [[ -f $pidf ]] || return 0
  local pid; pid=$(cat "$pidf")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    local s=$SECONDS
    while kill -0 "$pid" 2>/dev/null; do
      (( SECONDS - s > t )) && { log "$name did not stop in ${t}s, kill -9"; kill -9 "$pid"; break; }
      sleep 0.2
    done
    log "stopped $name ($pid)"
  fi
  rm -f "$pidf"
}
stop_postgres() {
  [[ -f data/pg/data/postmaster.pid ]] || return 0
  su postgres -c "$PG_BIN/pg_ctl -D $ROOT/data/pg/data -m fast -w stop" >/dev/null && log "stopped postgres"
}
