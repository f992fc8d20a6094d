#!/usr/bin/env bash
# The main job on a fresh machine: the official google-genai SDK streams a bundled Gemini
# cassette from `chunktape serve`, printing the text as it arrives at the recorded rhythm.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python scripts/demo.py "$@"
