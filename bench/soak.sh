#!/usr/bin/env bash
# Gatehouse soak test: a long run at a fixed share of measured capacity, with
# streams and errors mixed in, watching memory, latency and request logging.
#
#   1. starts the mock upstream and Gatehouse on a fresh SQLite data dir and
#      sets up full governance through the real API (bench/lib.sh: signup,
#      enterprise plan, provider `openai` -> mock, team budget, scoped key;
#      usage logging is always on), plus a provider `dead` that points at a
#      closed port and a key scoped to it;
#   2. measures capacity: wrk -t2 -c64, non-streaming chat, SOAK_CAPACITY_S;
#   3. runs SOAK_MINUTES consecutive windows of SOAK_WINDOW_S seconds at
#      SOAK_LOAD x capacity, one wrk process per traffic class, each paced by
#      bench/wrk/soak.lua's delay() hook. Classes and shares (SOAK_MIX):
#        chat           non-streaming chat completion          -> 200
#        stream         SSE, SOAK_STREAM_CHUNKS chunks
#                       SOAK_STREAM_CHUNK_DELAY_MS apart        -> 200
#        unknown_key    a well-formed key nobody owns           -> 401
#        bad_json       a body that is not JSON                 -> 400
#        dead_provider  provider `dead` (nothing listens)       -> 502
#      Connections per class are chosen so that each one waits about
#      SOAK_PERIOD_MS between requests; the pause is recomputed after each
#      window from the latency seen, so the rate stays at the target;
#   4. after each window records requests, req/s, p50/p99 (chat) and p99
#      (stream) from wrk, answers per status class, Gatehouse's RSS, threads,
#      open files and CPU per request, the SQLite file sizes, and how busy
#      the machine was (all cores, and the part taken by other processes);
#   5. at the end checks /healthz and /readyz, compares the requests logged
#      (GET /api/v1/usage) with the answers that involved the upstream, and
#      prints a Markdown block for bench/RESULTS.md on stdout.
#
# Progress goes to stderr. Not part of `make test`.
#
# Environment (defaults in brackets):
#   SOAK_MINUTES [10]              windows to run
#   SOAK_WINDOW_S [60]             seconds per window
#   SOAK_WARMUP_WINDOWS [1]        windows left out of the verdict
#   SOAK_LOAD [0.5]                share of the measured capacity
#   SOAK_CAPACITY_S [15]           seconds of the capacity run
#   SOAK_CAPACITY []               req/s: skip the capacity run, use this
#   SOAK_MIX [chat:85,stream:10,unknown_key:2,bad_json:1.5,dead_provider:1.5]
#   SOAK_STREAM_CHUNKS [8]         SOAK_STREAM_CHUNK_DELAY_MS [20]
#   SOAK_PERIOD_MS [20]            pause per connection between requests
#   SOAK_NICE [0]                  niceness of wrk and the mock
#   SOAK_RSS_TOLERANCE_PCT [5]     SOAK_P99_MAX_RATIO [2]
#   BENCH_GATEHOUSE_THREADS [nproc]  BENCH_MOCK_THREADS [1]
#   BENCH_BUILD_DIR [build]        BENCH_JOBS [2]  BENCH_BUILD_LOCK []
#   BENCH_GATEHOUSE [<build>/gatehouse]  BENCH_BIN_DIR [<build>/bench]
#   BENCH_KEEP [0]                 1: keep the temp dir (logs, data dir)
#   BENCH_STOP_WAIT [35]           seconds Gatehouse may take to exit
# The binaries are built (Release) only when missing.
set -euo pipefail

cd "$(dirname "$0")/.."

