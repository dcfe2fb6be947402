#!/usr/bin/env bash
# npm test: the whole suite against real PostgreSQL and Temporal (installed by setup.sh, never downloaded at run time).
#
# Two mocha processes run at once, each with its own embedded PostgreSQL and Temporal dev server. The first takes
# the end-to-end files that mostly wait on the clock (a worker killed ten times and Temporal's heartbeat timeout
# noticing it, cooldowns and probation in real minutes, Smartlead refusing for a minute): about 7 minutes of wall
# time for under 3 of CPU. The second runs everything else. Run one after the other they took 14 minutes on 2 cores.
# The waiting files' output is printed after the rest, so the two reports do not interleave.
# Arguments go to both mocha runs (e.g. --bail).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --quiet || exit $?
bash scripts/install-chromium.sh --quiet || exit $?
export NODE_ENV=test
export LOG_LEVEL="${LOG_LEVEL:-error}"

WAITING=(
  test/e2e/killDuringDecision.e2e.test.ts
  test/e2e/demo.e2e.test.ts
  test/e2e/escalation.e2e.test.ts
  test/e2e/mailboxEngine.e2e.test.ts
)
ignore=()
for f in "${WAITING[@]}"; do ignore+=(--ignore "$f"); done

waiting_log="$(mktemp -t drason-test-waiting.XXXXXX)"
trap 'rm -f "$waiting_log"' EXIT
npx mocha --color "$@" "${WAITING[@]}" >"$waiting_log" 2>&1 &
waiting_pid=$!
trap 'kill "$waiting_pid" 2>/dev/null; rm -f "$waiting_log"' EXIT

npx mocha "$@" "${ignore[@]}" "test/**/*.test.ts"
rest=$?
wait "$waiting_pid"
waiting=$?
echo
echo "=== the end-to-end files that wait on the clock (run alongside the above): ${WAITING[*]}"
cat "$waiting_log"
if ((rest != 0 || waiting != 0)); then
  echo "npm test failed (rest: exit $rest, clock-bound end-to-end files: exit $waiting)" >&2
  exit 1
fi
