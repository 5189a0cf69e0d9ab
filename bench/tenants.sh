#!/usr/bin/env bash
# Tenant scale: Gatehouse over a store of many organizations and keys.
#
# Seeds TENANT_ORGS orgs and TENANT_KEYS_TOTAL keys straight into a fresh
# SQLite data dir (bench/seed_tenants), starts Gatehouse on it (start-up
# measured from exec to /readyz 200), then runs the same wrk script over
# the keys of TENANT_ACTIVE orgs and over one key of one org, in turns, and
# reports req/s, CPU per request (writing the run's logs included: a run
# ends when the store holds the log of its last request), how long after
# the traffic the last log was written, and the ratios. After the traffic
# stops and the idle timeout passes, reports the live org actors and the
# SQL statements per second of the idle node. Prints a Markdown block.
#
# Environment (defaults in brackets):
#   TENANT_ORGS [100000]  TENANT_KEYS_TOTAL [1000000]  TENANT_ACTIVE [10000]
#   TENANT_DURATION [10]  seconds per measured wrk run
#   TENANT_ROUNDS [2]     measured runs of each kind, alternating
#   TENANT_WARMUP [15]    seconds of traffic over every active org first
#   TENANT_IDLE [30]      --org-idle-timeout of the run (longer than a
#                         measured run, so that no org passivates between)
#   TENANT_THREADS [2]    Gatehouse threads
#   TENANT_ORDER          `file`: wrk sends the keys in the order of the
#                         seeded list (an org's keys next to its neighbours'
#                         in storage); otherwise in a fixed random order
#   TENANT_LOG_CACHE_MIB [256]  --log-cache-mib: the store is large and the
#                         traffic reaches 10,000 orgs
#   BUILD_DIR [build]     BENCH_BUILD_LOCK  file held with flock while
#                                           building
#   TENANT_NO_BUILD       set: use the binaries in BUILD_DIR as they are
set -euo pipefail
cd "$(dirname "$0")/.."

ORGS=${TENANT_ORGS:-100000}
KEYS_TOTAL=${TENANT_KEYS_TOTAL:-1000000}
ACTIVE=${TENANT_ACTIVE:-10000}
export TENANT_ORDER=${TENANT_ORDER:-random}
DURATION=${TENANT_DURATION:-10}
ROUNDS=${TENANT_ROUNDS:-2}
WARMUP=${TENANT_WARMUP:-15}
IDLE=${TENANT_IDLE:-30}
THREADS=${TENANT_THREADS:-2}
CACHE_MIB=${TENANT_LOG_CACHE_MIB:-256}
BUILD_DIR=${BUILD_DIR:-build}
BENCH_TAG=tenants

TMP=$(mktemp -d /tmp/gatehouse-tenants.XXXXXX)
GATEHOUSE=$BUILD_DIR/gatehouse
BIN_DIR=$BUILD_DIR/bench
# shellcheck source=bench/lib.sh
source bench/lib.sh
cleanup() {
  stop_pid "$GH_PID" TERM 30 gatehouse
  stop_pid "$MOCK_PID" TERM 5 mock_upstream
  rm -rf "$TMP"
}
trap cleanup EXIT

require_tools cmake curl wrk awk ss sqlite3
[[ -n "${TENANT_NO_BUILD:-}" ]] \
  || build_targets "$BUILD_DIR" 2 gatehouse mock_upstream seed_tenants
start_mock 1

DATA=$TMP/gh-data
log "migrating and seeding $ORGS orgs, $KEYS_TOTAL keys"
"$GATEHOUSE" migrate --data-dir "$DATA" >/dev/null
SEED_OUT=$("$BIN_DIR/seed_tenants" --data-dir "$DATA" --orgs "$ORGS" \
  --keys "$KEYS_TOTAL" --active "$ACTIVE" --upstream "$MOCK_URL" \
  --keys-out "$TMP/active.keys")
log "$SEED_OUT"
head -n 1 "$TMP/active.keys" >"$TMP/single.keys"
DB_MIB=$(du -m "$DATA/gatehouse.db" | awk '{print $1}')

log "starting gatehouse on the seeded store"
OPERATOR_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
PORT=$(free_port)
GH_URL="http://127.0.0.1:$PORT"
t0=$(date +%s%N)
"$GATEHOUSE" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" \
  --operator-token "$OPERATOR_TOKEN" --threads "$THREADS" \
  --allow-private-upstreams 127.0.0.1/32 --log-format json \
  --org-idle-timeout "$IDLE" --log-cache-mib "$CACHE_MIB" \
  >"$TMP/gatehouse.out" 2>"$TMP/gatehouse.log" &
