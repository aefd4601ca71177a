#!/usr/bin/env bash
# Benchmark harness for camel-openai-proxy: direct (fake upstream) vs proxy vs nginx.
# See bench/README.md.  Usage:  bash bench/run.sh [--quick] [--build] [--help]
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$BENCH_DIR")"
cd "$REPO"

usage() {
  cat <<'EOF'
usage: bash bench/run.sh [--quick] [--build] [--help]
       bash bench/run.sh --outside [cpu] [cores] [memory] [burst]   (the outsiders' set-up: bench/outside.sh)

  --quick   smoke test: warm-up 5 s, duration 5 s, 200 concurrent streams
  --build   (re)build target/camel-openai-proxy.jar with `mvn -B -q package -DskipTests` first

environment:
  BENCH_WARMUP            proxy warm-up seconds before the measured wrk run (default 30; direct/nginx use min(5, this))
  BENCH_DURATION          measured wrk seconds per leg (default 15)
  BENCH_CONNECTIONS       wrk connections (default 32, one wrk thread)
  BENCH_STREAMS           concurrent SSE streams per leg (default 1000; 20 events 50 ms apart)
  BENCH_STREAM_RAMP_MS    spread the start of the concurrent streams over this many ms (default 500)
  BENCH_STREAM_WARMUP_ROUNDS  short warm-up rounds before the concurrent streams are measured (default 8, at most 40 s)
  BENCH_LEGS              which legs to run (default "direct proxy nginx")
  BENCH_JAVA              java binary for the proxy (default $JAVA_HOME/bin/java, else java on PATH)
  BENCH_TOOL_JAVA         java binary for FakeUpstream/StreamLoad (default: same as BENCH_JAVA)
  BENCH_PROXY_JAVA_OPTS   JVM flags for the proxy (default "-XX:+UseParallelGC")
  BENCH_PROXY_START_TIMEOUT  seconds to wait for GET /observe/health (default 60)
  BENCH_KEEP_TMP=1        keep the temporary run directory (logs, rendered configs)
EOF
}

QUICK=0
BUILD=0
if [[ "${1:-}" == --outside ]]; then shift; exec bash "$BENCH_DIR/outside.sh" "$@"; fi
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    --build) BUILD=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; usage >&2; exit 2 ;;
  esac
done

if [[ $QUICK == 1 ]]; then
  WARMUP="${BENCH_WARMUP:-5}"
  DURATION="${BENCH_DURATION:-5}"
  STREAMS="${BENCH_STREAMS:-200}"
else
  WARMUP="${BENCH_WARMUP:-30}"
  DURATION="${BENCH_DURATION:-15}"
  STREAMS="${BENCH_STREAMS:-1000}"
fi
CONNS="${BENCH_CONNECTIONS:-32}"
RAMP_MS="${BENCH_STREAM_RAMP_MS:-500}"
# warm-up rounds of the concurrent-stream test (same for every leg): the JIT must have compiled the
# streaming path before it is measured, as the wrk warm-up does for the plain path
STREAM_WARMUP_ROUNDS="${BENCH_STREAM_WARMUP_ROUNDS:-8}"
LEGS="${BENCH_LEGS:-direct proxy nginx}"
SHORT_WARMUP=$(( WARMUP < 5 ? WARMUP : 5 ))
PROXY_OPTS="${BENCH_PROXY_JAVA_OPTS:--XX:+UseParallelGC}"
PROXY_START_TIMEOUT="${BENCH_PROXY_START_TIMEOUT:-60}"
STREAM_EVENTS=20
STREAM_INTERVAL_MS=50
STREAM_DEADLINE_S=60
TTFB_ROUNDS=100
TTFB_WARMUP_ROUNDS=500
JAR="target/camel-openai-proxy.jar"
RESULTS_DIR="$BENCH_DIR/results"

for v in WARMUP DURATION STREAMS CONNS RAMP_MS PROXY_START_TIMEOUT; do
  if ! [[ ${!v} =~ ^[0-9]+$ ]]; then echo "invalid $v=${!v} (expected a non-negative integer)" >&2; exit 2; fi
done
if (( DURATION < 1 || STREAMS < 1 || CONNS < 1 )); then echo "BENCH_DURATION, BENCH_STREAMS, BENCH_CONNECTIONS must be >= 1" >&2; exit 2; fi

if [[ -n "${BENCH_JAVA:-}" ]]; then JAVA="$BENCH_JAVA"
elif [[ -n "${JAVA_HOME:-}" && -x "${JAVA_HOME}/bin/java" ]]; then JAVA="$JAVA_HOME/bin/java"
else JAVA="$(command -v java || true)"; fi
[[ -n "$JAVA" && -x "$(command -v "$JAVA" || echo "$JAVA")" ]] || { echo "no java found (set BENCH_JAVA or JAVA_HOME)" >&2; exit 1; }
TOOL_JAVA="${BENCH_TOOL_JAVA:-$JAVA}"

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*"; }
warn() { printf '[bench %(%H:%M:%S)T] WARNING: %s\n' -1 "$*" >&2; }

# ----------------------------------------------------------------------------------------------
# process bookkeeping / cleanup
# ----------------------------------------------------------------------------------------------
WORK="$(mktemp -d /tmp/camel-openai-bench.XXXXXX)"
PIDS=()

