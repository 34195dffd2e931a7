#!/usr/bin/env bash
# Stop in reverse order. Only touches processes whose pid files are under data/.
source "$(dirname "$0")/lib.sh"
stop_pidfile flink-sql-gateway
stop_pidfile flink-tm
stop_pidfile flink-jm
stop_pidfile connect
stop_pidfile kafka 60
stop_postgres
