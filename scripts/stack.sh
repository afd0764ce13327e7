#!/usr/bin/env bash
# Brings Dialwell's stack up on this machine, idempotently: PostgreSQL and Redis (reused when
# they already answer, else installed from Debian's packages and started), Asterisk 22 from
# Debian's own packages in a cached chroot (Debian 12 has no asterisk package), and sipp.
#   scripts/stack.sh up | down | status
# `down` stops only what `up` started; what `up` started is recorded in $DIALWELL_STATE_DIR.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

CACHE_DIR=${DIALWELL_CACHE_DIR:-/var/cache/dialwell}
STATE_DIR=${DIALWELL_STATE_DIR:-/var/lib/dialwell-stack}
ASTERISK_MAJOR=22
CHROOT="$CACHE_DIR/asterisk${ASTERISK_MAJOR}-chroot"
# var/run is an absolute symlink to /run inside the chroot: always go through $CHROOT/run.
AST_PIDFILE="$CHROOT/run/asterisk/asterisk.pid"

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

APT_UPDATED=0
apt_install() {
  [ "$(id -u)" = 0 ] || die "installing $* needs root (run as root, or install them yourself)"
  if [ "$APT_UPDATED" = 0 ]; then apt-get update -qq >&2; APT_UPDATED=1; fi
  log "installing $* from Debian's packages"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

mark_started() { mkdir -p "$STATE_DIR"; touch "$STATE_DIR/$1.started"; }
started_by_us() { [ -f "$STATE_DIR/$1.started" ]; }

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# ---------------------------------------------------------------- tools
ensure_tools() {
  local missing=()
  command -v sipp >/dev/null || missing+=(sip-tester)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v curl >/dev/null || missing+=(curl)
  command -v sox >/dev/null || missing+=(sox)
  # The web console's end-to-end tests drive Debian's Chromium (never a downloaded browser).
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

# ---------------------------------------------------------------- PostgreSQL
pg_up() {
  if pg_isready -q -h "$PGHOST_ADDR" -p "$PGPORT_NUM" 2>/dev/null; then
    log "PostgreSQL answers on $PGHOST_ADDR:$PGPORT_NUM: reusing it"; return
  fi
  command -v pg_ctlcluster >/dev/null || apt_install postgresql postgresql-client
  local ver; ver=$(ls /etc/postgresql | sort -V | tail -n1)
  [ -n "$ver" ] || die "PostgreSQL installed but no cluster under /etc/postgresql"
  local hba="/etc/postgresql/$ver/main/pg_hba.conf"
  # Dialwell connects over loopback as postgres without a password (trust), as on this machine.
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  fi
  log "starting PostgreSQL $ver"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start
  mark_started postgres
  for _ in $(seq 1 60); do pg_isready -q -h "$PGHOST_ADDR" -p "$PGPORT_NUM" && return; sleep 0.5; done
  die "PostgreSQL did not answer on $PGHOST_ADDR:$PGPORT_NUM within 30 s"
}

pg_down() {
  started_by_us postgres || return 0
  local ver; ver=$(ls /etc/postgresql | sort -V | tail -n1)
  log "stopping PostgreSQL $ver (started by up)"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main stop || true
  rm -f "$STATE_DIR/postgres.started"
}

# ---------------------------------------------------------------- Redis
redis_ping() { [ "$(redis-cli -h "$REDIS_HOST_ADDR" -p "$REDIS_PORT_NUM" ping 2>/dev/null)" = PONG ]; }

redis_up() {
  if command -v redis-cli >/dev/null && redis_ping; then
    log "Redis answers on $REDIS_HOST_ADDR:$REDIS_PORT_NUM: reusing it"; return
  fi
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p "$STATE_DIR/redis"
  log "starting Redis on $REDIS_HOST_ADDR:$REDIS_PORT_NUM"
  redis-server --daemonize yes --bind "$REDIS_HOST_ADDR" --port "$REDIS_PORT_NUM" --save '' \
    --appendonly no --dir "$STATE_DIR/redis" --pidfile "$STATE_DIR/redis.pid" \
    --logfile "$STATE_DIR/redis.log"
  mark_started redis
  for _ in $(seq 1 40); do redis_ping && return; sleep 0.25; done
  die "Redis did not answer on $REDIS_HOST_ADDR:$REDIS_PORT_NUM"
}

redis_down() {
  started_by_us redis || return 0
  local pid; pid=$(cat "$STATE_DIR/redis.pid" 2>/dev/null || true)
  log "stopping Redis (pid ${pid:-?}, started by up)"
  pid_alive "$pid" && kill "$pid"
  rm -f "$STATE_DIR/redis.started"
}

# ---------------------------------------------------------------- Asterisk
chroot_mounts() { findmnt -rn -o TARGET | grep -F "$1" || true; }

ensure_chroot() {
  if [ -x "$CHROOT/usr/sbin/asterisk" ]; then return; fi
  local building="$CHROOT.building"
  if [ -e "$building" ]; then
    [ -z "$(chroot_mounts "$building")" ] || die "$building has something mounted inside; unmount it first"
    rm -rf "$building"
  fi
  mkdir -p "$CACHE_DIR"
  log "building the Asterisk $ASTERISK_MAJOR chroot from Debian unstable (about a minute, ~0.5 GB, cached in $CHROOT)"
  debootstrap --variant=minbase --include=asterisk,asterisk-modules,asterisk-core-sounds-en-gsm \
    sid "$building" >"$CACHE_DIR/debootstrap.log" 2>&1 \
    || die "debootstrap failed; see $CACHE_DIR/debootstrap.log"
  mv "$building" "$CHROOT"
}

asterisk_version() { chroot "$CHROOT" /usr/sbin/asterisk -V 2>/dev/null || true; }

check_asterisk_version() {
  local v; v=$(asterisk_version)
  case "$v" in
    "Asterisk $ASTERISK_MAJOR."*) ;;
    *) die "the chroot's Asterisk is '${v:-missing}', Dialwell needs Asterisk $ASTERISK_MAJOR (delete $CHROOT to rebuild it)";;
  esac
}

