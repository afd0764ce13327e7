# Defaults shared by the shell scripts; src/config.ts holds the same defaults for the app.
# Every value can be overridden from the environment.
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/dialwell}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
export ARI_URL=${ARI_URL:-http://127.0.0.1:8088}
export ARI_USER=${ARI_USER:-dialwell}
export ARI_PASSWORD=${ARI_PASSWORD:-dialwell-local-ari}
export ARI_APP=${ARI_APP:-dialwell}
export AMI_HOST=${AMI_HOST:-127.0.0.1}
export AMI_PORT=${AMI_PORT:-5038}
export AMI_USER=${AMI_USER:-dialwell}
export AMI_PASSWORD=${AMI_PASSWORD:-dialwell-local-ami}
export SIP_PORT=${SIP_PORT:-5060}

_hostport() { # URL -> "host port" (default port $2)
  local rest=${1#*://}; rest=${rest#*@}; rest=${rest%%/*}
  local host=${rest%:*} port=${rest##*:}
  [ "$host" = "$rest" ] && port=$2
  echo "$host $port"
}
read -r PGHOST_ADDR PGPORT_NUM <<<"$(_hostport "$DATABASE_URL" 5432)"
read -r REDIS_HOST_ADDR REDIS_PORT_NUM <<<"$(_hostport "$REDIS_URL" 6379)"
read -r _ARI_HOST ARI_PORT_NUM <<<"$(_hostport "$ARI_URL" 8088)"
