#!/usr/bin/env bash
# Benchmark idpd on loopback with wrk: client_credentials (ES256, RS256), JWKS, discovery.
# Prints a Markdown table (req/s, p50, p99, errors) and idpd's RSS idle and under load.
#
#   bench/run.sh                      # SQLite in a temp dir
#   bench/run.sh --postgres URL       # a fresh database on that server (dropped afterwards)
#   DURATION=20 CONNECTIONS=64 bench/run.sh
#
# Everything stays on 127.0.0.1; every wrk run is bounded by DURATION.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
PG_URL=""
while [ $# -gt 0 ]; do
  case "$1" in
    --postgres) PG_URL=$2; shift 2 ;;
    *) echo "usage: bench/run.sh [--postgres URL]" >&2; exit 2 ;;
  esac
done

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
cargo build --release -q -p idpd -p idpctl
IDPD=target/release/idpd
IDPCTL=target/release/idpctl

work=$(mktemp -d)
db_name=""
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  if [ -n "$db_name" ]; then psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

db_args=()
backend=sqlite
if [ -n "$PG_URL" ]; then
  backend=postgres
  db_name="idp_bench_$$"
  psql "$PG_URL" -qc "CREATE DATABASE $db_name" >/dev/null
  db_args=(--database-url "${PG_URL%/*}/$db_name")
fi

# Request logging is off (warn) so the numbers measure idpd, not the terminal.
"$IDPD" --data-dir "$work/data" "${db_args[@]}" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
  --log-format json --log-level warn,idpd::serve=info 2> "$work/idpd.log" &
pid=$!
for _ in $(seq 1 100); do
  [ "$(grep -c '"listening"' "$work/idpd.log" 2>/dev/null)" -ge 2 ] && break
  sleep 0.1
done
addr() { grep '"listening"' "$work/idpd.log" | grep "\"listener\":\"$1\"" | sed 's/.*"addr":"\([^"]*\)".*/\1/'; }
public=$(addr public); admin=$(addr admin)
[ -n "$public" ] && [ -n "$admin" ] || { cat "$work/idpd.log"; echo "idpd did not start" >&2; exit 1; }

ctl() { "$IDPCTL" --url "http://$admin" --token-file "$work/data/admin-token" -o json "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
ctl tenant create "Bench ES" --slug bench-es >/dev/null
ctl tenant create "Bench RS" --slug bench-rs --access-token-alg RS256 >/dev/null
client() {
  ctl client create --tenant "$1" --name svc --grant client_credentials --scope read > "$work/$1.json"
  id=$(json 'd["client"]["client_id"]' < "$work/$1.json")
  secret=$(json 'd["client_secret"]' < "$work/$1.json")
  printf '%s' "$id:$secret" | base64 -w0
}
es_basic=$(client bench-es)
rs_basic=$(client bench-rs)

cat > "$work/token.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BASIC")
LUA

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$pid/status"; }
idle_rss=$(rss_kb)

results=()
run() { # name url [lua basic]
  local name=$1 url=$2 script=${3:-} basic=${4:-}
  local args=(-t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency)
  [ -n "$script" ] && args+=(-s "$script")
  # warm-up
  BASIC=$basic wrk -t1 -c4 -d1s ${script:+-s "$script"} "$url" >/dev/null
  local out; out=$(BASIC=$basic wrk "${args[@]}" "$url")
  local rps p50 p99 non2xx errs
  rps=$(awk '/Requests\/sec/ {printf "%d", $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out"); non2xx=${non2xx:-0}
  errs=$(awk '/Socket errors/ {gsub(",",""); print $4+$6+$8+$10}' <<<"$out"); errs=${errs:-0}
  results+=("| $name | $rps | $p50 | $p99 | $((non2xx + errs)) |")
}

run "client_credentials ES256" "http://$public/t/bench-es/token" "$work/token.lua" "$es_basic"
run "client_credentials RS256" "http://$public/t/bench-rs/token" "$work/token.lua" "$rs_basic"
run "JWKS" "http://$public/t/bench-es/jwks"
run "discovery" "http://$public/t/bench-es/.well-known/openid-configuration"
load_hwm=$(hwm_kb)

echo "## $backend, $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s on loopback ($(date -u +%Y-%m-%d))"
echo
echo "| endpoint | req/s | p50 | p99 | errors |"
echo "|---|---:|---:|---:|---:|"
printf '%s\n' "${results[@]}"
echo
echo "idpd RSS: idle $((idle_rss / 1024)) MiB, peak under load $((load_hwm / 1024)) MiB"
