#!/usr/bin/env bash
# Benchmark the whole of idpd on loopback, one backend per run, and print Markdown tables:
#
#   - single requests with wrk (Lua): client_credentials (ES256, RS256), introspection,
#     JWKS, discovery — side by side with a peer, node-oidc-provider (npm oidc-provider@9.13.3
#     run by bench/peer/op.mjs with the machine's node): both servers run at once, started once;
#     for each row idpd then the peer are measured with the same wrk settings, ROUNDS times,
#     and the table gives the mean requests/s of each side, their ratio, the mean p99 of each
#     and the errors (non-2xx and socket errors) of both. The peer is set up like idpd's two
#     tenants: client_credentials with HTTP Basic and the same body (grant_type only), an EC
#     P-256 and an RSA 2048 signing key, JWT access tokens (ES256 or RS256, chosen by the
#     client's default resource indicator), and opaque tokens (a third client) for
#     introspection; oidc-provider's default in-memory storage, no request logging. idpd
#     runs with its default configuration (default log level, text logs to a file). The
#     package is reused from target/test-tools/oidc-provider (scripts/test-deps.sh) when
#     that is version 9.13.3, else npm-installed into the run's temp dir. Each peer row is
#     checked with one curl first (the run stops if one fails);
#   - flows of dependent requests with bench/loadgen: authorize → token with a live session
#     (ES256 and RS256 ID tokens), refresh-token rotation, device-key login (JWT bearer with
#     a registered Ed25519 key);
#   - idpd's RSS idle and under load (and the peer's), and the time from start to
#     /readyz = 200 on an existing database;
#   - then the same after TENANTS tenants and USERS users were bulk-inserted with SQL
#     (idpd alone: the single requests again, and the flows).
#
#   bench/run.sh                      # SQLite in a temp dir
#   bench/run.sh --postgres URL       # a fresh database on that server (dropped afterwards)
#   DURATION=20 CONNECTIONS=128 bench/run.sh  # defaults: 10 s, 64 connections (THREADS=1)
#   ROUNDS=3 bench/run.sh             # idpd/peer alternations per single-request row (2)
#   PEER=0 bench/run.sh               # idpd alone (no node, no npm)
#   TENANTS=0 bench/run.sh            # skip the bulk-data pass
#   WRK=0 FLOWS=authcode bench/run.sh # only some of the flows (e.g. to profile one; no peer)
#   DURATION=2 ROUNDS=1 TENANTS=0 FLOWS=authcode bench/run.sh  # a quick check of the script
#
# Everything stays on 127.0.0.1; every run is bounded by DURATION seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
ROUNDS=${ROUNDS:-2}
PEER=${PEER:-1}
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

[ "$WRK" != 0 ] || PEER=0 # the comparison is of the wrk rows
if [ "$PEER" != 0 ]; then
  for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "bench/run.sh: the peer needs node and npm (or run with PEER=0)" >&2; exit 1; }
  done
fi
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
cargo build --release -q -p idpd -p idpctl -p idp-loadgen
IDPD=target/release/idpd
IDPCTL=target/release/idpctl
LOADGEN=target/release/loadgen

work=$(mktemp -d)
db_name=""
pid=""
peer_pid=""
# idpd is started by `loadgen ready`, so it is not this shell's child: wait on /proc.
stop() {
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do [ -e "/proc/$pid" ] || break; sleep 0.05; done
  pid=""
}
cleanup() {
  stop
  if [ -n "$peer_pid" ]; then
    kill "$peer_pid" 2>/dev/null || true
    wait "$peer_pid" 2>/dev/null || true
  fi
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

# idpd's default configuration, logs included (to a file, not the terminal).
start() { # sets pid and ready_ms
  local out
  out=$("$LOADGEN" ready --addr "$public_addr" -- "$IDPD" --data-dir "$work/data" \
    --database-url "$db_url" --listen "$public_addr" --admin-listen "$admin_addr" \
    2>>"$work/idpd.log") || { tail -n 50 "$work/idpd.log" >&2; exit 1; }
  read -r ready_ms pid <<<"$out"
}
# In MB (10^6 bytes), the unit of the targets. An optional pid (default idpd's).
rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2 * 1024 / 1e6}' "/proc/${1:-$pid}/status"; }
hwm_mb() { awk '/^VmHWM/ {printf "%.1f", $2 * 1024 / 1e6}' "/proc/${1:-$pid}/status"; }

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

