#!/usr/bin/env bash
# `npm test`: npm dependencies, the real stack (Asterisk 22, PostgreSQL, Redis, sipp), then
# typecheck, lint, unit tests and integration tests. Integration tests fail, never skip, when
# Asterisk is missing.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/deps.sh"
ensure_node_deps "$ROOT"
cd "$ROOT"
bash scripts/stack.sh up
echo "== typecheck"; npx tsc -p tsconfig.json --noEmit
echo "== lint"; npx eslint .
# The web console (typecheck + static build to web/dist): the server serves it, the e2e tests drive it.
echo "== console"; npm run console:build
echo "== tests"
report=$(mktemp -d)/vitest.json
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
# One plain closing line for any reader of the output: "tests: N passed, N failed".
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' "$report" || echo "tests: 0 passed, 1 failed"
exit $status
