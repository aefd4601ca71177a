#!/usr/bin/env bash
# Fault soak: two fake upstreams, the proxy, a mix of chats and streams in flight, and a fault timeline.
# Loopback only, bounded. Usage: bash bench/soak.sh [duration-s (default 120)] [--build]
# Timeline (fractions of the duration D; for D=120 in brackets):
#   D/6 [20 s]          upstream A answers 500
#   0.29 D [35 s]       A is killed (connection refused)
#   0.375 D [45 s]      A restarted on its port, healthy
#   D/2 [60 s]          both answer 500 for 5 s
#   D/2 + 5 s [65 s]    recovery; the success rate counts requests started from 10 s after this
# Report: bench/results/soak-latest.txt (and a timestamped copy); logs in bench/results/soak-logs/.
set -euo pipefail

DURATION=120
BUILD=0
for arg in "$@"; do
  case "$arg" in
    --build) BUILD=1 ;;
    ''|*[!0-9]*) echo "usage: bash bench/soak.sh [duration-s] [--build]" >&2; exit 2 ;;
    *) DURATION=$arg ;;
  esac
done
(( DURATION >= 40 )) || { echo "duration must be at least 40 s (the timeline needs it)" >&2; exit 2; }

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
JAR="$ROOT/target/camel-openai-proxy.jar"
if [[ $BUILD == 1 || ! -f $JAR ]]; then
  mvn -B -q package -DskipTests >/dev/null
fi
JAVA="${JAVA:-java}"
RESULTS="$ROOT/bench/results"
LOGS="$RESULTS/soak-logs"
mkdir -p "$RESULTS"
rm -rf "$LOGS"; mkdir -p "$LOGS"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [[ -n $p ]] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
PORT_A=$(free_port); PORT_B=$(free_port); PROXY_PORT=$(free_port)
while [[ $PORT_B == "$PORT_A" ]]; do PORT_B=$(free_port); done
while [[ $PROXY_PORT == "$PORT_A" || $PROXY_PORT == "$PORT_B" ]]; do PROXY_PORT=$(free_port); done

cp "$JAR" "$WORK/proxy.jar"
CP="$WORK/proxy.jar"
mkdir -p "$WORK/classes"
javac -nowarn -cp "$CP" -d "$WORK/classes" bench/SoakUpstream.java bench/SoakLoad.java
CLIENT_KEY="sk-soak-client-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
UPSTREAM_KEY="sk-soak-upstream-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
cat >"$WORK/keys.yaml" <<YAML
keys:
  - name: soak
    key_sha256: $(printf '%s' "$CLIENT_KEY" | sha256sum | awk '{print $1}')
YAML
cat >"$WORK/upstreams.yaml" <<YAML
upstreams:
  - name: a
    base_url: http://127.0.0.1:$PORT_A/v1
    api_key_env: SOAK_UPSTREAM_KEY
    models: ["*"]
  - name: b
    base_url: http://127.0.0.1:$PORT_B/v1
    api_key_env: SOAK_UPSTREAM_KEY
    models: ["*"]
YAML