GH_PID=$!
for ((i = 0; i < 3000; i++)); do
  [[ "$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$GH_URL/readyz" \
    2>/dev/null)" == 200 ]] && break
  kill -0 "$GH_PID" 2>/dev/null || die "gatehouse exited: $(tail -n 5 "$TMP/gatehouse.log")"
  sleep 0.01
done
STARTUP_MS=$((($(date +%s%N) - t0) / 1000000))
RSS_START=$(rss_kib "$GH_PID" VmRSS)
log "ready after $STARTUP_MS ms, RSS $((RSS_START / 1024)) MiB"

metric() {  # name: its value on /metrics
  "${CURL[@]}" -H "Authorization: Bearer $OPERATOR_TOKEN" "$GH_URL/metrics" \
    | awk -v n="$1" '$1 == n {print $2; exit}'
}

# The first request of each active org spawns its actor: not measured.
log "warm-up: ${WARMUP} s over the keys of $ACTIVE orgs"
TENANT_KEYS=$TMP/active.keys wrk -t2 -c64 -d"${WARMUP}s" --timeout 5s \
  -s bench/wrk/tenants.lua "$GH_URL/v1/chat/completions" >"$TMP/warm.txt" 2>&1 \
  || die "wrk failed: $(cat "$TMP/warm.txt")"
ACTORS_WARM=$(metric gatehouse_org_actors)
log "live org actors after the warm-up: $ACTORS_WARM"

# Request logs written so far: rows are only appended, so the largest rowid
# counts them.
logged() {
  sqlite3 "$DATA/gatehouse.db" \
    "SELECT COALESCE(MAX(rowid), 0) FROM request_logs" 2>/dev/null || echo 0
}
# Waits until the log of every request wrk counted is written; prints how
# long that took (seconds after the call).
SENT=$(awk '/requests in/ {print $1; exit}' "$TMP/warm.txt")
drain() {
  local t0 i
  t0=$(date +%s%N)
  for ((i = 0; i < 1200; i++)); do
    (($(logged) >= SENT)) && break
    sleep 0.1
  done
  (($(logged) >= SENT)) || die "request logs still missing 120 s after a run"
  awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN {printf "%.1f", (b - a) / 1e9}'
}
log "warm-up logs written $(drain) s after it ended"

run() {  # kind keys-file
  local out="$TMP/wrk-$1-$RANDOM.txt" before after reqs errs
  # What the previous run left to the kernel (dirty pages of the store and
  # its WAL) is written back first: the runs alternate, and its writeback
  # would slow the next run down.
  sync
  sleep 2
  before=$(proc_cost "$GH_PID")
  TENANT_KEYS=$2 wrk -t2 -c64 -d"${DURATION}s" --timeout 5s \
    -s bench/wrk/tenants.lua "$GH_URL/v1/chat/completions" >"$out" 2>&1 \
    || die "wrk failed: $(cat "$out")"
  reqs=$(awk '/requests in/ {print $1; exit}' "$out")
  SENT=$((SENT + reqs))
  # The run's cost includes writing its logs, however long after it ends.
  lag=$(drain)
  after=$(proc_cost "$GH_PID")
  errs=$(awk '/Non-2xx or 3xx responses:/ {n += $5}
    /Socket errors:/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10}
    END {print n + 0}' "$out")
  ((errs == 0)) || die "$1: $errs failed requests: $(cat "$out")"
  # Requests per second until the last of them was logged.
  echo "$1|$(awk '/^Requests\/sec:/ {print $2}' "$out")|$(per_request "$before" "$after" "$reqs")|$lag|$(awk -v n="$reqs" -v d="$DURATION" -v l="$lag" 'BEGIN {printf "%.1f", n / (d + l)}')"
}

RESULTS=()
for ((r = 1; r <= ROUNDS; r++)); do
  log "round $r: one org"
  RESULTS+=("$(run single "$TMP/single.keys")")
  log "round $r: $ACTIVE orgs"
  RESULTS+=("$(run spread "$TMP/active.keys")")
done
# The longest wait of each kind for the last log of a run.
lag_max() {  # kind
  printf '%s\n' "${RESULTS[@]}" | awk -F'|' -v k="$1" \
    '$1 == k && $6 > m {m = $6} END {printf "%.1f", m}'
}
S_LAG=$(lag_max single) M_LAG=$(lag_max spread)
ACTORS_LOAD=$(metric gatehouse_org_actors)
RSS_LOAD=$(rss_kib "$GH_PID" VmRSS)

# Averages of each kind: req/s, user µs, kernel µs per request.
avg() {  # kind field
  printf '%s\n' "${RESULTS[@]}" | awk -F'|' -v k="$1" -v f="$2" \
    '$1 == k {s += $f; n++} END {printf "%.1f", n ? s / n : 0}'
}
S_RPS=$(avg single 2) M_RPS=$(avg spread 2)
S_LOGGED=$(avg single 7) M_LOGGED=$(avg spread 7)
S_US=$(avg single 3) S_KS=$(avg single 4)
M_US=$(avg spread 3) M_KS=$(avg spread 4)

# Idle: wait for the timeout and a sweep or two, then count.
log "idle: waiting $((IDLE + 35)) s for passivation"
sleep $((IDLE + 35))
ACTORS_IDLE=$(metric gatehouse_org_actors)
PASSIVATED=$(metric gatehouse_org_passivations_total)
q0=$(metric gatehouse_storage_statements_total)
c0=$(proc_cost "$GH_PID")
sleep 20
q1=$(metric gatehouse_storage_statements_total)
c1=$(proc_cost "$GH_PID")
# Minus the /metrics call itself (no SQL).
IDLE_QPS=$(awk -v a="$q0" -v b="$q1" 'BEGIN {printf "%.2f", (b - a) / 20}')
IDLE_CPU=$(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" 'BEGIN {
  split(a, x, " "); split(b, y, " ")
  printf "%.2f", ((y[1] + y[2]) - (x[1] + x[2])) * 1000 / hz / 20 }')
RSS_IDLE=$(rss_kib "$GH_PID" VmRSS)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b ? a / b : 0}'; }
cat <<MD

