#!/usr/bin/env bash
# `npm test`: npm dependencies, the real stack (Asterisk 22, PostgreSQL, Redis, sipp), then
# typecheck, lint, unit tests and integration tests. Integration tests fail, never skip, when
# Asterisk is missing. The tests' JSON logs (theirs and the processes they start) go to a file of
# this run, named at the end, so that the console shows the results.
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
run_dir=$(mktemp -d -t dialwell-test.XXXXXX)
report=$run_dir/vitest.json
export LOG_FILE=${LOG_FILE:-$run_dir/dialwell.log}
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
log_lines=0; if [ -f "$LOG_FILE" ]; then log_lines=$(wc -l <"$LOG_FILE"); fi
echo "logs: $LOG_FILE ($log_lines lines)"
# One plain closing line for any reader of the output: "tests: N passed, N failed".
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' "$report" || echo "tests: 0 passed, 1 failed"
exit $status
