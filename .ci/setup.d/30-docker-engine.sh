#!/usr/bin/env bash
# A local Docker engine for the health-check integration tests, plus systemd-analyze
# (package systemd) for verifying the job units and busybox-static for the test image.
# Idempotent: installs what is missing and starts dockerd only when no engine answers.
#
# These machines run no systemd and may not allow iptables or overlay mounts, so dockerd
# is started by hand with the options that work everywhere here: the vfs storage driver,
# no iptables rules and no default bridge (the test containers need a healthcheck and
# `docker restart`, not a network).
set -euo pipefail

# shellcheck source=.ci/lib/debian.sh
. "$(dirname "$0")/../lib/debian.sh"
ensure_debian_packages docker.io busybox-static systemd shellcheck curl

# The Debian engine's own client: /usr/local/bin may hold another docker client first in PATH.
docker_cli=/usr/bin/docker

if "$docker_cli" info >/dev/null 2>&1; then
  echo "docker engine already running"
  exit 0
fi

log=/var/log/dockerd-ci.log
# setsid + nohup: the engine outlives this script and the CI step that ran it.
setsid nohup /usr/sbin/dockerd \
  --storage-driver=vfs \
  --iptables=false \
  --ip6tables=false \
  --bridge=none \
  --data-root=/var/lib/docker-ci \
  --exec-root=/run/docker-ci \
  >"$log" 2>&1 </dev/null &

for _ in $(seq 1 60); do
  if "$docker_cli" info >/dev/null 2>&1; then
    echo "docker engine started ($("$docker_cli" version --format '{{.Server.Version}}'))"
    exit 0
  fi
  sleep 1
done
echo "dockerd did not answer within 60 s; last lines of $log:" >&2
tail -n 40 "$log" >&2
exit 1
