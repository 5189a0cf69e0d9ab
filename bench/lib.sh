# Shared helpers of the benchmark scripts (bench/run.sh, bench/soak.sh).
# Sourced, not run. The caller sets, before calling the functions below:
#   TMP         a scratch directory (logs, data dir, curl output)
#   GATEHOUSE   the gatehouse binary      BIN_DIR  the bench binaries
#   BENCH_TAG   prefix of progress lines (default "bench")
# and owns the clean-up (stop_pid on MOCK_PID and GH_PID).

BENCH_TAG=${BENCH_TAG:-bench}
MOCK_PID=${MOCK_PID:-} GH_PID=${GH_PID:-}

log() { printf '[%s] %s\n' "$BENCH_TAG" "$*" >&2; }
die() {
  printf '[%s] FAILED: %s\n' "$BENCH_TAG" "$*" >&2
  exit 1
}

require_tools() {  # tool...
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || [[ -x /usr/sbin/$tool ]] \
      || die "'$tool' is not installed"
  done
}

stop_pid() {  # pid, signal, seconds to wait before SIGKILL, [name]
  local pid=$1 sig=$2 wait_s=$3 name=${4:-} i
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < wait_s * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  [[ -n "$name" ]] && log "$name did not exit within $wait_s s of SIG$sig: killed"
  kill -KILL "$pid" 2>/dev/null || true
}

port_free() { [[ -z "$(ss -Htln "sport = :$1" 2>/dev/null)" ]]; }
free_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + RANDOM % 12000))
    port_free "$p" && { echo "$p"; return 0; }
  done
  die "no free port found"
}

