#!/usr/bin/env bash
# Creates .venv with Python 3.12+ and installs chunktape with exactly the locked
# development environment (uv.lock).
# Run by scripts/demo.sh and scripts/test.sh; safe to run again (it only changes .venv
# when uv.lock changed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

is_312_or_newer() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }

find_python() {
  local candidate
  # pyenv honours .python-version (3.12); then any python3.12/3.13 on PATH; then pyenv's own installs
  for candidate in \
      "$(command -v pyenv >/dev/null 2>&1 && pyenv which python 2>/dev/null || true)" \
      python3.13 python3.12 python3 \
      "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 && is_312_or_newer "$candidate"; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

if [ -x .venv/bin/python ] && ! is_312_or_newer .venv/bin/python; then
  echo "chunktape: .venv uses Python < 3.12; recreating it" >&2
  rm -rf .venv
fi

if [ ! -x .venv/bin/python ]; then
  if ! python=$(find_python); then
    cat >&2 <<'MSG'
chunktape: no Python 3.12 or newer found (mitmproxy 12 needs it).
  Install one, then run this command again, e.g.:
    pyenv install 3.12 && pyenv local 3.12      # with pyenv
    sudo apt-get install python3.12 python3.12-venv   # Debian/Ubuntu
MSG
    exit 2
  fi
  echo "chunktape: creating .venv with $("$python" --version) ($python)" >&2
  "$python" -m venv .venv
fi

# The development environment is exactly uv.lock: `uv sync --locked` refuses a lock that no
# longer matches pyproject.toml, installs what the lock names and removes anything else, and
# costs a fraction of a second when nothing changed. uv itself is pinned and kept in .tools/.
uv_version=0.13.9
uv=.tools/uv/bin/uv
if [ ! -x "$uv" ] || [ "$("$uv" --version 2>/dev/null | cut -d' ' -f2)" != "$uv_version" ]; then
  echo "chunktape: installing uv $uv_version into .tools/uv" >&2
  rm -rf .tools/uv
  "$(.venv/bin/python -c 'import sys; print(sys._base_executable)')" -m venv .tools/uv
  .tools/uv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$uv_version" >&2
fi
export UV_PYTHON_DOWNLOADS=never
"$uv" sync --locked --all-extras --python .venv/bin/python --quiet >&2
