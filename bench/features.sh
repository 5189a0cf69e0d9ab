#!/usr/bin/env bash
# What each enterprise gateway feature costs per request when it is on.
#
# Starts the mock upstream and Gatehouse on a fresh SQLite data dir, sets up
# full governance (bench/lib.sh setup_governance), then sends the same
# non-streaming chat request through Gatehouse with wrk (-t2 -c64) in each
# configuration, in FEATURE_ROUNDS alternating rounds:
#
#   baseline    nothing configured (the features' cost when off)
#   guardrails  org rules: e-mail and phone redacted, payment cards and
#               secrets blocked, a regular expression and blocked terms
#               flagged (none of them matches the request, so the whole
#               body is scanned and sent on; no rule blocks)
#   redacting   the same rules, and the request carries an e-mail address
#               that is redacted before it leaves
#   alias       the request names an alias of the org ("fast" ->
#               gpt-4o-mini)
#   cache-hit   the request asks for the response cache
#               (X-Gatehouse-Cache: on): every request after the first is a
#               hit served without the upstream
#   translated  the same request in the Anthropic format (POST /v1/messages)
#               to the OpenAI-format provider: the request and the answer
#               are translated
#   webhooks    the org has a webhook for budget thresholds, provider
#               errors and guardrail blocks (none of them fires: what every
#               settled request pays to look)
#
# A configuration whose API answers 404 (the feature is not in this build)
# is skipped. Reports req/s, p50/p99 and Gatehouse's CPU per request (until
# its logs are stored), and the difference to the baseline of the same
# round. Prints a Markdown block.
#
# Environment (defaults in brackets):
#   FEATURE_DURATION [10]  seconds per wrk run   FEATURE_ROUNDS [2]
#   FEATURE_THREADS [nproc] Gatehouse threads
#   BUILD_DIR [build]      BENCH_BUILD_LOCK  file held with flock while
#                                            building
#   FEATURE_NO_BUILD       set: use the binaries in BUILD_DIR as they are
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${FEATURE_DURATION:-10}
ROUNDS=${FEATURE_ROUNDS:-2}
THREADS=${FEATURE_THREADS:-$(nproc)}
BUILD_DIR=${BUILD_DIR:-build}
BENCH_TAG=features

TMP=$(mktemp -d /tmp/gatehouse-features.XXXXXX)
GATEHOUSE=$BUILD_DIR/gatehouse
BIN_DIR=$BUILD_DIR/bench
# shellcheck source=bench/lib.sh
source bench/lib.sh
cleanup() {
  stop_pid "${GH_PID:-}" TERM 20 gatehouse
  stop_pid "${MOCK_PID:-}" TERM 5 mock_upstream
  rm -rf "$TMP"
}
trap cleanup EXIT

require_tools cmake curl wrk awk ss jq
[[ -n "${FEATURE_NO_BUILD:-}" ]] \
  || build_targets "$BUILD_DIR" 2 gatehouse mock_upstream
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

start_mock 1
start_gatehouse "$THREADS"
setup_governance
# The scoped key may use the alias target only.
api POST /api/v1/keys "$AUTH" '{"name":"features"}'
expect_status "POST /api/v1/keys" 201
export BENCH_KEY
BENCH_KEY=$(jq -r .raw_key <<<"$BODY_OUT")

PLAIN='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello to the team and summarize the release notes in two sentences."}]}'
EMAIL='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello to jane.doe@example.com and summarize the release notes in two sentences."}]}'
ANTHROPIC='{"model":"gpt-4o-mini","max_tokens":256,"messages":[{"role":"user","content":"Say hello to the team and summarize the release notes in two sentences."}]}'
ALIAS='{"model":"fast","messages":[{"role":"user","content":"Say hello to the team and summarize the release notes in two sentences."}]}'
RULES='{"rules":[
  {"name":"emails","detector":"email","action":"redact"},
  {"name":"phones","detector":"phone","action":"redact"},
  {"name":"cards","detector":"payment_card","action":"block"},
  {"name":"secrets","detector":"secret","action":"block"},
  {"name":"tickets","detector":"regex","pattern":"TICKET-[0-9]{6}","action":"flag"},
  {"name":"codenames","detector":"terms","terms":["bluebird","nightjar"],"action":"flag"}]}'

wait_backlog() {
  local i b
  for ((i = 0; i < 2400; i++)); do
    b=$("${CURL[@]}" -H "Authorization: Bearer $OPERATOR_TOKEN" \
      "$GH_URL/metrics" | awk '$1 == "gatehouse_log_backlog" {print $2}')
    [[ "$b" == 0 ]] && return 0
    sleep 0.05
  done
}

# set_rules on|off: the org's guardrails.
set_rules() {
  if [[ $1 == on ]]; then api PUT /api/v1/guardrails "$AUTH" "$RULES"
  else api PUT /api/v1/guardrails "$AUTH" '{"rules":[]}'; fi
}

