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
#   S3_CLOCK_SKEW_SECONDS how far in the future a backup's stamp may be before it counts as
#                         written by a clock that was wrong; default 300
#
# Layout and completeness (the guarantee every script relies on):
#   <prefix><tier>/<name>-<YYYYmmddTHHMMSSZ>-<run>.<ext>            the backup (tier: daily|weekly|monthly;
#                                                                    <run>: 8 hex digits unique to the run)
#   <prefix><tier>/<name>-<YYYYmmddTHHMMSSZ>-<run>.<ext>.manifest   optional facts about it (Redis: key count)
#   <prefix><tier>/<name>-<YYYYmmddTHHMMSSZ>-<run>.<ext>.sha256     its sidecar, "<sha256>  <basename>"
# Keys written before run ids existed (no "-<run>") are read the same way. The run id keeps
# two runs with the same stamp (a re-run) from ever writing or deleting each other's objects.
# The sidecar is written last, only after every stage of the upload succeeded, the stored
# size matched and the checksum was checked to be 64 hex digits. A backup is complete only
# when its sidecar exists, and good only when the downloaded bytes match the sidecar.
# Listings and restores ignore objects without a sidecar, so an upload cut short can never
# be taken for a backup. A backup stamped in the future (S3_CLOCK_SKEW_SECONDS) is never
# "the newest": the scripts report it as a clock problem instead.
#
# Credentials reach rclone through RCLONE_CONFIG_BACKUP_* variables of this process, never
# through its command line, so they do not show up in `ps`.

# The stamp in a key: sorts as text in time order, and is the backup's time for the
# freshness check. Spelled without {n}: Debian 12's default awk (mawk 1.3.4-20200120)
# does not know interval expressions.
S3_STAMP_RE='[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z'
# The run id after the stamp (optional: keys written before run ids have none).
S3_RUN_RE='(-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f])?'

