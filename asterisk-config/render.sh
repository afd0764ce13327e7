#!/bin/sh
# Renders Dialwell's Asterisk configuration: copies every *.conf from $1 to $2, filling in the
# credentials and ports from the environment. Used by scripts/stack.sh and by the container.
# NODE_NAME is the node's name in Dialwell (default node1): its ARI application is <ARI_APP>-<node>.
set -eu
src=$1; out=$2
mkdir -p "$out"
for f in "$src"/*.conf; do
  sed -e "s|@ARI_USER@|${ARI_USER:-dialwell}|g" -e "s|@ARI_PASSWORD@|${ARI_PASSWORD:-dialwell-local-ari}|g" \
      -e "s|@ARI_PORT@|${ARI_PORT:-8088}|g" -e "s|@ARI_APP@|${ARI_APP:-dialwell}|g" -e "s|@NODE_NAME@|${NODE_NAME:-node1}|g" \
      -e "s|@AMI_USER@|${AMI_USER:-dialwell}|g" -e "s|@AMI_PASSWORD@|${AMI_PASSWORD:-dialwell-local-ami}|g" \
      -e "s|@AMI_PORT@|${AMI_PORT:-5038}|g" -e "s|@SIP_PORT@|${SIP_PORT:-5060}|g" \
      -e "s|@RTP_START@|${RTP_START:-20000}|g" -e "s|@RTP_END@|${RTP_END:-39999}|g" \
      "$f" >"$out/$(basename "$f")"
done