# --- the peer: node-oidc-provider, started once, up next to idpd -------------------------
peer_version=9.13.3
peer_fail() {
  echo "bench/run.sh: node-oidc-provider: $*; its output:" >&2
  tail -n 20 "$work/peer.log" >&2
  echo "(PEER=0 runs idpd alone)" >&2
  exit 1
}
peer_token() { # client -> a client_credentials access token of the peer
  curl -sf -u "$1:$peer_secret" -d grant_type=client_credentials "$peer/token" | json 'd["access_token"]'
}
jwt_alg() { # token -> alg of its JOSE header
  python3 -c 'import base64,json,sys; h=sys.argv[1].split(".")[0]; print(json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))["alg"])' "$1"
}
start_peer() { # sets peer, peer_pid, peer_secret and the peer's Basic credentials
  local dir=target/test-tools/oidc-provider have=""
  local pkg=node_modules/oidc-provider/package.json
  [ -f "$dir/$pkg" ] && have=$(json 'd["version"]' < "$dir/$pkg")
  if [ "$have" != "$peer_version" ]; then
    dir=$work/oidc-provider
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund "oidc-provider@$peer_version" >"$work/npm.log" 2>&1 \
      || { cat "$work/npm.log" >&2; echo "bench/run.sh: could not install oidc-provider@$peer_version (PEER=0 runs idpd alone)" >&2; exit 1; }
  fi
  local module port
  module="file://$(realpath "$dir/node_modules/oidc-provider/lib/index.js")"
  port=$(free_port)
  peer=http://127.0.0.1:$port
  peer_secret=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
  node bench/peer/op.mjs "$port" "$module" "$peer_secret" >"$work/peer.log" 2>&1 &
  peer_pid=$!
  for _ in $(seq 1 300); do
    grep -qx listening "$work/peer.log" && break
    kill -0 "$peer_pid" 2>/dev/null || peer_fail "exited before listening"
    sleep 0.1
  done
  grep -qx listening "$work/peer.log" || peer_fail "not listening after 30 s"
  peer_es_basic=$(printf '%s' "es:$peer_secret" | base64 -w0)
  peer_rs_basic=$(printf '%s' "rs:$peer_secret" | base64 -w0)
  peer_opaque_basic=$(printf '%s' "opaque:$peer_secret" | base64 -w0)
}
check_peer() { # one request per row, before measuring
  local doc token alg active
  doc=$(curl -sf "$peer/.well-known/openid-configuration") || peer_fail "discovery did not answer 200"
  [ "$(json '" ".join([d["token_endpoint"], d["introspection_endpoint"], d["jwks_uri"]])' <<<"$doc")" \
    = "$peer/token $peer/token/introspection $peer/jwks" ] || peer_fail "unexpected endpoints in discovery: $doc"
  curl -sf -o /dev/null "$peer/jwks" || peer_fail "/jwks did not answer 200"
  for c in es:ES256 rs:RS256; do
    token=$(peer_token "${c%:*}") || peer_fail "client ${c%:*}: no client_credentials access token"
    alg=$(jwt_alg "$token" 2>/dev/null) || peer_fail "client ${c%:*}: the access token is not a JWT: $token"
    [ "$alg" = "${c#*:}" ] || peer_fail "client ${c%:*}: access token signed with $alg, not ${c#*:}"
  done
  token=$(peer_token opaque) || peer_fail "client opaque: no client_credentials access token"
  [[ $token != *.* ]] || peer_fail "client opaque: the access token is not opaque: $token"
  active=$(curl -sf -u "opaque:$peer_secret" -d "token=$token" "$peer/token/introspection" | json 'd["active"]') \
    || peer_fail "introspection did not answer 200"
  [ "$active" = True ] || peer_fail "introspection of the opaque token: active is $active"
}
if [ "$PEER" != 0 ]; then
  start_peer
  check_peer
