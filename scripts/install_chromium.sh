#!/usr/bin/env bash
# Headless Chromium for the report's browser test (tests/report/test_report_browser.py, marked
# slow): Debian's package, installed where it is missing. apt-get needs root: without it, say so
# and exit 1 (the test then skips with this reason). A no-op where chromium is installed.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "chromium is missing and installing it needs root: run 'apt-get install chromium' as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null
