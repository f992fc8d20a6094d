#!/usr/bin/env bash
# Makes Debian's Chromium available for the browser tests (Playwright drives it through
# executable_path; its own browser download cannot work here). Installs it with apt-get when
# run as root; otherwise says why the browser tests will skip. Never fails the caller.
# A CJK font (fonts-wqy-zenhei) comes along, so screenshots show the events' Chinese text.
set -uo pipefail
if command -v chromium >/dev/null 2>&1 && { ! command -v fc-list >/dev/null 2>&1 || [ -n "$(fc-list :lang=zh 2>/dev/null)" ]; }; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "chunktape: no chromium and no root apt-get: the browser tests will skip (install Debian's chromium to run them)" >&2
  exit 0
fi
echo "chunktape: installing Debian's chromium for the browser tests (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { timeout 300 apt-get update -qq && timeout 600 apt-get install -y -qq --no-install-recommends chromium fonts-wqy-zenhei; } >/dev/null 2>&1; then
  echo "chunktape: apt-get could not install chromium: the browser tests will skip" >&2
fi
exit 0
