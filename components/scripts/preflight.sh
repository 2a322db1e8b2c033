#!/usr/bin/env bash
# Preflight of a VPS before `pulumi up` changes anything on it. Run over SSH by the
# VpsHost component (script on stdin, settings in the environment):
#
#   DEPLOY_DIR         directory the environment writes to; created if missing, must be writable
#   REQUIRED_COMMANDS  space-separated commands the jobs need (e.g. "docker curl aws")
#   REQUIRE_SUDO       "1" when the scheduled jobs install with `sudo -n` (the user is not root)
#
# Exits 1 with one line per problem, so `pulumi up` fails with a message a person can act on.
# On success it prints the Docker Engine and API versions: the reverse proxy must speak an
# API the engine accepts (Engine 29 refuses clients below API 1.44; Traefik negotiates the
# version from v3.6.1 on, traefik/traefik#12253), and the output lands in the preview.
set -euo pipefail

problems=()
host=$(hostname 2>/dev/null || echo "the VPS")

if ! command -v docker >/dev/null 2>&1; then
  problems+=("Docker is not installed on $host (install docker.io or Docker CE)")
elif ! docker info >/dev/null 2>&1; then
  problems+=("user $(id -un) cannot reach the Docker daemon on $host (is dockerd running, is the user in the docker group?)")
fi

for cmd in ${REQUIRED_COMMANDS:-}; do
  command -v "$cmd" >/dev/null 2>&1 || problems+=("command '$cmd' is missing on $host (needed by the scheduled jobs)")
done

if [ "${REQUIRE_SUDO:-0}" = "1" ] && [ "$(id -u)" != "0" ] && ! sudo -n true 2>/dev/null; then
  problems+=("user $(id -un) needs passwordless sudo on $host to install the scheduled jobs' systemd units")
fi

# dockerd merges its default log-opts (daemon.json) into every container of the same log
# driver, and the Docker provider reads a container's merged options back: any key beyond
# the max-size and max-file every container sets would replace every container on every
# `pulumi up` (log_opts forces a replacement). DOCKER_DAEMON_JSON is for tests.
daemon_json=${DOCKER_DAEMON_JSON:-/etc/docker/daemon.json}
if command -v docker >/dev/null 2>&1 && [ -r "$daemon_json" ] &&
  [ "$(docker info --format '{{.LoggingDriver}}' 2>/dev/null)" = "json-file" ]; then
  extra_log_opts=$(tr -d '\n' <"$daemon_json" |
    sed -n 's/.*"log-opts"[[:space:]]*:[[:space:]]*{\([^}]*\)}.*/\1/p' |
    grep -o '"[^"]*"[[:space:]]*:' | tr -d '": ' | grep -vx -e max-size -e max-file | tr '\n' ' ' || true)
  if [ -n "$extra_log_opts" ]; then
    problems+=("$daemon_json sets json-file log-opts ${extra_log_opts% }: dockerd merges them into every container and the Docker provider would replace every container on every pulumi up; remove them (each container sets max-size and max-file itself)")
  fi
fi

if [ -z "${DEPLOY_DIR:-}" ]; then
  problems+=("DEPLOY_DIR is not set")
elif ! mkdir -p "$DEPLOY_DIR" 2>/dev/null || ! [ -w "$DEPLOY_DIR" ]; then
  problems+=("deploy directory $DEPLOY_DIR is not writable by $(id -un) on $host")
fi

if [ "${#problems[@]}" -gt 0 ]; then
  printf 'preflight failed: %s\n' "${problems[@]}" >&2
  exit 1
fi
engine=$(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}}, minimum API {{.Server.MinAPIVersion}})' 2>/dev/null || echo "unknown")
echo "preflight ok: Docker Engine $engine reachable, $DEPLOY_DIR writable"