wait_for_line() {  # file, pattern, seconds, pid
  local i
  for ((i = 0; i < $3 * 20; i++)); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$4" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

CURL=(curl --noproxy '*' -sS --max-time 10)

# start_mock THREADS: sets MOCK_PID, MOCK_PORT, MOCK_URL.
start_mock() {
  log "starting mock_upstream ($1 thread(s))"
  "$BIN_DIR/mock_upstream" --port 0 --threads "$1" \
    >"$TMP/mock.out" 2>"$TMP/mock.err" &
  MOCK_PID=$!
  wait_for_line "$TMP/mock.out" '^mock listening on' 10 "$MOCK_PID" \
    || die "mock_upstream did not start"
  MOCK_PORT=$(awk '/^mock listening on/ {print $4; exit}' "$TMP/mock.out")
  MOCK_URL="http://127.0.0.1:$MOCK_PORT"
}

# start_gatehouse THREADS: Gatehouse on a fresh SQLite data dir in $TMP.
# Sets OPERATOR_TOKEN, GH_PID, GH_URL, GH_NOFILE.
start_gatehouse() {
  local i
  log "starting gatehouse ($1 threads, SQLite in a fresh data dir)"
  OPERATOR_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  mkdir -p "$TMP/gh-data"
  ${BENCH_PRELOAD:+env LD_PRELOAD="$BENCH_PRELOAD"} \
    "$GATEHOUSE" serve --listen 127.0.0.1:0 --data-dir "$TMP/gh-data" \
    --operator-token "$OPERATOR_TOKEN" \
    --allow-private-upstreams 127.0.0.1/32 --log-format json \
    --threads "$1" --bcrypt-cost 4 \
    >"$TMP/gatehouse.out" 2>"$TMP/gatehouse.log" &
  GH_PID=$!
  wait_for_line "$TMP/gatehouse.out" 'listening on http://' 20 "$GH_PID" \
    || die "gatehouse did not start"
  GH_URL=$(grep -o 'http://[0-9.:]*' "$TMP/gatehouse.out" | head -n 1)
  for ((i = 0; i < 100; i++)); do
    [[ "$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$GH_URL/readyz" \
      2>/dev/null)" == 200 ]] && break
    sleep 0.1
  done
  GH_NOFILE=$(awk '/Max open files/ {print $4}' "/proc/$GH_PID/limits")
}

# api METHOD PATH AUTH-HEADER [BODY]: sets STATUS and BODY_OUT. API_MAX_TIME
# (seconds, default 10) bounds the call.
api() {
  local method=$1 path=$2 auth=$3 body=${4:-}
  local args=(-X "$method" -o "$TMP/api.out" -w '%{http_code}')
  [[ -n "$auth" ]] && args+=(-H "$auth")
  [[ -n "$body" ]] && args+=(-H 'Content-Type: application/json' -d "$body")
  STATUS=$("${CURL[@]}" --max-time "${API_MAX_TIME:-10}" "${args[@]}" \
    "$GH_URL$path") || STATUS=000
  BODY_OUT=$(cat "$TMP/api.out" 2>/dev/null || true)
}
expect_status() {  # what, expected status...
  local what=$1 s
  shift
  for s in "$@"; do [[ "$STATUS" == "$s" ]] && return 0; done
  die "$what: HTTP $STATUS: $BODY_OUT"
}

# setup_governance: signup, enterprise plan, provider `openai` -> the mock,
# team budget (when the route exists), scoped key; usage logging is always
# on. Sets ORG_ID, TOKEN, AUTH, TEAM_ID, TEAM_NOTE, BENCH_KEY (exported),
# KEY_ID, KEY_HEADER.
setup_governance() {
  local plan key_body
  log "governance: signup, enterprise plan, provider, scoped key"
  api POST /api/v1/signup "" '{"email":"bench@example.com",
    "password":"bench-password-1","org_slug":"bench","org_name":"Bench",
    "display_name":"Bench"}'
  expect_status "POST /api/v1/signup" 201
  ORG_ID=$(jq -r .org.id <<<"$BODY_OUT")
  TOKEN=$(jq -r .token <<<"$BODY_OUT")
  AUTH="Authorization: Bearer $TOKEN"

  api PUT "/api/v1/admin/orgs/$ORG_ID/plan" \
    "Authorization: Bearer $OPERATOR_TOKEN" '{"plan":"enterprise"}'
  expect_status "PUT /api/v1/admin/orgs/{id}/plan" 200
  api GET /api/v1/auth/entitlements "$AUTH"
  expect_status "GET /api/v1/auth/entitlements" 200
  plan=$(jq -r .plan <<<"$BODY_OUT")
  [[ "$plan" == enterprise ]] || die "plan is '$plan' after set-plan"

  api POST /api/v1/providers "$AUTH" "{\"name\":\"openai\",
    \"base_url\":\"$MOCK_URL\",\"api_key\":\"sk-mock-bench-upstream\"}"
  expect_status "POST /api/v1/providers" 201

  TEAM_ID=""
  api POST /api/v1/teams "$AUTH" '{"name":"bench",
    "description":"load benchmark","monthly_spend_limit_usd":1000000}'
  case "$STATUS" in
  201 | 200)
    TEAM_ID=$(jq -r '.id // .team.id' <<<"$BODY_OUT")
    [[ -n "$TEAM_ID" && "$TEAM_ID" != null ]] \
      || die "POST /api/v1/teams: no id in $BODY_OUT"
    TEAM_NOTE="team budget: team 'bench', monthly_spend_limit_usd 1000000, key assigned"
    ;;
  404)
    TEAM_NOTE="team budget: not available (POST /api/v1/teams answered 404)"
    ;;
  *) die "POST /api/v1/teams: HTTP $STATUS: $BODY_OUT" ;;
  esac
  log "$TEAM_NOTE"

  key_body='{"name":"bench","scopes":["provider:openai","model:gpt-4o-mini"]'
  [[ -n "$TEAM_ID" ]] && key_body+=",\"team_id\":\"$TEAM_ID\""
  key_body+='}'
  api POST /api/v1/keys "$AUTH" "$key_body"
  expect_status "POST /api/v1/keys" 201
  BENCH_KEY=$(jq -r .raw_key <<<"$BODY_OUT")
  KEY_ID=$(jq -r .key.id <<<"$BODY_OUT")
  export BENCH_KEY
  KEY_HEADER="X-Gatehouse-Key: $BENCH_KEY"
}

CHAT='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}]}'
SCHAT='{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say hello."}]}'

