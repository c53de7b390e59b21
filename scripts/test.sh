#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it.
# System package: Debian's chromium (the browser suite drives it headless).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq chromium >/dev/null
    else
        sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null
    fi
fi

python3 -m pip install -q -e '.[test]'
python3 -m pytest "$@"
