#!/usr/bin/env bash
# The suite against releases the lock does not pin, to keep pyproject.toml's declared ranges honest:
#   scripts/test-against.sh newest   # the newest release of every dependency (what a new user gets)
#   scripts/test-against.sh lowest   # the lowest declared bound of every direct dependency
# Each builds its own environment (.venv-newest / .venv-lowest) beside the locked .venv and leaves
# uv.lock alone. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
case "${1:-}" in
  newest) resolution=highest ;;
  lowest) resolution=lowest-direct ;;
  *) echo "usage: scripts/test-against.sh newest|lowest [pytest args]" >&2; exit 2 ;;
esac
which=$1
shift
bash scripts/bootstrap.sh  # brings the pinned uv into .tools/uv
uv=.tools/uv/bin/uv
venv=.venv-$which
export UV_PYTHON_DOWNLOADS=never
rm -rf "$venv"
"$uv" venv --quiet --python .venv/bin/python "$venv"
"$uv" pip install --quiet --python "$venv/bin/python" --resolution "$resolution" \
  --group dev -e ".[httpx2,tls,record,aws,demo]"
echo "== $which: $("$venv/bin/python" -c 'import importlib.metadata as m; print(", ".join(f"{n} {m.version(n)}" for n in ("httpx", "httpx2", "anyio", "uvicorn", "websockets", "pyyaml", "click", "mitmproxy", "openai", "anthropic", "google-genai", "pytest")))')" >&2
# Lint and types are the lock's business (their verdicts change between releases); these runs
# check behaviour: the whole pytest suite.
bash scripts/browser.sh
exec "$venv/bin/python" -m pytest -n 2 "$@"
