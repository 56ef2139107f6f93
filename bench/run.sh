#!/usr/bin/env bash
# Benchmark the whole of idpd on loopback, one backend per run, and print Markdown tables:
#
#   - single requests with wrk (Lua): client_credentials (ES256, RS256), introspection,
#     JWKS, discovery;
#   - flows of dependent requests with bench/loadgen: authorize → token with a live session
#     (ES256 and RS256 ID tokens), refresh-token rotation, device-key login (JWT bearer with
#     a registered Ed25519 key);
#   - idpd's RSS idle and under load, and the time from start to /readyz = 200 on an
#     existing database;
#   - then the same after TENANTS tenants and USERS users were bulk-inserted with SQL.
#
#   bench/run.sh                      # SQLite in a temp dir
#   bench/run.sh --postgres URL       # a fresh database on that server (dropped afterwards)
#   DURATION=20 CONNECTIONS=64 bench/run.sh
#   TENANTS=0 bench/run.sh            # skip the bulk-data pass
#   WRK=0 FLOWS=authcode bench/run.sh # only some of the flows (e.g. to profile one)
#
# Everything stays on 127.0.0.1; every run is bounded by DURATION seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
TENANTS=${TENANTS:-10000}
WRK=${WRK:-1}
FLOWS=${FLOWS:-authcode,refresh,device}
USERS=${USERS:-1000000}
PG_URL=""
while [ $# -gt 0 ]; do
  case "$1" in
    --postgres) PG_URL=$2; shift 2 ;;
    *) echo "usage: bench/run.sh [--postgres URL]" >&2; exit 2 ;;
  esac
done

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
cargo build --release -q -p idpd -p idpctl -p idp-loadgen
IDPD=target/release/idpd
IDPCTL=target/release/idpctl
LOADGEN=target/release/loadgen

work=$(mktemp -d)
db_name=""
pid=""
# idpd is started by `loadgen ready`, so it is not this shell's child: wait on /proc.
stop() {
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do [ -e "/proc/$pid" ] || break; sleep 0.05; done
  pid=""
}
cleanup() {
  stop
  if [ -n "$db_name" ]; then psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

backend=sqlite
db_url="sqlite://$work/data/idpd.db"
if [ -n "$PG_URL" ]; then
  backend=postgres
  db_name="idp_bench_$$"
  psql "$PG_URL" -qc "CREATE DATABASE $db_name" >/dev/null
  base=${PG_URL%%\?*}
  query=${PG_URL#"$base"}
  db_url="${base%/*}/$db_name$query"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
public_addr=127.0.0.1:$(free_port)
admin_addr=127.0.0.1:$(free_port)
public=http://$public_addr

# Request logging is off (warn) so the numbers measure idpd, not the terminal.
start() { # sets pid and ready_ms
  local out
  out=$("$LOADGEN" ready --addr "$public_addr" -- "$IDPD" --data-dir "$work/data" \
    --database-url "$db_url" --listen "$public_addr" --admin-listen "$admin_addr" \
    --log-format json --log-level warn 2>>"$work/idpd.log") || { cat "$work/idpd.log" >&2; exit 1; }
  read -r ready_ms pid <<<"$out"
}
# In MB (10^6 bytes), the unit of the targets.
rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2 * 1024 / 1e6}' "/proc/$pid/status"; }
hwm_mb() { awk '/^VmHWM/ {printf "%.1f", $2 * 1024 / 1e6}' "/proc/$pid/status"; }

# --- set-up on a fresh database ---------------------------------------------------------
start
first_ready_ms=$ready_ms
ctl() { "$IDPCTL" --url "http://$admin_addr" --token-file "$work/data/admin-token" -o json "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
ctl tenant create "Bench ES" --slug bench-es >/dev/null
ctl tenant create "Bench RS" --slug bench-rs --access-token-alg RS256 >/dev/null
service() { # tenant -> Basic credentials of a client_credentials client
  ctl client create --tenant "$1" --name svc --grant client_credentials --scope read > "$work/$1.json"
  id=$(json 'd["client"]["client_id"]' < "$work/$1.json")
  secret=$(json 'd["client_secret"]' < "$work/$1.json")
  printf '%s' "$id:$secret" | base64 -w0
}
web() { # tenant alg -> client_id of a public client for the login flows
  ctl client create --tenant "$1" --name web --public --redirect-uri http://127.0.0.1:9/cb \
    --grant authorization_code,refresh_token,jwt-bearer --scope openid,email,offline_access,devices \
    --id-token-alg "$2" | json 'd["client"]["client_id"]'
}
es_basic=$(service bench-es)
rs_basic=$(service bench-rs)
es_web=$(web bench-es ES256)
rs_web=$(web bench-rs RS256)
for t in bench-es bench-rs; do ctl user create --tenant "$t" --email bench@bench.test >/dev/null; done

cat > "$work/token.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BASIC")
LUA
cat > "$work/introspect.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "token=" .. os.getenv("TOKEN")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BASIC")
LUA

