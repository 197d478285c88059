#!/usr/bin/env bash
# The browser tests drive Debian's Chromium with Playwright (no browser download).
set -euo pipefail
if ! command -v chromium >/dev/null; then
  as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
fi
echo "browser: $(chromium --version 2>/dev/null | head -n 1)"