# Renders asterisk-config/ with the credentials and ports from the environment.
render_config() {
  rm -rf "$1"
  ARI_PORT=$ARI_PORT_NUM sh "$ROOT/asterisk-config/render.sh" "$ROOT/asterisk-config" "$1"
}

config_hash() { (cd "$1" && cat $(ls | sort) | sha256sum | cut -d' ' -f1); }

asterisk_pid() {
  local pid; pid=$(cat "$AST_PIDFILE" 2>/dev/null || true)
  pid_alive "$pid" && echo "$pid"
}

ari_ready() {
  curl -fsS -m 2 -u "$ARI_USER:$ARI_PASSWORD" "http://127.0.0.1:$ARI_PORT_NUM/ari/asterisk/info" >/dev/null 2>&1
}

asterisk_stop() {
  local pid; pid=$(asterisk_pid || true)
  [ -n "$pid" ] || return 0
  log "stopping Asterisk (pid $pid)"
  chroot "$CHROOT" /usr/sbin/asterisk -rx 'core stop now' >/dev/null 2>&1 || true
  for _ in $(seq 1 40); do pid_alive "$pid" || return 0; sleep 0.25; done
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 20); do pid_alive "$pid" || return 0; sleep 0.25; done
  kill -9 "$pid" 2>/dev/null || true
}

