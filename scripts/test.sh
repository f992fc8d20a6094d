#!/usr/bin/env bash
# The whole test suite on a fresh machine: sets up .venv, then lint, types and pytest.
# Extra arguments go to pytest (e.g. scripts/test.sh -k schedule).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# CHUNKTAPE_VENV names another environment (scripts/test-against.sh); by default the locked .venv.
venv=${CHUNKTAPE_VENV:-.venv}
[ -n "${CHUNKTAPE_VENV:-}" ] || bash scripts/bootstrap.sh
bash scripts/browser.sh
echo "== ruff" >&2
"$venv/bin/ruff" check .
"$venv/bin/ruff" format --check .
echo "== mypy" >&2
"$venv/bin/mypy"
echo "== pytest" >&2
exec "$venv/bin/python" -m pytest -n 2 "$@"