MINUTES=${SOAK_MINUTES:-10}
WINDOW_S=${SOAK_WINDOW_S:-60}
WARMUP=${SOAK_WARMUP_WINDOWS:-1}
LOAD=${SOAK_LOAD:-0.5}
CAPACITY_S=${SOAK_CAPACITY_S:-15}
MIX=${SOAK_MIX:-chat:85,stream:10,unknown_key:2,bad_json:1.5,dead_provider:1.5}
STREAM_CHUNKS=${SOAK_STREAM_CHUNKS:-8}
STREAM_CHUNK_DELAY_MS=${SOAK_STREAM_CHUNK_DELAY_MS:-20}
PERIOD_MS=${SOAK_PERIOD_MS:-20}
NICE=${SOAK_NICE:-0}
RSS_TOL=${SOAK_RSS_TOLERANCE_PCT:-5}
P99_RATIO=${SOAK_P99_MAX_RATIO:-2}
GH_THREADS=${BENCH_GATEHOUSE_THREADS:-$(nproc)}
MOCK_THREADS=${BENCH_MOCK_THREADS:-1}
BUILD_DIR=${BENCH_BUILD_DIR:-build}
JOBS=${BENCH_JOBS:-2}
GATEHOUSE=${BENCH_GATEHOUSE:-$BUILD_DIR/gatehouse}
BIN_DIR=${BENCH_BIN_DIR:-$BUILD_DIR/bench}
KEEP=${BENCH_KEEP:-0}
STOP_WAIT=${BENCH_STOP_WAIT:-35}
((MINUTES > WARMUP)) || {
  echo "SOAK_MINUTES must exceed SOAK_WARMUP_WINDOWS" >&2
  exit 2
}

BENCH_TAG=soak
# shellcheck source=bench/lib.sh
source bench/lib.sh
require_tools cmake curl jq wrk awk ss getconf

# ---------------------------------------------------------------- cleanup --
TMP=$(mktemp -d /tmp/gatehouse-soak.XXXXXX)
SAMPLER_PID="" WRK_PIDS=()

cleanup() {
  local rc=$? p
  set +e
  for p in "${WRK_PIDS[@]}"; do stop_pid "$p" TERM 2; done
  stop_pid "$SAMPLER_PID" TERM 1
  stop_pid "$GH_PID" TERM 15 gatehouse
  stop_pid "$MOCK_PID" TERM 5 mock_upstream
  if ((rc != 0)); then
    for p in gatehouse.log gatehouse.out mock.err; do
      [[ -s "$TMP/$p" ]] || continue
      printf '[soak] --- last lines of %s ---\n' "$p" >&2
      tail -n 15 "$TMP/$p" >&2
    done
  fi
  if [[ "$KEEP" == 1 ]]; then
    log "kept $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ build --
if [[ ! -x "$GATEHOUSE" || ! -x "$BIN_DIR/mock_upstream" ]]; then
  build_targets "$BUILD_DIR" "$JOBS" gatehouse mock_upstream
fi
for bin in "$GATEHOUSE" "$BIN_DIR/mock_upstream"; do
  [[ -x "$bin" ]] || die "missing binary $bin"
done
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ------------------------------------------------------ processes, set-up --
NICE_CMD=()
((NICE != 0)) && NICE_CMD=(nice -n "$NICE")
start_mock "$MOCK_THREADS"
((NICE != 0)) && renice -n "$NICE" -p "$MOCK_PID" >/dev/null
start_gatehouse "$GH_THREADS"
setup_governance
check_target "$GH_URL"

# A second provider that nothing answers (a free port, never listened on)
# and a key that may use only it: every request through it is a 502.
DEAD_PORT=$(free_port)
api POST /api/v1/providers "$AUTH" "{\"name\":\"dead\",
  \"base_url\":\"http://127.0.0.1:$DEAD_PORT\",\"api_key\":\"sk-mock-dead\"}"
expect_status "POST /api/v1/providers (dead)" 201
DEAD_BODY='{"name":"soak-dead","scopes":["provider:dead","model:gpt-4o-mini"]'
[[ -n "$TEAM_ID" ]] && DEAD_BODY+=",\"team_id\":\"$TEAM_ID\""
api POST /api/v1/keys "$AUTH" "$DEAD_BODY}"
expect_status "POST /api/v1/keys (dead)" 201
DEAD_KEY=$(jq -r .raw_key <<<"$BODY_OUT")

# One request of each class, with the status it must get.
declare -A EXPECT=([chat]=200 [stream]=200 [unknown_key]=401 [bad_json]=400
  [dead_provider]=502)
declare -A CLASS_KEY=([chat]=$BENCH_KEY [stream]=$BENCH_KEY
  [unknown_key]=$BENCH_KEY [bad_json]=$BENCH_KEY [dead_provider]=$DEAD_KEY)
for class in unknown_key bad_json dead_provider; do
  SOAK_CLASS=$class BENCH_KEY=${CLASS_KEY[$class]} SOAK_OUT=$TMP/probe.json \
    wrk -t1 -c1 -d1s --timeout 5s -s bench/wrk/soak.lua \
    "$GH_URL/v1/chat/completions" >"$TMP/probe.txt" 2>&1 \
    || die "wrk probe $class failed: $(cat "$TMP/probe.txt")"
  got=$(jq -r '.status | keys | join(",")' "$TMP/probe.json")
  [[ "$got" == "${EXPECT[$class]}" ]] \
    || die "probe $class: statuses $got, expected ${EXPECT[$class]}"
done
log "checks passed: chat, stream and the three error classes"

# ------------------------------------------------------------- sampling --
CLK_TCK=$(getconf CLK_TCK)
proc_ticks() {  # pid [self]: utime+stime (or with self: cutime+cstime)
  awk -v c="${2:-}" '{ sub(/^.*\) /, "");
    if (c == "") print $12 + $13; else print $14 + $15 }' "/proc/$1/stat"
}
host_ticks() {  # "busy total" of all cores
  awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i
    print t - $5 - $6, t; exit }' /proc/stat
}
file_kib() { [[ -f "$1" ]] && echo $(($(stat -c %s "$1") / 1024)) || echo 0; }

