#!/usr/bin/env bash
# What the point-in-time-recovery integration tests and benchmark need (test/integration/
# pitr.test.ts, bench/pitr.ts). Idempotent.
#
# - pgbackrest: Debian 12's 2.45, the oldest release the program's options must work with
#   (components/pgbackrest.ts); the tests run it as the postgres user on scratch
#   clusters of their own (the server comes from 25-database-servers.sh);
# - openssl: the self-signed certificate of the TLS S3 server (pgBackRest 2.45 speaks only
#   HTTPS to S3);
# - jq: the PITR jobs read `pgbackrest info --output=json` with it (the VPS preflight
#   requires it too); util-linux: runuser, the tests' exec prefix.
set -euo pipefail

# shellcheck source=.ci/lib/debian.sh
. "$(dirname "$0")/../lib/debian.sh"
ensure_debian_packages pgbackrest openssl jq util-linux postgresql

version=$(pgbackrest version | awk '{ print $2 }')
if [ "$(printf '2.45\n%s\n' "$version" | sort -V | head -n 1)" != 2.45 ]; then
  echo "pgbackrest $version is older than 2.45, which the PITR jobs need (annotate, verify, the restore's refusal without a set)" >&2
  exit 1
fi
echo "pgbackrest $version"
