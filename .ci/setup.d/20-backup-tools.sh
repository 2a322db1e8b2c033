#!/usr/bin/env bash
# Tools the backup scripts (components/scripts/backup.sh, restore.sh, restore-check.sh)
# and their integration tests need. Idempotent.
#
# - rclone: the upload client the scripts use for S3 and S3-compatible stores (one
#   static binary from Debian; it streams a dump of unknown size with multipart uploads).
# - postgresql-client: pg_dump/pg_restore/psql for the loopback tests (DB_ACCESS=local).
# - redis-server/redis-tools: redis-cli --rdb for the snapshot, and a scratch
#   redis-server the Redis restore test starts on its own port and directory.
# - busybox-static: the shell and tools of the image the docker-mode test builds with
#   `docker import` (test/integration/helpers/postgres-client-image.ts); that test uses the
#   Docker engine .ci/setup.d/30-docker-engine.sh starts.
# - mawk: Debian's default awk, so the VPS's; the tests run the scripts with it (s3.sh's
#   listing must not rely on what only gawk accepts).
# - coreutils (sha256sum, mkfifo) and curl (notify.sh) are already on every machine.
#
# The S3-compatible server is not started here: the integration tests start s3rver
# (node_modules, devDependency) themselves on a free loopback port and stop it after,
# so nothing is left running.
set -euo pipefail

# shellcheck source=.ci/lib/debian.sh
. "$(dirname "$0")/../lib/debian.sh"
ensure_debian_packages rclone postgresql-client redis-server redis-tools busybox-static mawk coreutils curl

rclone version | sed -n 1p
