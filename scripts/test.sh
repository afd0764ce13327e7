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
echo "== tests"; npx vitest run "$@"