results=()
wrk_run() { # name url [lua basic token]
  local name=$1 url=$2 script=${3:-} basic=${4:-} token=${5:-}
  local args=(-t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency)
  [ -n "$script" ] && args+=(-s "$script")
  BASIC=$basic TOKEN=$token wrk -t1 -c4 -d1s ${script:+-s "$script"} "$url" >/dev/null # warm-up
  local out; out=$(BASIC=$basic TOKEN=$token wrk "${args[@]}" "$url")
  local rps p50 p99 non2xx errs
  rps=$(awk '/Requests\/sec/ {printf "%d", $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out"); non2xx=${non2xx:-0}
  errs=$(awk '/Socket errors/ {gsub(",",""); print $4+$6+$8+$10}' <<<"$out"); errs=${errs:-0}
  results+=("| $name | $rps | $p50 | $p99 | $((non2xx + errs)) |")
}
access_token() { # basic -> a client_credentials access token of tenant bench-es
  curl -sf -u "$(base64 -d <<<"$1")" -d grant_type=client_credentials "$public/t/bench-es/token" | json 'd["access_token"]'
}
flows() {
  local out
  out=$("$LOADGEN" flows --public "$public" --outbox "$work/data/outbox" \
    --tenant "bench-es=$es_web" --tenant "bench-rs=$rs_web" --flows "$FLOWS" \
    --duration "$DURATION" --concurrency "$CONNECTIONS" 2>>"$work/loadgen.log") || { cat "$work/loadgen.log" >&2; exit 1; }
  mapfile -t -O "${#results[@]}" results <<<"$out"
}
measure() { # title
  results=()
  if [ "$WRK" != 0 ]; then
    wrk_run "client_credentials ES256" "$public/t/bench-es/token" "$work/token.lua" "$es_basic"
    wrk_run "client_credentials RS256" "$public/t/bench-rs/token" "$work/token.lua" "$rs_basic"
    wrk_run "introspection (ES256 access token)" "$public/t/bench-es/introspect" "$work/introspect.lua" "$es_basic" "$(access_token "$es_basic")"
    wrk_run "JWKS" "$public/t/bench-es/jwks"
    wrk_run "discovery" "$public/t/bench-es/.well-known/openid-configuration"
  fi
  flows
  echo "### $1"
  echo
  echo "| flow | per second | p50 | p99 | errors |"
  echo "|---|---:|---:|---:|---:|"
  printf '%s\n' "${results[@]}"
  echo
}

# --- measurements -----------------------------------------------------------------------
echo "## $backend, $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'): wrk -t$THREADS -c$CONNECTIONS and loadgen with $CONNECTIONS workers, ${DURATION} s each"
echo
stop
start
sleep 1
idle=$(rss_mb)
measure "$backend: an almost empty database (2 tenants, 2 users)"
echo "idpd RSS: idle $idle MB, peak under load $(hwm_mb) MB; ready ${ready_ms} ms after start on the existing database (first start, with migrations: ${first_ready_ms} ms)"
echo

if [ "$TENANTS" -gt 0 ]; then
  stop
  t0=$(date +%s)
  "$LOADGEN" populate --database-url "$db_url" --tenants "$TENANTS" --users "$USERS" \
    --template-tenant bench-es --template-email bench@bench.test 2>>"$work/populate.log" || { cat "$work/populate.log" >&2; exit 1; }
  load_s=$(( $(date +%s) - t0 ))
  start
  sleep 1
  idle=$(rss_mb)
  measure "$backend: with $TENANTS more tenants and $USERS more users (bulk-inserted in ${load_s} s)"
  echo "idpd RSS: idle $idle MB, peak under load $(hwm_mb) MB; ready ${ready_ms} ms after start"
  echo
fi
