# Installs the npm dependencies when they are missing or older than package-lock.json.
ensure_node_deps() {
  local root=$1
  command -v node >/dev/null || { echo "Node.js 20 is required (apt-get install nodejs npm)" >&2; exit 1; }
  if [ ! -d "$root/node_modules" ] || [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
    echo "[deps] npm ci" >&2
    (cd "$root" && npm ci --no-audit --no-fund >&2)
  fi
}