start_upstream() {  # name port -> prints pid
  "$JAVA" -cp "$CP:$WORK/classes" SoakUpstream "$2" "$1" >>"$LOGS/upstream-$1.log" 2>&1 &
  echo $!
}
wait_port() { for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
PID_A=$(start_upstream a "$PORT_A"); PIDS+=("$PID_A")
PID_B=$(start_upstream b "$PORT_B"); PIDS+=("$PID_B")
wait_port "$PORT_A"; wait_port "$PORT_B"

SOAK_UPSTREAM_KEY="$UPSTREAM_KEY" PROXY_PORT=$PROXY_PORT PROXY_HOST=127.0.0.1 PROXY_KEYS_FILE="$WORK/keys.yaml" \
  PROXY_UPSTREAMS_FILE="$WORK/upstreams.yaml" PROXY_ACCESS_LOG_URI="stream:file?fileName=$WORK/access.jsonl" \
  PROXY_AUDIT_URI="stream:file?fileName=$WORK/audit.jsonl" PROXY_DEAD_LETTER_URI="stream:file?fileName=$WORK/dead-letter.jsonl" \
  OPENAI_API_KEY="$UPSTREAM_KEY" "$JAVA" ${PROXY_OPTS:-} -jar "$WORK/proxy.jar" >"$LOGS/proxy.log" 2>&1 &
PROXY_PID=$!; PIDS+=("$PROXY_PID")
for _ in $(seq 1 600); do
  curl -fsS "http://127.0.0.1:$PROXY_PORT/observe/health" >/dev/null 2>&1 && break
  kill -0 "$PROXY_PID" 2>/dev/null || { tail -30 "$LOGS/proxy.log"; exit 1; }
  sleep 0.1
done

# RSS and threads of the proxy every 5 s
( while kill -0 "$PROXY_PID" 2>/dev/null; do
    awk -v t="$(date +%s)" '/^VmRSS/{r=$2} /^Threads/{th=$2} END{print t, r, th}' "/proc/$PROXY_PID/status" 2>/dev/null || true
    sleep 5
  done ) >"$LOGS/proxy-resources.log" &
PIDS+=($!)

now_ms() { date +%s%3N; }
T0=$(now_ms)
at() { echo $(( T0 + $1 )); }   # epoch ms of an offset in ms
A_FAIL=$(( DURATION * 1000 / 6 )); A_KILL=$(( DURATION * 290 )); A_BACK=$(( DURATION * 375 ))
BOTH=$(( DURATION * 500 )); BOTH_END=$(( BOTH + 5000 )); RECOVERED=$(( BOTH_END + 10000 ))
"$JAVA" -cp "$CP:$WORK/classes" SoakLoad --url "http://127.0.0.1:$PROXY_PORT" --key "$CLIENT_KEY" --concurrency 16 \
  --duration-s "$DURATION" --recovered-at-ms "$(at $RECOVERED)" --request-timeout-s 60 >"$LOGS/load.log" 2>&1 &
LOAD_PID=$!; PIDS+=("$LOAD_PID")

sleep_until() { local d=$(( $(at "$1") - $(now_ms) )); (( d > 0 )) && sleep "$(awk -v d="$d" 'BEGIN{printf "%.3f", d/1000}')"; return 0; }
control() { curl -fsS -X POST "http://127.0.0.1:$1/control?mode=$2" >/dev/null; }
sleep_until $A_FAIL;  control "$PORT_A" fail; echo "$(now_ms) A 500" >>"$LOGS/timeline.log"
sleep_until $A_KILL;  kill "$PID_A"; wait "$PID_A" 2>/dev/null || true; echo "$(now_ms) A killed" >>"$LOGS/timeline.log"
sleep_until $A_BACK;  PID_A=$(start_upstream a "$PORT_A"); PIDS+=("$PID_A"); wait_port "$PORT_A"
echo "$(now_ms) A restarted" >>"$LOGS/timeline.log"
sleep_until $BOTH;    control "$PORT_A" fail; control "$PORT_B" fail; echo "$(now_ms) both 500" >>"$LOGS/timeline.log"
sleep_until $BOTH_END; control "$PORT_A" ok; control "$PORT_B" ok; echo "$(now_ms) both ok" >>"$LOGS/timeline.log"
wait "$LOAD_PID" || true

# a plain request after the run must work
AFTER=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $CLIENT_KEY" -H 'Content-Type: application/json' \
  -d '{"model":"gpt-4o-mini","messages":[]}' "http://127.0.0.1:$PROXY_PORT/v1/chat/completions")
sleep 2   # the dead-letter and access-log queues are written asynchronously
kill -TERM "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
cp "$WORK"/*.jsonl "$LOGS/" 2>/dev/null || true

rate() {  # file from_ms to_ms column -> requests per second (upstream lines: "<ms> <n> <failed>", client: "C <ms> <n> <open>")
  awk -v f="$2" -v t="$3" -v c="$4" '{ ms = ($1 == "C") ? $2 : $1; if (ms > f && ms <= t) { s += $c; n++ } }
    END { if (n) printf "%.1f", s / n; else printf "n/a" }' "$1"
}
up_rate() { awk -v a="$(rate "$LOGS/upstream-a.log" "$1" "$2" 2)" -v b="$(rate "$LOGS/upstream-b.log" "$1" "$2" 2)" \
  'BEGIN { printf "%.1f (a %s + b %s)", (a=="n/a"?0:a) + (b=="n/a"?0:b), a, b }'; }
DL=$(wc -l <"$LOGS/dead-letter.jsonl" 2>/dev/null || echo 0)
PROXY_5XX=$(awk '/^RESULT failed\[5[0-9][0-9] /{s+=$NF} /^RESULT failed\[stream_error_event\]/{s+=$NF} END{print s+0}' "$LOGS/load.log")
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
{
  echo "camel-openai-proxy fault soak, $DURATION s, 16 in flight (30 % streams), two upstreams, $(date -u)"
  echo "timeline (s from start): A 500 at $((A_FAIL/1000)), A killed at $((A_KILL/1000)), A back at $((A_BACK/1000)), both 500 $((BOTH/1000))-$((BOTH_END/1000)), counted from $((RECOVERED/1000))"
  grep '^RESULT' "$LOGS/load.log" | sed 's/^RESULT /  /'
  echo "  dead letters $DL vs client 5xx + stream error events $PROXY_5XX"
  echo "  plain request after the run: HTTP $AFTER"
  echo "rates (requests/s): client vs upstream (a+b)"
  echo "  normal        [5 s, A 500):   client $(rate "$LOGS/load.log" "$(at 5000)" "$(at $A_FAIL)" 3), upstream $(up_rate "$(at 5000)" "$(at $A_FAIL)")"
  echo "  A answers 500 [A 500, kill):  client $(rate "$LOGS/load.log" "$(at $A_FAIL)" "$(at $A_KILL)" 3), upstream $(up_rate "$(at $A_FAIL)" "$(at $A_KILL)")"
  echo "  A down        [kill, back):   client $(rate "$LOGS/load.log" "$(at $A_KILL)" "$(at $A_BACK)" 3), upstream $(up_rate "$(at $A_KILL)" "$(at $A_BACK)")"
  echo "  both 500      [both, +5 s):   client $(rate "$LOGS/load.log" "$(at $BOTH)" "$(at $BOTH_END)" 3), upstream $(up_rate "$(at $BOTH)" "$(at $BOTH_END)")"
  echo "  recovered     [+10 s, end):   client $(rate "$LOGS/load.log" "$(at $RECOVERED)" "$(at $((DURATION*1000)))" 3), upstream $(up_rate "$(at $RECOVERED)" "$(at $((DURATION*1000)))")"
  echo "proxy RSS (kB) and threads, every 5 s (s from start: rss threads):"
  awk -v t0="$T0" '{ printf "  %d:%s/%s", $1 - int(t0/1000), $2, $3 } END { print "" }' "$LOGS/proxy-resources.log" | fold -w 120
} | tee "$RESULTS/soak-latest.txt"
cp "$RESULTS/soak-latest.txt" "$RESULTS/soak-$STAMP.txt"
