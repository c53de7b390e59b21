#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it.
#
# System packages, with apt-get (as root, or through sudo): Debian's chromium,
# which the browser suite drives headless, and python3-venv when the system
# Python cannot make a virtual environment without it. Python packages go into
# the active virtual environment, or else into .venv here, made when missing, so
# a system Python that refuses pip installs (PEP 668) is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
    local sudo=()
    if [ "$(id -u)" != 0 ]; then
        sudo=(sudo)
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq "$@" >/dev/null
}

if ! command -v chromium >/dev/null 2>&1; then
    apt_install chromium
fi

if [ -z "${VIRTUAL_ENV:-}" ]; then
    if [ ! -x .venv/bin/python ]; then
        if ! python3 -m venv .venv 2>/dev/null; then
            rm -rf .venv
            apt_install python3-venv
            python3 -m venv .venv
        fi
    fi
    # shellcheck disable=SC1091
    . .venv/bin/activate
fi

python -m pip install -q -e '.[test]'
python -m pytest "$@"
