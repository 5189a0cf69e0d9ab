#!/usr/bin/env bash
# Gatehouse load benchmark, in one run:
#
#   1. builds gatehouse, mock_upstream, stream_load and beast_relay;
#   2. starts the mock upstream, nginx in front of it (bench/nginx.conf.template),
#      beast_relay in front of it (a bare Beast reverse proxy: the floor of
#      Gatehouse's HTTP stack, with as many threads as Gatehouse has I/O
#      threads) and Gatehouse on a fresh SQLite data dir, then sets up full governance
#      through the real API (signup, enterprise plan, provider, scoped key,
#      team budget when the route exists; usage logging is always on);
#   3. wrk: direct to the mock, through nginx, through the relay, through
#      Gatehouse, at 1 and 64
#      connections, non-streaming and streaming (static SSE, 8 chunks);
#   4. paced SSE streams with stream_load: direct, through nginx and through Gatehouse at
#      BENCH_COMPARE_STREAMS connections (time to first token), then
#      BENCH_STREAMS connections through Gatehouse (peak RSS, lost chunks);
#   5. prints a Markdown block for bench/RESULTS.md on stdout.
#
# Progress goes to stderr. Everything started here is stopped on exit and the
# temp dir is removed (BENCH_KEEP=1 keeps it).
#
# Environment (defaults in brackets):
#   BENCH_DURATION [10]            seconds per wrk scenario
#   BENCH_WARMUP [1]               seconds of warm-up per target before wrk
#   BENCH_STREAMS [9500]            concurrent streams through Gatehouse
#   BENCH_COMPARE_STREAMS [1000]   streams for the direct/Gatehouse TTFT pair
#   BENCH_STREAM_CHUNKS [20]       chunks per paced stream
#   BENCH_STREAM_DELAY_MS [250]    ms between paced chunks
#   BENCH_RAMP_MS [streams/5]      spread stream connection starts over this
#   BENCH_GATEHOUSE_THREADS [nproc]  BENCH_MOCK_THREADS [1]
#   BENCH_NGINX_WORKERS [threads of Gatehouse]  nginx worker processes
#   BENCH_SCENARIOS [all]          wrk scenarios to run, comma-separated
#                                  (e.g. "non-stream c64,stream c64")
#   BENCH_SKIP_STREAMS [0]         1: skip the stream_load runs
#   BENCH_PRELOAD []               LD_PRELOAD for Gatehouse (allocator trials)
#   BENCH_BUILD_DIR [build]        BENCH_JOBS [2]
#   BENCH_SKIP_BUILD [0]           1: use the binaries as they are
#   BENCH_BUILD_LOCK []            a file to hold with flock while building
#   BENCH_GATEHOUSE [<build>/gatehouse]  BENCH_BIN_DIR [<build>/bench]
#   BENCH_KEEP [0]                 1: keep the temp dir (logs) at the end
#   BENCH_STOP_WAIT [35]           seconds Gatehouse may take to exit on
#                                  SIGTERM (its drain grace period is 30 s)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-1}
STREAMS=${BENCH_STREAMS:-9500}
COMPARE_STREAMS=${BENCH_COMPARE_STREAMS:-1000}
STREAM_CHUNKS=${BENCH_STREAM_CHUNKS:-20}
STREAM_DELAY_MS=${BENCH_STREAM_DELAY_MS:-250}
GH_THREADS=${BENCH_GATEHOUSE_THREADS:-$(nproc)}
MOCK_THREADS=${BENCH_MOCK_THREADS:-1}
NGINX_WORKERS=${BENCH_NGINX_WORKERS:-}
SCENARIO_FILTER=${BENCH_SCENARIOS:-}
SKIP_STREAMS=${BENCH_SKIP_STREAMS:-0}
BUILD_DIR=${BENCH_BUILD_DIR:-build}
JOBS=${BENCH_JOBS:-2}
SKIP_BUILD=${BENCH_SKIP_BUILD:-0}
GATEHOUSE=${BENCH_GATEHOUSE:-$BUILD_DIR/gatehouse}
BIN_DIR=${BENCH_BIN_DIR:-$BUILD_DIR/bench}
KEEP=${BENCH_KEEP:-0}
STOP_WAIT=${BENCH_STOP_WAIT:-35}
(( COMPARE_STREAMS > STREAMS )) && COMPARE_STREAMS=$STREAMS