fi

# --- single requests --------------------------------------------------------------------
rows=(es rs introspect jwks discovery)
declare -A row_name=([es]="client_credentials ES256" [rs]="client_credentials RS256"
  [introspect]="introspection (ES256 access token)" [jwks]="JWKS" [discovery]="discovery")
access_token() { # basic -> a client_credentials access token of tenant bench-es
  curl -sf -u "$(base64 -d <<<"$1")" -d grant_type=client_credentials "$public/t/bench-es/token" | json 'd["access_token"]'
}
# CPU time (user + system, all threads) of a process so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
wrk_once() { # url [lua basic token] -> w_rps w_p50 w_p99 w_err w_cpu (µs of the server's CPU per request)
  local url=$1 script=${2:-} basic=${3:-} token=${4:-}
  local args=(-t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency)
  [ -n "$script" ] && args+=(-s "$script")
  BASIC=$basic TOKEN=$token wrk -t1 -c4 -d1s ${script:+-s "$script"} "$url" >/dev/null # warm-up
  local out non2xx errs t0 t1 n
  t0=$(cpu_ticks "$server_pid")
  out=$(BASIC=$basic TOKEN=$token wrk "${args[@]}" "$url")
  t1=$(cpu_ticks "$server_pid")
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  w_cpu=$(awk -v d=$((t1 - t0)) -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (n > 0) ? (d * 1e6) / (hz * n) : 0 }')
  w_rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  w_p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  w_p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out"); non2xx=${non2xx:-0}
  errs=$(awk '/Socket errors/ {gsub(",",""); print $4+$6+$8+$10}' <<<"$out"); errs=${errs:-0}
  w_err=$((non2xx + errs))
}
side_run() { # idpd|peer row -> w_*; tokens to introspect are fresh for every run
  if [ "$1" = idpd ]; then server_pid=$pid; else server_pid=$peer_pid; fi
  case "$1:$2" in
    idpd:es) wrk_once "$public/t/bench-es/token" "$work/token.lua" "$es_basic" ;;
    idpd:rs) wrk_once "$public/t/bench-rs/token" "$work/token.lua" "$rs_basic" ;;
    idpd:introspect) wrk_once "$public/t/bench-es/introspect" "$work/introspect.lua" "$es_basic" "$(access_token "$es_basic")" ;;
    idpd:jwks) wrk_once "$public/t/bench-es/jwks" ;;
    idpd:discovery) wrk_once "$public/t/bench-es/.well-known/openid-configuration" ;;
    peer:es) wrk_once "$peer/token" "$work/token.lua" "$peer_es_basic" ;;
    peer:rs) wrk_once "$peer/token" "$work/token.lua" "$peer_rs_basic" ;;
    peer:introspect) wrk_once "$peer/token/introspection" "$work/introspect.lua" "$peer_opaque_basic" "$(peer_token opaque)" ;;
    peer:jwks) wrk_once "$peer/jwks" ;;
    peer:discovery) wrk_once "$peer/.well-known/openid-configuration" ;;
  esac
}
to_ms() { # wrk's latency (12.5us, 3.2ms, 1.1s, 2.0m) -> milliseconds
  awk '{ v = $1 + 0; u = $1; sub(/^[0-9.]+/, "", u)
         f = u == "us" ? 0.001 : u == "ms" ? 1 : u == "s" ? 1000 : u == "m" ? 60000 : 3600000
         printf "%.3f", v * f }' <<<"$1"
}
# idpd then the peer, ROUNDS times per row: mean requests/s, their ratio, mean p99, and
# each server's CPU time per request (user + system, every thread) with their ratio: wrk
# shares the machine's cores with the server it measures, so a server that needs less CPU
# per request is held back by wrk's share; the CPU ratio is what serving costs.
compare() {
  local k r i_rps p_rps i_p99 p_p99 i_cpu p_cpu errs es_rps="" jwks_rps=""
  echo "### single requests, idpd vs node-oidc-provider $peer_version (node $(node --version)): mean of $ROUNDS alternating runs each"
  echo
  echo "| row | idpd req/s | node-oidc-provider req/s | ratio | idpd CPU µs/req | peer CPU µs/req | CPU ratio | idpd p99 | peer p99 | errors |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for k in "${rows[@]}"; do
    i_rps="" p_rps="" i_p99="" p_p99="" i_cpu="" p_cpu="" errs=0
    for ((r = 0; r < ROUNDS; r++)); do
      side_run idpd "$k"
      i_rps+=" $w_rps" i_p99+=" $(to_ms "$w_p99")" i_cpu+=" $w_cpu" errs=$((errs + w_err))
      side_run peer "$k"
      p_rps+=" $w_rps" p_p99+=" $(to_ms "$w_p99")" p_cpu+=" $w_cpu" errs=$((errs + w_err))
    done
    [ "$k" = es ] && es_rps=$i_rps
    [ "$k" = jwks ] && jwks_rps=$i_rps
    awk -v name="${row_name[$k]}" -v a="$i_rps" -v b="$p_rps" -v c="$i_p99" -v d="$p_p99" -v e="$errs" \
      -v f="$i_cpu" -v g="$p_cpu" '
      function mean(s,  n, v, i, t) { n = split(s, v, " "); for (i = 1; i <= n; i++) t += v[i]; return n ? t / n : 0 }
      function ms(x) { return x < 10 ? sprintf("%.2f ms", x) : sprintf("%.1f ms", x) }
      BEGIN { x = mean(a); y = mean(b); u = mean(f); w = mean(g)
              printf "| %s | %.0f | %.0f | %s | %.0f | %.0f | %s | %s | %s | %d |\n", name, x, y,
                     (y > 0 ? sprintf("%.1f×", x / y) : "–"), u, w, (u > 0 ? sprintf("%.1f×", w / u) : "–"),
                     ms(mean(c)), ms(mean(d)), e }'
  done
  awk -v a="$es_rps" -v b="$jwks_rps" '
    function mean(s,  n, v, i, t) { n = split(s, v, " "); for (i = 1; i <= n; i++) t += v[i]; return n ? t / n : 0 }
    BEGIN { y = mean(b); printf "| client_credentials ES256 / idpd JWKS | %s | | | | | | | | |\n", (y > 0 ? sprintf("%.0f %%", 100 * mean(a) / y) : "–") }'
  echo
  echo "Introspection: idpd introspects one of its ES256 access tokens (JWT), the peer one of its opaque tokens (it introspects no JWT). idpd at its default log level (a line per request to a file); the peer logs nothing. CPU ratio: the peer's CPU per request over idpd's."
  echo
}

