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
set -u
cd "$(dirname "$0")/.."
n=${1:-10}
jar=target/camel-openai-proxy.jar
[ -f "$jar" ] || { echo "no $jar: mvn -B -q package -DskipTests" >&2; exit 1; }
default_java=$(dirname "$(dirname "$(readlink -f "${JAVA_HOME:+$JAVA_HOME/bin/java}${JAVA_HOME:-$(command -v java)}")")")
javas=${BENCH_LAUNCH_JAVAS:-$default_java $( [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ] && echo /usr/lib/jvm/temurin-25-jdk-amd64)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

health() { # prints 1 when 127.0.0.1:$1 answers /observe/health with 200
  local line
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf 'GET /observe/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
  IFS= read -r -t 2 line <&3
  exec 3<&- 3>&-
  [[ "$line" == *" 200"* ]]
}

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
  echo $(( (t1 - t0) / 1000000 ))
  kill -KILL "$pid"; wait "$pid" 2>/dev/null # its shutdown is not what is measured
}

stats() { sort -n | awk '{a[NR]=$1} END {if (NR==0) {print "n/a"; exit} m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "median %d ms  min %d  max %d  (n=%d)\n", m, a[1], a[NR], NR}'; }

for home in $javas; do
  ver=$(sed -n 's/^JAVA_VERSION="\(.*\)"$/\1/p' "$home/release")
  archive=$(ls target/jvm-cache/"$(basename "$home")-$ver".* 2>/dev/null | head -1)
  if [ -z "$archive" ] || [ "$archive" -ot "$jar" ]; then # none, or older than the jar (the JVM would refuse it)
    JAVA_HOME=$home bin/camel-openai-proxy --train
  fi
  : > "$work/archive.ms"; : > "$work/plain.ms"
  for _ in $(seq 1 "$n"); do
    for case in archive plain; do
      r=$(launch "$home" "$case")
      [ "$r" = FAIL ] && { echo "$home $case: did not start; stderr:" >&2; tail -5 "$work/err" >&2; continue; }
      echo "$r" >> "$work/$case.ms"
    done
  done
  for case in archive plain; do
    printf 'Java %-8s %-8s %s   [%s]\n' "$ver" "$case" "$(stats < "$work/$case.ms")" "$(tr '\n' ' ' < "$work/$case.ms")"
  done
done