asterisk_up() {
  ensure_chroot
  check_asterisk_version
  # No /etc/hosts in the chroot makes every call's RTCP setup wait on DNS (pbx-notes, trap 2).
  printf '127.0.0.1 localhost %s\n::1 localhost ip6-localhost\n' "$(hostname)" >"$CHROOT/etc/hosts"
  mkdir -p "$CHROOT/var/spool/asterisk/recording" "$CHROOT/run/asterisk" "$CHROOT/var/log/asterisk/cel-custom"

  local staged="$STATE_DIR/asterisk-config.rendered"
  mkdir -p "$STATE_DIR"
  render_config "$staged"
  local want; want=$(config_hash "$staged")
  local have; have=$(cat "$STATE_DIR/asterisk-config.sha256" 2>/dev/null || true)
  local pid; pid=$(asterisk_pid || true)

  if [ -n "$pid" ] && [ "$want" = "$have" ] && ari_ready; then
    log "Asterisk already running (pid $pid) with this configuration"; return
  fi
  if [ -n "$pid" ]; then
    started_by_us asterisk || die "an Asterisk that up did not start runs in $CHROOT (pid $pid); stop it first"
    log "configuration changed: restarting Asterisk"
    asterisk_stop
  fi
  if ss -ltn "sport = :$ARI_PORT_NUM" | grep -q LISTEN; then
    die "port $ARI_PORT_NUM is taken by another program; set ARI_URL to a free port"
  fi
  rm -rf "$CHROOT/etc/asterisk"; mkdir -p "$CHROOT/etc/asterisk"
  cp "$staged"/*.conf "$CHROOT/etc/asterisk/"
  echo "$want" >"$STATE_DIR/asterisk-config.sha256"
  : >"$CHROOT/var/log/asterisk/messages.log"
  log "starting $(asterisk_version) in $CHROOT"
  chroot "$CHROOT" /usr/sbin/asterisk -F >/dev/null 2>&1
  mark_started asterisk
  for _ in $(seq 1 120); do
    if ari_ready; then log "Asterisk is up: ARI on 127.0.0.1:$ARI_PORT_NUM, AMI on 127.0.0.1:$AMI_PORT, SIP on udp 127.0.0.1:$SIP_PORT"; return; fi
    sleep 0.5
  done
  tail -n 30 "$CHROOT/var/log/asterisk/messages.log" >&2 || true
  die "Asterisk started but ARI did not answer within 60 s"
}

asterisk_down() {
  started_by_us asterisk || return 0
  asterisk_stop
  rm -f "$STATE_DIR/asterisk.started" "$STATE_DIR/asterisk-config.sha256"
}

# ---------------------------------------------------------------- extra Asterisk nodes
# Node N (2, 3, ...) is a second Asterisk from the same chroot with its own etc/run/log/spool/lib
# directories (`asterisk -C`), ports ARI 8088+100(N-1), AMI 5038+100(N-1), SIP 5060+100(N-1)
# and an RTP range disjoint from node 1's (20000-39999): 40000+2000(N-2) .. +1999 (nodes 2 to 12).
# `node-up N [DIR]`: *.conf files in DIR replace the rendered ones (e.g. http.conf with TLS), and are
# rendered the same way (@ARI_PORT@, @AMI_PORT@, @AMI_USER@, ... with node N's values); *.pem, *.crt
# and *.key files in DIR are copied beside them (test/integration/tls.test.ts starts node 3 so).
node_check() { case "${1:-}" in ''|*[!0-9]*|0|1) die "give a node number from 2 to 12";; esac; [ "$1" -le 12 ] || die "give a node number from 2 to 12 (RTP ranges end at 61999)"; }
node_ports() { NODE_ARI_PORT=$((8088 + 100 * ($1 - 1))); NODE_AMI_PORT=$((5038 + 100 * ($1 - 1))); NODE_SIP_PORT=$((5060 + 100 * ($1 - 1))); }
node_conf() { echo "/etc/asterisk-node$1/asterisk.conf"; }
node_pid() {
  local pid; pid=$(cat "$CHROOT/run/asterisk-node$1/asterisk.pid" 2>/dev/null || true)
  pid_alive "$pid" && echo "$pid"
}
node_ari_ready() { curl -fsS -m 2 -u "$ARI_USER:$ARI_PASSWORD" "http://127.0.0.1:$1/ari/asterisk/info" >/dev/null 2>&1; }

node_up() {
  local n=$1 extra=${2:-}
  node_check "$n"; node_ports "$n"
  ensure_chroot; check_asterisk_version
  printf '127.0.0.1 localhost %s\n::1 localhost ip6-localhost\n' "$(hostname)" >"$CHROOT/etc/hosts"
  if [ -n "$(node_pid "$n" || true)" ]; then
    started_by_us "node$n" || die "an Asterisk node $n that up did not start runs in $CHROOT"
    log "node $n: restarting with fresh configuration"; node_stop "$n"
  fi
  if ss -ltn "sport = :$NODE_ARI_PORT" | grep -q LISTEN; then die "node $n: port $NODE_ARI_PORT is taken by another program"; fi
  local etc="$CHROOT/etc/asterisk-node$n" rtpstart=$((40000 + 2000 * (n - 2)))
  rm -rf "$etc"
  # The node's name in Dialwell (its dialplan reaches <ARI_APP>-<name>): node<N> unless NODE<N>_NAME says otherwise.
  local name_var="NODE${n}_NAME"; local node_name="${!name_var:-node$n}"
  NODE_NAME=$node_name ARI_PORT=$NODE_ARI_PORT AMI_PORT=$NODE_AMI_PORT SIP_PORT=$NODE_SIP_PORT sh "$ROOT/asterisk-config/render.sh" "$ROOT/asterisk-config" "$etc"
  sed -i -e "s|^astetcdir => .*|astetcdir => /etc/asterisk-node$n|" \
    -e "s|^astvarlibdir => .*|astvarlibdir => /var/lib/asterisk-node$n|" -e "s|^astdbdir => .*|astdbdir => /var/lib/asterisk-node$n|" \
    -e "s|^astkeydir => .*|astkeydir => /var/lib/asterisk-node$n|" -e "s|^astspooldir => .*|astspooldir => /var/spool/asterisk-node$n|" \
    -e "s|^\[directories\](!)|[directories]|" -e "s|^astrundir => .*|astrundir => /var/run/asterisk-node$n|" -e "s|^astlogdir => .*|astlogdir => /var/log/asterisk-node$n|" "$etc/asterisk.conf"
  printf '; node %s: disjoint from node 1 (20000-39999)\n[general]\nrtpstart = %s\nrtpend = %s\n' "$n" "$rtpstart" $((rtpstart + 1999)) >"$etc/rtp.conf"
  if [ -n "$extra" ]; then
    # Rendered like asterisk-config/ (@AMI_PORT@ etc. are the node's); certificates and keys beside
    # them, so that e.g. http.conf's tlscertfile can name /etc/asterisk-node$n/<file> in the chroot.
    NODE_NAME=$node_name ARI_PORT=$NODE_ARI_PORT AMI_PORT=$NODE_AMI_PORT SIP_PORT=$NODE_SIP_PORT sh "$ROOT/asterisk-config/render.sh" "$extra" "$etc"
    for f in "$extra"/*.pem "$extra"/*.crt "$extra"/*.key; do if [ -e "$f" ]; then install -m 600 "$f" "$etc/"; fi; done
  fi
  rm -rf "$CHROOT/var/lib/asterisk-node$n" "$CHROOT/var/spool/asterisk-node$n" "$CHROOT/var/log/asterisk-node$n"
  mkdir -p "$CHROOT/var/lib/asterisk-node$n" "$CHROOT/var/spool/asterisk-node$n/recording" "$CHROOT/run/asterisk-node$n" \
    "$CHROOT/var/log/asterisk-node$n/cel-custom"
  # The shared data (sounds, keys of Debian's package) stays in /var/lib/asterisk: link what Asterisk reads.
  for f in "$CHROOT"/var/lib/asterisk/*; do [ -e "$f" ] && ln -sfn "/var/lib/asterisk/$(basename "$f")" "$CHROOT/var/lib/asterisk-node$n/" ; done
  # Only the shared data: never the shared astdb or a journal sqlite had open at that moment.
  rm -f "$CHROOT/var/lib/asterisk-node$n"/astdb.sqlite3*
  log "node $n: starting $(asterisk_version) (ARI 127.0.0.1:$NODE_ARI_PORT, AMI $NODE_AMI_PORT, SIP udp $NODE_SIP_PORT)"
  chroot "$CHROOT" /usr/sbin/asterisk -C "$(node_conf "$n")" -F >/dev/null 2>&1
  mark_started "node$n"
  for _ in $(seq 1 120); do
    if node_ari_ready "$NODE_ARI_PORT"; then log "node $n is up"; return; fi
    # A node with TLS on its ARI port (a conf dir's http.conf): ARI answers over https. -k: this
    # only asks whether ARI is loaded; the certificate is the test's or operator's to check.
    if [ -n "$extra" ] && curl -fsS -k -m 2 -u "$ARI_USER:$ARI_PASSWORD" "https://127.0.0.1:$NODE_ARI_PORT/ari/asterisk/info" >/dev/null 2>&1; then
      log "node $n is up (ARI over TLS)"; return
    fi
    sleep 0.5
  done
  tail -n 30 "$CHROOT/var/log/asterisk-node$n/messages.log" >&2 || true
  die "node $n started but ARI did not answer within 60 s"
}

node_stop() {
  local pid; pid=$(node_pid "$1" || true)
  [ -n "$pid" ] || return 0
  log "node $1: stopping Asterisk (pid $pid)"
  kill -CONT "$pid" 2>/dev/null || true
  chroot "$CHROOT" /usr/sbin/asterisk -C "$(node_conf "$1")" -rx 'core stop now' >/dev/null 2>&1 || true
  for _ in $(seq 1 40); do pid_alive "$pid" || return 0; sleep 0.25; done
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 20); do pid_alive "$pid" || return 0; sleep 0.25; done
  kill -9 "$pid" 2>/dev/null || true
}

node_down() {
  node_check "$1"
  started_by_us "node$1" || return 0
  node_stop "$1"
  rm -f "$STATE_DIR/node$1.started"
}

# ---------------------------------------------------------------- commands
status() {
  local who
  if pg_isready -q -h "$PGHOST_ADDR" -p "$PGPORT_NUM" 2>/dev/null; then
    who=$(started_by_us postgres && echo "started by up" || echo "already running, reused")
    echo "postgres  up    $PGHOST_ADDR:$PGPORT_NUM ($who)"
  else echo "postgres  down"; fi
  if command -v redis-cli >/dev/null && redis_ping; then
    who=$(started_by_us redis && echo "started by up" || echo "already running, reused")
    echo "redis     up    $REDIS_HOST_ADDR:$REDIS_PORT_NUM ($who)"
  else echo "redis     down"; fi
  local pid; pid=$(asterisk_pid || true)
  if [ -n "$pid" ]; then
    who=$(started_by_us asterisk && echo "started by up" || echo "not started by up")
    echo "asterisk  up    pid $pid, $(asterisk_version), ARI 127.0.0.1:$ARI_PORT_NUM, AMI 127.0.0.1:$AMI_PORT, SIP udp 127.0.0.1:$SIP_PORT, chroot $CHROOT ($who)"
  else echo "asterisk  down  (chroot $( [ -x "$CHROOT/usr/sbin/asterisk" ] && echo cached || echo 'not built'): $CHROOT)"; fi
  for f in "$STATE_DIR"/node*.started; do
    [ -e "$f" ] || continue
    local n=${f##*/node}; n=${n%.started}; node_ports "$n"; pid=$(node_pid "$n" || true)
    if [ -n "$pid" ]; then echo "node $n    up    pid $pid, ARI 127.0.0.1:$NODE_ARI_PORT, AMI 127.0.0.1:$NODE_AMI_PORT, SIP udp 127.0.0.1:$NODE_SIP_PORT"
    else echo "node $n    down"; fi
  done
  if command -v sipp >/dev/null; then echo "sipp      ok    $(command -v sipp)"; else echo "sipp      missing"; fi
}

