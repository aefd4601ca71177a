#!/usr/bin/env bash
# The outsiders' set-up (issue 15): the proxy as shipped against nginx as the usual OpenAI reverse proxy,
# a static nginx upstream answering canned chat JSON. Usually started as `bash bench/run.sh --outside [parts]`.
#
#   bash bench/outside.sh [cpu] [floor] [syscalls] [cores] [memory] [burst]      (default: cpu)
#
#   cpu     core 0: the server under test (proxy, then nginx, never both); core 1: static upstream + wrk.
#           wrk -t2 -c32, BENCH_WARMUP (30) s warm-up, then BENCH_ROUNDS (2) x BENCH_DURATION (10) s measured.
#           CPU per request = utime+stime delta (/proc/<pid>/stat, nginx: master + workers, proxy: the whole JVM)
#           / requests. Also a direct leg (wrk -> static upstream) for the added latency. BENCH_REPEAT (1)
#           repeats the three legs and prints the median of each figure and of the proxy/nginx ratio.
#   floor   as cpu, with a third server under test: bench/VertxFloor.java, a bare reverse proxy on the proxy's
#           own HTTP stack (Vert.x, same options, no pipeline). Its CPU per request is what the HTTP stack alone
#           costs; proxy - floor is what the proxy's pipeline, policies and observing cost on top.
#   cores   nothing pinned, 2 cores: proxy vs nginx with BENCH_NGINX_WORKERS (2) workers, compared with the
#           pinned 1-core figures of the same run; then BENCH_STREAMS (1000) concurrent SSE streams
#           (20 events 50 ms apart, new connections) through each: complete / incremental.
#   memory  the proxy unpinned, BENCH_MEMORY_STREAMS ("0 1000 5000") open slow streams (1 event every 2 s):
#           VmRSS while they are all open, heap used after a full GC (jcmd GC.run + GC.heap_info), and the
#           heap per open stream over the idle figure.
#   syscalls as cpu (pinned, same load), for the floor, the proxy and nginx: system calls per request by
#           name (perf trace -s over one BENCH_DURATION run after the warm-up; needs perf and root or
#           perf_event_paranoid <= 1). A third to a half of each one's CPU is in the kernel (loopback TCP), so the
#           number of writes and reads per request is part of the CPU per request.
#   burst   unpinned, after a warm-up (10 s of wrk, then BENCH_BURST_WARMUP (10) bursts not measured):
#           BENCH_BURST_REPEAT (5) bursts of BENCH_BURST (200) new streams started
#           at once (3 events 50 ms apart, new connections) through the proxy, then nginx with
#           BENCH_NGINX_WORKERS workers: first byte p50/p99 per burst, and their medians. With BENCH_PROFILE=1
#           the proxy's measured bursts are profiled (bench/results/profile-burst-proxy.collapsed).
#
# The proxy runs as shipped: bin/camel-openai-proxy (its class archive when trained), no JVM options
# (BENCH_PROXY_JAVA_OPTS adds some), access log on (stdout to a file), audit to a file, one key, one upstream.
# Two limits are raised, because all load comes from one address over one upstream: 1,000 connections
# per client address and 4,096 upstream connections would cap the 5,000-stream memory leg.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$BENCH_DIR")"
cd "$REPO"