# Which configurations this build has.
CONFIGS=(baseline)
set_rules on
if [[ "$STATUS" == 200 ]]; then CONFIGS+=(guardrails redacting); fi
set_rules off
api PUT /api/v1/aliases "$AUTH" '{"aliases":{"fast":"gpt-4o-mini"}}'
[[ "$STATUS" == 200 ]] && CONFIGS+=(alias)
api DELETE /api/v1/cache "$AUTH"
[[ "$STATUS" == 200 ]] && CONFIGS+=(cache-hit)
api POST /api/v1/webhooks "$AUTH" "{\"url\":\"$MOCK_URL/hook\",
  \"events\":[\"budget.threshold\",\"provider.errors\",\"guardrail.blocked\"]}"
if [[ "$STATUS" == 201 ]]; then
  CONFIGS+=(webhooks)
  WEBHOOK_ID=$(jq -r .webhook.id <<<"$BODY_OUT")
  api DELETE "/api/v1/webhooks/$WEBHOOK_ID" "$AUTH"
fi
api GET /api/v1/providers "$AUTH"
[[ "$(jq -r '.providers[0].format // empty' <<<"$BODY_OUT")" == openai ]] \
  && CONFIGS+=(translated)
log "configurations: ${CONFIGS[*]}"

ROWS=()
for ((round = 1; round <= ROUNDS; round++)); do
  for cfg in "${CONFIGS[@]}"; do
    body=$PLAIN
    header=""
    path=/v1/chat/completions
    case $cfg in
    guardrails) set_rules on ;;
    redacting) set_rules on; body=$EMAIL ;;
    alias) body=$ALIAS ;;
    cache-hit) header="X-Gatehouse-Cache: on" ;;
    translated) body=$ANTHROPIC; path=/v1/messages ;;
    webhooks)
      api POST /api/v1/webhooks "$AUTH" "{\"url\":\"$MOCK_URL/hook\",
        \"events\":[\"budget.threshold\",\"provider.errors\",\"guardrail.blocked\"]}"
      expect_status "POST /api/v1/webhooks" 201
      WEBHOOK_ID=$(jq -r .webhook.id <<<"$BODY_OUT")
      ;;
    esac
    export BENCH_BODY=$body BENCH_HEADER=$header
    # One request first: it must pass (and, for the cache, fill it).
    out=$("${CURL[@]}" -H "X-Gatehouse-Key: $BENCH_KEY" \
      -H 'Content-Type: application/json' ${header:+-H "$header"} \
      -d "$body" -w '\n%{http_code}' "$GH_URL$path") || true
    [[ "${out##*$'\n'}" == 200 ]] || die "$cfg: check request: $out"
    wrk -t2 -c64 -d1s -s bench/wrk/chat.lua "$GH_URL$path" \
      >/dev/null 2>&1 || true
    wait_backlog
    res=$TMP/wrk-$round-$cfg.txt
    before=$(proc_cost "$GH_PID")
    wrk -t2 -c64 -d"${DURATION}s" --timeout 5s --latency \
      -s bench/wrk/chat.lua "$GH_URL$path" >"$res" 2>&1 \
      || die "wrk failed: $(cat "$res")"
    wait_backlog
    after=$(proc_cost "$GH_PID")
    wrk_figures "$res"
    reqs=$WRK_REQS rps=$WRK_RPS p50=$WRK_P50 p99=$WRK_P99 errs=$WRK_ERRORS
    cost=$(per_request "$before" "$after" "$reqs")
    ROWS+=("$round|$cfg|$rps|$p50|$p99|$errs|$cost")
    log "round $round $cfg: $rps req/s, CPU $cost"
    [[ $cfg == guardrails || $cfg == redacting ]] && set_rules off
    if [[ $cfg == webhooks ]]; then
      api DELETE "/api/v1/webhooks/$WEBHOOK_ID" "$AUTH"
      expect_status "DELETE /api/v1/webhooks/{id}" 200 204
    fi
  done
done

echo "### Features: $(nproc) cores, $THREADS Gatehouse threads, $(date -u +%Y-%m-%d) at $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo
echo "wrk -t2 -c64, ${DURATION} s per run, non-streaming; CPU until the logs are stored."
echo
echo "| round | configuration | req/s | p50 µs | p99 µs | errors | CPU µs/req (user/kernel/switches) | CPU vs baseline |"
echo "|---|---|---:|---:|---:|---:|---|---:|"
declare -A BASE
for r in "${ROWS[@]}"; do
  IFS='|' read -r round cfg rps p50 p99 errs u k sw <<<"$r"
  [[ $cfg == baseline ]] && BASE[$round]=$(awk -v u="$u" -v k="$k" 'BEGIN {print u + k}')
  delta=$(awk -v u="$u" -v k="$k" -v b="${BASE[$round]:-0}" \
    'BEGIN {d = u + k - b; printf "%+.1f µs", d}')
  [[ $cfg == baseline ]] && delta="—"
  echo "| $round | $cfg | $rps | $p50 | $p99 | $errs | $u / $k / $sw | $delta |"
done
