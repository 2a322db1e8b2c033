#!/usr/bin/env bash
# Object-store helpers shared by backup.sh, restore.sh and restore-check.sh: one rclone
# remote named "backup", configured from the environment only (no rclone.conf).
#
# Sourced:  . "$(dirname "$0")/s3.sh"; s3_init
#
# Needs on the VPS: rclone (Debian package `rclone`, 1.60 or newer), sha256sum (coreutils).
#
# Environment (from the job's root-only env file):
#   S3_BUCKET             bucket name
#   S3_PREFIX             key prefix inside the bucket, "" or ending in "/", e.g. "shop/staging/"
#   S3_REGION             region, e.g. "eu-central-1" (S3-compatible stores accept their own)
#   S3_ENDPOINT           endpoint URL of an S3-compatible store (B2, Wasabi, R2, Spaces,
#                         MinIO); empty or unset for AWS S3
#   S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY   the environment's backup credential
#
# Layout and completeness (the guarantee every script relies on):
#   <prefix><tier>/<name>-<YYYYmmddTHHMMSSZ>.<ext>          the backup (tier: daily|weekly|monthly)
#   <prefix><tier>/<name>-<YYYYmmddTHHMMSSZ>.<ext>.sha256   its sidecar, "<sha256>  <basename>"
# The sidecar is written last, only after the backup object is uploaded and its size
# checked. A backup is complete only when its sidecar exists, and good only when the
# downloaded bytes match the sidecar. Listings and restores ignore objects without a
# sidecar, so an upload cut short can never be taken for a backup.
#
# Credentials reach rclone through RCLONE_CONFIG_BACKUP_* variables of this process, never
# through its command line, so they do not show up in `ps`.

# The stamp in a key: sorts as text in time order, and is the backup's time for the
# freshness check. Spelled without {n}: Debian 12's default awk (mawk 1.3.4-20200120)
# does not know interval expressions.
S3_STAMP_RE='[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z'

s3_init() {
  local missing=() v
  for v in S3_BUCKET S3_REGION S3_ACCESS_KEY_ID S3_SECRET_ACCESS_KEY; do
    [ -n "${!v:-}" ] || missing+=("$v")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "s3: missing environment: ${missing[*]}" >&2
    return 2
  fi
  S3_PREFIX=${S3_PREFIX:-}
  if [ -n "$S3_PREFIX" ] && [ "${S3_PREFIX%/}" = "$S3_PREFIX" ]; then
    echo "s3: S3_PREFIX must be empty or end with '/', got '$S3_PREFIX'" >&2
    return 2
  fi
  export RCLONE_CONFIG=/dev/null
  export RCLONE_CONFIG_BACKUP_TYPE=s3
  export RCLONE_CONFIG_BACKUP_ENV_AUTH=false
  export RCLONE_CONFIG_BACKUP_ACCESS_KEY_ID="$S3_ACCESS_KEY_ID"
  export RCLONE_CONFIG_BACKUP_SECRET_ACCESS_KEY="$S3_SECRET_ACCESS_KEY"
  export RCLONE_CONFIG_BACKUP_REGION="$S3_REGION"
  if [ -n "${S3_ENDPOINT:-}" ]; then
    export RCLONE_CONFIG_BACKUP_PROVIDER=Other
    export RCLONE_CONFIG_BACKUP_ENDPOINT="$S3_ENDPOINT"
    export RCLONE_CONFIG_BACKUP_FORCE_PATH_STYLE=true
  else
    export RCLONE_CONFIG_BACKUP_PROVIDER=AWS
  fi
  # The least-privilege credential may not create or inspect buckets.
  export RCLONE_CONFIG_BACKUP_NO_CHECK_BUCKET=true
  # Debian's rclone 1.60 refuses to start when AWS_CA_BUNDLE is set
  # (LoadCustomCABundleError); hand the bundle over as its own --ca-cert instead.
  S3_RCLONE_FLAGS=(--quiet --retries 1 --low-level-retries 3 --contimeout 10s --timeout 60s)
  if [ -n "${AWS_CA_BUNDLE:-}" ]; then
    S3_RCLONE_FLAGS+=(--ca-cert "$AWS_CA_BUNDLE")
    unset AWS_CA_BUNDLE
  fi
}

s3_rclone() {
  rclone "${S3_RCLONE_FLAGS[@]}" "$@"
}

# s3_path <key>: the rclone path of a key of the bucket.
s3_path() {
  printf 'backup:%s/%s' "$S3_BUCKET" "$1"
}

# s3_put_stream <key>: uploads stdin (multipart when large, size not needed in advance).
s3_put_stream() {
  s3_rclone rcat "$(s3_path "$1")"
}