# s3_valid_bucket <name>: S3's bucket naming rules (3-63 of a-z 0-9 . -, starting and ending
# with a letter or digit, no "..", not an IP address): a "/" would address another bucket.
s3_valid_bucket() {
  [[ "$1" =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] && [[ "$1" != *..* ]] &&
    ! [[ "$1" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]]
}

# s3_valid_prefix <prefix>: "" or relative "segment/.../" of S3's safe characters, with no
# empty, "." or ".." segment: anything else could write to another place in the bucket.
s3_valid_prefix() {
  local p=$1 seg segs
  [ -z "$p" ] && return 0
  [[ "$p" =~ ^[A-Za-z0-9._!*\'()/-]+/$ ]] || return 1
  [[ "$p" != /* && "$p" != *//* ]] || return 1
  IFS=/ read -r -a segs <<<"${p%/}"
  for seg in "${segs[@]}"; do
    [ -n "$seg" ] && [ "$seg" != . ] && [ "$seg" != .. ] || return 1
  done
}

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
  for v in S3_BUCKET S3_PREFIX S3_REGION S3_ENDPOINT; do
    if [[ "${!v:-}" == *$'\r'* ]]; then
      printf '%s\n' "s3: $v ends with a carriage return: the env file has Windows (CRLF) line endings; convert it (sed -i 's/\\r\$//' <file>)" >&2
      return 2
    fi
  done
  if ! s3_valid_bucket "$S3_BUCKET"; then
    echo "s3: S3_BUCKET '$S3_BUCKET' is not a bucket name (3-63 of a-z 0-9 . -, starting and ending with a letter or digit, no '/', no '..')" >&2
    return 2
  fi
  if ! s3_valid_prefix "$S3_PREFIX"; then
    echo "s3: S3_PREFIX must be empty or a relative key prefix ending in '/' (no leading '/', no '//', no '.' or '..' segment, S3's safe characters only), got '$S3_PREFIX'" >&2
    return 2
  fi
  local endpoint_re='^https?://[][A-Za-z0-9.:-]+/?$'
  if [ -n "${S3_ENDPOINT:-}" ] && ! [[ "$S3_ENDPOINT" =~ $endpoint_re ]]; then
    echo "s3: S3_ENDPOINT must be http(s)://host[:port], got '$S3_ENDPOINT'" >&2
    return 2
  fi
  S3_CLOCK_SKEW_SECONDS=${S3_CLOCK_SKEW_SECONDS:-300}
  [[ "$S3_CLOCK_SKEW_SECONDS" =~ ^[0-9]+$ ]] || {
    echo "s3: S3_CLOCK_SKEW_SECONDS must be a whole number of seconds, got '$S3_CLOCK_SKEW_SECONDS'" >&2
    return 2
  }
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
  # Retries with backoff: every HTTP request (each part of a multipart upload included, which
  # rclone keeps in memory) is retried by the AWS SDK up to 8 times, exponentially from 30 ms
  # (about 8 s in all), and that twice by rclone's pacer, so a store that drops for a few
  # seconds does not cost the night's backup; whole copy/delete operations are retried 3
  # times, 2 s apart. Removing what a failed run left is best effort with few retries
  # (S3_QUICK_FLAGS): without a sidecar it never counts anyway.
  S3_RCLONE_FLAGS=(--quiet --retries 3 --retries-sleep 2s --low-level-retries 8 --contimeout 10s --timeout 60s)
  S3_QUICK_FLAGS=(--quiet --retries 1 --low-level-retries 2 --contimeout 5s --timeout 20s)
  if [ -n "${AWS_CA_BUNDLE:-}" ]; then
    S3_RCLONE_FLAGS+=(--ca-cert "$AWS_CA_BUNDLE")
    S3_QUICK_FLAGS+=(--ca-cert "$AWS_CA_BUNDLE")
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

# s3_delete <key> [quick]: deletes one object; succeeds when it is already gone. With
# "quick", few retries (cleaning up after a failure).
s3_delete() {
  local err flags=("${S3_RCLONE_FLAGS[@]}")
  [ "${2:-}" != quick ] || flags=("${S3_QUICK_FLAGS[@]}")
  if ! err=$(rclone "${flags[@]}" deletefile "$(s3_path "$1")" 2>&1); then
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
  printf '%s\n' "$listing" | awk -v name="$name" -v ext="$ext" -v prefix="$S3_PREFIX" -v stamp_re="$S3_STAMP_RE" -v run_re="$S3_RUN_RE" '
    function tier_rank(t) { return t == "daily" ? 1 : (t == "weekly" ? 2 : 3) }
    {
      n = split($0, parts, "/")
      if (n != 2 || (parts[1] != "daily" && parts[1] != "weekly" && parts[1] != "monthly")) next
      base = parts[2]
      # The name is compared as text (container names may hold dots), the rest as a pattern.
      if (substr(base, 1, length(name) + 1) != name "-") next
      rest = substr(base, length(name) + 2)
      re = "^" stamp_re run_re "\\." ext
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
    }' | LC_ALL=C sort | cut -f2
}

# s3_newest_complete <name> <ext> [<now>]: the key of the newest complete backup of <name>
# not stamped after <now> (Unix seconds; default the clock) plus S3_CLOCK_SKEW_SECONDS, or
# nothing (status 1) when there is none. Backups stamped later are listed in S3_FUTURE_KEYS.
s3_newest_complete() {
  local keys
  keys=$(s3_list_complete "$1" "$2") || return 1
  s3_usable_keys "${3:-$(date -u +%s)}" "$keys" | tail -n 1 | grep .
}

# s3_usable_keys <now> <keys>: prints the keys (oldest first) whose stamp is not in the
# future of <now>; sets S3_FUTURE_KEYS to the others (a clock that was wrong wrote them).
s3_usable_keys() {
  local now=$1 key epoch
  S3_FUTURE_KEYS=()
  while IFS= read -r key; do
    [ -n "$key" ] || continue
    epoch=$(s3_key_stamp_epoch "$key") || continue
    if [ "$epoch" -gt $((now + ${S3_CLOCK_SKEW_SECONDS:-300})) ]; then
      S3_FUTURE_KEYS+=("$key")
    else
      printf '%s\n' "$key"
    fi
  done <<<"$2"
}

# s3_key_stamp_epoch <key>: the backup time encoded in the key, as Unix seconds.
s3_key_stamp_epoch() {
  local stamp
  stamp=$(printf '%s\n' "$1" | grep -oE "$S3_STAMP_RE" | tail -n 1) || return 1
  date -u -d "${stamp:0:4}-${stamp:4:2}-${stamp:6:2} ${stamp:9:2}:${stamp:11:2}:${stamp:13:2}" +%s
}

# s3_sidecar_ok <line> <basename>: the sidecar line is "<64 hex>  <basename>".
s3_sidecar_ok() {
  [[ "$1" =~ ^[0-9a-f]{64}\ \ (.+)$ ]] && [ "${BASH_REMATCH[1]}" = "$2" ]
}

# s3_sidecar_sha <key>: prints the SHA-256 the sidecar of <key> holds. Status 1: the store
# failed; 3: no usable sidecar (empty, or not "<64 hex>  ...").
s3_sidecar_sha() {
  local key=$1 sidecar expected
  if ! sidecar=$(s3_rclone cat "$(s3_path "$key.sha256")"); then
    echo "s3: cannot read the sidecar $key.sha256" >&2
    return 1
  fi
  if [ -z "$sidecar" ]; then
    echo "s3: the sidecar $key.sha256 is empty: not a complete backup" >&2
    return 3
  fi
  expected=${sidecar%% *}
  if ! [[ "$expected" =~ ^[0-9a-f]{64}$ ]]; then
    echo "s3: the sidecar $key.sha256 holds no SHA-256 ('${sidecar:0:80}')" >&2
    return 3
  fi
  printf '%s\n' "$expected"
}

# s3_fetch_verified <key> <file>: downloads a backup, hashing it as it arrives, and checks it
# against its sidecar. Removes <file> on any failure. Status 1: the store or the local disk
# failed (nothing is known about the backup); 3: the backup does not verify (no or a
# malformed sidecar, or the bytes do not match it).
s3_fetch_verified() {
  local key=$1 file=$2 expected actual status
  expected=$(s3_sidecar_sha "$key") || return
  s3_rclone cat "$(s3_path "$key")" | tee "$file" | sha256sum >"$file.sha"
  status=("${PIPESTATUS[@]}")
  actual=$(cut -d' ' -f1 "$file.sha" 2>/dev/null)
  rm -f "$file.sha"
  if [ "${status[0]}" -ne 0 ]; then
    echo "s3: download of $key failed (rclone exit ${status[0]})" >&2
    rm -f "$file"
    return 1
  fi
  if [ "${status[1]}" -ne 0 ] || [ "${status[2]}" -ne 0 ] || ! [[ "$actual" =~ ^[0-9a-f]{64}$ ]]; then
    echo "s3: could not write and hash $key in $(dirname "$file") (tee exit ${status[1]}, sha256sum exit ${status[2]}; disk full?)" >&2
    rm -f "$file"
    return 1
  fi
  if [ "$actual" != "$expected" ]; then
    echo "s3: checksum mismatch for $key: sidecar $expected, downloaded $actual" >&2
    rm -f "$file"
    return 3
  fi
}
