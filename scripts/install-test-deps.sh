#!/usr/bin/env bash
# Installs the Debian packages the tests run for real: Redis, Sentinel and redis-cli, busybox (the
# alpine image's sh), rclone (the S3 client image's binary), shellcheck, promtool and redis_exporter, haproxy (the
# master endpoint), the network tools of the end-to-end harness, and graphviz with the font it measures text in
# (docs/topology.svg). Needs root.
set -euo pipefail
packages=(redis-server redis-sentinel redis-tools busybox rclone shellcheck iproute2 iptables python3-redis prometheus prometheus-redis-exporter graphviz fonts-dejavu-core haproxy)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "test dependencies already installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "installing ${missing[*]} needs root: run this script as root (or with sudo)" >&2
  exit 1
fi
# The tests start their own servers: keep the packages' services from starting on install.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod +x "$policy"
  created_policy=1
fi
trap '[ "$created_policy" = 1 ] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