# check_target URL: one non-streaming and one streaming (8 chunks) request
# through URL must succeed. Leaves the stream's body in CHECK_STREAM_OUT.
check_target() {
  local target=$1 out n
  out=$("${CURL[@]}" -H "$KEY_HEADER" -H 'Content-Type: application/json' \
    -d "$CHAT" -w '\n%{http_code}' "$target/v1/chat/completions") || true
  [[ "${out##*$'\n'}" == 200 && "$out" == *'"usage"'* ]] \
    || die "non-streaming check via $target: $out"
  out=$("${CURL[@]}" -N -H "$KEY_HEADER" -H 'Content-Type: application/json' \
    -H 'X-Mock-Chunks: 8' -d "$SCHAT" "$target/v1/chat/completions") || true
  n=$(grep -c '^data: {' <<<"$out" || true)
  [[ "$n" == 8 && "$out" == *'data: [DONE]'* ]] \
    || die "streaming check via $target: $n chunks: $out"
  CHECK_STREAM_OUT=$out
}

to_us() {  # wrk duration (12.5us, 1.2ms, 2.00s) -> microseconds
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") m = 1; else if (u == "ms") m = 1000;
    else if (u == "s") m = 1000000; else if (u == "m") m = 60000000; else m = 1
    printf "%.1f", n * m }'
}

# wrk_figures FILE: sets WRK_REQS, WRK_RPS, WRK_P50 and WRK_P99 (µs) and
# WRK_ERRORS (non-2xx answers and socket errors) from wrk's --latency output.
wrk_figures() {
  WRK_REQS=$(awk '/requests in/ {print $1; exit}' "$1")
  WRK_RPS=$(awk '/^Requests\/sec:/ {print $2}' "$1")
  WRK_P50=$(to_us "$(awk '$1 == "50%" {print $2; exit}' "$1")")
  WRK_P99=$(to_us "$(awk '$1 == "99%" {print $2; exit}' "$1")")
  WRK_ERRORS=$(awk '/Non-2xx or 3xx responses:/ {n += $5}
    /Socket errors:/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10}
    END {print n + 0}' "$1")
}

# gh_threads PID: how many threads the process has.
gh_threads() { find "/proc/$1/task" -mindepth 1 -maxdepth 1 | wc -l; }

# proc_cost PID...: "USER-TICKS SYS-TICKS CONTEXT-SWITCHES" summed over the
# processes (all their threads).
proc_cost() {
  local pid u=0 k=0 c=0 line
  for pid in "$@"; do
    # Fields after the command name: state is 1, utime 12, stime 13.
    line=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
    u=$((u + $(awk '{print $12}' <<<"$line")))
    k=$((k + $(awk '{print $13}' <<<"$line")))
    c=$((c + $(cat "/proc/$pid"/task/*/status 2>/dev/null | awk '
      /^(non)?voluntary_ctxt_switches:/ {n += $2} END {print n + 0}')))
  done
  echo "$u $k $c"
}

# per_request BEFORE AFTER REQUESTS: "USER-µs|KERNEL-µs|SWITCHES" per request
# from two proc_cost samples.
per_request() {
  awk -v b="$1" -v a="$2" -v n="$3" -v hz="$(getconf CLK_TCK)" 'BEGIN {
    split(b, x, " "); split(a, y, " ")
    if (n <= 0) { print "0|0|0"; exit }
    printf "%.1f|%.1f|%.2f", (y[1] - x[1]) * 1e6 / hz / n,
      (y[2] - x[2]) * 1e6 / hz / n, (y[3] - x[3]) / n }'
}

rss_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# Usage recorded by governance: requests logged for the org (all time).
usage_requests() {
  API_MAX_TIME=120 api GET "/api/v1/usage?group_by=key&from=2000-01-01T00:00:00Z" "$AUTH"
  if [[ "$STATUS" == 200 ]]; then
    jq -r '.totals.requests // "?"' <<<"$BODY_OUT" 2>/dev/null || echo "?"
  else
    echo "? (HTTP $STATUS)"
  fi
}

# build_targets BUILD-DIR JOBS TARGET...: configures BUILD-DIR (Release) if
# needed and builds the targets. With BENCH_BUILD_LOCK set, the build holds
# that file with flock, so that it never runs beside another build.
build_targets() {
  local dir=$1 jobs=$2 lock=()
  shift 2
  [[ -n "${BENCH_BUILD_LOCK:-}" ]] && lock=(flock "$BENCH_BUILD_LOCK")
  if [[ ! -f "$dir/CMakeCache.txt" ]]; then
    log "configuring $dir"
    "${lock[@]}" cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release >&2
  fi
  log "building $*"
  "${lock[@]}" cmake --build "$dir" -j"$jobs" --target "$@" >&2
}
