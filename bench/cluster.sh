#!/usr/bin/env bash
# Team budgets across a cluster: leases against asking the org's home for
# every request.
#
# Starts a throwaway PostgreSQL (scripts/pg-test-cluster), the mock upstream
# and three Gatehouse nodes (gh-a, gh-b, gh-c) in one cluster on it; sets up
# an enterprise org whose model is priced at 1 USD per million output tokens
# (input free), so that a request with max_tokens 5 is estimated at, and
# costs, exactly 5 micro-dollars (the mock answers 5 completion tokens); a
# team capped at 1,000,000 USD; a key of that team. Then, for each lease
# slice of CLUSTER_SLICES, starts the three nodes with
# --cluster-lease-slice N and sends wrk through a member that is not the
# org's home, at 1 and 64 connections. Slice 1 leases exactly one request's
# estimate per ask, and each request spends all of it: every admission on
# the member is asked of the home, which is what forwarding every admission
# would cost (forwarding would also send a settlement message; leases need
# none). Reports req/s, p50/p99, CPU per request of the three nodes
# together (until their logs are stored), and lease messages per request
# (all nodes, from /metrics). Prints a Markdown block.
#
# Environment (defaults in brackets):
#   CLUSTER_SLICES ["64 1"]   CLUSTER_DURATION [10] seconds per wrk run
#   CLUSTER_THREADS [1]       Gatehouse threads per node
#   BUILD_DIR [build]         BENCH_BUILD_LOCK  file held with flock while
#                                               building
#   CLUSTER_NO_BUILD          set: use the binaries in BUILD_DIR as they are
set -euo pipefail
cd "$(dirname "$0")/.."

SLICES=${CLUSTER_SLICES:-64 1}
DURATION=${CLUSTER_DURATION:-10}
THREADS=${CLUSTER_THREADS:-1}
BUILD_DIR=${BUILD_DIR:-build}
BENCH_TAG=cluster

TMP=$(mktemp -d /tmp/gatehouse-cluster.XXXXXX)
# PostgreSQL runs as its own user under it.
chmod 755 "$TMP"
GATEHOUSE=$BUILD_DIR/gatehouse
BIN_DIR=$BUILD_DIR/bench
# shellcheck source=bench/lib.sh
source bench/lib.sh
IDS=(gh-a gh-b gh-c)
PIDS=()
URLS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do stop_pid "$p" TERM 20 gatehouse; done
  stop_pid "${MOCK_PID:-}" TERM 5 mock_upstream
  scripts/pg-test-cluster stop "$TMP/pg" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

require_tools cmake curl wrk awk ss jq
[[ -n "${CLUSTER_NO_BUILD:-}" ]] \
  || build_targets "$BUILD_DIR" 2 gatehouse mock_upstream

log "starting PostgreSQL"
PG_URL=$(scripts/pg-test-cluster start "$TMP/pg" | tail -n 1)
start_mock 1
OPERATOR_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
MASTER_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
JWT_SECRET=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
SECRET=cluster-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
CPORTS=("$(free_port)" "$(free_port)" "$(free_port)")

# start_nodes SLICE: the three nodes, waiting until each sees 3 members up.
start_nodes() {
  local i j peers
  PIDS=()
  URLS=()
  for i in 0 1 2; do
    peers=""
    for j in 0 1 2; do
      [[ $j == "$i" ]] || peers+="${peers:+,}127.0.0.1:${CPORTS[$j]}"
    done
    mkdir -p "$TMP/data-$i"
    GATEHOUSE_CLUSTER_SECRET=$SECRET GATEHOUSE_MASTER_KEY=$MASTER_KEY \
      GATEHOUSE_JWT_SECRET=$JWT_SECRET \
      "$GATEHOUSE" serve --listen 127.0.0.1:0 --data-dir "$TMP/data-$i" \
      --database "$PG_URL" --operator-token "$OPERATOR_TOKEN" \
      --allow-private-upstreams 127.0.0.1/32 --log-format json \
      --threads "$THREADS" --bcrypt-cost 4 --node-id "${IDS[$i]}" \
      --cluster-listen "127.0.0.1:${CPORTS[$i]}" --cluster-peers "$peers" \
      --cluster-lease-slice "$1" \
      >"$TMP/node-$i.out" 2>"$TMP/node-$i.log" &
    PIDS+=($!)
  done
  for i in 0 1 2; do
    wait_for_line "$TMP/node-$i.out" 'listening on http://' 30 "${PIDS[$i]}" \
      || die "node ${IDS[$i]} did not start: $(tail -5 "$TMP/node-$i.log")"
    URLS+=("$(grep -o 'http://[0-9.:]*' "$TMP/node-$i.out" | head -n 1)")
  done
  for i in 0 1 2; do
    for ((j = 0; j < 100; j++)); do
      [[ "$("${CURL[@]}" -H "Authorization: Bearer $OPERATOR_TOKEN" \
        "${URLS[$i]}/api/v1/admin/cluster" \
        | jq '[.members[] | select(.state == "up")] | length')" == 3 ]] \
        && break
      sleep 0.1
    done
  done
}

