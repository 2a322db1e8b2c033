#!/usr/bin/env bash
# The PostgreSQL and Redis servers the backup, restore and freshness integration tests
# run against (test/integration/helpers/postgres.ts, redis-backup.test.ts):
#
# - PostgreSQL (Debian's `postgresql`) on 127.0.0.1:5432, trust authentication for
#   loopback TCP, superuser `postgres`;
# - Redis (Debian's `redis-server`) on 127.0.0.1:6379, no persistence (the tests take
#   RDB snapshots over the replication protocol, never from its disk).
#
# These machines run no systemd, so the servers are started the Debian way without it:
# `pg_ctlcluster` for the cluster the package created, `redis-server --daemonize yes`.
# Idempotent: installs what is missing, creates a cluster only when there is none,
# (re)writes the loopback trust rules, and starts each server only when it does not answer.
set -euo pipefail

# shellcheck source=.ci/lib/debian.sh
. "$(dirname "$0")/../lib/debian.sh"
ensure_debian_packages postgresql postgresql-client redis-server redis-tools

pg_port=5432
redis_port=6379

# --- PostgreSQL -------------------------------------------------------------------------
# The newest installed major version (Debian 12: 15); its `main` cluster on 5432.
pg_version=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -n | tail -n 1)
if [ -z "$pg_version" ]; then
  echo "no PostgreSQL server under /usr/lib/postgresql after installing postgresql" >&2
  exit 1
fi
if ! pg_lsclusters -h | awk -v v="$pg_version" '$1 == v && $2 == "main"' | grep -q .; then
  # The package's postinst creates `main`; a machine whose image removed it gets one here.
  pg_createcluster --port "$pg_port" "$pg_version" main
fi
cluster_port=$(pg_lsclusters -h | awk -v v="$pg_version" '$1 == v && $2 == "main" { print $3 }')
if [ "$cluster_port" != "$pg_port" ]; then
  echo "cluster $pg_version/main listens on $cluster_port, the tests need $pg_port" >&2
  exit 1
fi

# Trust on loopback only: the tests connect as `postgres` over TCP without a password.
# The file is written whole, so a rerun leaves it byte-identical.
hba=/etc/postgresql/$pg_version/main/pg_hba.conf
desired_hba=$(cat <<'EOF'
# Written by .ci/setup.d/25-database-servers.sh: a CI machine's throwaway cluster.
local   all             all                                     peer
host    all             all             127.0.0.1/32            trust
host    all             all             ::1/128                 trust
local   replication     all                                     peer
host    replication     all             127.0.0.1/32            trust
host    replication     all             ::1/128                 trust
EOF
)
hba_changed=false
if [ "$(cat "$hba" 2>/dev/null)" != "$desired_hba" ]; then
  printf '%s\n' "$desired_hba" >"$hba"
  chown postgres:postgres "$hba"
  chmod 640 "$hba"
  hba_changed=true
fi

if pg_ctlcluster "$pg_version" main status >/dev/null 2>&1; then
  if [ "$hba_changed" = true ]; then
    pg_ctlcluster "$pg_version" main reload
  fi
  echo "postgresql $pg_version/main already running"
else
  # pg_ctlcluster makes the socket directory and switches to the cluster's owner itself.
  pg_ctlcluster "$pg_version" main start
fi

for _ in $(seq 1 30); do
  if psql -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -qtAc 'SELECT 1' >/dev/null 2>&1; then
    echo "postgresql answers on 127.0.0.1:$pg_port ($(psql -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -qtAc 'SHOW server_version'))"
    break
  fi
  sleep 1
done
if ! psql -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -qtAc 'SELECT 1' >/dev/null; then
  echo "postgresql does not accept trust connections on 127.0.0.1:$pg_port; log:" >&2
  tail -n 40 "/var/log/postgresql/postgresql-$pg_version-main.log" >&2 || true
  exit 1
fi

# --- Redis ------------------------------------------------------------------------------
redis_answers() { [ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" = "PONG" ]; }

if redis_answers; then
  echo "redis already running on 127.0.0.1:$redis_port"
else
  redis_dir=/var/lib/redis-ci
  mkdir -p "$redis_dir"
  redis-server --daemonize yes \
    --bind 127.0.0.1 --port "$redis_port" \
    --save '' --appendonly no \
    --dir "$redis_dir" \
    --logfile /var/log/redis-ci.log \
    --pidfile /run/redis-ci.pid
  for _ in $(seq 1 30); do
    redis_answers && break
    sleep 0.5
  done
  if ! redis_answers; then
    echo "redis-server did not answer on 127.0.0.1:$redis_port; log:" >&2
    tail -n 40 /var/log/redis-ci.log >&2 || true
    exit 1
  fi
  echo "redis started on 127.0.0.1:$redis_port ($(redis-server --version | awk '{ print $3 }'))"
fi
