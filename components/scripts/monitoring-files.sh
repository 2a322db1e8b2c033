#!/usr/bin/env bash
# Writes or removes one set of the monitoring's files under the host's monitoring directory:
# the host stack's configuration (Monitoring), or an environment's targets and expectations
# (MonitoringTargets). Run by a remote command as root (sudo -n when the SSH user is not).
#
#   monitoring-files.sh write    the set's files arrive on stdin, one line each:
#                                "<mode> <uid> <relative path> <base64 content>"
#   monitoring-files.sh remove   removes every file the set wrote, nothing else
#
# A write installs every file atomically (a temporary file in the same directory, renamed),
# replaces "@NOW@" in a file's content with the current Unix time, removes the files of the
# set that are no longer in it, and, when anything changed, makes each running program of
# MON_RELOAD re-read its configuration (POST /-/reload inside its container): Prometheus and
# Alertmanager apply a changed file without being recreated. A reload that fails (the program
# refused the new file and kept running on the old one) restores the previous files and fails
# the write, so what is on disk is always what runs. A container that is not running is not
# reloaded: it reads the files when it starts. Prometheus re-reads the targets files by itself.
#
# The set's manifest, .sets/<set>.files, lists what it wrote; other sets' files (the
# environments' in the same targets directory) are never touched.
#
# Environment:
#   MON_DIR      the host's monitoring directory (absolute); created
#   MON_SET      the set's name, [a-z0-9-]+: "config" or "<app>-<env>"
#   MON_RELOAD   space-separated "<container>|<port>" of programs to reload after a change
#   DOCKER       the docker client; default docker
#
# Exit status: 0 done; 1 a reload failed (previous files restored); 2 bad input.
set -euo pipefail

action=${1:-}
dir=${MON_DIR:-}
set_name=${MON_SET:-}
say() { printf 'monitoring-files: %s\n' "$*" >&2; }
fail() {
  say "$1"
  exit "${2:-2}"
}

