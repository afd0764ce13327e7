# Installs the npm dependencies when they are missing or older than package-lock.json, then compiles
# dist/ when it is missing or older than src/ or migrations/ (scripts/build.mjs; `dialwell` runs dist/).
# `npm install` (which follows the lock) rather than `npm ci`: the registry reachable here has no
# darwin/win32 builds of @msgpackr-extract 3.0.7 (an optional dependency of bullmq's msgpackr), so
# the lock cannot list them and npm 11's `npm ci` refuses the lock as out of sync.
ensure_node_deps() {
  local root=$1
  command -v node >/dev/null || { echo "Node.js 20 is required (apt-get install nodejs npm)" >&2; exit 1; }
  if [ ! -d "$root/node_modules" ] || [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
    echo "[deps] npm install" >&2
    (cd "$root" && npm install --no-audit --no-fund >&2)
  fi
  node "$root/scripts/build.mjs" >&2
}