PARTS=("$@"); (( ${#PARTS[@]} )) || PARTS=(cpu)
WARMUP="${BENCH_WARMUP:-30}"
WARMUP_RUNS="${BENCH_WARMUP_RUNS:-1}"
DURATION="${BENCH_DURATION:-10}"
ROUNDS="${BENCH_ROUNDS:-2}"
REPEAT="${BENCH_REPEAT:-1}"
CONNS="${BENCH_CONNECTIONS:-32}"
THREADS="${BENCH_WRK_THREADS:-2}"
STREAMS="${BENCH_STREAMS:-1000}"
NGINX_WORKERS="${BENCH_NGINX_WORKERS:-2}"
MEMORY_STREAMS="${BENCH_MEMORY_STREAMS:-0 1000 5000}"
BURST="${BENCH_BURST:-200}"
BURST_REPEAT="${BENCH_BURST_REPEAT:-5}"
BURST_WARMUP="${BENCH_BURST_WARMUP:-10}"
JAVA_HOME_SUT="${BENCH_JAVA_HOME:-${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}}"
RESULTS_DIR="$BENCH_DIR/results"

log() { printf '[outside %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need+=(nginx)
command -v taskset >/dev/null || need+=(util-linux)
command -v curl >/dev/null || need+=(curl)
if (( ${#need[@]} )); then
  log "installing ${need[*]}"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
CLK_TCK="$(getconf CLK_TCK)"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[[ -f target/camel-openai-proxy.jar ]] || mvn -B -q package -DskipTests

WORK="$(mktemp -d /tmp/camel-openai-outside.XXXXXX)"
PIDS=()
cleanup() {
  local rc=$? p
  trap - EXIT INT TERM
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  mkdir -p "$RESULTS_DIR"; rm -rf "$RESULTS_DIR/outside-logs"; mkdir -p "$RESULTS_DIR/outside-logs"
  cp -f "$WORK"/*.log "$WORK"/*.txt "$RESULTS_DIR/outside-logs/" 2>/dev/null || true
  [[ "${BENCH_KEEP_TMP:-0}" == 1 ]] || rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop() { # stop PID: TERM, 10 s, KILL
  local p=$1 i
  kill -TERM "$p" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true
}
free_port() { local p; while :; do p=$((20000 + RANDOM % 12000)); (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }; done; }
wait_200() { # URL PID : up to 60 s
  local i
  for ((i = 0; i < 600; i++)); do
    kill -0 "$2" 2>/dev/null || return 1
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1")" == 200 ]] && return 0
    sleep 0.1
  done
  return 1
}
cpu_ticks() { # PID...: utime+stime of these processes and their children threads
  local sum=0 p f
  for p in "$@"; do
    f=$(cut -d')' -f2- "/proc/$p/stat" 2>/dev/null) || continue
    set -- $f
    sum=$((sum + ${12} + ${13}))
  done
  echo "$sum"
}
sys_ticks() { # PID...: stime alone (the kernel's share: sockets, epoll, timers)
  local sum=0 p f
  for p in "$@"; do
    f=$(cut -d')' -f2- "/proc/$p/stat" 2>/dev/null) || continue
    set -- $f
    sum=$((sum + ${13}))
  done
  echo "$sum"
}
tree() { echo "$1" $(pgrep -P "$1" || true); } # nginx master + workers
core_busy() { awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat; }
rss_kb() { local s=0 p; for p in "$@"; do s=$((s + $(awk '/^VmRSS/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0))); done; echo "$s"; }
median() { sort -g | awk '{ a[NR] = $1 } END { if (!NR) { print "n/a"; exit } print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# BENCH_PROFILE=1: async-profiler (from Maven Central) attached to the Java server under test for its measured
# rounds only (not the warm-up): CPU samples with kernel stacks where perf_events allow it (root or
# perf_event_paranoid <= 1; otherwise Java stacks only), written to bench/results/profile-<leg>.collapsed.
# Read them with python3 bench/profile-split.py FILE.
ASPROF_LIB=""
if [[ "${BENCH_PROFILE:-0}" == 1 ]]; then
  ASPROF_VERSION=4.1
  ASPROF_JAR="$HOME/.m2/repository/tools/profiler/async-profiler/$ASPROF_VERSION/async-profiler-$ASPROF_VERSION-linux-x64.jar"
  [[ -f "$ASPROF_JAR" ]] || mvn -B -q dependency:get -Dartifact="tools.profiler:async-profiler:$ASPROF_VERSION:jar:linux-x64" >&2
  mkdir -p "$REPO/target/async-profiler"
  (cd "$REPO/target/async-profiler" && unzip -o -q "$ASPROF_JAR" 'linux-x64/*')
  ASPROF_LIB="$REPO/target/async-profiler/linux-x64/libasyncProfiler.so"
fi
profile() { # PID start|FILE : start sampling, or stop and write the collapsed stacks to FILE
  local args="start,event=cpu,interval=1ms,threads"
  [[ "$2" != start ]] && args="stop,file=$2,collapsed"
  # quoted: jcmd would read the "=" in the agent's options as its own name=value arguments
  "$JAVA_HOME_SUT/bin/jcmd" "$1" JVMTI.agent_load "$ASPROF_LIB" "\"$args\"" >"$WORK/jcmd-profile.log" 2>&1
  if grep -q 'ERROR\|Exception\|return code: [1-9]' "$WORK/jcmd-profile.log"; then
    log "profiler: $args failed: $(grep -m1 'ERROR\|Exception\|return code' "$WORK/jcmd-profile.log")"
  fi
}

UPSTREAM_KEY="sk-upstream-$RANDOM$RANDOM$RANDOM"
CLIENT_KEY="sk-proxy-$RANDOM$RANDOM$RANDOM$RANDOM"
NOFILE="$(ulimit -n)"; [[ "$NOFILE" == unlimited ]] && NOFILE=65536

# tools: FakeUpstream (timed SSE events behind the static upstream) and StreamLoad, compiled once
mkdir -p "$WORK/classes"
"$JAVA_HOME_SUT/bin/javac" -nowarn -d "$WORK/classes" -cp target/camel-openai-proxy.jar "$BENCH_DIR/FakeUpstream.java" "$BENCH_DIR/StreamLoad.java" "$BENCH_DIR/VertxFloor.java" >"$WORK/javac.log" 2>&1
TOOL=("$JAVA_HOME_SUT/bin/java" -Dslf4j.internal.verbosity=ERROR -XX:+UseSerialGC -cp "target/camel-openai-proxy.jar:$WORK/classes")

FAKE_PORT=$(free_port)
OPENAI_API_KEY="$UPSTREAM_KEY" taskset -c 1 "${TOOL[@]}" FakeUpstream "$FAKE_PORT" 1 >"$WORK/fake-upstream.log" 2>&1 &
PIDS+=($!)
UP_PORT=$(free_port)
mkdir -p "$WORK/upstream"
sed -e "s#@RUNDIR@#$WORK/upstream#g" -e "s#@LISTEN_PORT@#$UP_PORT#g" -e "s#@FAKE_PORT@#$FAKE_PORT#g" \
    -e "s#@UPSTREAM_KEY@#$UPSTREAM_KEY#g" -e "s#@NOFILE@#$NOFILE#g" "$BENCH_DIR/static-upstream.conf.template" >"$WORK/upstream/nginx.conf"
taskset -c 1 "$NGINX" -p "$WORK/upstream" -c "$WORK/upstream/nginx.conf" -e "$WORK/upstream/error.log" >"$WORK/static-upstream.log" 2>&1 &
PIDS+=($!)
wait_200 "http://127.0.0.1:$UP_PORT/observe/health" "${PIDS[-1]}" || { log "static upstream did not start"; cat "$WORK/upstream/error.log" >&2; exit 1; }
for _ in $(seq 1 100); do [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$FAKE_PORT/")" != 000 ]] && break; sleep 0.1; done

# proxy home: config and routes as shipped, one key, one upstream; data/ (audit, dead letters) stays here
HOME_DIR="$WORK/proxy-home"
mkdir -p "$HOME_DIR"; cp -r config routes "$HOME_DIR/"
printf 'keys:\n  - name: bench\n    key_sha256: %s\n' "$(printf %s "$CLIENT_KEY" | sha256sum | cut -d' ' -f1)" >"$HOME_DIR/config/keys.yaml"

PROXY_PID=""
start_proxy() { # CPUSET ("" = unpinned)
  local port; port=$(free_port)
  local pin=(); [[ -n "$1" ]] && pin=(taskset -c "$1")
  (cd "$HOME_DIR" && exec env PROXY_PORT="$port" PROXY_HOST=127.0.0.1 OPENAI_BASE_URL="http://127.0.0.1:$UP_PORT/v1" \
      OPENAI_API_KEY="$UPSTREAM_KEY" JAVA_HOME="$JAVA_HOME_SUT" JAVA_OPTS="${BENCH_PROXY_JAVA_OPTS:-}" \
      PROXY_LIMITS_MAX_CONNECTIONS_PER_IP=20000 PROXY_UPSTREAM_MAX_CONNECTIONS=10000 \
      "${pin[@]}" "$REPO/bin/camel-openai-proxy") >"$WORK/proxy-access.log" 2>"$WORK/proxy.log" &
  PROXY_PID=$!; PIDS+=("$PROXY_PID")
  wait_200 "http://127.0.0.1:$port/observe/health" "$PROXY_PID" || { log "proxy did not start"; tail -20 "$WORK/proxy.log" >&2; exit 1; }
  SUT_URL="http://127.0.0.1:$port"
}
NGINX_PID=""
start_nginx() { # CPUSET WORKERS
  local port; port=$(free_port)
  local run="$WORK/nginx"; rm -rf "$run"; mkdir -p "$run"
  local pin=(); [[ -n "$1" ]] && pin=(taskset -c "$1")
  sed -e "s#@RUNDIR@#$run#g" -e "s#@LISTEN_PORT@#$port#g" -e "s#@UPSTREAM_PORT@#$UP_PORT#g" -e "s#@WORKERS@#$2#g" \
      -e "s#@ACCESS_LOG@#$run/access.log#g" -e "s#@UPSTREAM_KEY@#$UPSTREAM_KEY#g" -e "s#@CLIENT_KEY@#$CLIENT_KEY#g" \
      -e "s#@NOFILE@#$NOFILE#g" "$BENCH_DIR/nginx.conf.template" >"$run/nginx.conf"
  "${pin[@]}" "$NGINX" -p "$run" -c "$run/nginx.conf" -e "$run/error.log" >"$WORK/nginx.log" 2>&1 &
  NGINX_PID=$!; PIDS+=("$NGINX_PID")
  wait_200 "http://127.0.0.1:$port/observe/health" "$NGINX_PID" || { log "nginx did not start"; cat "$run/error.log" >&2; exit 1; }
  SUT_URL="http://127.0.0.1:$port"
}
FLOOR_PID=""
start_floor() { # CPUSET: bench/VertxFloor.java, the bare Vert.x reverse proxy
  local port; port=$(free_port)
  local pin=(); [[ -n "$1" ]] && pin=(taskset -c "$1")
  BENCH_CLIENT_KEY="$CLIENT_KEY" OPENAI_API_KEY="$UPSTREAM_KEY" "${pin[@]}" "$JAVA_HOME_SUT/bin/java" \
      ${BENCH_PROXY_JAVA_OPTS:-} -cp "target/camel-openai-proxy.jar:$WORK/classes" VertxFloor "$port" "$UP_PORT" \
      >"$WORK/floor.log" 2>&1 &
  FLOOR_PID=$!; PIDS+=("$FLOOR_PID")
  wait_200 "http://127.0.0.1:$port/observe/health" "$FLOOR_PID" || { log "the Vert.x floor did not start"; cat "$WORK/floor.log" >&2; exit 1; }
  SUT_URL="http://127.0.0.1:$port"
}
sanity() { # URL KEY: a 200 chat.completion through it
  local body
  body=$(curl -s --max-time 10 -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
         -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}' "$1/v1/chat/completions")
  [[ "$body" == *'"chat.completion"'* ]] || { log "no chat.completion from $1: $body"; exit 1; }
}

# wrk_leg LABEL URL KEY CPUSET(load) PIDS_FN : warm-up, then ROUNDS measured runs; sets W_* figures
wrk_run() { # OUT SECONDS URL KEY CPUSET
  local pin=(); [[ -n "$5" ]] && pin=(taskset -c "$5")
  BENCH_AUTH_KEY="$4" timeout $(( $2 + 30 )) "${pin[@]}" wrk -t"$THREADS" -c"$CONNS" -d"$2"s --latency -s "$BENCH_DIR/post.lua" "$3" >"$1" 2>&1 || true
}
ms() { awk -v v="$1" 'BEGIN { u = v; gsub(/[0-9.]/, "", u); n = v + 0; if (u == "us") n /= 1000; else if (u == "s") n *= 1000; printf "%.3f", n }'; }
wrk_leg() { # LABEL URL KEY LOADSET WARMUP SUT_PIDS...
  local label=$1 url=$2 key=$3 load=$4 warm=$5; shift 5
  local sut=("$@") r out reqs=0 ticks=0 kticks=0 t0 t1 k0 k1 c0 c1 p50s=() p99s=() rps=() busy0 busy1 n non2xx=0
  local w; for ((w = 1; w <= WARMUP_RUNS; w++)); do # BENCH_WARMUP_RUNS > 1: the same warm-up in shorter runs (new connections each)
    (( warm > 0 )) && wrk_run "$WORK/wrk-$label-warmup-$w.txt" $(( (warm + WARMUP_RUNS - 1) / WARMUP_RUNS )) "$url" "$key" "$load"
  done
  local profiling=0
  if [[ -n "$ASPROF_LIB" && ( $label == proxy-* || $label == floor-* ) ]]; then profiling=1; profile "${sut[0]}" start; fi
  for ((r = 1; r <= ROUNDS; r++)); do
    out="$WORK/wrk-$label-$r.txt"
    local pids=(); for p in "${sut[@]}"; do pids+=($(tree "$p")); done
    thread_ticks "${pids[@]}" >"$WORK/threads-$label-$r-before"
    t0=$(cpu_ticks "${pids[@]}"); k0=$(sys_ticks "${pids[@]}"); read -r busy0 c0 < <(core_busy 0)
    wrk_run "$out" "$DURATION" "$url" "$key" "$load"
    t1=$(cpu_ticks "${pids[@]}"); k1=$(sys_ticks "${pids[@]}"); read -r busy1 c1 < <(core_busy 0)
    thread_ticks "${pids[@]}" >"$WORK/threads-$label-$r-after"
    log "$label round $r, busiest threads: $(top_threads "$WORK/threads-$label-$r-before" "$WORK/threads-$label-$r-after")"
    n=$(awk '/requests in/ { print $1 }' "$out"); n=${n:-0}
    reqs=$((reqs + n)); ticks=$((ticks + t1 - t0)); kticks=$((kticks + k1 - k0))
    non2xx=$((non2xx + $(awk '/Non-2xx/ { s = $NF } END { print s + 0 }' "$out")))
    p50s+=("$(ms "$(awk '$1 == "50%" { print $2 }' "$out")")"); p99s+=("$(ms "$(awk '$1 == "99%" { print $2 }' "$out")")")
    rps+=("$(awk '/Requests\/sec/ { print $2 }' "$out")")
    CORE0_PCT=$(awk -v b=$((busy1 - busy0)) -v t=$((c1 - c0)) 'BEGIN { printf "%.0f", t ? 100 * b / t : 0 }')
  done
  if (( profiling )); then mkdir -p "$RESULTS_DIR"; profile "${sut[0]}" "$RESULTS_DIR/profile-$label.collapsed"; log "profile: $RESULTS_DIR/profile-$label.collapsed"; fi
  W_RPS=$(printf '%s\n' "${rps[@]}" | median)
  W_P50=$(printf '%s\n' "${p50s[@]}" | median); W_P99=$(printf '%s\n' "${p99s[@]}" | median)
  W_CPU=$(awk -v t="$ticks" -v n="$reqs" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", n ? t / hz * 1e6 / n : 0 }')
  W_SYS=$(awk -v t="$kticks" -v n="$reqs" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", n ? t / hz * 1e6 / n : 0 }')
  W_NON2XX=$non2xx
  log "$label: $W_RPS req/s, p50 $W_P50 ms, p99 $W_P99 ms, CPU $W_CPU us/req (kernel $W_SYS), core0 busy $CORE0_PCT% (non-2xx: $non2xx)"
}

SUMMARY="$WORK/summary.txt"
out() { echo "$*" | tee -a "$SUMMARY"; }
out "camel-openai-proxy outside bench $(date -u '+%Y-%m-%d %H:%M UTC'), $(git rev-parse --short HEAD 2>/dev/null), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
out "proxy JVM: $JAVA_HOME_SUT ($(sed -n 's/^JAVA_VERSION="\(.*\)"$/\1/p' "$JAVA_HOME_SUT/release")), options: '${BENCH_PROXY_JAVA_OPTS:-}' ; nginx $("$NGINX" -v 2>&1 | sed 's/.*\///')"

part_cpu() {
  local i d_p50 rows=()
  out ""
  out "1) CPU per request, pinned: server under test on core 0, static upstream + wrk -t$THREADS -c$CONNS on core 1;"
  out "   warm-up ${WARMUP} s, then $ROUNDS x ${DURATION} s; figures per repeat, then medians"
  out "   rep  direct p50/p99 ms | proxy req/s  p50/p99 ms  +p50  CPU us/req | nginx req/s  p50/p99 ms  +p50  CPU us/req | ratio"
  for ((i = 1; i <= REPEAT; i++)); do
    wrk_leg "direct-$i" "http://127.0.0.1:$UP_PORT" "$UPSTREAM_KEY" 1 5
    local dp50=$W_P50 dp99=$W_P99
    start_proxy 0; sanity "$SUT_URL" "$CLIENT_KEY"
    wrk_leg "proxy-$i" "$SUT_URL" "$CLIENT_KEY" 1 "$WARMUP" "$PROXY_PID"
    local pr=$W_RPS pp50=$W_P50 pp99=$W_P99 pc=$W_CPU pbad=$W_NON2XX
    PROXY_RSS_KB=$(rss_kb "$PROXY_PID")
    stop "$PROXY_PID"
    start_nginx 0 1; sanity "$SUT_URL" "$CLIENT_KEY"
    wrk_leg "nginx-$i" "$SUT_URL" "$CLIENT_KEY" 1 "$WARMUP" "$NGINX_PID"
    local nr=$W_RPS np50=$W_P50 np99=$W_P99 nc=$W_CPU
    stop "$NGINX_PID"
    local ratio; ratio=$(awk -v a="$pc" -v b="$nc" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
    local pa; pa=$(awk -v a="$pp50" -v b="$dp50" 'BEGIN { printf "%.2f", a - b }')
    local na; na=$(awk -v a="$np50" -v b="$dp50" 'BEGIN { printf "%.2f", a - b }')
    rows+=("$dp50 $dp99 $pr $pp50 $pp99 $pa $pc $nr $np50 $np99 $na $nc $ratio")
    out "$(printf '   %-3s  %6s/%-6s      | %8s  %6s/%-6s %5s %7s    | %8s  %6s/%-6s %5s %7s    | %5sx' "$i" "$dp50" "$dp99" "$pr" "$pp50" "$pp99" "$pa" "$pc" "$nr" "$np50" "$np99" "$na" "$nc" "$ratio")"
    (( pbad > 0 )) && out "   NOTE: $pbad non-2xx answers from the proxy in repeat $i"
    out "   (proxy RSS after the runs: $((PROXY_RSS_KB / 1024)) MiB)"
  done
  local med=()
  for c in $(seq 1 13); do med+=("$(printf '%s\n' "${rows[@]}" | awk -v c="$c" '{ print $c }' | median)"); done
  out "$(printf '   med  %6s/%-6s      | %8s  %6s/%-6s %5s %7s    | %8s  %6s/%-6s %5s %7s    | %5sx' "${med[@]}")"
  out "   ratio = proxy CPU us/req / nginx CPU us/req; +p50 = p50 - direct p50 of the same repeat"
}

part_floor() {
  local i rows=()
  out ""
  out "1b) The Vert.x floor, pinned as in 1): bare Vert.x reverse proxy (bench/VertxFloor.java), the proxy, nginx;"
  out "   warm-up ${WARMUP} s, then $ROUNDS x ${DURATION} s each; CPU us/req, and each over nginx's"
  out "   rep  floor req/s  CPU  ratio | proxy req/s  CPU  ratio | nginx req/s  CPU | proxy - floor us/req"
  for ((i = 1; i <= REPEAT; i++)); do
    start_floor 0; sanity "$SUT_URL" "$CLIENT_KEY"
    wrk_leg "floor-$i" "$SUT_URL" "$CLIENT_KEY" 1 "$WARMUP" "$FLOOR_PID"
    local fr=$W_RPS fc=$W_CPU
    stop "$FLOOR_PID"
    start_proxy 0; sanity "$SUT_URL" "$CLIENT_KEY"
    wrk_leg "proxy-$i" "$SUT_URL" "$CLIENT_KEY" 1 "$WARMUP" "$PROXY_PID"
    local pr=$W_RPS pc=$W_CPU
    stop "$PROXY_PID"
    start_nginx 0 1; sanity "$SUT_URL" "$CLIENT_KEY"
    wrk_leg "nginx-$i" "$SUT_URL" "$CLIENT_KEY" 1 "$WARMUP" "$NGINX_PID"
    local nr=$W_RPS nc=$W_CPU
    stop "$NGINX_PID"
    local fx px d
    fx=$(awk -v a="$fc" -v b="$nc" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
    px=$(awk -v a="$pc" -v b="$nc" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
    d=$(awk -v a="$pc" -v b="$fc" 'BEGIN { printf "%.1f", a - b }')
    rows+=("$fr $fc $fx $pr $pc $px $nr $nc $d")
    out "$(printf '   %-3s  %8s %6s %5sx | %8s %6s %5sx | %8s %6s | %6s' "$i" "$fr" "$fc" "$fx" "$pr" "$pc" "$px" "$nr" "$nc" "$d")"
  done
  local med=()
  for c in $(seq 1 9); do med+=("$(printf '%s\n' "${rows[@]}" | awk -v c="$c" '{ print $c }' | median)"); done
  out "$(printf '   med  %8s %6s %5sx | %8s %6s %5sx | %8s %6s | %6s' "${med[@]}")"
}

streams_leg() { # LABEL URL KEY N EVENTS INTERVAL_MS RAMP_MS DEADLINE_S
  "${TOOL[@]}" StreamLoad "$2" --key "$3" --label "$1" --streams "$4" --events "$5" --interval-ms "$6" \
      --ramp-ms "$7" --new-connections --deadline-s "$8" --stream-timeout-s "$8" --event-loops 2 >"$WORK/streams-$1.txt" 2>&1 || true
  grep '^RESULT ' "$WORK/streams-$1.txt" | tail -1
}
kv() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }

part_cores() {
  out ""
  out "2) all cores: wrk -t$THREADS -c$CONNS, warm-up ${WARMUP} s, $ROUNDS x ${DURATION} s"
  out "   leg                              req/s   p50/p99 ms    CPU us/req"
  start_proxy 0; sanity "$SUT_URL" "$CLIENT_KEY"
  wrk_leg proxy-1core "$SUT_URL" "$CLIENT_KEY" 1 "$WARMUP" "$PROXY_PID"
  out "$(printf '   %-30s %8s   %6s/%-6s %8s' "proxy, 1 core (load on core 1)" "$W_RPS" "$W_P50" "$W_P99" "$W_CPU")"
  local p1=$W_RPS; stop "$PROXY_PID"
  start_proxy ""; sanity "$SUT_URL" "$CLIENT_KEY"
  wrk_leg proxy-2cores "$SUT_URL" "$CLIENT_KEY" "" "$WARMUP" "$PROXY_PID"
  out "$(printf '   %-30s %8s   %6s/%-6s %8s' "proxy, unpinned on 2 cores" "$W_RPS" "$W_P50" "$W_P99" "$W_CPU")"
  local p2=$W_RPS
  local s; s=$(streams_leg proxy-streams "$SUT_URL" "$CLIENT_KEY" "$STREAMS" 20 50 500 90)
  out "   proxy, $STREAMS concurrent streams unpinned: complete $(kv "$s" complete)/$STREAMS, incremental $(kv "$s" incremental), peak open $(kv "$s" peak_open), first byte p50/p99 $(kv "$s" ttfb_p50_ms)/$(kv "$s" ttfb_p99_ms) ms, mean gap $(kv "$s" mean_gap_ms) ms"
  stop "$PROXY_PID"
  start_nginx 0 1; sanity "$SUT_URL" "$CLIENT_KEY"
  wrk_leg nginx-1core "$SUT_URL" "$CLIENT_KEY" 1 5 "$NGINX_PID"
  out "$(printf '   %-30s %8s   %6s/%-6s %8s' "nginx 1 worker, 1 core" "$W_RPS" "$W_P50" "$W_P99" "$W_CPU")"
  local n1=$W_RPS; stop "$NGINX_PID"
  start_nginx "" "$NGINX_WORKERS"; sanity "$SUT_URL" "$CLIENT_KEY"
  wrk_leg nginx-2cores "$SUT_URL" "$CLIENT_KEY" "" 5 "$NGINX_PID"
  out "$(printf '   %-30s %8s   %6s/%-6s %8s' "nginx $NGINX_WORKERS workers, unpinned" "$W_RPS" "$W_P50" "$W_P99" "$W_CPU")"
  local n2=$W_RPS
  s=$(streams_leg nginx-streams "$SUT_URL" "$CLIENT_KEY" "$STREAMS" 20 50 500 90)
  out "   nginx, $STREAMS concurrent streams unpinned: complete $(kv "$s" complete)/$STREAMS, incremental $(kv "$s" incremental), peak open $(kv "$s" peak_open), first byte p50/p99 $(kv "$s" ttfb_p50_ms)/$(kv "$s" ttfb_p99_ms) ms, mean gap $(kv "$s" mean_gap_ms) ms"
  stop "$NGINX_PID"
  out "   scaling 2 cores / 1 core: proxy $(awk -v a="$p2" -v b="$p1" 'BEGIN { printf "%.2f", b ? a / b : 0 }')x, nginx $(awk -v a="$n2" -v b="$n1" 'BEGIN { printf "%.2f", b ? a / b : 0 }')x (wrk and the upstream share the 2 cores in the unpinned legs)"
}

heap_used_kb() { # PID: heap used after a full GC
  local jcmd="$JAVA_HOME_SUT/bin/jcmd"
  "$jcmd" "$1" GC.run >/dev/null 2>&1 || true
  "$jcmd" "$1" GC.heap_info 2>/dev/null | awk '/garbage-first heap|PSYoungGen|ParOldGen|def new generation|tenured generation|ZHeap|Shenandoah/ {
      for (i = 1; i <= NF; i++) if ($i == "used") { v = $(i + 1); gsub(/[^0-9]/, "", v); s += v } } END { print s + 0 }'
}

part_memory() {
  out ""
  out "3) memory per open stream: proxy unpinned, slow streams (1 event every 2 s, 30 events), all open at once"
  out "   open streams   VmRSS MiB   heap used after GC MiB   complete/incremental"
  start_proxy ""; sanity "$SUT_URL" "$CLIENT_KEY"
  wrk_run "$WORK/wrk-memory-warmup.txt" 10 "$SUT_URL" "$CLIENT_KEY" ""
  streams_leg memory-warmup "$SUT_URL" "$CLIENT_KEY" 200 5 10 0 30 >/dev/null
  local n h0="" r0="" slp
  for n in $MEMORY_STREAMS; do
    if (( n == 0 )); then
      sleep 2; h0=$(heap_used_kb "$PROXY_PID"); r0=$(rss_kb "$PROXY_PID")
      out "$(printf '   %12s   %9s   %22s   %s' 0 $((r0 / 1024)) $((h0 / 1024)) -)"
      continue
    fi
    local ramp=$(( n / 2 )) # 2 new streams per ms at most
    streams_leg "memory-$n" "$SUT_URL" "$CLIENT_KEY" "$n" 30 2000 "$ramp" 150 >"$WORK/memory-$n.result" &
    local lp=$!; PIDS+=("$lp")
    slp=$(( ramp / 1000 + 15 )); sleep "$slp"   # all open: the last one started $ramp ms in, each lasts 58 s
    local open; open=$(ss -Htn state established "( sport = :${SUT_URL##*:} )" 2>/dev/null | wc -l)
    local r h; r=$(rss_kb "$PROXY_PID"); h=$(heap_used_kb "$PROXY_PID")
    wait "$lp" || true
    local s; s=$(cat "$WORK/memory-$n.result")
    out "$(printf '   %12s   %9s   %22s   %s/%s  (client connections open when measured: %s)' "$n" $((r / 1024)) $((h / 1024)) "$(kv "$s" complete)" "$(kv "$s" incremental)" "$open")"
    if [[ -n "$h0" ]]; then
      out "   per open stream at $n: heap $(awk -v a="$h" -v b="$h0" -v n="$n" 'BEGIN { printf "%.1f", (a - b) / n }') KiB, RSS $(awk -v a="$r" -v b="$r0" -v n="$n" 'BEGIN { printf "%.1f", (a - b) / n }') KiB over idle"
    fi
  done
  stop "$PROXY_PID"
}

thread_ticks() { # PIDS...: "tid ticks name" per thread (utime+stime)
  local p t
  for p in "$@"; do
    for t in /proc/"$p"/task/*; do
      [[ -r $t/stat ]] || continue
      awk -v tid="${t##*/}" -v name="$(tr ' ' '_' <"$t/comm")" '{ sub(/^.*\) /, ""); print tid, $12 + $13, name }' "$t/stat"
    done
  done 2>/dev/null
}
top_threads() { # BEFORE AFTER: the threads that used the most CPU in between (ms)
  join <(sort "$1") <(sort "$2") | awk -v hz="$CLK_TCK" '{ d = $4 - $2; if (d > 0) printf "%s %.0f\n", $3, d / hz * 1000 }' \
    | awk '{ s[$1] += $2 } END { for (n in s) print s[n], n }' | sort -rn | head -6 | awk '{ printf "%s %s ms; ", $2, $1 }'
}

part_burst() {
  out ""
  out "4) bursts of $BURST new streams started at once (3 events 50 ms apart), unpinned, after a warm-up;"
  out "   first byte p50/p99 per burst, then the medians of $BURST_REPEAT bursts"
  local who pid s i p50s p99s
  for who in proxy nginx; do
    if [[ $who == proxy ]]; then start_proxy ""; pid=$PROXY_PID; else start_nginx "" "$NGINX_WORKERS"; pid=$NGINX_PID; fi
    sanity "$SUT_URL" "$CLIENT_KEY"
    wrk_run "$WORK/wrk-burst-$who-warmup.txt" 10 "$SUT_URL" "$CLIENT_KEY" ""
    for ((i = 1; i <= BURST_WARMUP; i++)); do # the stream paths warm (JIT) too, not only plain requests
      streams_leg "burst-$who-warmup" "$SUT_URL" "$CLIENT_KEY" "$BURST" 3 50 0 30 >/dev/null
    done
    p50s=(); p99s=()
    local pids=() p t0 t1; for p in $pid; do pids+=($(tree "$p")); done
    [[ -n "$ASPROF_LIB" && $who == proxy ]] && profile "$pid" start # BENCH_PROFILE=1: the measured bursts only
    for ((i = 1; i <= BURST_REPEAT; i++)); do
      t0=$(cpu_ticks "${pids[@]}"); thread_ticks "${pids[@]}" >"$WORK/threads-before"
      s=$(streams_leg "burst-$who-$i" "$SUT_URL" "$CLIENT_KEY" "$BURST" 3 50 0 30)
      t1=$(cpu_ticks "${pids[@]}"); thread_ticks "${pids[@]}" >"$WORK/threads-after"
      log "$who burst $i, busiest threads: $(top_threads "$WORK/threads-before" "$WORK/threads-after")"
      p50s+=("$(kv "$s" ttfb_p50_ms)"); p99s+=("$(kv "$s" ttfb_p99_ms)")
      out "   $who burst $i: complete $(kv "$s" complete)/$BURST, first byte p50/p99 $(kv "$s" ttfb_p50_ms)/$(kv "$s" ttfb_p99_ms) ms, $who CPU $(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.0f", t / hz * 1000 }') ms"
    done
    out "   $who: median first byte p50 $(printf '%s\n' "${p50s[@]}" | median) ms, p99 $(printf '%s\n' "${p99s[@]}" | median) ms"
    if [[ -n "$ASPROF_LIB" && $who == proxy ]]; then
      mkdir -p "$RESULTS_DIR"; profile "$pid" "$RESULTS_DIR/profile-burst-proxy.collapsed"; log "profile: $RESULTS_DIR/profile-burst-proxy.collapsed"
    fi
    stop "$pid"
  done
}

part_syscalls() {
  command -v perf >/dev/null || { log "syscalls: perf is not installed (apt-get install -y linux-perf)"; return 1; }
  out ""
  out "5) system calls per request, pinned as in 1), warm-up ${WARMUP} s, then one ${DURATION} s run traced (perf trace -s)"
  local who pid reqs n
  for who in floor proxy nginx; do
    case $who in
      floor) start_floor 0; pid=$FLOOR_PID ;;
      proxy) start_proxy 0; pid=$PROXY_PID ;;
      nginx) start_nginx 0 1; pid="$(tree "$NGINX_PID" | tr ' ' ',')" ;;
    esac
    sanity "$SUT_URL" "$CLIENT_KEY"
    wrk_run "$WORK/wrk-syscalls-$who-warmup.txt" "$WARMUP" "$SUT_URL" "$CLIENT_KEY" 1
    perf trace -s -p "$pid" -o "$WORK/syscalls-$who.txt" 2>/dev/null & local tp=$!
    sleep 1 # perf attaches
    wrk_run "$WORK/wrk-syscalls-$who.txt" "$DURATION" "$SUT_URL" "$CLIENT_KEY" 1
    kill -INT "$tp"; wait "$tp" 2>/dev/null || true
    reqs=$(awk '/requests in/ { print $1 }' "$WORK/wrk-syscalls-$who.txt")
    # perf trace -s: per thread, "   name  calls  errors  total(ms) ..." rows; summed by name over threads
    out "   $who ($reqs requests): $(awk -v n="${reqs:-0}" '$2 ~ /^[0-9]+$/ && $1 ~ /^[a-z_0-9]+$/ && NF >= 8 { c[$1] += $2; t += $2 }
        END { if (!n) { print "no requests"; exit } printf "%.2f per request:", t / n; for (k in c) if (c[k] / n >= 0.01) printf " %s %.2f", k, c[k] / n; print "" }' "$WORK/syscalls-$who.txt")"
    case $who in floor) stop "$FLOOR_PID" ;; proxy) stop "$PROXY_PID" ;; nginx) stop "$NGINX_PID" ;; esac
  done
}

for part in "${PARTS[@]}"; do
  case "$part" in
    syscalls) part_syscalls ;;
    cpu) part_cpu ;;
    floor) part_floor ;;
    cores) part_cores ;;
    burst) part_burst ;;
    memory) part_memory ;;
    *) echo "unknown part $part (cpu, floor, syscalls, cores, memory, burst)" >&2; exit 2 ;;
  esac
done
mkdir -p "$RESULTS_DIR"
cp -f "$SUMMARY" "$RESULTS_DIR/outside-latest.txt"
cp -f "$SUMMARY" "$RESULTS_DIR/outside-$(date '+%Y%m%d-%H%M%S').txt"
