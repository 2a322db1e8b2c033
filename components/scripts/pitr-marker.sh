#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Writes one marker row into the cluster's own small database (PITR_MARKER_DATABASE,
# default vps_pitr; table marker(id, at, note)), every few minutes by the
# PointInTimeRecovery component's timer. The markers are the points the weekly restore
# check and restore.sh pitr reason with ("this row must be there, that one must not"), and
# each one is a commit, so WAL keeps flowing and archive_timeout bounds the RPO even on a
# quiet database. Markers older than PITR_MARKER_KEEP_DAYS (default 60) are deleted.
#
# Alerts as the other jobs (notify.sh): a failure once, reminded, then RESOLVED.
# Exit status: 0 written; 1 failed (alerted); 2 bad configuration.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=notify.sh
. "$here/notify.sh"
# shellcheck source=job.sh
. "$here/job.sh"
# shellcheck source=pitr.sh
. "$here/pitr.sh"
JOB_NAME="PITR marker"
pitr_check_config
keep=${PITR_MARKER_KEEP_DAYS:-60}
[[ "$keep" =~ ^[1-9][0-9]*$ ]] || job_fail_config "PITR_MARKER_KEEP_DAYS must be a whole number of days, got '$keep'"
[[ "$PITR_MARKER_DATABASE" =~ ^[a-z_][a-z0-9_]*$ ]] || job_fail_config "PITR_MARKER_DATABASE must be a lower-case SQL identifier"

fail() {
  pitr_fail pitr-marker "PITR marker not written" "$1"
}

err=$(mktemp)
trap 'rm -f "$err"' EXIT
if ! exists=$(pitr_psql postgres "SELECT count(*) FROM pg_database WHERE datname = '$PITR_MARKER_DATABASE'" 2>"$err"); then
  fail "cannot reach PostgreSQL: $(head -c 300 "$err" | tr '\n' ' ')"
fi
if [ "$exists" = 0 ]; then
  pitr_psql postgres "CREATE DATABASE $PITR_MARKER_DATABASE" >/dev/null 2>"$err" || fail "cannot create the database $PITR_MARKER_DATABASE: $(head -c 300 "$err")"
  job_say "created the database $PITR_MARKER_DATABASE"
fi
if ! row=$(pitr_psql "$PITR_MARKER_DATABASE" "
    CREATE TABLE IF NOT EXISTS marker (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp(), note text NOT NULL DEFAULT '');
    DELETE FROM marker WHERE at < now() - interval '$keep days';
    INSERT INTO marker (note) VALUES ('marker') RETURNING id || ' ' || at" 2>"$err"); then
  fail "$(head -c 300 "$err" | tr '\n' ' ')"
fi
job_say "marker $row"
alerts_resolve "PITR marker" || job_say "the resolved notice could not be delivered (the next run tries again)"
