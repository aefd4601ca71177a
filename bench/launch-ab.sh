#!/usr/bin/env bash
# A/B of launch to the first 200: an older commit against the working tree, N launches each,
# interleaved (commit, this tree, commit, ...), so machine noise hits both alike.
#
#   bash bench/launch-ab.sh <commit> [N]      # default N=20
#
# The commit is checked out in a temporary git worktree and built there (mvn package, which trains
# its class archive). Each launch is bin/camel-openai-proxy of that tree, with the JVM it finds
# (JAVA_HOME, else java on the PATH), timed as bench/launch.sh does: from spawn to the first 200 on
# /observe/health, polled every 10 ms. Prints each arm's median, min and max, and the median CPU time
# the JVM (all threads) and its main thread had used by then: the main thread's CPU is the launch's
# own work, steadier than its wall time, which other threads and the machine's neighbours stretch. Both trees must be built: run mvn -B -q package -DskipTests here first.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
old=${1:?usage: bash bench/launch-ab.sh <commit> [N]}
n=${2:-20}
work=$(mktemp -d)
tree="$work/tree"
trap 'git -C "$here" worktree remove --force "$tree" >/dev/null 2>&1; rm -rf "$work"' EXIT
git -C "$here" worktree add --detach "$tree" "$old" >/dev/null || exit 1
(cd "$tree" && mvn -B -q package -DskipTests) || { echo "could not build $old" >&2; exit 1; }

source "$here/bench/health.sh" # health PORT
launch() { # DIR FILE: appends "ms cpu_ms" of one launch to FILE
  local port=$((20000 + RANDOM % 20000)) t0 t1 pid deadline=$(( $(date +%s) + 60 ))
  t0=$(date +%s%N)
  (cd "$1" && PROXY_PORT=$port PROXY_HOST=127.0.0.1 exec bin/camel-openai-proxy >"$work/out" 2>"$work/err") &
  pid=$!
  until health "$port"; do
    if ! kill -0 "$pid" 2>/dev/null || [ "$(date +%s)" -gt "$deadline" ]; then
      echo "$1: did not start; stderr:" >&2; tail -5 "$work/err" >&2; kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; return
    fi
    sleep 0.01
  done
  t1=$(date +%s%N)
  local stat task main=0; read -r -a stat < "/proc/$pid/stat" # the launcher execs the JVM: same pid
  # the main thread: the JVM's threads still named "java" (the launcher's first thread only waits for it)
  for task in /proc/"$pid"/task/*; do
    [ "$(cat "$task/comm" 2>/dev/null)" = java ] || continue
    read -r -a tstat < "$task/stat"; main=$((main + tstat[13] + tstat[14]))
  done
  echo "$(( (t1 - t0) / 1000000 )) $(( (stat[13] + stat[14]) * 1000 / $(getconf CLK_TCK) )) $((main * 1000 / $(getconf CLK_TCK)))" >> "$2"
  kill -KILL "$pid"; wait "$pid" 2>/dev/null
}
for ((i = 1; i <= n; i++)); do
  launch "$tree" "$work/a"
  launch "$here" "$work/b"
done
for arm in a b; do
  label=$([ "$arm" = a ] && echo "$old" || echo "this tree")
  python3 - "$work/$arm" "$label" <<'PY'
import statistics, sys
rows = [tuple(map(int, l.split())) for l in open(sys.argv[1])]
ms = sorted(r[0] for r in rows); cpu = [r[1] for r in rows]; main = [r[2] for r in rows]
print(f"{sys.argv[2]}: median {statistics.median(ms):.0f} ms (min {ms[0]}, max {ms[-1]}, n={len(ms)}); CPU by the "
      f"first 200, medians: JVM {statistics.median(cpu):.0f} ms, main thread {statistics.median(main):.0f} ms  {ms}")
PY
done
