#!/usr/bin/env bash
# Launch to the first 200 on /observe/health, N launches per case: median, min, max (ms).
#
#   bash bench/launch.sh [N]            # default N=10; cases from BENCH_LAUNCH_JAVAS
#
# For every JVM home in BENCH_LAUNCH_JAVAS (default: $JAVA_HOME or the java on the PATH, plus
# /usr/lib/jvm/temurin-25-jdk-amd64 when present) it measures two cases:
#   archive   bin/camel-openai-proxy (uses target/jvm-cache/<jvm>.{jsa,aot}; trained first if missing)
#   plain     java -jar target/camel-openai-proxy.jar (no archive)
# The clock starts before the process is spawned and stops at the first 200 from
# GET /observe/health, polled every 10 ms with bash's /dev/tcp (no extra process per poll).
# Runs are interleaved (archive, plain, archive, ...) so machine noise hits both alike.
# Each case also prints the median of four phases, read from the proxy's own log afterwards: spawn to Camel
# main's first line (the launcher and the JVM's start), to the Camel context starting (Camel main: properties,
# the project's beans, the route files), to the API listener, and to the first 200; and the CPU time the JVM
# had used by the first 200 (all its threads: the main thread, the JIT compilers, GC), from /proc/<pid>/stat.
# On 2 cores a launch cannot end before half of that CPU time.
set -u
cd "$(dirname "$0")/.."
n=${1:-10}
jar=target/camel-openai-proxy.jar
[ -f "$jar" ] || { echo "no $jar: mvn -B -q package -DskipTests" >&2; exit 1; }
default_java=$(dirname "$(dirname "$(readlink -f "${JAVA_HOME:+$JAVA_HOME/bin/java}${JAVA_HOME:-$(command -v java)}")")")
javas=${BENCH_LAUNCH_JAVAS:-$default_java $( [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ] && echo /usr/lib/jvm/temurin-25-jdk-amd64)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

source bench/health.sh # health PORT (the repository root is the working directory)

launch() { # home case -> ms, or FAIL
  local home=$1 case=$2 port pid t0 t1
  port=$((20000 + RANDOM % 20000))
  t0=$(date +%s%N)
  if [ "$case" = archive ]; then
    PROXY_PORT=$port PROXY_HOST=127.0.0.1 JAVA_HOME=$home bin/camel-openai-proxy >"$work/out" 2>"$work/err" &
  else
    PROXY_PORT=$port PROXY_HOST=127.0.0.1 "$home/bin/java" -jar "$jar" >"$work/out" 2>"$work/err" &
  fi
  pid=$!
  local deadline=$(( $(date +%s) + 60 ))
  until health "$port"; do
    if ! kill -0 "$pid" 2>/dev/null || [ "$(date +%s)" -gt "$deadline" ]; then echo FAIL; kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; return; fi
    sleep 0.01
  done
  t1=$(date +%s%N)
  local stat; read -r -a stat < "/proc/$pid/stat" # the launcher execs the JVM: same pid
  echo $(( (stat[13] + stat[14]) * 1000 / $(getconf CLK_TCK) )) >> "$work/$case.cpu"
  echo $(( (t1 - t0) / 1000000 ))
  kill -KILL "$pid"; wait "$pid" 2>/dev/null # its shutdown is not what is measured
  phases "$t0" "$t1" >> "$work/$case.phases"
}

logged_ms() { # PATTERN: epoch ms of the first log line matching it (log lines start with an ISO instant)
  local t; t=$(grep -m1 "$1" "$work/err" | cut -c1-24)
  [ -n "$t" ] && date -d "$t" +%s%3N || echo ""
}
phases() { # T0 T1 (ns): where the launch went, in ms: to Camel main's first line, to the context starting,
  # to the API listener, to the first 200 (counted after the measurement, from the proxy's own log)
  local a b c t0=$(( $1 / 1000000 )) t1=$(( $2 / 1000000 ))
  a=$(logged_ms 'MainSupport - Apache Camel (Main) .* is starting'); b=$(logged_ms 'AbstractCamelContext - Apache Camel .* is starting')
  c=$(logged_ms 'ProxyServer - Listening on')
  [ -n "$a" ] && [ -n "$b" ] && [ -n "$c" ] && echo "$((a - t0)) $((b - a)) $((c - b)) $((t1 - c))"
}
phase_medians() { # FILE: the median of each of the four phases
  local i out=""
  for i in 1 2 3 4; do out="$out $(awk -v c=$i '{print $c}' "$1" | sort -n | awk '{a[NR]=$1} END {if (!NR) {print "n/a"; exit} print (NR%2)?a[(NR+1)/2]:int((a[NR/2]+a[NR/2+1])/2)}')"; done
  set -- $out
  echo "spawn to Camel main's first line $1 ms, to the context starting $2, to the API listener $3, to the first 200 $4"
}

stats() { sort -n | awk '{a[NR]=$1} END {if (NR==0) {print "n/a"; exit} m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "median %d ms  min %d  max %d  (n=%d)\n", m, a[1], a[NR], NR}'; }

for home in $javas; do
  ver=$(sed -n 's/^JAVA_VERSION="\(.*\)"$/\1/p' "$home/release")
  archive=$(ls target/jvm-cache/"$(basename "$home")-$ver".* 2>/dev/null | head -1)
  if [ -z "$archive" ] || [ "$archive" -ot "$jar" ]; then # none, or older than the jar (the JVM would refuse it)
    JAVA_HOME=$home bin/camel-openai-proxy --train
  fi
  : > "$work/archive.ms"; : > "$work/plain.ms"; : > "$work/archive.phases"; : > "$work/plain.phases"
  : > "$work/archive.cpu"; : > "$work/plain.cpu"
  for _ in $(seq 1 "$n"); do
    for case in archive plain; do
      r=$(launch "$home" "$case")
      [ "$r" = FAIL ] && { echo "$home $case: did not start; stderr:" >&2; tail -5 "$work/err" >&2; continue; }
      echo "$r" >> "$work/$case.ms"
    done
  done
  for case in archive plain; do
    printf 'Java %-8s %-8s %s   [%s]\n' "$ver" "$case" "$(stats < "$work/$case.ms")" "$(tr '\n' ' ' < "$work/$case.ms")"
    printf '                  medians: %s\n' "$(phase_medians "$work/$case.phases")"
    printf '                  CPU used by the JVM at the first 200 (all threads, user + kernel): %s\n' \
      "$(stats < "$work/$case.cpu")"
  done
done
