#!/usr/bin/env bash
# Seed-compatible connector management with curl against Kafka Connect's REST API.
#   scripts/cdc-connect.sh register_connector connectors/postgresql-cdc.json
#   scripts/cdc-connect.sh delete_connector shop-cdc
# The connector file's ${db.*}/${topic.prefix} placeholders are filled by `rtrec cdc render` from the
# database in use, so no password lives in the file. CONNECT_URL defaults to http://localhost:8083.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
connect="${CONNECT_URL:-http://localhost:8083}"

usage() {
  echo "usage: $0 register_connector <connector.json> | delete_connector <name>" >&2
  exit 2
}

case "${1:-}" in
  register_connector)
    [ $# -eq 2 ] || usage
    [ -f "$2" ] || { echo "error: connector file $2 not found" >&2; exit 2; }
    echo "Registering a new connector from $2"
    rendered="$(node "$here/bin/rtrec.js" cdc render "$2")"
    name="$(printf '%s' "$rendered" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).name))')"
    printf '%s' "$rendered" | curl -sS -i -X POST -H 'Accept: application/json' -H 'Content-Type: application/json' --data @- "$connect/connectors" \
      | sed -e 's/"database.password":"[^"]*"/"database.password":"***"/'
    echo
    echo "Status: $connect/connectors/$name/status"
    ;;
  delete_connector)
    [ $# -eq 2 ] || usage
    echo "Deleting connector $2"
    curl -sS -i -X DELETE "$connect/connectors/$2"
    echo
    ;;
  *) usage ;;
esac
