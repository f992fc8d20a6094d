#!/usr/bin/env bash
# The chunktape bench, end to end, on a fresh machine: sets up .venv (scripts/bootstrap.sh),
# which installs the locked peers (vcrpy, mitmproxy, starlette, py-spy; wrk when apt-get can),
# then runs every section: prints the tables, writes bench/results/latest.json and
# bench/RESULTS.md. Every load is bounded in count and time and targets 127.0.0.1 only.
#
#   bench/run.sh                    # full run (about 3 minutes once set up)
#   bench/run.sh --quick            # smoke run; leaves RESULTS.md alone
#   bench/run.sh --only throughput  # one or more sections, comma-separated
#
# CHUNKTAPE_BENCH_NO_APT=1 skips installing wrk; CHUNKTAPE_BENCH_NO_WRK=1 ignores an installed
# one. Without wrk the throughput load comes from bench/loadclient.py (asyncio, own process).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ -f scripts/bootstrap.sh ]; then
  bash scripts/bootstrap.sh
elif [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi

if ! command -v wrk >/dev/null 2>&1 && [ -z "${CHUNKTAPE_BENCH_NO_APT:-}" ] \
    && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "bench: installing wrk (apt-get)" >&2
  { DEBIAN_FRONTEND=noninteractive timeout 120 apt-get install -y -qq wrk \
      || { timeout 120 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 120 apt-get install -y -qq wrk; }; } \
    >/dev/null 2>&1 || echo "bench: no wrk; the throughput load comes from bench/loadclient.py" >&2
fi

ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec .venv/bin/python -m bench "$@"