stop_pid() {  # stop_pid PID [signal] : TERM (or given signal), wait up to 10 s, then KILL
  local pid="$1" sig="${2:-TERM}" i
  [[ -n "$pid" ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}

# run_bg_wait CMD... : run a command as a tracked child and wait for it. `wait` returns as soon as a trapped signal
# arrives, so Ctrl-C / TERM cleans up at once instead of after the current wrk/StreamLoad run.
run_bg_wait() {
  local p rc=0
  "$@" &
  p=$!
  PIDS+=("$p")
  wait "$p" || rc=$?
  return "$rc"
}

cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[$i]}"; done
  if [[ -d "$WORK" ]]; then
    # keep only this run's logs and raw tool outputs (wrk, StreamLoad) in bench/results/logs/
    rm -rf "$RESULTS_DIR/logs"; mkdir -p "$RESULTS_DIR/logs"
    cp -f "$WORK"/*.log "$WORK"/wrk-*.txt "$WORK"/ttfb-*.txt "$WORK"/streams-*.txt "$RESULTS_DIR/logs/" 2>/dev/null || true
    [[ -f "$WORK/nginx/nginx.conf" ]] && cp -f "$WORK/nginx/nginx.conf" "$RESULTS_DIR/logs/nginx.conf.rendered" 2>/dev/null || true
    if [[ "${BENCH_KEEP_TMP:-0}" == 1 ]]; then echo "temporary files kept in $WORK"; else rm -rf "$WORK"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
exec 9>&2   # the original stderr, for messages from traps that fire while a child's output is redirected
trap 'echo "[bench] interrupted, cleaning up" >&9; exit 130' INT TERM

# ----------------------------------------------------------------------------------------------
# prerequisites
# ----------------------------------------------------------------------------------------------
need_apt=()
command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || need_apt+=(nginx-light)
command -v taskset >/dev/null 2>&1 || need_apt+=(util-linux)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
if (( ${#need_apt[@]} )); then
  log "installing ${need_apt[*]} via apt-get"
  if [[ $(id -u) != 0 ]]; then echo "need root to apt-get install ${need_apt[*]}" >&2; exit 1; fi
  apt-get update -qq
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null; then
    # nginx-light is a transitional package on some releases: fall back to plain nginx
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]/nginx-light/nginx}" >/dev/null
  fi
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
CURL=(curl --noproxy '*' -s)
CLK_TCK="$(getconf CLK_TCK)"
NCPU="$(nproc)"
if (( NCPU < 2 )); then warn "only $NCPU CPU(s): core pinning needs 2 cores (0 = server under test, 1 = load + fake upstream)"; fi
CORE_SUT=0
CORE_LOAD=$(( NCPU >= 2 ? 1 : 0 ))

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE="$(ulimit -n)"
if [[ "$NOFILE" != unlimited ]] && (( NOFILE < 3 * STREAMS + 256 )); then
  warn "ulimit -n is $NOFILE; $STREAMS concurrent streams need about $((3 * STREAMS + 256)) descriptors"
fi

# build the proxy jar if missing / requested
BUILD_NOTE=""
if [[ $BUILD == 1 || ! -f "$JAR" ]]; then
  log "building $JAR (mvn -B -q package -DskipTests)"
  if ! mvn -B -q package -DskipTests >"$WORK/build.log" 2>&1; then
    BUILD_NOTE="mvn package failed (see bench/results/logs/build.log)"
    warn "$BUILD_NOTE"; tail -n 20 "$WORK/build.log" >&2 || true
  fi
fi

# Snapshot the jar: the proxy and the tools run from a private copy, so a concurrent `mvn package`
# (which rewrites target/*.jar in place) cannot pull classes out from under the running JVMs.
RUN_JAR=""
for attempt in 1 2 3 4 5; do
  [[ -f "$JAR" ]] || break
  cp -f "$JAR" "$WORK/camel-openai-proxy.jar"
  # a jar copied while maven is still writing it has no readable central directory yet: retry
  if unzip -l "$WORK/camel-openai-proxy.jar" >/dev/null 2>&1; then RUN_JAR="$WORK/camel-openai-proxy.jar"; break; fi
  log "$JAR looks incomplete (being rebuilt?), retrying in 3 s"
  sleep 3
done

# classpath for FakeUpstream/StreamLoad: the fat jar (contains Vert.x core); fall back to the maven runtime classpath
TOOLS_CP=""
if [[ -n "$RUN_JAR" ]] && unzip -l "$RUN_JAR" 'io/vertx/core/Vertx.class' >/dev/null 2>&1; then
  TOOLS_CP="$RUN_JAR"
else
  log "$JAR missing or without Vert.x; resolving the runtime classpath with maven for the bench tools"
  if mvn -B -q dependency:build-classpath -Dmdep.includeScope=runtime -Dmdep.outputFile="$WORK/cp.txt" >"$WORK/cp.log" 2>&1; then
    TOOLS_CP="$(cat "$WORK/cp.txt")"
  else
    echo "cannot get Vert.x on the classpath for the bench tools (no jar, maven classpath failed; see $WORK/cp.log)" >&2
    exit 1
  fi
fi

# compile the two single-file tools once (same as single-file source launch, but the compile is not paid per run)
TOOL_JAVAC="$(dirname "$(command -v "$TOOL_JAVA" || echo "$TOOL_JAVA")")/javac"
TOOL_CMD=()
if [[ -x "$TOOL_JAVAC" ]] && "$TOOL_JAVAC" -nowarn -cp "$TOOLS_CP" -d "$WORK/classes" \
      "$BENCH_DIR/FakeUpstream.java" "$BENCH_DIR/StreamLoad.java" >"$WORK/javac.log" 2>&1; then
  TOOL_CMD=("$TOOL_JAVA" -Dslf4j.internal.verbosity=ERROR -XX:+UseSerialGC -cp "$TOOLS_CP:$WORK/classes")
  UPSTREAM_MAIN=(FakeUpstream)
  LOAD_MAIN=(StreamLoad)
else
  log "javac unavailable/failed; using single-file source launch for the tools"
  TOOL_CMD=("$TOOL_JAVA" -Dslf4j.internal.verbosity=ERROR -XX:+UseSerialGC -cp "$TOOLS_CP")
  UPSTREAM_MAIN=("$BENCH_DIR/FakeUpstream.java")
  LOAD_MAIN=("$BENCH_DIR/StreamLoad.java")
fi

# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------
USED_PORTS=" "
PORT=""
free_port() {  # sets PORT (no subshell, so USED_PORTS keeps track of ports already handed out)
  local p i listening
  listening=" $(ss -Htan 2>/dev/null | awk '{n=split($4,a,":"); print a[n]}' | tr '\n' ' ') "
  for ((i = 0; i < 200; i++)); do
    p=$(( 20000 + RANDOM % 12000 ))   # below the ephemeral range
    if [[ "$listening" != *" $p "* && "$USED_PORTS" != *" $p "* ]]; then USED_PORTS+="$p "; PORT="$p"; return 0; fi
  done
  echo "no free port found" >&2; exit 1
}

randhex() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# cpu_ticks PID... : utime+stime (clock ticks) of the given processes and their direct children
cpu_ticks() {
  local total=0 pid p stat rest f all=()
  for pid in "$@"; do
    all+=("$pid")
    for p in $(pgrep -P "$pid" 2>/dev/null || true); do all+=("$p"); done
  done
  for p in "${all[@]}"; do
    stat="$(cat "/proc/$p/stat" 2>/dev/null)" || continue
    rest="${stat##*) }"
    read -r -a f <<<"$rest"
    total=$(( total + f[11] + f[12] ))
  done
  echo "$total"
}

# status_kb PID FIELD : VmRSS (kB) / Threads of PID plus its direct children (nginx workers)
status_sum() {
  local pid="$1" field="$2" total=0 p v
  for p in "$pid" $(pgrep -P "$pid" 2>/dev/null || true); do
    v="$(awk -v f="$field:" '$1 == f {print $2}' "/proc/$p/status" 2>/dev/null || true)"
    total=$(( total + ${v:-0} ))
  done
  echo "$total"
}

# sampler PID OUTFILE STOPFILE : every 200 ms records max VmRSS/Threads until STOPFILE exists (bounded to 10 min)
sampler() {
  local pid="$1" out="$2" stop="$3" i rss thr max_rss=0 max_thr=0
  for ((i = 0; i < 3000; i++)); do
    [[ -e "$stop" ]] && break
    kill -0 "$pid" 2>/dev/null || break
    rss=$(status_sum "$pid" VmRSS); thr=$(status_sum "$pid" Threads)
    (( rss > max_rss )) && max_rss=$rss
    (( thr > max_thr )) && max_thr=$thr
    echo "$max_rss $max_thr" >"$out"
    sleep 0.2
  done
}

# core_jiffies CORE : "busy total" jiffies of one CPU from /proc/stat
core_jiffies() {
  awk -v c="cpu$1" '$1 == c { busy = $2 + $3 + $4 + $7 + $8 + $9; print busy, busy + $5 + $6 }' /proc/stat
}

to_ms() {  # wrk latency string (e.g. 404.00us, 2.80ms, 1.02s, 1.00m) -> ms
  awk -v v="$1" 'BEGIN {
    if (v == "") { print "n/a"; exit }
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n = n / 1000; else if (u == "s") n = n * 1000; else if (u == "m") n = n * 60000
    printf "%.3f", n }'
}

calc() { awk "BEGIN { printf \"$1\", $2 }" 2>/dev/null || echo "n/a"; }
isnum() { [[ "${1:-}" =~ ^-?[0-9]+([.][0-9]+)?$ ]]; }

declare -A R   # results: R[leg.metric]
NOTES=()
note() { NOTES+=("$*"); log "NOTE: $*"; }

wait_http() {  # wait_http URL TIMEOUT_S PID : 0 when URL answers 200, 1 on timeout, 2 if PID died
  local url="$1" t="$2" pid="$3" i code
  for ((i = 0; i < t * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || return 2
    code="$("${CURL[@]}" -o /dev/null -w '%{http_code}' --max-time 1 "$url" 2>/dev/null || true)"
    [[ "$code" == 200 ]] && return 0
    sleep 0.2
  done
  return 1
}

# sanity LEG BASEURL KEY : one non-streaming and one streaming request must succeed (proves key injection too).
# On failure returns 1 with the reason in SANITY_WHY.
SANITY_WHY=""
sanity() {
  local leg="$1" base="$2" key="$3" body code
  SANITY_WHY=""
  body="$("${CURL[@]}" --max-time 10 -w '\n%{http_code}' -X POST -H 'Content-Type: application/json' \
          -H "Authorization: Bearer $key" -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}' \
          "$base/v1/chat/completions" 2>&1 || true)"
  code="${body##*$'\n'}"
  if [[ "$code" != 200 || "$body" != *'"chat.completion"'* ]]; then
    SANITY_WHY="non-streaming request through $leg: HTTP $code, body: $(head -c 300 <<<"${body%$'\n'*}" | tr '\n' ' ')"
    return 1
  fi
  body="$("${CURL[@]}" -N --max-time 10 -X POST -H 'Content-Type: application/json' -H 'x-bench-events: 3' \
          -H 'x-bench-interval-ms: 10' -H "Authorization: Bearer $key" \
          -d '{"model":"gpt-4o-mini","stream": true,"messages":[{"role":"user","content":"hi"}]}' \
          "$base/v1/chat/completions" 2>&1 || true)"
  if [[ "$body" != *'data: [DONE]'* ]]; then
    SANITY_WHY="streaming request through $leg did not end with data: [DONE]; got: $(head -c 300 <<<"$body" | tr '\n' ' ')"
    return 1
  fi
  if [[ "$leg" != direct ]]; then
    code="$("${CURL[@]}" -o /dev/null -w '%{http_code}' --max-time 5 -X POST -H 'Content-Type: application/json' \
            -H 'Authorization: Bearer wrong-key' -d '{}' "$base/v1/chat/completions" 2>/dev/null || true)"
    [[ "$code" == 401 ]] || note "$leg answered HTTP $code (expected 401) for a wrong client key"
  fi
  return 0
}

# wrk_run LEG BASEURL KEY SECONDS MEASURE(0/1) [CPU_PID] [CPU_PID2]
wrk_run() {
  local leg="$1" base="$2" key="$3" secs="$4" measure="$5" cpu_pid="${6:-}" cpu_pid2="${7:-}" out t0 t1 u0 u1 rc=0
  local c0a c0b c1a c1b
  out="$WORK/wrk-$leg-$measure.txt"
  read -r -a c0a <<<"$(core_jiffies "$CORE_SUT")"; read -r -a c1a <<<"$(core_jiffies "$CORE_LOAD")"
  [[ -n "$cpu_pid" ]] && t0=$(cpu_ticks "$cpu_pid")
  [[ -n "$cpu_pid2" ]] && u0=$(cpu_ticks "$cpu_pid2")
  BENCH_AUTH_KEY="$key" run_bg_wait timeout -k 5 $(( secs + 30 )) taskset -c "$CORE_LOAD" \
    wrk -t1 -c"$CONNS" -d"${secs}s" --timeout 10s --latency -s "$BENCH_DIR/post.lua" \
    "$base/v1/chat/completions" >"$out" 2>&1 || rc=$?
  [[ -n "$cpu_pid" ]] && t1=$(cpu_ticks "$cpu_pid")
  [[ -n "$cpu_pid2" ]] && u1=$(cpu_ticks "$cpu_pid2")
  read -r -a c0b <<<"$(core_jiffies "$CORE_SUT")"; read -r -a c1b <<<"$(core_jiffies "$CORE_LOAD")"
  if (( rc != 0 )); then
    note "wrk for $leg exited with $rc: $(tail -n 3 "$out" | tr '\n' ' ')"
    return 1
  fi
  (( measure == 1 )) || return 0
  local rps reqs p50 p99 non2xx sockerr
  rps="$(awk '/^Requests\/sec:/ {print $2}' "$out")"
  reqs="$(awk '/requests in/ {print $1}' "$out")"
  p50="$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")"
  p99="$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")"
  non2xx="$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")"
  sockerr="$(awk -F'Socket errors: ' 'NF > 1 {print $2}' "$out")"
  R[$leg.rps]="$(calc '%.0f' "${rps:-0}")"
  R[$leg.reqs]="${reqs:-0}"
  R[$leg.p50]="$p50"
  R[$leg.p99]="$p99"
  R[$leg.non2xx]="${non2xx:-0}"
  [[ -n "$sockerr" ]] && note "$leg wrk socket errors: $sockerr"
  if [[ -n "${non2xx:-}" && "${non2xx}" != 0 ]]; then note "$leg: $non2xx of ${reqs:-?} wrk responses were not 2xx/3xx (figures not comparable)"; fi
  if [[ -n "$cpu_pid" ]] && isnum "${reqs:-}" && (( reqs > 0 )); then
    R[$leg.cpu_us]="$(calc '%.1f' "($t1 - $t0) * 1000000 / $CLK_TCK / $reqs")"
    R[$leg.cpu_pct]="$(calc '%.0f' "($t1 - $t0) * 100 / $CLK_TCK / $secs")"
  fi
  # how busy each core was during the measured run (foreign load on core 0 disturbs the comparison)
  R[$leg.core0_busy]="$(calc '%.0f' "(${c0b[0]} - ${c0a[0]}) * 100 / ((${c0b[1]} - ${c0a[1]}) > 0 ? (${c0b[1]} - ${c0a[1]}) : 1)")"
  R[$leg.core1_busy]="$(calc '%.0f' "(${c1b[0]} - ${c1a[0]}) * 100 / ((${c1b[1]} - ${c1a[1]}) > 0 ? (${c1b[1]} - ${c1a[1]}) : 1)")"
  local own="${R[$leg.cpu_pct]:-0}" busy0="${R[$leg.core0_busy]:-0}" foreign=0
  isnum "$own" || own=0
  isnum "$busy0" || busy0=0
  foreign=$(( busy0 - own ))
  if [[ "$leg" != direct ]] && (( foreign > 10 )); then
    note "$leg: core $CORE_SUT was ${R[$leg.core0_busy]}% busy but the server under test used only ${own}% -> ~${foreign}% from other processes (figures disturbed)"
  fi
  if [[ "$leg" == direct ]] && (( busy0 > 10 )); then
    note "direct: core $CORE_SUT (should be idle in this leg) was ${R[$leg.core0_busy]}% busy: other processes are running"
  fi
  if [[ -n "$cpu_pid2" ]] && isnum "${reqs:-}" && (( reqs > 0 )); then
    R[$leg.up_cpu_us]="$(calc '%.1f' "($u1 - $u0) * 1000000 / $CLK_TCK / $reqs")"
  fi
  log "$leg: ${R[$leg.rps]} req/s, p50 ${p50} ms, p99 ${p99} ms${R[$leg.cpu_us]:+, server CPU ${R[$leg.cpu_us]} us/req (${R[$leg.cpu_pct]}% of a core)}"
}

# streamload LEG BASEURL KEY OUTFILE ARGS... : run StreamLoad pinned to the load core, parse its RESULT line
streamload() {
  local leg="$1" base="$2" key="$3" out="$4" prefix="$5"; shift 5
  local rc=0 line kv mism
  BENCH_CLIENT_KEY="$key" run_bg_wait timeout -k 5 $(( STREAM_DEADLINE_S + 30 )) taskset -c "$CORE_LOAD" \
    "${TOOL_CMD[@]}" "${LOAD_MAIN[@]}" "$base" --label "$leg" --deadline-s "$STREAM_DEADLINE_S" "$@" >"$out" 2>&1 || rc=$?
  sed 's/^/    /' "$out" | grep -v '^    RESULT' || true
  line="$(grep '^RESULT ' "$out" | tail -n 1 || true)"
  if [[ -z "$line" ]]; then
    note "StreamLoad for $leg ($prefix) produced no result (exit $rc): $(tail -n 3 "$out" | tr '\n' ' ')"
    return 1
  fi
  for kv in ${line#RESULT }; do R[$leg.$prefix.${kv%%=*}]="${kv#*=}"; done
  mism="${R[$leg.$prefix.event_mismatch]:-0}"
  if [[ "$mism" != 0 ]]; then note "$leg ($prefix): $mism streams did not carry the requested number of events (see StreamLoad output)"; fi
  case $rc in
    0) ;;
    3) note "StreamLoad for $leg ($prefix) hit its ${STREAM_DEADLINE_S}s deadline" ;;
    *) note "StreamLoad for $leg ($prefix) exited $rc (some streams failed)" ;;
  esac
  return 0
}

ttfb_test() {  # single stream at a time, sequential rounds on one kept-alive connection
  local leg="$1" base="$2" key="$3"
  log "$leg: time to first streamed byte (1 stream x $TTFB_ROUNDS rounds after $TTFB_WARMUP_ROUNDS short warm-up streams, keep-alive)"
  streamload "$leg" "$base" "$key" "$WORK/ttfb-$leg.txt" ttfb --streams 1 --rounds "$TTFB_ROUNDS" \
    --warmup-rounds "$TTFB_WARMUP_ROUNDS" --warmup-max-s 10 --events 2 --interval-ms 5 --stream-timeout-s 10 || true
}

concurrent_test() {  # STREAMS concurrent streams; samples RSS/threads of PID while they are open
  local leg="$1" base="$2" key="$3" pid="${4:-}" stop="$WORK/sampler-$leg.stop" samp="$WORK/sampler-$leg.txt" spid=""
  log "$leg: $STREAMS concurrent streams ($STREAM_EVENTS events ${STREAM_INTERVAL_MS} ms apart, starts spread over ${RAMP_MS} ms, after $STREAM_WARMUP_ROUNDS short warm-up rounds and one unmeasured full round)"
  if [[ -n "$pid" ]]; then
    rm -f "$stop" "$samp"
    sampler "$pid" "$samp" "$stop" &
    spid=$!; PIDS+=("$spid")
  fi
  # JIT warm-up of the streaming path: one run of the measured shape, unmeasured, then the measured run
  # (whose own short warm-up rounds warm the load client's JVM). The same for every leg; the plain path
  # gets its warm-up from wrk.
  streamload "$leg" "$base" "$key" "$WORK/streams-warmup-$leg.txt" streams-warmup --streams "$STREAMS" --warmup-rounds "$STREAM_WARMUP_ROUNDS" --warmup-max-s 40 --new-connections --stream-timeout-s 30 \
    --events "$STREAM_EVENTS" --interval-ms "$STREAM_INTERVAL_MS" --ramp-ms "$RAMP_MS" >/dev/null 2>&1 || true
  streamload "$leg" "$base" "$key" "$WORK/streams-$leg.txt" streams --streams "$STREAMS" --warmup-rounds "$STREAM_WARMUP_ROUNDS" --warmup-max-s 40 --new-connections --stream-timeout-s 30 \
    --events "$STREAM_EVENTS" --interval-ms "$STREAM_INTERVAL_MS" --ramp-ms "$RAMP_MS" || true
  if [[ -n "$spid" ]]; then
    touch "$stop"; wait "$spid" 2>/dev/null || true
    if [[ -s "$samp" ]]; then
      read -r R[$leg.rss_peak_kb] R[$leg.threads_peak] <"$samp"
    fi
  fi
}

# ----------------------------------------------------------------------------------------------
# setup: keys, ports, fake upstream
# ----------------------------------------------------------------------------------------------
UPSTREAM_KEY="sk-bench-upstream-$(randhex)"
CLIENT_KEY="sk-bench-client-$(randhex)"
free_port; UP_PORT=$PORT; free_port; PROXY_PORT=$PORT; free_port; NGINX_PORT=$PORT
cat >"$WORK/keys.yaml" <<EOF
keys:
  - name: bench
    key_sha256: $(printf '%s' "$CLIENT_KEY" | sha256sum | awk '{print $1}')
EOF

JAVA_VERSION="$("$JAVA" -version 2>&1 | head -n 1 || true)"
START_TS="$(date '+%Y-%m-%d %H:%M:%S %Z')"
LOADAVG_START="$(cut -d' ' -f1-3 /proc/loadavg)"
if awk -v l="${LOADAVG_START%% *}" 'BEGIN { exit !(l > 0.5) }'; then
  warn "load average is $LOADAVG_START before the bench starts; busiest processes:"
  ps -eo pid,pcpu,etime,args --sort=-pcpu | head -n 4 | cut -c1-150 >&2 || true
fi
log "run dir $WORK; ports upstream=$UP_PORT proxy=$PROXY_PORT nginx=$NGINX_PORT; ulimit -n $NOFILE"
log "pinning: server under test (proxy, then nginx) on core $CORE_SUT; fake upstream + wrk/StreamLoad share core $CORE_LOAD"
log "         (the load generator shares its core with the fake upstream: direct-leg throughput is bounded by that core)"

log "starting fake upstream on 127.0.0.1:$UP_PORT (core $CORE_LOAD, 1 event loop)"
OPENAI_API_KEY="$UPSTREAM_KEY" taskset -c "$CORE_LOAD" "${TOOL_CMD[@]}" "${UPSTREAM_MAIN[@]}" "$UP_PORT" 1 \
  >"$WORK/upstream.log" 2>&1 &
UP_PID=$!; PIDS+=("$UP_PID")
if ! wait_http "http://127.0.0.1:$UP_PORT/health" 30 "$UP_PID"; then
  echo "fake upstream did not start:" >&2; cat "$WORK/upstream.log" >&2; exit 1
fi
DIRECT="http://127.0.0.1:$UP_PORT"

# ----------------------------------------------------------------------------------------------
# leg: direct
# ----------------------------------------------------------------------------------------------
declare -A STATUS=([direct]="skipped" [proxy]="skipped" [nginx]="skipped")

run_direct() {
  log "=== direct (wrk -> fake upstream) ==="
  if ! sanity direct "$DIRECT" "$UPSTREAM_KEY"; then STATUS[direct]="FAILED: $SANITY_WHY"; warn "${STATUS[direct]}"; return; fi
  STATUS[direct]="ok"
  log "direct: warm-up ${SHORT_WARMUP}s"
  if (( SHORT_WARMUP > 0 )); then wrk_run direct "$DIRECT" "$UPSTREAM_KEY" "$SHORT_WARMUP" 0 || true; fi
  log "direct: measured ${DURATION}s (wrk -t1 -c$CONNS, core $CORE_LOAD)"
  wrk_run direct "$DIRECT" "$UPSTREAM_KEY" "$DURATION" 1 "" "$UP_PID" || STATUS[direct]="wrk failed"
  ttfb_test direct "$DIRECT" "$UPSTREAM_KEY"
  concurrent_test direct "$DIRECT" "$UPSTREAM_KEY" ""
}

# ----------------------------------------------------------------------------------------------
# leg: proxy
# ----------------------------------------------------------------------------------------------
PROXY_PID=""
run_proxy() {
  log "=== proxy (wrk -> camel-openai-proxy -> fake upstream) ==="
  if [[ -z "$RUN_JAR" ]]; then
    STATUS[proxy]="FAILED: $JAR not found${BUILD_NOTE:+ ($BUILD_NOTE)}"; warn "${STATUS[proxy]}"; return
  fi
  local base="http://127.0.0.1:$PROXY_PORT" rc=0 why
  # shellcheck disable=SC2086
  PROXY_PORT="$PROXY_PORT" PROXY_HOST=127.0.0.1 OPENAI_BASE_URL="$DIRECT/v1" OPENAI_API_KEY="$UPSTREAM_KEY" \
    PROXY_KEYS_FILE="$WORK/keys.yaml" PROXY_AUDIT_URI="stream:file?fileName=$WORK/audit.jsonl" taskset -c "$CORE_SUT" "$JAVA" $PROXY_OPTS -jar "$RUN_JAR" >"$WORK/proxy.log" 2>&1 &
  PROXY_PID=$!; PIDS+=("$PROXY_PID")
  log "proxy pid $PROXY_PID ($JAVA_VERSION; flags: $PROXY_OPTS), waiting up to ${PROXY_START_TIMEOUT}s for GET /observe/health"
  local t0=$SECONDS
  wait_http "$base/observe/health" "$PROXY_START_TIMEOUT" "$PROXY_PID" || rc=$?
  if (( rc != 0 )); then
    if (( rc == 2 )); then
      wait "$PROXY_PID" 2>/dev/null && why="exit 0" || why="exit $?"
      STATUS[proxy]="FAILED: proxy process ended ($why) before /observe/health answered 200"
    else
      STATUS[proxy]="FAILED: GET /observe/health not 200 within ${PROXY_START_TIMEOUT}s"
    fi
    warn "${STATUS[proxy]}; last lines of proxy.log:"; tail -n 15 "$WORK/proxy.log" | sed 's/^/    /' >&2 || true
    stop_pid "$PROXY_PID"; return
  fi
  R[proxy.startup_s]=$(( SECONDS - t0 ))
  R[proxy.rss_idle_kb]="$(status_sum "$PROXY_PID" VmRSS)"
  R[proxy.threads_idle]="$(status_sum "$PROXY_PID" Threads)"
  log "proxy healthy after ~${R[proxy.startup_s]}s, RSS $(( R[proxy.rss_idle_kb] / 1024 )) MB, ${R[proxy.threads_idle]} threads"
  if ! sanity proxy "$base" "$CLIENT_KEY"; then
    STATUS[proxy]="FAILED: $SANITY_WHY"; warn "${STATUS[proxy]}"
    tail -n 15 "$WORK/proxy.log" | sed 's/^/    /' >&2 || true
    stop_pid "$PROXY_PID"; return
  fi
  STATUS[proxy]="ok"
  if (( WARMUP > 0 )); then log "proxy: warm-up ${WARMUP}s"; wrk_run proxy "$base" "$CLIENT_KEY" "$WARMUP" 0 || true; fi
  log "proxy: measured ${DURATION}s (wrk -t1 -c$CONNS, core $CORE_LOAD; proxy alone on core $CORE_SUT)"
  wrk_run proxy "$base" "$CLIENT_KEY" "$DURATION" 1 "$PROXY_PID" "$UP_PID" || STATUS[proxy]="wrk failed"
  R[proxy.rss_after_wrk_kb]="$(status_sum "$PROXY_PID" VmRSS)"
  ttfb_test proxy "$base" "$CLIENT_KEY"
  concurrent_test proxy "$base" "$CLIENT_KEY" "$PROXY_PID"
  if ! kill -0 "$PROXY_PID" 2>/dev/null; then STATUS[proxy]="proxy process died during the run"; fi
  log "stopping proxy"
  stop_pid "$PROXY_PID"
}

# ----------------------------------------------------------------------------------------------
# leg: nginx
# ----------------------------------------------------------------------------------------------
run_nginx() {
  log "=== nginx (wrk -> nginx -> fake upstream) ==="
  local run="$WORK/nginx" base="http://127.0.0.1:$NGINX_PORT"
  mkdir -p "$run"
  sed -e "s#@RUNDIR@#$run#g" -e "s#@LISTEN_PORT@#$NGINX_PORT#g" -e "s#@UPSTREAM_PORT@#$UP_PORT#g" \
      -e "s#@UPSTREAM_KEY@#$UPSTREAM_KEY#g" -e "s#@CLIENT_KEY@#$CLIENT_KEY#g" -e "s#@WORKERS@#1#g" -e "s#@ACCESS_LOG@#off#g" \
      -e "s#@NOFILE@#$( [[ "$NOFILE" == unlimited ]] && echo 65536 || echo "$NOFILE")#g" \
      "$BENCH_DIR/nginx.conf.template" >"$run/nginx.conf"
  if ! "$NGINX" -p "$run" -c "$run/nginx.conf" -e "$run/error.log" -t >"$WORK/nginx-test.log" 2>&1; then
    STATUS[nginx]="FAILED: nginx -t: $(tail -n 2 "$WORK/nginx-test.log" | tr '\n' ' ')"; warn "${STATUS[nginx]}"; return
  fi
  taskset -c "$CORE_SUT" "$NGINX" -p "$run" -c "$run/nginx.conf" -e "$run/error.log" >"$WORK/nginx.log" 2>&1 &
  local npid=$!; PIDS+=("$npid")
  if ! wait_http "$base/observe/health" 15 "$npid"; then
    STATUS[nginx]="FAILED: nginx did not start"; warn "${STATUS[nginx]}"; cat "$run/error.log" >&2 || true
    stop_pid "$npid"; return
  fi
  R[nginx.rss_idle_kb]="$(status_sum "$npid" VmRSS)"
  if ! sanity nginx "$base" "$CLIENT_KEY"; then STATUS[nginx]="FAILED: $SANITY_WHY"; warn "${STATUS[nginx]}"; stop_pid "$npid"; return; fi
  STATUS[nginx]="ok"
  log "nginx: warm-up ${SHORT_WARMUP}s"
  if (( SHORT_WARMUP > 0 )); then wrk_run nginx "$base" "$CLIENT_KEY" "$SHORT_WARMUP" 0 || true; fi
  log "nginx: measured ${DURATION}s (wrk -t1 -c$CONNS, core $CORE_LOAD; nginx alone on core $CORE_SUT)"
  wrk_run nginx "$base" "$CLIENT_KEY" "$DURATION" 1 "$npid" "$UP_PID" || STATUS[nginx]="wrk failed"
  ttfb_test nginx "$base" "$CLIENT_KEY"
  concurrent_test nginx "$base" "$CLIENT_KEY" "$npid"
  cp -f "$run/error.log" "$WORK/nginx-error.log" 2>/dev/null || true
  log "stopping nginx"
  stop_pid "$npid" QUIT
}

for leg in $LEGS; do
  case "$leg" in
    direct) run_direct ;;
    proxy) run_proxy ;;
    nginx) run_nginx ;;
    *) warn "unknown leg '$leg' in BENCH_LEGS" ;;
  esac
done

# ----------------------------------------------------------------------------------------------
# summary
# ----------------------------------------------------------------------------------------------
g() { local v="${R[$1]:-}"; echo "${v:-n/a}"; }
diffms() {  # diffms A B -> A-B with sign, or n/a
  if isnum "${1:-}" && isnum "${2:-}"; then calc '%+.2f' "$1 - $2"; else echo "n/a"; fi
}
mb() { if isnum "${1:-}"; then calc '%.0f' "$1 / 1024"; else echo "n/a"; fi; }
f2() { if isnum "${1:-}"; then calc '%.2f' "$1"; else echo "${1:-n/a}"; fi; }

SUMMARY="$WORK/summary.txt"
{
  echo "camel-openai-proxy benchmark  ($START_TS, $(nproc) cores, $(uname -r))"
  echo "proxy JVM: $JAVA_VERSION  flags: $PROXY_OPTS"
  echo "load average at start: $LOADAVG_START, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "pinning: proxy / nginx on core $CORE_SUT (one after the other); fake upstream (Vert.x, 1 event loop) + wrk/StreamLoad share core $CORE_LOAD"
  echo "settings: warm-up proxy ${WARMUP}s, direct/nginx ${SHORT_WARMUP}s; measured ${DURATION}s; wrk -t1 -c$CONNS; streams $STREAMS x $STREAM_EVENTS events / ${STREAM_INTERVAL_MS} ms$( (( QUICK )) && echo '  [--quick]' || true)"
  echo
  echo "status: direct=${STATUS[direct]} | proxy=${STATUS[proxy]} | nginx=${STATUS[nginx]}"
  echo
  echo "1) non-streaming POST /v1/chat/completions (wrk --latency; +ms = added vs direct; CPU = server utime+stime per request)"
  printf '   %-7s %10s %9s %9s %9s %9s %12s %9s\n' leg "req/s" "p50 ms" "p99 ms" "+p50 ms" "+p99 ms" "CPU us/req" "CPU core%"
  for leg in direct proxy nginx; do
    printf '   %-7s %10s %9s %9s %9s %9s %12s %9s\n' "$leg" "$(g $leg.rps)" "$(f2 "$(g $leg.p50)")" "$(f2 "$(g $leg.p99)")" \
      "$( [[ $leg == direct ]] && echo - || diffms "$(g $leg.p50)" "$(g direct.p50)")" \
      "$( [[ $leg == direct ]] && echo - || diffms "$(g $leg.p99)" "$(g direct.p99)")" \
      "$( [[ $leg == direct ]] && echo - || g $leg.cpu_us)" "$( [[ $leg == direct ]] && echo - || g $leg.cpu_pct)"
  done
  echo "   fake upstream CPU us/req (same upstream in every leg): direct $(g direct.up_cpu_us), proxy leg $(g proxy.up_cpu_us), nginx leg $(g nginx.up_cpu_us)"
  echo "   cores busy during the measured run (core $CORE_SUT = server under test, core $CORE_LOAD = wrk + fake upstream):"
  echo "     direct c$CORE_SUT $(g direct.core0_busy)% c$CORE_LOAD $(g direct.core1_busy)% | proxy c$CORE_SUT $(g proxy.core0_busy)% c$CORE_LOAD $(g proxy.core1_busy)% | nginx c$CORE_SUT $(g nginx.core0_busy)% c$CORE_LOAD $(g nginx.core1_busy)%"
  echo "     (core $CORE_LOAD near 100% = the load generator/fake upstream, not the server under test, limits req/s)"
  if isnum "$(g proxy.cpu_us)" && isnum "$(g nginx.cpu_us)" && [[ "$(g nginx.cpu_us)" != 0.0 ]]; then
    echo "   CPU per request proxy/nginx = $(calc '%.2f' "$(g proxy.cpu_us) / $(g nginx.cpu_us)")x"
  else
    echo "   CPU per request proxy/nginx = n/a"
  fi
  echo
  echo "2) time to first streamed byte, one stream at a time on a kept-alive connection ($TTFB_ROUNDS samples)"
  printf '   %-7s %9s %9s %9s %9s\n' leg "p50 ms" "p99 ms" "+p50 ms" complete
  for leg in direct proxy nginx; do
    printf '   %-7s %9s %9s %9s %9s\n' "$leg" "$(g $leg.ttfb.ttfb_p50_ms)" "$(g $leg.ttfb.ttfb_p99_ms)" \
      "$( [[ $leg == direct ]] && echo - || diffms "$(g $leg.ttfb.ttfb_p50_ms)" "$(g direct.ttfb.ttfb_p50_ms)")" \
      "$(g $leg.ttfb.complete)/$(g $leg.ttfb.n)"
  done
  echo
  echo "3) $STREAMS concurrent SSE streams, new connection each ($STREAM_EVENTS events ${STREAM_INTERVAL_MS} ms apart, starts spread over ${RAMP_MS} ms)"
  printf '   %-7s %9s %11s %9s %11s %11s %9s %9s %8s\n' leg complete incremental peak-open "1st-b p50" "1st-b p99" "gap ms" "RSS MB" threads
  for leg in direct proxy nginx; do
    printf '   %-7s %9s %11s %9s %11s %11s %9s %9s %8s\n' "$leg" "$(g $leg.streams.complete)" "$(g $leg.streams.incremental)" \
      "$(g $leg.streams.peak_open)" "$(g $leg.streams.ttfb_p50_ms)" "$(g $leg.streams.ttfb_p99_ms)" "$(g $leg.streams.mean_gap_ms)" \
      "$( [[ $leg == direct ]] && echo - || mb "$(g $leg.rss_peak_kb)")" "$( [[ $leg == proxy ]] && g proxy.threads_peak || echo -)"
  done
  echo "   (RSS/threads = max sampled every 200 ms while the streams were open; nginx RSS = master + worker)"
  if [[ "${STATUS[proxy]}" == ok ]]; then
    echo "   proxy RSS: idle after start $(mb "$(g proxy.rss_idle_kb)") MB (${R[proxy.threads_idle]:-n/a} threads, healthy after ~$(g proxy.startup_s)s), after wrk $(mb "$(g proxy.rss_after_wrk_kb)") MB"
  fi
  if (( ${#NOTES[@]} )); then
    echo
    echo "notes:"
    for n in "${NOTES[@]}"; do echo "   - $n"; done
  fi
} >"$SUMMARY"

mkdir -p "$RESULTS_DIR"
cp -f "$SUMMARY" "$RESULTS_DIR/latest.txt"
cp -f "$SUMMARY" "$RESULTS_DIR/run-$(date '+%Y%m%d-%H%M%S').txt"
echo
echo "================================================================================"
cat "$SUMMARY"
echo "================================================================================"
echo "written to bench/results/latest.txt (logs in bench/results/logs/)"

# exit status: 0 if every requested leg ran, 1 if any of them FAILED (the summary above still covers the others)
for leg in $LEGS; do
  if [[ "${STATUS[$leg]:-}" != ok ]]; then exit 1; fi
done
exit 0