# RSS and threads every 5 s, for a closer look afterwards.
(
  while kill -0 "$GH_PID" 2>/dev/null; do
    awk -v t="$(date +%s)" '$1 == "VmRSS:" {r = $2} $1 == "Threads:" {n = $2}
      END {print t, r, n}' "/proc/$GH_PID/status" 2>/dev/null
    sleep 5
  done
) >"$TMP/rss.tsv" &
SAMPLER_PID=$!

# ------------------------------------------------------------- capacity --
if [[ -n "${SOAK_CAPACITY:-}" ]]; then
  CAPACITY=$SOAK_CAPACITY
  CAPACITY_NOTE="given (SOAK_CAPACITY=$CAPACITY), not measured"
else
  log "warm-up, then capacity: wrk -t2 -c64 -d${CAPACITY_S}s, chat"
  SOAK_CLASS=chat "${NICE_CMD[@]}" wrk -t2 -c64 -d3s -s bench/wrk/soak.lua \
    "$GH_URL/v1/chat/completions" >/dev/null 2>&1 || true
  LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
  SOAK_CLASS=chat SOAK_OUT=$TMP/capacity.json "${NICE_CMD[@]}" \
    wrk -t2 -c64 -d"${CAPACITY_S}s" --timeout 5s -s bench/wrk/soak.lua \
    "$GH_URL/v1/chat/completions" >"$TMP/capacity.txt" 2>&1 \
    || die "wrk capacity run failed: $(cat "$TMP/capacity.txt")"
  CAPACITY=$(jq -r '.requests / (.duration_us / 1e6) | floor' \
    "$TMP/capacity.json")
  CAPACITY_NOTE=$(jq -r --arg s "$CAPACITY_S" --arg l "$LOAD_BEFORE" '
    "\(.requests * 1e6 / .duration_us | floor) req/s (wrk -t2 -c64 -d\($s)s,"
    + " non-streaming chat; p50 \(.latency_us.p50 / 1000) ms,"
    + " p99 \(.latency_us.p99 / 1000) ms; non-2xx \(.errors.status);"
    + " load average before: \($l))"' "$TMP/capacity.json")
fi
((CAPACITY > 0)) || die "capacity is 0"
log "capacity: $CAPACITY_NOTE"

sleep 2  # let the writer commit what the capacity run logged
USAGE_BEFORE=$(usage_requests)
[[ "$USAGE_BEFORE" =~ ^[0-9]+$ ]] || die "usage before the soak: $USAGE_BEFORE"

# ---------------------------------------------------------- traffic plan --
TARGET=$(awk -v c="$CAPACITY" -v l="$LOAD" 'BEGIN {printf "%.0f", c * l}')
CLASSES=()
declare -A RATE CONNS DELAY LAT0
SHARE_SUM=$(tr ',' '\n' <<<"$MIX" | awk -F: '{s += $2} END {print s}')
STREAM_MS=$(( (STREAM_CHUNKS - 1) * STREAM_CHUNK_DELAY_MS ))
for item in ${MIX//,/ }; do
  class=${item%%:*} share=${item#*:}
  [[ -n "${EXPECT[$class]:-}" ]] || die "unknown class '$class' in SOAK_MIX"
  CLASSES+=("$class")
  # Expected latency before anything is measured: 1 ms, plus the pacing of
  # the stream's chunks.
  lat=1
  [[ "$class" == stream ]] && lat=$((STREAM_MS + 1))
  LAT0[$class]=$lat
  read -r RATE[$class] CONNS[$class] DELAY[$class] < <(awk -v t="$TARGET" \
    -v s="$share" -v sum="$SHARE_SUM" -v lat="$lat" -v p="$PERIOD_MS" '
    BEGIN { r = t * s / sum; c = int(r * (lat + p) / 1000 + 0.999)
      if (c < 1) c = 1; d = c * 1000 / r - lat; if (d < 0) d = 0
      printf "%.2f %d %.3f\n", r, c, d }')
done
PLAN_NOTE=""
for class in "${CLASSES[@]}"; do
  PLAN_NOTE+="$class ${RATE[$class]}/s on ${CONNS[$class]} connections, "
done
PLAN_NOTE=${PLAN_NOTE%, }
log "target $TARGET req/s: $PLAN_NOTE"

# ---------------------------------------------------------------- windows --
# One row per window in $TMP/minutes.tsv, columns named in $TMP/header.
COLS=(minute requests rps p50_ms p99_ms stream_p99_ms s2xx s4xx s5xx sock
  unexpected upstream_answers inflight_bound rss_kib threads fds cpu_us_req
  gh_cores mock_cores wrk_cores host_cores others_cores wal_kib db_kib load1)
echo "${COLS[*]}" >"$TMP/header"
: >"$TMP/minutes.tsv"
UNEXPECTED_NOTE=""

for ((m = 1; m <= MINUTES; m++)); do
  gh0=$(proc_ticks "$GH_PID")
  mock0=$(proc_ticks "$MOCK_PID")
  self0=$(proc_ticks $$ children)
  read -r busy0 total0 < <(host_ticks)
  t0=$(date +%s%N)
  WRK_PIDS=()
  for class in "${CLASSES[@]}"; do
    SOAK_CLASS=$class SOAK_DELAY_MS=${DELAY[$class]} \
      BENCH_KEY=${CLASS_KEY[$class]} SOAK_OUT=$TMP/w$m-$class.json \
      SOAK_CHUNKS=$STREAM_CHUNKS SOAK_CHUNK_DELAY_MS=$STREAM_CHUNK_DELAY_MS \
      "${NICE_CMD[@]}" wrk -t1 -c"${CONNS[$class]}" -d"${WINDOW_S}s" \
      --timeout 10s -s bench/wrk/soak.lua "$GH_URL/v1/chat/completions" \
      >"$TMP/w$m-$class.txt" 2>&1 &
    WRK_PIDS+=($!)
  done
  for p in "${WRK_PIDS[@]}"; do wait "$p" || true; done
  WRK_PIDS=()
  t1=$(date +%s%N)
  gh1=$(proc_ticks "$GH_PID")
  mock1=$(proc_ticks "$MOCK_PID")
  self1=$(proc_ticks $$ children)
  read -r busy1 total1 < <(host_ticks)
  kill -0 "$GH_PID" 2>/dev/null || die "gatehouse exited in window $m"
  for class in "${CLASSES[@]}"; do
    [[ -s "$TMP/w$m-$class.json" ]] \
      || die "wrk $class printed no result: $(tail -n 5 "$TMP/w$m-$class.txt")"
  done
  rss=$(rss_kib "$GH_PID" VmRSS)
  threads=$(rss_kib "$GH_PID" Threads)
  fds=$(find "/proc/$GH_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  wal=$(file_kib "$TMP/gh-data/gatehouse.db-wal")
  db=$(file_kib "$TMP/gh-data/gatehouse.db")
  load1=$(cut -d' ' -f1 /proc/loadavg)

  # Per class: requests, statuses, errors; the whole window in one line.
  summary=$(for class in "${CLASSES[@]}"; do
    jq -r --arg c "$class" --arg e "${EXPECT[$class]}" \
      --arg n "${CONNS[$class]}" '
      def sum(f): [.status | to_entries[] | select(.key | f) | .value]
        | add // 0;
      [$c, .requests,
        sum(startswith("2")), sum(startswith("4")), sum(startswith("5")),
        (.errors.connect + .errors.read + .errors.write + .errors.timeout),
        sum(. != $e), sum(test("^(2|502|504)")),
        ($n | tonumber) + .errors.timeout,
        .latency_us.p50, .latency_us.p99, .duration_us] | @tsv' \
      "$TMP/w$m-$class.json"
  done)
  row=$(awk -F'\t' -v m="$m" -v t0="$t0" -v t1="$t1" -v tck="$CLK_TCK" \
    -v gh="$((gh1 - gh0))" -v mk="$((mock1 - mock0))" \
    -v wk="$((self1 - self0))" -v busy="$((busy1 - busy0))" \
    -v total="$((total1 - total0))" -v ncpu="$(nproc)" -v rss="$rss" \
    -v thr="$threads" -v fds="$fds" -v wal="$wal" -v db="$db" \
    -v load1="$load1" '
    { req += $2; s2 += $3; s4 += $4; s5 += $5; sock += $6; unexp += $7
      if ($1 == "chat" || $1 == "stream" || $1 == "dead_provider") {
        up += $8; inflight += $9 }
      if ($1 == "chat") { p50 = $10; p99 = $11 }
      if ($1 == "stream") sp99 = $11
      dur = ($12 > dur) ? $12 : dur }
    END {
      secs = (t1 - t0) / 1e9
      ghc = gh / tck / secs; mkc = mk / tck / secs; wkc = wk / tck / secs
      host = (total > 0) ? busy / total * ncpu : 0
      others = host - ghc - mkc - wkc; if (others < 0) others = 0
      OFS = "\t"
      print m, req, sprintf("%.0f", req / (dur / 1e6)), f2(p50 / 1000),
        f2(p99 / 1000), f2(sp99 / 1000), s2, s4, s5, sock, unexp, up,
        inflight, rss, thr, fds,
        sprintf("%.1f", (req > 0) ? gh / tck * 1e6 / req : 0),
        f2(ghc), f2(mkc), f2(wkc), f2(host), f2(others), wal, db, load1 }
    function f2(x) { return sprintf("%.2f", x) }' <<<"$summary")
  echo "$row" >>"$TMP/minutes.tsv"
  while IFS=$'\t' read -r class _ _ _ _ _ unexp _; do
    ((unexp > 0)) && UNEXPECTED_NOTE+="window $m $class: $(jq -c .status \
      "$TMP/w$m-$class.json") (expected ${EXPECT[$class]}); "
  done <<<"$summary"
  log "window $m/$MINUTES: $(awk -F'\t' '{
    printf "%d req, %d req/s, p99 %s ms, stream p99 %s ms, ", $2, $3, $5, $6
    printf "RSS %.1f MiB, %d threads, %s us CPU/req, ", $14 / 1024, $15, $17
    printf "others %s cores", $22 }' <<<"$row")"

  # Pace the next window: the latency seen replaces the estimate.
  for class in "${CLASSES[@]}"; do
    DELAY[$class]=$(jq -r --argjson n "${CONNS[$class]}" \
      --argjson r "${RATE[$class]}" --argjson d "${DELAY[$class]}" '
      if .requests > 0 then
        ($n * .duration_us / 1000 / .requests - $d) as $lat
        | ([$n * 1000 / $r - ([$lat, 0] | max), 0] | max)
      else $d end | . * 1000 | round / 1000' "$TMP/w$m-$class.json")
  done
done

# ------------------------------------------------------------ end checks --
sleep 2  # group commit, and the last streams cut by wrk's stop
HEALTHZ=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$GH_URL/healthz" \
  2>/dev/null || echo 000)
READYZ=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$GH_URL/readyz" \
  2>/dev/null || echo 000)
T_USAGE=$(date +%s%N)
USAGE_AFTER=$(usage_requests)
USAGE_MS=$(( ($(date +%s%N) - T_USAGE) / 1000000 ))
[[ "$USAGE_AFTER" =~ ^[0-9]+$ ]] || die "usage after the soak: $USAGE_AFTER"
METRICS=$("${CURL[@]}" -H "Authorization: Bearer $OPERATOR_TOKEN" \
  "$GH_URL/metrics" 2>/dev/null || true)
metric_sum() {  # metric name -> sum over its labels
  awk -v n="$1" '$1 == n || index($1, n "{") == 1 {s += $NF} END {print s + 0}' \
    <<<"$METRICS"
}
DROPPED=$(metric_sum gatehouse_log_entries_dropped_total)
WRITE_FAILS=$(metric_sum gatehouse_log_write_failures_total)
STREAMS_OPEN=$(metric_sum gatehouse_streams_in_flight)
RSS_END=$(rss_kib "$GH_PID" VmRSS)
HWM_END=$(rss_kib "$GH_PID" VmHWM)

log "stopping gatehouse (SIGTERM)"
stop_pid "$SAMPLER_PID" TERM 1
SAMPLER_PID=""
T0=$(date +%s%N)
kill -TERM "$GH_PID" 2>/dev/null || true
GH_EXIT="did not exit within $STOP_WAIT s of SIGTERM (killed)"
for ((i = 0; i < STOP_WAIT * 20; i++)); do
  if ! kill -0 "$GH_PID" 2>/dev/null; then
    GH_RC=0
    wait "$GH_PID" 2>/dev/null || GH_RC=$?
    GH_EXIT="exited $GH_RC, $(( ($(date +%s%N) - T0) / 1000000 )) ms after SIGTERM"
    break
  fi
  sleep 0.05
done
kill -0 "$GH_PID" 2>/dev/null && kill -KILL "$GH_PID" 2>/dev/null
GH_PID=""
GH_ERRORS=$(grep -c '"level":"error"' "$TMP/gatehouse.log" || true)
GH_WARNS=$(grep -c '"level":"warn' "$TMP/gatehouse.log" || true)
WAL_END=$(file_kib "$TMP/gh-data/gatehouse.db-wal")
DB_END=$(file_kib "$TMP/gh-data/gatehouse.db")

# ---------------------------------------------------------------- report --
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
TSV=$TMP/minutes.tsv
col() {  # name -> column number
  local i
  for i in "${!COLS[@]}"; do
    [[ "${COLS[$i]}" == "$1" ]] && { echo $((i + 1)); return; }
  done
  die "no column $1"
}
after() {  # awk program over rows after the warm-up, column $c
  awk -F'\t' -v w="$WARMUP" -v c="$(col "$1")" "\$1 > w { $2 }" "$TSV"
}

TABLE=$(awk -F'\t' '
  BEGIN {
    n = split("min|requests|req/s|p50 ms|p99 ms|stream p99 ms|2xx|4xx|5xx|" \
      "socket errors|unexpected|RSS MiB|threads|fds|CPU µs/req|WAL MiB|" \
      "DB MiB|machine busy (cores)|others (cores)|load 1m", h, "|")
    line = "|"; rule = "|"
    for (i = 1; i <= n; i++) { line = line " " h[i] " |"; rule = rule "---:|" }
    print line; print rule; OFS = " | " }
  { print "| " $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, mib($14),
      $15, $16, $17, mib($23), mib($24), $21, $22, $25 " |" }
  function mib(k) { return sprintf("%.1f", k / 1024) }' "$TSV")

FIRST=$((WARMUP + 1))
RSS_FIRST=$(awk -F'\t' -v m="$FIRST" '$1 == m {print $14}' "$TSV")
RSS_LAST=$(tail -n 1 "$TSV" | cut -f14)
RSS_PCT=$(awk -v a="$RSS_FIRST" -v b="$RSS_LAST" \
  'BEGIN {printf "%+.1f", (b - a) / a * 100}')
RSS_OK=$(awk -v p="$RSS_PCT" -v t="$RSS_TOL" \
  'BEGIN {print ((p <= t && p >= -t) ? 1 : 0)}')
MINMAX='if (min == "" || $c < min) min = $c; if ($c > max) max = $c } END {'
RSS_RANGE=$(after rss_kib "$MINMAX"' printf "%.1f–%.1f", min / 1024, max / 1024')
read -r P99_MIN P99_MAX < <(after p99_ms "$MINMAX print min, max")
read -r SP99_MIN SP99_MAX < <(after stream_p99_ms "$MINMAX print min, max")
CPU_RANGE=$(after cpu_us_req "$MINMAX"' printf "%.1f–%.1f", min, max')
P99_R=$(awk -v a="$P99_MIN" -v b="$P99_MAX" \
  'BEGIN {printf "%.2f", (a > 0) ? b / a : 0}')
P99_OK=$(awk -v r="$P99_R" -v t="$P99_RATIO" \
  'BEGIN {print ((r > 0 && r <= t) ? 1 : 0)}')
TOTAL_REQ=$(awk -F'\t' '{s += $2} END {print s}' "$TSV")
MEAN_RPS=$(awk -F'\t' '{s += $3; n++} END {printf "%.0f", s / n}' "$TSV")
UNEXPECTED=$(awk -F'\t' '{s += $11} END {print s}' "$TSV")
SOCK=$(awk -F'\t' '{s += $10} END {print s}' "$TSV")
UPSTREAM=$(awk -F'\t' '{s += $12} END {print s}' "$TSV")
INFLIGHT=$(awk -F'\t' '{s += $13} END {print s}' "$TSV")
LOGGED=$((USAGE_AFTER - USAGE_BEFORE))
LOG_DIFF=$((LOGGED - UPSTREAM))
LOG_OK=$(( LOG_DIFF >= 0 && LOG_DIFF <= INFLIGHT ? 1 : 0 ))
HEALTH_OK=$(( HEALTHZ == 200 && READYZ == 200 ? 1 : 0 ))
verdict() { if [[ "$1" == 1 ]]; then echo PASS; else echo FAIL; fi; }

COMMIT=$(git rev-parse HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || COMMIT+=" (working tree has uncommitted changes)"
BIN_TIME=$(date -u -r "$GATEHOUSE" '+%Y-%m-%d %H:%M:%S UTC')
CPU=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MEM_GIB=$(awk '/^MemTotal:/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)
CMD="bench/soak.sh"
for v in $(compgen -e | grep -E '^(SOAK|BENCH)_' | sort); do
  [[ "$v" == BENCH_KEY ]] && continue
  CMD="$v=${!v} $CMD"
done
OTHERS=$(awk -F'\t' '{s += $22; if ($22 > m) m = $22; n++}
  END {printf "%.2f cores on average, %.2f at most", s / n, m}' "$TSV")
LOADS=$(awk -F'\t' '{printf "%s%s", (NR > 1) ? ", " : "", $25}' "$TSV")

cat <<EOF

### $(date -u +%Y-%m-%d) — $(git rev-parse --short HEAD 2>/dev/null || echo unknown)

- command: \`$CMD\`
- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')
- machine: $(nproc) cores, $CPU, ${MEM_GIB} GiB RAM, Linux $(uname -r)
- commit: $COMMIT; gatehouse binary built $BIN_TIME
- Gatehouse: --threads $GH_THREADS, SQLite (fresh data dir), --log-format json (stderr to a file); mock_upstream --threads $MOCK_THREADS; wrk and the mock at niceness $NICE
- governance: enterprise plan, provider \`openai\` → mock, key scopes \`["provider:openai","model:gpt-4o-mini"]\`, usage logging on; $TEAM_NOTE; provider \`dead\` → a closed port, its own key
- capacity: $CAPACITY_NOTE
- load: ${LOAD} × capacity = $TARGET req/s, $MINUTES windows of $WINDOW_S s (the first $WARMUP left out of the verdict): $PLAN_NOTE; streams: $STREAM_CHUNKS chunks $STREAM_CHUNK_DELAY_MS ms apart
- other work on the machine during the windows (busy cores minus Gatehouse, mock and wrk): $OTHERS; load average per window: $LOADS

#### Per window

p50/p99 are the non-streaming chat class's, from wrk; "stream p99" is the
whole stream's duration. "unexpected" counts answers whose status is not the
one of their class (chat/stream 200, unknown key 401, bad JSON 400, dead
provider 502). CPU µs/req is Gatehouse's user+system time over every answer
of the window.

$TABLE

#### Verdict

- RSS flat within ${RSS_TOL} %: $(verdict "$RSS_OK") (window $FIRST $(mib "$RSS_FIRST") MiB, last $(mib "$RSS_LAST") MiB, $RSS_PCT %; range after warm-up $RSS_RANGE MiB; VmHWM at the end $(mib "$HWM_END") MiB)
- p99 stable (max/min after warm-up ≤ $P99_RATIO): $(verdict "$P99_OK") (chat p99 $P99_MIN–$P99_MAX ms, ratio $P99_R; stream p99 $SP99_MIN–$SP99_MAX ms; CPU per request $CPU_RANGE µs)
- node still answers: $(verdict "$HEALTH_OK") (/healthz $HEALTHZ, /readyz $READYZ after the last window)
- requests logged = answers that involved the upstream: $(verdict "$LOG_OK") (usage counted $LOGGED during the windows, wrk saw $UPSTREAM answers 2xx/502/504 on the chat, stream and dead-provider classes; difference $LOG_DIFF, in-flight bound $INFLIGHT; usage query took $USAGE_MS ms)
- answers: $TOTAL_REQ in total, $MEAN_RPS req/s on average; $UNEXPECTED unexpected, $SOCK socket errors${UNEXPECTED_NOTE:+ — $UNEXPECTED_NOTE}
- log entries dropped: $DROPPED; failed log writes: $WRITE_FAILS; streams open at the end: $STREAMS_OPEN; Gatehouse log: $GH_ERRORS error and $GH_WARNS warning lines; SQLite at the end: $(mib "$DB_END") MiB database, $(mib "$WAL_END") MiB WAL; shutdown: $GH_EXIT
EOF
