#!/usr/bin/env bash
# Records a workflow history fixture for the replay tests: npm run histories:record -- <name>
# (test/workflows/recordHistories.ts). Run it before changing a workflow, then keep the file.
set -euo pipefail
name="${1:-}"
if [[ -z "$name" ]]; then
  echo "usage: npm run histories:record -- <name>   (e.g. mailboxWorkflow-v6, leadPushWorkflow-v2)" >&2
  exit 2
fi
cd "$(dirname "$0")/.."
bash scripts/setup.sh --quiet
RECORD_HISTORIES="$name" NODE_ENV=test LOG_LEVEL="${LOG_LEVEL:-error}" exec npx mocha test/workflows/recordHistories.ts
