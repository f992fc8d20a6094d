#!/usr/bin/env bash
# Runs the whole test suite N times from a fresh clone while two busy processes keep both
# cores loaded (what CI often sees), and reports every test that failed in any run.
#
#   scripts/stress.sh          # 5 runs
#   scripts/stress.sh 3        # 3 runs
#   HOGS=0 scripts/stress.sh 1 # no load, one run
#
# Clones the committed HEAD (uncommitted changes are not tested), sets up its own .venv once,
# and leaves nothing behind but the log folder it prints. Exit 0 only if every run passed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${1:-5}
hogs=${HOGS:-2}
work=$(mktemp -d -t chunktape-stress-XXXXXX)
logs="$work/logs"
mkdir -p "$logs"
git clone --quiet --no-hardlinks . "$work/clone"
echo "stress: $runs run(s) of the suite from a fresh clone of $(git rev-parse --short HEAD), $hogs busy process(es); logs in $logs"

pids=()
stop_hogs() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap stop_hogs EXIT
for _ in $(seq 1 "$hogs"); do
  yes > /dev/null &
  pids+=($!)
done

failed_runs=0
for run in $(seq 1 "$runs"); do
  started=$(date +%s)
  if (cd "$work/clone" && CI=true bash .ci/run) > "$logs/run-$run.log" 2>&1; then
    verdict=passed
  else
    verdict=FAILED
    failed_runs=$((failed_runs + 1))
  fi
  summary=$(grep -E '^[=]* ?[0-9]+ (passed|failed)' "$logs/run-$run.log" | tail -1 | tr -d '=' | xargs || true)
  echo "stress: run $run/$runs $verdict in $(( $(date +%s) - started )) s: ${summary:-no pytest summary}"
  grep -E '^(FAILED|ERROR) ' "$logs/run-$run.log" | sed 's/^/stress:   /' || true
done

echo "stress: $((runs - failed_runs)) of $runs run(s) passed"
flakes=$(cat "$logs"/run-*.log | grep -E '^(FAILED|ERROR) ' | sed -E 's/ - .*//' | sort | uniq -c | sort -rn || true)
if [ -n "$flakes" ]; then
  echo "stress: tests that failed (times):"
  echo "$flakes" | sed 's/^/stress: /'
fi
[ "$failed_runs" -eq 0 ]