case "$action" in write | remove) ;; *) fail "usage: monitoring-files.sh write|remove" ;; esac
case "$dir" in /*) ;; *) fail "MON_DIR must be an absolute path, got '$dir'" ;; esac
[[ "$set_name" =~ ^[a-z0-9][a-z0-9-]*$ ]] || fail "MON_SET must be [a-z0-9-]+, got '$set_name'"

sets="$dir/.sets"
manifest="$sets/$set_name.files"
mkdir -p "$sets"
chmod 0755 "$dir"

# The set's files as the manifest lists them (none when it has not been written).
previous_list=()
if [ -f "$manifest" ]; then
  mapfile -t previous_list <"$manifest"
fi

if [ "$action" = remove ]; then
  for rel in "${previous_list[@]}"; do
    [ -n "$rel" ] && rm -f -- "${dir:?}/$rel"
  done
  rm -f "$manifest"
  say "removed the ${#previous_list[@]} files of $set_name"
  exit 0
fi

stage=$(mktemp -d "$sets/.$set_name.XXXXXX")
trap 'rm -rf "$stage"' EXIT
now=$(date +%s)
new_list=()
while read -r mode uid rel data; do
  [ -n "${mode:-}" ] || continue
  case "$mode" in 0644 | 0600) ;; *) fail "mode of $rel must be 0644 or 0600, got '$mode'" ;; esac
  [[ "$uid" =~ ^[0-9]+$ ]] || fail "owner of $rel must be a uid, got '$uid'"
  [[ "$rel" =~ ^[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$ ]] || fail "'$rel' is not a plain relative path"
  [[ "/$rel/" != */../* ]] || fail "'$rel' leaves the directory"
  mkdir -p "$stage/new/$(dirname "$rel")"
  printf '%s' "$data" | base64 -d >"$stage/new/$rel" || fail "the content of $rel is not base64"
  if grep -q '@NOW@' "$stage/new/$rel"; then
    sed -i "s/@NOW@/$now/g" "$stage/new/$rel"
  fi
  chmod "$mode" "$stage/new/$rel"
  if [ "$(id -u)" = 0 ]; then
    chown "$uid:$uid" "$stage/new/$rel"
  fi
  new_list+=("$rel")
done

# What changes: a file whose content, mode or owner differs, and the files the set no longer has.
changed=0
for rel in "${new_list[@]}"; do
  if [ ! -f "$dir/$rel" ] || ! cmp -s "$stage/new/$rel" "$dir/$rel" ||
    [ "$(stat -c '%a %u' "$stage/new/$rel")" != "$(stat -c '%a %u' "$dir/$rel")" ]; then
    changed=1
  fi
done
stale=()
for rel in "${previous_list[@]}"; do
  [ -n "$rel" ] || continue
  keep=0
  for n in "${new_list[@]}"; do
    if [ "$n" = "$rel" ]; then
      keep=1
      break
    fi
  done
  [ "$keep" = 1 ] || stale+=("$rel")
done
[ "${#stale[@]}" -eq 0 ] || changed=1

if [ "$changed" = 0 ]; then
  say "the ${#new_list[@]} files of $set_name are unchanged"
  exit 0
fi

# Keep what is there now, to put back if a program refuses the new files.
for rel in "${new_list[@]}" "${stale[@]}"; do
  if [ -f "$dir/$rel" ]; then
    mkdir -p "$stage/old/$(dirname "$rel")"
    cp -p "$dir/$rel" "$stage/old/$rel"
  fi
done

install_file() { # <from> <relative path>: rename into place (the same file system: atomic)
  mkdir -p "$dir/$(dirname "$2")"
  local tmp
  tmp=$(mktemp "$dir/$(dirname "$2")/.$(basename "$2").XXXXXX")
  cp -p "$1" "$tmp"
  mv -f "$tmp" "$dir/$2"
}
for rel in "${new_list[@]}"; do
  install_file "$stage/new/$rel" "$rel"
done
for rel in "${stale[@]}"; do
  rm -f -- "${dir:?}/$rel"
done
printf '%s\n' "${new_list[@]}" >"$manifest.tmp"
mv -f "$manifest.tmp" "$manifest"

# reload <container> <port>: POST /-/reload inside a running container; 0 also when it is not running.
reload() {
  local container=$1 port=$2 running
  running=$(timeout 30 "${DOCKER:-docker}" inspect --format '{{.State.Running}}' "$container" 2>/dev/null) || running=false
  [ "$running" = true ] || return 0
  timeout 60 "${DOCKER:-docker}" exec "$container" wget -q -O - --post-data=reload "http://127.0.0.1:$port/-/reload"
}
failed=""
for entry in ${MON_RELOAD:-}; do
  IFS='|' read -r container port <<<"$entry"
  if ! out=$(reload "$container" "$port" 2>&1); then
    failed="$container refused the new configuration: ${out//$'\n'/ }"
    break
  fi
done
if [ -z "$failed" ]; then
  say "wrote the ${#new_list[@]} files of $set_name${MON_RELOAD:+ and reloaded what runs}"
  exit 0
fi

# Put the previous files back, so that the disk holds what runs, and make the programs re-read them.
for rel in "${new_list[@]}"; do
  if [ -f "$stage/old/$rel" ]; then install_file "$stage/old/$rel" "$rel"; else rm -f -- "${dir:?}/$rel"; fi
done
for rel in "${stale[@]}"; do
  if [ -f "$stage/old/$rel" ]; then install_file "$stage/old/$rel" "$rel"; fi
done
printf '%s\n' "${previous_list[@]}" >"$manifest.tmp"
mv -f "$manifest.tmp" "$manifest"
[ "${#previous_list[@]}" -gt 0 ] || rm -f "$manifest"
for entry in ${MON_RELOAD:-}; do
  IFS='|' read -r container port <<<"$entry"
  reload "$container" "$port" >/dev/null 2>&1 || true
done
fail "$failed; the previous files are restored and still running" 1