BENCH_TAG=bench
# shellcheck source=bench/lib.sh
source bench/lib.sh

require_tools cmake curl jq wrk nginx awk ss
NGINX_BIN=$(command -v nginx || echo /usr/sbin/nginx)

# ---------------------------------------------------------------- cleanup --
TMP=$(mktemp -d /tmp/gatehouse-bench.XXXXXX)
SAMPLER_PID="" RELAY_PID=""

cleanup() {
  local rc=$?
  set +e
  stop_pid "$SAMPLER_PID" TERM 1
  if [[ -f "$TMP/nginx/nginx.pid" ]]; then
    stop_pid "$(cat "$TMP/nginx/nginx.pid")" QUIT 5 nginx
  fi
  stop_pid "$GH_PID" TERM 15 gatehouse
  stop_pid "$RELAY_PID" TERM 5 beast_relay
  stop_pid "$MOCK_PID" TERM 5 mock_upstream
  if ((rc != 0)); then
    for f in gatehouse.log gatehouse.out mock.err nginx/error.log; do
      [[ -s "$TMP/$f" ]] || continue
      printf '[bench] --- last lines of %s ---\n' "$f" >&2
      tail -n 15 "$TMP/$f" >&2
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
if [[ "$SKIP_BUILD" != 1 ]]; then
  build_targets "$BUILD_DIR" "$JOBS" gatehouse mock_upstream stream_load \
    beast_relay
fi
for bin in "$GATEHOUSE" "$BIN_DIR/mock_upstream" "$BIN_DIR/stream_load" \
  "$BIN_DIR/beast_relay"; do
  [[ -x "$bin" ]] || die "missing binary $bin"
done

# Every process started below inherits the highest open-file limit allowed.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)

# ------------------------------------------------------------- processes --
start_mock "$MOCK_THREADS"


start_gatehouse "$GH_THREADS"
# nginx gets as many worker processes as Gatehouse has threads (counted once
# it is up), so that neither side has more ways to use the cores.
GH_TASKS=$(gh_threads "$GH_PID")
[[ -z "$NGINX_WORKERS" ]] && NGINX_WORKERS=$GH_TASKS
log "starting nginx ($NGINX_WORKERS workers)"
NGINX_PORT=$(free_port)
mkdir -p "$TMP/nginx"
# nginx workers drop root privileges; let them reach their temp dirs.
chmod 755 "$TMP" "$TMP/nginx"
sed -e "s|@PREFIX@|$TMP/nginx|g" \
  -e "s|@NGINX_PORT@|$NGINX_PORT|g" \
  -e "s|@MOCK_PORT@|$MOCK_PORT|g" \
  -e "s|@NGINX_WORKERS@|$NGINX_WORKERS|g" \
  -e "s|@NGINX_NOFILE@|$NOFILE|g" \
  -e "s|@NGINX_CONNECTIONS@|$((NOFILE / 2))|g" \
  bench/nginx.conf.template >"$TMP/nginx/nginx.conf"
"$NGINX_BIN" -p "$TMP/nginx" -e "$TMP/nginx/error.log" \
  -c "$TMP/nginx/nginx.conf" 2>>"$TMP/nginx/error.log" \
  || die "nginx did not start (see above)"
NGINX_URL="http://127.0.0.1:$NGINX_PORT"
NGINX_WORKER_PIDS=$(pgrep -P "$(cat "$TMP/nginx/nginx.pid")" | tr '\n' ' ')

log "starting beast_relay ($GH_THREADS threads)"
"$BIN_DIR/beast_relay" --upstream "127.0.0.1:$MOCK_PORT" \
  --threads "$GH_THREADS" >"$TMP/relay.out" 2>"$TMP/relay.err" &
RELAY_PID=$!
wait_for_line "$TMP/relay.out" '^relay listening on' 10 "$RELAY_PID" \
  || die "beast_relay did not start"
RELAY_URL="http://127.0.0.1:$(awk '/^relay listening on/ {print $4; exit}' "$TMP/relay.out")"

# ------------------------------------------------------------ governance --
setup_governance

# One request of each kind through every target before measuring anything.
for target in "$MOCK_URL" "$NGINX_URL" "$RELAY_URL" "$GH_URL"; do
  check_target "$target"
done
out=$CHECK_STREAM_OUT
# The client did not ask for usage: Gatehouse must not leak its own request.
grep -q '"usage"' <<<"$out" && die "Gatehouse relayed the usage-only chunk"
log "checks passed: mock $MOCK_URL, nginx $NGINX_URL, gatehouse $GH_URL"

# -------------------------------------------------------------------- wrk --
RESULTS=()  # "scenario|target|rps|p50|p99|errors|user µs|sys µs|cs"
run_wrk() {  # scenario target-name url script threads connections pids
  local scenario=$1 name=$2 url=$3 script=$4 t=$5 c=$6 pids=$7
  local out="$TMP/wrk-${scenario// /_}-$name.txt"
  log "wrk $scenario -> $name (-t$t -c$c -d${DURATION}s)"
  local before after
  # shellcheck disable=SC2086
  before=$(proc_cost $pids)
  wrk -t"$t" -c"$c" -d"${DURATION}s" --timeout 5s --latency \
    -s "bench/wrk/$script" "$url/v1/chat/completions" >"$out" 2>&1 \
    || die "wrk failed: $(cat "$out")"
  # Gatehouse's cost includes writing the run's request logs: measure
  # until the storage writer has stored them all (and the next run starts
  # on a quiet machine).
  local drain=0
  [[ "$name" == gatehouse ]] && drain=$(wait_log_backlog)
  # shellcheck disable=SC2086
  after=$(proc_cost $pids)
  local rps p50 p99 errs reqs cost
  wrk_figures "$out"
  reqs=$WRK_REQS rps=$WRK_RPS p50=$WRK_P50 p99=$WRK_P99 errs=$WRK_ERRORS
  cost=$(per_request "$before" "$after" "$reqs")
  RESULTS+=("$scenario|$name|$rps|$p50|$p99|$errs|$cost")
  [[ "$name" == gatehouse ]] && DRAINS+=("$scenario: ${drain} ms")
  return 0
}

# Waits until Gatehouse has stored every request log it finished; prints
# how many ms that took after the load ended (-1: not within 120 s).
wait_log_backlog() {
  local t0 backlog
  t0=$(date +%s%N)
  for ((i = 0; i < 2400; i++)); do
    backlog=$(curl -s --max-time 5 -H "Authorization: Bearer $OPERATOR_TOKEN" \
      "$GH_URL/metrics" | awk '$1 == "gatehouse_log_backlog" {print $2}')
    if [[ "$backlog" == 0 ]]; then
      echo $((($(date +%s%N) - t0) / 1000000))
      return
    fi
    sleep 0.05
  done
  echo -1
}
DRAINS=()

if ((WARMUP > 0)); then
  for target in "$MOCK_URL" "$NGINX_URL" "$RELAY_URL" "$GH_URL"; do
    wrk -t2 -c64 -d"${WARMUP}s" -s bench/wrk/chat.lua \
      "$target/v1/chat/completions" >/dev/null 2>&1 || true
  done
  wait_log_backlog >/dev/null
fi

SCENARIOS=("non-stream c1|chat.lua|1|1" "non-stream c64|chat.lua|2|64"
  "stream c1|stream.lua|1|1" "stream c64|stream.lua|2|64")
if [[ -n "$SCENARIO_FILTER" ]]; then
  wanted=()
  for s in "${SCENARIOS[@]}"; do
    [[ ",$SCENARIO_FILTER," == *",${s%%|*},"* ]] && wanted+=("$s")
  done
  ((${#wanted[@]})) || die "BENCH_SCENARIOS matches no scenario: $SCENARIO_FILTER"
  SCENARIOS=("${wanted[@]}")
fi
for s in "${SCENARIOS[@]}"; do
  IFS='|' read -r scenario script t c <<<"$s"
  run_wrk "$scenario" direct "$MOCK_URL" "$script" "$t" "$c" "$MOCK_PID"
  run_wrk "$scenario" nginx "$NGINX_URL" "$script" "$t" "$c" "$NGINX_WORKER_PIDS"
  run_wrk "$scenario" relay "$RELAY_URL" "$script" "$t" "$c" "$RELAY_PID"
  run_wrk "$scenario" gatehouse "$GH_URL" "$script" "$t" "$c" "$GH_PID"
done

# ---------------------------------------------------------------- streams --
STREAM_TIMEOUT_S=$(((STREAM_CHUNKS * STREAM_DELAY_MS) / 1000 + STREAMS / 5000 + 60))
run_streams() {  # name url connections -> $TMP/streams-<name>.json
  local name=$1 url=$2 n=$3 ramp
  ramp=${BENCH_RAMP_MS:-$((n / 5))}
  log "stream_load $name: $n streams, $STREAM_CHUNKS chunks ${STREAM_DELAY_MS} ms apart, ramp $ramp ms"
  "$BIN_DIR/stream_load" --url "$url" --connections "$n" --ramp-ms "$ramp" \
    --header "$KEY_HEADER" --header "X-Mock-Chunks: $STREAM_CHUNKS" \
    --header "X-Mock-Chunk-Delay-Ms: $STREAM_DELAY_MS" \
    --body "$SCHAT" --expect-chunks "$STREAM_CHUNKS" \
    --timeout-s "$STREAM_TIMEOUT_S" \
    >"$TMP/streams-$name.json" 2>"$TMP/streams-$name.err" || true
  sed 's/^/[bench]   /' "$TMP/streams-$name.err" >&2
  [[ -s "$TMP/streams-$name.json" ]] \
    || die "stream_load $name printed no result"
}

FD_NEED=$((2 * STREAMS + 64))
FD_NOTE=""
if [[ -n "$GH_NOFILE" && "$GH_NOFILE" != unlimited ]] && ((GH_NOFILE < FD_NEED)); then
  FD_NOTE="open-file limit of Gatehouse is $GH_NOFILE; $STREAMS streams need about $FD_NEED (a client and an upstream socket each) — failures at the top are expected"
  log "WARNING: $FD_NOTE"
fi

RSS_BEFORE=0 RSS_HWM=0 RSS_SAMPLED=0 RSS_AFTER=0 HWM_RESET=no
if [[ "$SKIP_STREAMS" != 1 ]]; then
  run_streams direct-cmp "$MOCK_URL" "$COMPARE_STREAMS"
  run_streams nginx-cmp "$NGINX_URL" "$COMPARE_STREAMS"
  run_streams gatehouse-cmp "$GH_URL" "$COMPARE_STREAMS"

  RSS_BEFORE=$(rss_kib "$GH_PID" VmRSS)
  # Reset the peak (VmHWM) so it measures this scenario alone.
  HWM_RESET=no
  echo 5 >"/proc/$GH_PID/clear_refs" 2>/dev/null && HWM_RESET=yes
  (
    max=0
    while kill -0 "$GH_PID" 2>/dev/null; do
      r=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$GH_PID/status" 2>/dev/null)
      [[ -n "$r" ]] && ((r > max)) && max=$r && echo "$max" >"$TMP/rss-max"
      sleep 0.2
    done
  ) &
  SAMPLER_PID=$!
  run_streams gatehouse-all "$GH_URL" "$STREAMS"
  sleep 0.3
  stop_pid "$SAMPLER_PID" TERM 1
  SAMPLER_PID=""
  RSS_HWM=$(rss_kib "$GH_PID" VmHWM)
  RSS_SAMPLED=$(cat "$TMP/rss-max" 2>/dev/null || echo 0)
  RSS_AFTER=$(rss_kib "$GH_PID" VmRSS)
  kill -0 "$GH_PID" 2>/dev/null || die "gatehouse exited during the stream run"
fi

# Usage recorded by governance (the storage writer commits every 100 ms).
sleep 0.5
USAGE_REQUESTS=$(usage_requests)

# All measured: stop Gatehouse now to see it drain and exit on SIGTERM.
log "stopping gatehouse (SIGTERM)"
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
log "gatehouse $GH_EXIT"
GH_ERRORS=$(grep -c '"level":"error"' "$TMP/gatehouse.log" || true)
GH_WARNS=$(grep -c '"level":"warn' "$TMP/gatehouse.log" || true)

# ----------------------------------------------------------------- report --
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
jget() { jq -r "$1" "$TMP/streams-$2.json"; }

COMMIT=$(git rev-parse HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || COMMIT+=" (working tree has uncommitted changes)"
CPU=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MEM_GIB=$(awk '/^MemTotal:/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)
CMD="bench/run.sh"
for v in $(compgen -e | grep '^BENCH_' | sort); do
  [[ "$v" == BENCH_KEY ]] && continue
  CMD="$v=${!v} $CMD"
done

# Markdown table of the wrk scenarios, Gatehouse compared with both baselines.
TABLE=$(printf '%s\n' "${RESULTS[@]}" | awk -F'|' '
  { key = $1 SUBSEP $2; rps[key] = $3; p50[key] = $4; p99[key] = $5
    err[key] = $6; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
  END {
    print "| scenario | target | req/s | p50 µs | p99 µs | vs direct | vs nginx | added p50 µs | errors |"
    print "|---|---|---:|---:|---:|---:|---:|---:|---:|"
    split("direct nginx relay gatehouse", t, " ")
    for (i = 1; i <= n; i++) {
      s = order[i]; d = s SUBSEP "direct"; x = s SUBSEP "nginx"
      for (j = 1; j <= 4; j++) {
        k = s SUBSEP t[j]
        vd = "—"; vn = "—"; add = "—"
        if (t[j] != "direct") {
          if (rps[d] > 0) vd = sprintf("%.2f×", rps[k] / rps[d])
          add = sprintf("%+.0f", p50[k] - p50[d])
        }
        if (t[j] != "direct" && t[j] != "nginx" && rps[x] > 0)
          vn = sprintf("%.2f×", rps[k] / rps[x])
        printf "| %s | %s | %.0f | %.0f | %.0f | %s | %s | %s | %d |\n",
          s, t[j], rps[k], p50[k], p99[k], vd, vn, add, err[k]
      }
    }
  }')

# CPU per request of the process(es) serving each target (user and kernel
# apart) and context switches per request; ratios against nginx.
COST_TABLE=$(printf '%s\n' "${RESULTS[@]}" | awk -F'|' '
  { key = $1 SUBSEP $2; u[key] = $7; k[key] = $8; cs[key] = $9
    if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
  END {
    print "| scenario | target | CPU µs/req | user µs | kernel µs | context switches/req | CPU vs nginx | CPU vs relay |"
    print "|---|---|---:|---:|---:|---:|---:|---:|"
    split("direct nginx relay gatehouse", t, " ")
    for (i = 1; i <= n; i++) {
      s = order[i]; x = s SUBSEP "nginx"; y = s SUBSEP "relay"
      for (j = 1; j <= 4; j++) {
        key = s SUBSEP t[j]; c = u[key] + k[key]; r = "—"; rr = "—"
        if ((t[j] == "gatehouse" || t[j] == "relay") && u[x] + k[x] > 0)
          r = sprintf("%.2f×", c / (u[x] + k[x]))
        if (t[j] == "gatehouse" && u[y] + k[y] > 0)
          rr = sprintf("%.2f×", c / (u[y] + k[y]))
        printf "| %s | %s | %.1f | %.1f | %.1f | %.2f | %s | %s |\n",
          s, t[j], c, u[key], k[key], cs[key], r, rr
      }
    }
  }')

# Verdicts against the targets in bench/RESULTS.md; a target whose
# scenario did not run says so.
verdict() { if [[ "$1" == 1 ]]; then echo PASS; else echo FAIL; fi; }
field() {  # scenario target column(3 rps, 4 p50, 5 p99, 7 user, 8 kernel)
  printf '%s\n' "${RESULTS[@]}" | awk -F'|' -v s="$1" -v t="$2" -v c="$3" \
    '$1 == s && $2 == t {print $c}'
}
ran() { [[ -n "$(field "$1" gatehouse 3)" ]]; }
ratio() { awk -v g="$1" -v x="$2" 'BEGIN {printf "%.2f", (x > 0) ? g / x : 0}'; }
cpu() { awk -v u="$(field "$1" "$2" 7)" -v k="$(field "$1" "$2" 8)" 'BEGIN {print u + k}'; }

THR_LINE="" CPU_LINE="" THR_OK=1 CPU_OK=1
for s in "${SCENARIOS[@]}"; do
  scenario=${s%%|*}
  [[ "$scenario" == *c64 ]] || continue
  r=$(ratio "$(field "$scenario" gatehouse 3)" "$(field "$scenario" nginx 3)")
  awk -v r="$r" 'BEGIN {exit !(r >= 1.0)}' || THR_OK=0
  THR_LINE+="$scenario ${r}×, "
  r=$(ratio "$(cpu "$scenario" gatehouse)" "$(cpu "$scenario" nginx)")
  awk -v r="$r" 'BEGIN {exit !(r > 0 && r <= 1.25)}' || CPU_OK=0
  CPU_LINE+="$scenario ${r}× ($(cpu "$scenario" gatehouse) vs $(cpu "$scenario" nginx) µs), "
done
if [[ -n "$THR_LINE" ]]; then
  THR_LINE="$(verdict "$THR_OK") (${THR_LINE%, })"
  CPU_LINE="$(verdict "$CPU_OK") (${CPU_LINE%, })"
else
  THR_LINE="not run" CPU_LINE="not run"
fi
LAT_LINE="" LAT_OK=1
for scenario in "non-stream c1" "stream c1"; do
  ran "$scenario" || continue
  a50=$(awk -v g="$(field "$scenario" gatehouse 4)" -v d="$(field "$scenario" direct 4)" 'BEGIN {printf "%.0f", g - d}')
  a99=$(awk -v g="$(field "$scenario" gatehouse 5)" -v d="$(field "$scenario" direct 5)" 'BEGIN {printf "%.0f", g - d}')
  ((a50 <= 50 && a99 <= 250)) || LAT_OK=0
  LAT_LINE+="$scenario p50 ${a50} µs, p99 ${a99} µs; "
done
if [[ -n "$LAT_LINE" ]]; then
  LAT_LINE="$(verdict "$LAT_OK") (${LAT_LINE%; })"
else
  LAT_LINE="not run"
fi

BIG=gatehouse-all
if [[ "$SKIP_STREAMS" != 1 ]]; then
  PEAK_KIB=$RSS_HWM
  ((RSS_SAMPLED > PEAK_KIB)) && PEAK_KIB=$RSS_SAMPLED
  STREAM_OK=$(awk -v p="$PEAK_KIB" -v f="$(jget .failed "$BIG")" \
    -v l="$(jget .lost_chunks "$BIG")" -v c="$(jget .completed "$BIG")" \
    -v n="$STREAMS" \
    'BEGIN {print ((p / 1024 <= 256 && f == 0 && l == 0 && c == n) ? 1 : 0)}')
  stream_row() {  # name label
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$2" \
      "$(jget .connections "$1")" "$(jget .completed "$1")" \
      "$(jget .failed "$1")" "$(jget .lost_chunks "$1")" \
      "$(jget .ttfe_p50_ms "$1")" "$(jget .ttfe_p99_ms "$1")" \
      "$(jget .duration_s "$1")"
  }
  TTFT_ADDED_P50=$(awk -v g="$(jget .ttfe_p50_ms gatehouse-cmp)" \
    -v d="$(jget .ttfe_p50_ms direct-cmp)" 'BEGIN {printf "%.3f", g - d}')
  TTFT_ADDED_P99=$(awk -v g="$(jget .ttfe_p99_ms gatehouse-cmp)" \
    -v d="$(jget .ttfe_p99_ms direct-cmp)" 'BEGIN {printf "%.3f", g - d}')
  NGINX_TTFT_ADDED_P50=$(awk -v g="$(jget .ttfe_p50_ms nginx-cmp)" \
    -v d="$(jget .ttfe_p50_ms direct-cmp)" 'BEGIN {printf "%.3f", g - d}')
  NGINX_TTFT_ADDED_P99=$(awk -v g="$(jget .ttfe_p99_ms nginx-cmp)" \
    -v d="$(jget .ttfe_p99_ms direct-cmp)" 'BEGIN {printf "%.3f", g - d}')
  TTFT_OK=$(awk -v a="$TTFT_ADDED_P99" 'BEGIN {print ((a <= 2) ? 1 : 0)}')
  STREAM_SECTION="#### Streams (stream_load, paced SSE: $STREAM_CHUNKS chunks ${STREAM_DELAY_MS} ms apart)

Time to first event is measured from the end of connecting to the first
complete \`data:\` event.

| run | streams | completed | failed | lost chunks | TTFE p50 ms | TTFE p99 ms | duration s |
|---|---:|---:|---:|---:|---:|---:|---:|
$(stream_row direct-cmp "direct to mock")
$(stream_row nginx-cmp "through nginx")
$(stream_row gatehouse-cmp "through Gatehouse")
$(stream_row "$BIG" "through Gatehouse")

- added TTFT at $COMPARE_STREAMS streams: p50 ${TTFT_ADDED_P50} ms, p99 ${TTFT_ADDED_P99} ms (nginx: p50 ${NGINX_TTFT_ADDED_P50} ms, p99 ${NGINX_TTFT_ADDED_P99} ms)
- Gatehouse RSS at $STREAMS streams: peak $(mib "$PEAK_KIB") MiB (VmHWM $(mib "$RSS_HWM") MiB, reset before the run: $HWM_RESET; sampled max $(mib "$RSS_SAMPLED") MiB); before $(mib "$RSS_BEFORE") MiB, after $(mib "$RSS_AFTER") MiB
- first stream failure: $(jget '.first_error | if . == "" then "none" else . end' "$BIG")
"
  TTFT_LINE="$(verdict "$TTFT_OK") (p99 ${TTFT_ADDED_P99} ms at $COMPARE_STREAMS streams)"
  STREAMS_LINE="$(verdict "$STREAM_OK") ($(mib "$PEAK_KIB") MiB, $(jget .lost_chunks "$BIG") lost, $(jget .failed "$BIG") failed, $(jget .completed "$BIG") of $STREAMS completed)"
else
  STREAM_SECTION="" TTFT_LINE="not run" STREAMS_LINE="not run"
fi

cat <<EOF

### $(date -u +%Y-%m-%d) — $(git rev-parse --short HEAD 2>/dev/null || echo unknown)

- command: \`$CMD\`
- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')
- machine: $(nproc) cores, $CPU, ${MEM_GIB} GiB RAM, Linux $(uname -r)
- commit: $COMMIT
- tools: $("$NGINX_BIN" -v 2>&1 | sed 's/^nginx version: //'), $(wrk --version 2>&1 | head -n 1 | awk '{print "wrk " $2}')
- Gatehouse: --threads $GH_THREADS ($GH_TASKS threads in all), SQLite (fresh data dir), --log-format json (stderr to a file); mock_upstream --threads $MOCK_THREADS; nginx worker_processes $NGINX_WORKERS
- governance: enterprise plan, provider \`openai\` → mock, key scopes \`["provider:openai","model:gpt-4o-mini"]\`, usage logging on; $TEAM_NOTE
- open-file limit: $NOFILE (Gatehouse: ${GH_NOFILE:-?})${FD_NOTE:+ — $FD_NOTE}

#### Throughput and latency (wrk --latency, ${DURATION} s each)

Non-streaming: small chat completion. Streaming: static SSE, 8 chunks in one
upstream write. c1 = \`wrk -t1 -c1\`, c64 = \`wrk -t2 -c64\`. "added p50" is
the p50 difference to direct.

$TABLE

#### Cost per request (the serving process: mock, nginx workers, Gatehouse)

CPU from utime and stime in /proc (10 ms ticks) over each wrk run, divided by
the requests wrk completed; context switches summed over every thread. For
Gatehouse the window lasts until its request logs are all stored
(\`gatehouse_log_backlog\` back to 0), so the cost includes writing them;
that took, after each run's load ended: $(IFS=';'; echo "${DRAINS[*]:-none}" | sed 's/;/; /g').


$COST_TABLE

${STREAM_SECTION}- usage recorded by Gatehouse for the run: $USAGE_REQUESTS requests; Gatehouse log: $GH_ERRORS error and $GH_WARNS warning lines; shutdown: $GH_EXIT

#### Targets

- CPU per request ≤ 1.25× nginx (c64): $CPU_LINE
- throughput ≥ 1.0× nginx (c64): $THR_LINE
- added latency at one connection, p50 ≤ 50 µs and p99 ≤ 250 µs: $LAT_LINE
- added time to first token p99 ≤ 2 ms: $TTFT_LINE
- $STREAMS streams in ≤ 256 MiB with 0 lost chunks: $STREAMS_LINE
EOF