results=()
wrk_run() { # row (of idpd)
  side_run idpd "$1"
  results+=("| ${row_name[$1]} | ${w_rps%.*} | $w_p50 | $w_p99 | $w_err |")
}
flows() {
  local out
  out=$("$LOADGEN" flows --public "$public" --outbox "$work/data/outbox" \
    --tenant "bench-es=$es_web" --tenant "bench-rs=$rs_web" --flows "$FLOWS" \
    --duration "$DURATION" --concurrency "$CONNECTIONS" 2>>"$work/loadgen.log") || { cat "$work/loadgen.log" >&2; exit 1; }
  mapfile -t -O "${#results[@]}" results <<<"$out"
}
measure() { # title [wrk rows? 1 or 0]
  local k
  results=()
  if [ "$WRK" != 0 ] && [ "${2:-1}" != 0 ]; then
    for k in "${rows[@]}"; do wrk_run "$k"; done
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
if [ "$PEER" != 0 ]; then
  peer_idle=$(rss_mb "$peer_pid")
  compare
  # The single requests of this database are in the comparison above.
  measure "$backend: an almost empty database (2 tenants, 2 users): flows" 0
else
  measure "$backend: an almost empty database (2 tenants, 2 users)"
fi
echo "idpd RSS: idle $idle MB, peak under load $(hwm_mb) MB; ready ${ready_ms} ms after start on the existing database (first start, with migrations: ${first_ready_ms} ms)"
if [ "$PEER" != 0 ]; then
  echo "node-oidc-provider RSS: idle $peer_idle MB, peak under load $(hwm_mb "$peer_pid") MB"
fi
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
