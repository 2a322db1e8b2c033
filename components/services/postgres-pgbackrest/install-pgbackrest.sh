#!/bin/sh
# Installs pgBackRest <version> into an official PostgreSQL image (Alpine or Debian based), at
# exactly that version, from the image's own distribution, with the CA certificates it needs
# to reach a public S3 store (the Debian package does not depend on them, and the official
# images remove them), and the directories the container uses. Run by the Dockerfile beside
# it, as root; POSIX sh (Alpine has no bash).
#
#   install-pgbackrest.sh <version>     e.g. 2.54.0 (Alpine 3.21), 2.45 (Debian 12)
#
# Alpine: apk's fuzzy pin pgbackrest~<version> (2.54.0 matches 2.54.0-r0, -r1, ...).
# Debian: pgbackrest=<version>-* (2.45 matches Debian's 2.45-1 and a later 2.45-1+deb12u1; the
# official Debian images also carry PGDG, whose newest build a plain install would take).
# Either way the build fails unless `pgbackrest version` then says exactly <version>.
set -eu

version=${1:-}
case "$version" in
  [0-9]*.[0-9]*) ;;
  *) echo "install-pgbackrest.sh: usage: install-pgbackrest.sh <version>, e.g. 2.54.0" >&2; exit 2 ;;
esac

if command -v apk >/dev/null 2>&1; then
  apk add --no-cache "pgbackrest~$version" ca-certificates
elif command -v apt-get >/dev/null 2>&1; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "pgbackrest=$version-*" ca-certificates
  rm -rf /var/lib/apt/lists/*
else
  echo "install-pgbackrest.sh: the base image has neither apk (Alpine) nor apt-get (Debian): use an official postgres image" >&2
  exit 1
fi

installed=$(pgbackrest version | awk '{ print $2 }')
if [ "$installed" != "$version" ]; then
  echo "install-pgbackrest.sh: the distribution installed pgBackRest $installed, not $version: set postgres.pitr.pgbackrestVersion to what this base image's distribution carries" >&2
  exit 1
fi

# Spool and log go on the retained <app>-<env>-pgbackrest volume mounted here; Docker copies
# this ownership into a new, empty volume.
mkdir -p /var/lib/pgbackrest/spool /var/lib/pgbackrest/log /etc/pgbackrest
: >/etc/pgbackrest/pgbackrest.conf
chown -R postgres:postgres /var/lib/pgbackrest /etc/pgbackrest
chmod 0750 /var/lib/pgbackrest /var/lib/pgbackrest/spool /var/lib/pgbackrest/log /etc/pgbackrest
chmod 0640 /etc/pgbackrest/pgbackrest.conf
echo "install-pgbackrest.sh: pgBackRest $installed installed"