stop_nodes() {
  local p
  for p in "${PIDS[@]}"; do stop_pid "$p" TERM 20 gatehouse; done
  PIDS=()
}

# lease_messages: lease messages sent by the three nodes so far.
lease_messages() {
  local u n=0 v
  for u in "${URLS[@]}"; do
    v=$("${CURL[@]}" -H "Authorization: Bearer $OPERATOR_TOKEN" "$u/metrics" \
      | awk '/^gatehouse_cluster_lease_messages_total/ {n += $2}
             END {print n + 0}')
    n=$((n + v))
  done
  echo "$n"
}

# backlogs_empty: waits until every node stored its request logs.
backlogs_empty() {
  local u i b
  for u in "${URLS[@]}"; do
    for ((i = 0; i < 300; i++)); do
      b=$("${CURL[@]}" -H "Authorization: Bearer $OPERATOR_TOKEN" \
        "$u/metrics" | awk '/^gatehouse_log_backlog / {print $2}')
      [[ "$b" == 0 ]] && break
      sleep 0.05
    done
  done
}

start_nodes 64
GH_URL=${URLS[0]}
setup_governance
api PUT /api/v1/pricing "$AUTH" \
  '{"models":{"gpt-4o-mini":{"input_per_mtok":0,"output_per_mtok":1}}}'
expect_status "PUT /api/v1/pricing" 200
api GET /api/v1/admin/orgs "Authorization: Bearer $OPERATOR_TOKEN"
expect_status "GET /api/v1/admin/orgs" 200
HOME_NODE=$(jq -r --arg id "$ORG_ID" '.orgs[] | select(.id == $id) | .home_node' \
  <<<"$BODY_OUT")
MEMBER=0
[[ "${IDS[0]}" == "$HOME_NODE" ]] && MEMBER=1
log "org home: $HOME_NODE; load through ${IDS[$MEMBER]}"
stop_nodes

export BENCH_BODY='{"model":"gpt-4o-mini","max_tokens":5,"messages":[{"role":"user","content":"Say hello."}]}'
ROWS=()
for slice in $SLICES; do
  start_nodes "$slice"
  target=${URLS[$MEMBER]}
  wrk -t1 -c4 -d2s -s bench/wrk/chat.lua "$target/v1/chat/completions" \
    >/dev/null 2>&1 || true
  backlogs_empty
  for c in 1 64; do
    t=1
    [[ $c == 64 ]] && t=2
    out=$TMP/wrk-$slice-$c.txt
    m0=$(lease_messages)
    # shellcheck disable=SC2086
    before=$(proc_cost ${PIDS[*]})
    wrk -t"$t" -c"$c" -d"${DURATION}s" --timeout 5s --latency \
      -s bench/wrk/chat.lua "$target/v1/chat/completions" >"$out" 2>&1 \
      || die "wrk failed: $(cat "$out")"
    backlogs_empty
    # shellcheck disable=SC2086
    after=$(proc_cost ${PIDS[*]})
    m1=$(lease_messages)
    wrk_figures "$out"
    reqs=$WRK_REQS rps=$WRK_RPS p50=$WRK_P50 p99=$WRK_P99 errs=$WRK_ERRORS
    cost=$(per_request "$before" "$after" "$reqs")
    per=$(awk -v m=$((m1 - m0)) -v n="$reqs" 'BEGIN {printf "%.3f", m / n}')
    ROWS+=("$slice|c$c|$rps|$p50|$p99|$errs|$cost|$per")
    log "slice $slice c$c: $rps req/s, p50 $p50 us, lease msgs/req $per"
  done
  stop_nodes
done

echo "### Cluster budgets: 3 nodes, $(nproc) cores, ${THREADS} thread(s) per node, $(date -u +%Y-%m-%d) at $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo
echo "Load through ${IDS[$MEMBER]} (not the org's home $HOME_NODE), ${DURATION} s per run;"
echo "CPU is the three nodes together until their logs are stored."
echo
echo "| lease slice | conns | req/s | p50 µs | p99 µs | errors | CPU µs/req (user/kernel/switches) | lease msgs/req |"
echo "|---|---|---:|---:|---:|---:|---|---:|"
for r in "${ROWS[@]}"; do
  IFS='|' read -r s c rps p50 p99 errs u k sw per <<<"$r"
  echo "| $s | $c | $rps | $p50 | $p99 | $errs | $u / $k / $sw | $per |"
done
