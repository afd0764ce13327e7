#!/usr/bin/env bash
# The demo in one command: npm dependencies, the stack, the database, then `dialwell demo`.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/deps.sh"
ensure_node_deps "$ROOT"
bash "$ROOT/scripts/stack.sh" up >/dev/null
cd "$ROOT"
exec node bin/dialwell.js demo "$@"
