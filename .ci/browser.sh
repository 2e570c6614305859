#!/usr/bin/env bash
# CI: the browser tests (tests/test_browser.py) drive Debian's Chromium at /usr/bin/chromium
# through Playwright (Playwright's own browser download cannot run here). Install it when it is
# missing. Exit 0 when Chromium is there afterwards, 1 when it could not be installed (the
# browser tests then skip themselves, saying why).
set -euo pipefail

CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
    echo "ci: $("$CHROMIUM" --version 2>/dev/null || echo chromium) already installed"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ci: no apt-get on this machine: cannot install Chromium" >&2
    exit 1
fi
run_as_root=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        run_as_root=(sudo -n)
    else
        echo "ci: not root and no password-less sudo: cannot install Chromium" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
apt_options=(-qq -o DPkg::Lock::Timeout=300)
echo "ci: installing Chromium for the browser tests (apt-get)"
if ! "${run_as_root[@]}" apt-get "${apt_options[@]}" update >/dev/null \
        || ! "${run_as_root[@]}" apt-get "${apt_options[@]}" install -y chromium >/dev/null; then
    echo "ci: apt-get could not install chromium" >&2
    exit 1
fi
if [ ! -x "$CHROMIUM" ]; then
    echo "ci: chromium installed but $CHROMIUM is missing" >&2
    exit 1
fi
echo "ci: $("$CHROMIUM" --version 2>/dev/null || echo chromium) installed"