# s3_copy <from-key> <to-key>: server-side copy inside the bucket.
s3_copy() {
  s3_rclone copyto --no-check-dest "$(s3_path "$1")" "$(s3_path "$2")"
}

# s3_delete <key>: deletes one object; succeeds when it is already gone.
s3_delete() {
  local err
  if ! err=$(s3_rclone deletefile "$(s3_path "$1")" 2>&1); then
    case "$err" in
      *"doesn't exist"* | *"not found"* | *NoSuchKey*) return 0 ;;
    esac
    printf '%s\n' "$err" >&2
    return 1
  fi
}

# s3_size <key>: prints the stored size in bytes.
s3_size() {
  local json
  json=$(s3_rclone lsjson --stat "$(s3_path "$1")") || return 1
  printf '%s\n' "$json" | sed -n 's/.*"Size": *\([0-9][0-9]*\).*/\1/p'
}

# s3_get <key> <file>: downloads one object to a local file.
s3_get() {
  s3_rclone copyto --no-check-dest "$(s3_path "$1")" "$2"
}

# s3_list_complete <name> <ext>: the keys (relative to the bucket) of the complete
# backups of <name>, one per line, oldest first. A backup copied into several tiers is
# listed once, from the first tier that has it complete (daily, then weekly, monthly).
s3_list_complete() {
  local name=$1 ext=$2 listing
  listing=$(s3_rclone lsf --files-only --recursive "$(s3_path "$S3_PREFIX")") || return 1
  printf '%s\n' "$listing" | awk -v name="$name" -v ext="$ext" -v prefix="$S3_PREFIX" -v stamp_re="$S3_STAMP_RE" '
    function tier_rank(t) { return t == "daily" ? 1 : (t == "weekly" ? 2 : 3) }
    {
      n = split($0, parts, "/")
      if (n != 2 || (parts[1] != "daily" && parts[1] != "weekly" && parts[1] != "monthly")) next
      base = parts[2]
      # The name is compared as text (container names may hold dots), the rest as a pattern.
      if (substr(base, 1, length(name) + 1) != name "-") next
      rest = substr(base, length(name) + 2)
      re = "^" stamp_re "\\." ext
      if (rest ~ (re "$")) { have[$0] = 1; next }
      if (rest ~ (re "\\.sha256$")) { sidecar[substr($0, 1, length($0) - 7)] = 1 }
    }
    END {
      for (k in have) {
        if (!(k in sidecar)) continue
        split(k, parts, "/")
        base = parts[2]
        if (!(base in best) || tier_rank(parts[1]) < tier_rank(best_tier[base])) {
          best[base] = k; best_tier[base] = parts[1]
        }
      }
      for (b in best) print b "\t" prefix best[b]
    }' | sort | cut -f2
}

# s3_newest_complete <name> <ext>: the key of the newest complete backup of <name>, or
# nothing (status 1) when there is none.
s3_newest_complete() {
  local keys
  keys=$(s3_list_complete "$1" "$2") || return 1
  [ -n "$keys" ] || return 1
  printf '%s\n' "$keys" | tail -n 1
}

# s3_key_stamp_epoch <key>: the backup time encoded in the key, as Unix seconds.
s3_key_stamp_epoch() {
  local stamp
  stamp=$(printf '%s\n' "$1" | grep -oE "$S3_STAMP_RE" | tail -n 1) || return 1
  date -u -d "${stamp:0:4}-${stamp:4:2}-${stamp:6:2} ${stamp:9:2}:${stamp:11:2}:${stamp:13:2}" +%s
}

# s3_fetch_verified <key> <file>: downloads a backup and its sidecar and checks that the
# bytes match; fails (and removes <file>) when the sidecar is missing or does not match.
s3_fetch_verified() {
  local key=$1 file=$2 expected actual
  if ! expected=$(s3_rclone cat "$(s3_path "$key.sha256")"); then
    echo "s3: no sidecar $key.sha256: not a complete backup" >&2
    return 1
  fi
  expected=${expected%% *}
  if ! [[ "$expected" =~ ^[0-9a-f]{64}$ ]]; then
    echo "s3: sidecar $key.sha256 holds no SHA-256" >&2
    return 1
  fi
  s3_get "$key" "$file" || { rm -f "$file"; return 1; }
  actual=$(sha256sum "$file") || { rm -f "$file"; return 1; }
  actual=${actual%% *}
  if [ "$actual" != "$expected" ]; then
    echo "s3: checksum mismatch for $key: sidecar $expected, downloaded $actual" >&2
    rm -f "$file"
    return 1
  fi
}