### Tenant scale — $(date -u +%Y-%m-%d) ($(git rev-parse --short HEAD))

\`bench/tenants.sh\` (TENANT_ORGS=$ORGS TENANT_KEYS_TOTAL=$KEYS_TOTAL
TENANT_ACTIVE=$ACTIVE TENANT_DURATION=$DURATION TENANT_ROUNDS=$ROUNDS
TENANT_IDLE=$IDLE): $ORGS enterprise orgs (provider -> mock, team budget),
$KEYS_TOTAL keys, SQLite store of $DB_MIB MiB. wrk -t2 -c64, the same Lua
script over one key of one org ("one org") and over the keys of $ACTIVE orgs
("$ACTIVE orgs", keys in $TENANT_ORDER order), alternating, $ROUNDS runs
of $DURATION s each; every request governed and logged. A run ends when the
log of its last request is written (read from the store): its CPU per
request includes writing its logs. Seeding: $SEED_OUT.

| | one org | $ACTIVE orgs | ratio |
|---|---:|---:|---:|
| req/s | $S_RPS | $M_RPS | $(ratio "$M_RPS" "$S_RPS") |
| CPU per request, user / kernel (µs) | $S_US / $S_KS | $M_US / $M_KS | $(ratio "$(awk -v a="$M_US" -v b="$M_KS" 'BEGIN {print a + b}')" "$(awk -v a="$S_US" -v b="$S_KS" 'BEGIN {print a + b}')") |
| last log of a run written after (longest) | $S_LAG s | $M_LAG s | |
| req/s until the last log was written | $S_LOGGED | $M_LOGGED | $(ratio "$M_LOGGED" "$S_LOGGED") |

| | |
|---|---:|
| start-up, exec to /readyz 200 | $STARTUP_MS ms |
| RSS after start-up / under load / idle | $((RSS_START / 1024)) / $((RSS_LOAD / 1024)) / $((RSS_IDLE / 1024)) MiB |
| live org actors after warm-up / after the runs | $ACTORS_WARM / $ACTORS_LOAD |
| live org actors ${IDLE} s + 35 s after the traffic stopped | $ACTORS_IDLE ($PASSIVATED passivated) |
| SQL statements per second, idle | $IDLE_QPS |
| CPU while idle | $IDLE_CPU ms/s |

Runs: $(printf '%s; ' "${RESULTS[@]}")
MD
