#!/usr/bin/env bash
# One-command CPU profile of Gatehouse under one wrk scenario:
#
#   bench/profile.sh [non-stream|stream] [CONNECTIONS]     (default non-stream 64)
#
# Starts the mock upstream and Gatehouse with full governance (as bench/run.sh
# does), drives the scenario with wrk for BENCH_DURATION seconds (default 8)
# while `perf record -g` samples Gatehouse, and prints in text:
#   - CPU per request (user and kernel) and context switches per request;
#   - CPU per thread (the thread names tell the I/O loops from CAF's threads);
#   - the hottest functions by self time (`perf report --no-children`);
#   - the hottest call stacks, folded (root;...;leaf count), which is also
#     the input format of flame-graph tools; the whole folded file is kept
#     as BENCH_PROFILE_OUT (default /tmp/gatehouse-profile.folded).
#
# Environment: BENCH_DURATION [8], BENCH_GATEHOUSE_THREADS [nproc],
# BENCH_MOCK_THREADS [1], BENCH_BUILD_DIR [build], BENCH_SKIP_BUILD [0],
# BENCH_PROFILE_OUT, BENCH_TOP [30] (lines per list), BENCH_PERF_FREQ [999]
# (samples per second), BENCH_PERF_CALLGRAPH [fp] (`dwarf` unwinds stacks
# without frame pointers, at a higher cost while recording).
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${1:-non-stream}
CONNS=${2:-64}
DURATION=${BENCH_DURATION:-8}
GH_THREADS=${BENCH_GATEHOUSE_THREADS:-$(nproc)}
MOCK_THREADS=${BENCH_MOCK_THREADS:-1}
BUILD_DIR=${BENCH_BUILD_DIR:-build}
GATEHOUSE=${BENCH_GATEHOUSE:-$BUILD_DIR/gatehouse}
BIN_DIR=${BENCH_BIN_DIR:-$BUILD_DIR/bench}
OUT=${BENCH_PROFILE_OUT:-/tmp/gatehouse-profile.folded}
TOP=${BENCH_TOP:-30}
case "$MODE" in
non-stream) SCRIPT=chat.lua ;;
stream) SCRIPT=stream.lua ;;
*) echo "usage: bench/profile.sh [non-stream|stream] [CONNECTIONS]" >&2; exit 2 ;;
esac

BENCH_TAG=profile
# shellcheck source=bench/lib.sh
source bench/lib.sh
require_tools perf wrk curl jq awk

TMP=$(mktemp -d /tmp/gatehouse-profile.XXXXXX)
GH_PID="" MOCK_PID=""
cleanup() {
  set +e
  stop_pid "$GH_PID" TERM 15 gatehouse
  stop_pid "$MOCK_PID" TERM 5 mock_upstream
  rm -rf "$TMP"
}
trap cleanup EXIT

[[ "${BENCH_SKIP_BUILD:-0}" == 1 ]] \
  || build_targets "$BUILD_DIR" 2 gatehouse mock_upstream
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
start_mock "$MOCK_THREADS"
start_gatehouse "$GH_THREADS"
setup_governance
check_target "$GH_URL"
wrk -t2 -c"$CONNS" -d1s -s bench/wrk/$SCRIPT "$GH_URL/v1/chat/completions" \
  >/dev/null 2>&1 || true

log "wrk $MODE -c$CONNS for ${DURATION}s under perf record -g"
threads=$((CONNS < 2 ? 1 : 2))
before=$(proc_cost "$GH_PID")
declare -A tick0
for t in /proc/"$GH_PID"/task/*; do
  tick0[${t##*/}]=$(sed 's/^.*) //' "$t/stat" | awk '{print $12 + $13}')
done
perf record -F "${BENCH_PERF_FREQ:-999}" -g ${BENCH_PERF_CALLGRAPH:+--call-graph "$BENCH_PERF_CALLGRAPH"} -p "$GH_PID" -o "$TMP/perf.data" -- sleep "$DURATION" \
  >/dev/null 2>"$TMP/perf.err" &
PERF_PID=$!
wrk -t"$threads" -c"$CONNS" -d"${DURATION}s" -s bench/wrk/$SCRIPT \
  "$GH_URL/v1/chat/completions" >"$TMP/wrk.txt" 2>&1
after=$(proc_cost "$GH_PID")
wait "$PERF_PID" || true
reqs=$(awk '/requests in/ {print $1; exit}' "$TMP/wrk.txt")

echo "## Profile: $MODE, $CONNS connections, ${DURATION} s, $(git rev-parse --short HEAD)"
echo
echo "requests: $reqs ($(awk '/^Requests\/sec:/ {print $2}' "$TMP/wrk.txt") req/s)"
IFS='|' read -r u k cs <<<"$(per_request "$before" "$after" "$reqs")"
echo "CPU per request: $(awk -v u="$u" -v k="$k" 'BEGIN {print u + k}') µs (user $u, kernel $k); context switches per request: $cs"
echo
echo "### CPU per thread (ticks of 10 ms during the run)"
for t in /proc/"$GH_PID"/task/*; do
  id=${t##*/}
  now=$(sed 's/^.*) //' "$t/stat" | awk '{print $12 + $13}')
  printf '%6d  %-16s %s\n' "$((now - ${tick0[$id]:-0}))" "$(cat "$t/comm")" "$id"
done | sort -rn
echo
echo "### Hottest functions (self time)"
perf report -i "$TMP/perf.data" --no-children --sort dso,sym -g none \
  --percent-limit 0.5 --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' \
  | head -n "$TOP"
echo
echo "### Inclusive time of Gatehouse's own functions (self + callees)"
perf report -i "$TMP/perf.data" --children --sort sym -g none \
  --percent-limit 1 --stdio --dsos gatehouse 2>/dev/null | grep -v '^#' \
  | grep -v '^$' | cut -c1-200 | head -n "$TOP"
echo
echo "### Hottest stacks (folded, root first; full list in $OUT)"
perf script -i "$TMP/perf.data" 2>/dev/null | awk '
  /^[^ \t]/ { if (n) emit(); comm = $1; n = 0; next }
  /^[ \t]+[0-9a-f]+ / { sym = $2; sub(/\+0x[0-9a-f]+$/, "", sym)
    if (sym == "[unknown]") sym = "?"; f[++n] = sym; next }
  /^$/ { if (n) emit(); n = 0 }
  function emit(  s, i) { s = comm; for (i = n; i >= 1; i--) s = s ";" f[i]
    count[s]++; n = 0 }
  END { if (n) emit(); for (s in count) print s, count[s] }' \
  | sort -k2 -nr -t' ' >"$OUT"
total=$(awk '{n += $NF} END {print n + 0}' "$OUT")
head -n "$TOP" "$OUT" | awk -v t="$total" '{
  c = $NF; $NF = ""; s = $0; if (length(s) > 220) s = "…" substr(s, length(s) - 219)
  printf "%5.1f%%  %s\n", 100 * c / t, s }'