case "${1:-}" in
  up) ensure_tools; pg_up; redis_up; asterisk_up; status ;;
  down)
    for f in "$STATE_DIR"/node*.started; do [ -e "$f" ] || continue; n=${f##*/node}; node_down "${n%.started}"; done
    asterisk_down; redis_down; pg_down; status ;;
  status) status ;;
  # For tests and operators: run one Asterisk CLI command (e.g. 'core restart now').
  asterisk-cli) [ -n "$(asterisk_pid || true)" ] || die "Asterisk is not running"; chroot "$CHROOT" /usr/sbin/asterisk -rx "${2:?give the CLI command}" ;;
  # For fault tests: kill the Asterisk that up started, as a crash would (no hangups, no events).
  crash-asterisk) started_by_us asterisk || die "this Asterisk was not started by up"; pid=$(asterisk_pid || true); [ -n "$pid" ] && kill -9 "$pid"; log "killed Asterisk (pid ${pid:-none})" ;;
  node-up) node_up "${2:-}" "${3:-}" ;;
  node-down) node_down "${2:-}" ;;
  # The PID of node N's Asterisk (for fault tests: SIGSTOP/SIGCONT, kill -9), empty if it is down.
  node-pid) node_check "${2:-}"; node_pid "$2" || true ;;
  node-cli) node_check "${2:-}"; [ -n "$(node_pid "$2" || true)" ] || die "node $2 is not running"; chroot "$CHROOT" /usr/sbin/asterisk -C "$(node_conf "$2")" -rx "${3:?give the CLI command}" ;;
  *) echo "usage: $0 up|down|status|asterisk-cli '<command>'|crash-asterisk|node-up N [conf-dir]|node-down N|node-pid N|node-cli N '<command>'" >&2; exit 2 ;;
esac
