#!/usr/bin/env bash
# Makes sure Debian's `chromium` (the browser the console's browser tests drive with playwright-core) is installed.
# Idempotent: does nothing when the browser is there. Lookup: CHROMIUM_PATH when set (then it must exist), else
# /usr/bin/chromium. When missing, installs the `chromium` package with apt-get: as root directly, otherwise through
# sudo (non-interactive) when there is one; else it fails saying how to install it by hand. Nothing else is downloaded.
set -euo pipefail

quiet=0
[[ "${1:-}" == "--quiet" ]] && quiet=1
say() { [[ $quiet == 1 ]] || echo "install-chromium: $*"; }

if [[ -n "${CHROMIUM_PATH:-}" ]]; then
  if [[ -x "$CHROMIUM_PATH" ]]; then say "Chromium present ($CHROMIUM_PATH)."; exit 0; fi
  echo "install-chromium: CHROMIUM_PATH=$CHROMIUM_PATH is not an executable file." >&2
  exit 1
fi
browser=/usr/bin/chromium
if [[ -x "$browser" ]]; then
  say "Chromium present ($browser)."
  exit 0
fi

fail() {
  cat >&2 <<MSG
install-chromium: could not install Chromium ($1).
The console's browser tests need Debian's chromium package. Install it, then run the command again:
  sudo apt-get update && sudo apt-get install -y chromium
or point CHROMIUM_PATH at a Chromium or Chrome executable.
MSG
  exit 1
}

command -v apt-get >/dev/null 2>&1 || fail "no apt-get: this is not a Debian-like system"
if [[ $(id -u) == 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
  as_root=(sudo -n)
else
  fail "not root, and no sudo that runs without a password"
fi

export DEBIAN_FRONTEND=noninteractive
apt_quiet=()
[[ $quiet == 1 ]] && apt_quiet=(-qq)
say "installing Debian's chromium package with apt-get"
# An install from the package lists already on the machine first; apt-get update only when they are missing or stale.
if ! "${as_root[@]}" apt-get install -y "${apt_quiet[@]}" chromium >/dev/null 2>&1; then
  "${as_root[@]}" apt-get update "${apt_quiet[@]}" >/dev/null || fail "apt-get update failed"
  "${as_root[@]}" apt-get install -y "${apt_quiet[@]}" chromium >/dev/null || fail "apt-get install chromium failed"
fi
[[ -x "$browser" ]] || fail "apt-get installed chromium, but $browser is missing"
say "installed: $("$browser" --version 2>/dev/null || echo chromium)"
