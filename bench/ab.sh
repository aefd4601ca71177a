#!/usr/bin/env bash
# A/B of the CPU per request: an older commit against the working tree, alternating, so machine
# noise hits both alike (bench/README.md, "Second pass").
#
#   bash bench/ab.sh <commit> [rounds]        # default 3 rounds of: <commit>, then this tree
#   bash bench/ab.sh --opts "<A>" "<B>" [rounds]  # this tree with BENCH_PROXY_JAVA_OPTS A, then B
#
# The commit is checked out in a temporary git worktree and built there (mvn package, which trains
# its class archive); each round runs `bash bench/outside.sh cpu` (BENCH_REPEAT=1) in each tree and
# prints its result line. Both trees must be built: run mvn -B -q package -DskipTests here first.
set -u
# Each arm's result lines are kept, and the medians printed at the end: CPU per request and ratio to nginx.
results=$(mktemp)
summary() {
  python3 - "$results" <<'PY'
import statistics, sys
arms = {}
for line in open(sys.argv[1]):
    arm, row = line.rstrip("\n").split("\t", 1)
    cols = row.split("|")
    try:
        arms.setdefault(arm, []).append((float(cols[1].split()[-1]), float(cols[-1].strip().rstrip("x"))))
    except (IndexError, ValueError):
        pass
for arm, rows in arms.items():
    us = [r[0] for r in rows]; ratio = [r[1] for r in rows]
    print(f"median of {len(rows)}: {statistics.median(us):.1f} us/req, {statistics.median(ratio):.2f}x  "
          f"(us/req {', '.join(f'{u:.1f}' for u in us)}): {arm}")
PY
  rm -f "$results"
}
here=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = --opts ]; then
  a=${2?usage: bash bench/ab.sh --opts "<A>" "<B>" [rounds]}; b=${3?usage: bash bench/ab.sh --opts "<A>" "<B>" [rounds]}
  rounds=${4:-3}
  for ((r = 1; r <= rounds; r++)); do
    for opts in "$a" "$b"; do
      echo "=== round $r: BENCH_PROXY_JAVA_OPTS=\"$opts\" ($(date -u +%T), load $(cut -d' ' -f1 /proc/loadavg))"
      (cd "$here" && BENCH_REPEAT=1 BENCH_PROXY_JAVA_OPTS="$opts" bash bench/outside.sh cpu 2>&1 | grep -E '^ +1 ') \
        | tee >(sed "s/^/opts \"$opts\"\t/" >>"$results")
    done
  done
  sleep 1; summary
  exit 0
fi
old=${1:?usage: bash bench/ab.sh <commit> [rounds]}
rounds=${2:-3}
tree=$(mktemp -d)
trap 'git -C "$here" worktree remove --force "$tree" >/dev/null 2>&1' EXIT
git -C "$here" worktree add --detach "$tree" "$old" >/dev/null || exit 1
(cd "$tree" && mvn -B -q package -DskipTests) || { echo "could not build $old" >&2; exit 1; }
for ((r = 1; r <= rounds; r++)); do
  for dir in "$tree" "$here"; do
    label=$([ "$dir" = "$here" ] && echo "this tree" || echo "$old")
    echo "=== round $r: $label ($(date -u +%T), load $(cut -d' ' -f1 /proc/loadavg))"
    (cd "$dir" && BENCH_REPEAT=1 bash bench/outside.sh cpu 2>&1 | grep -E '^ +1 ') \
      | tee >(sed "s/^/$label\t/" >>"$results")
  done
done
sleep 1; summary
