#!/usr/bin/env bash
# Debian packages the lint step and the integration tests use. Idempotent.
set -euo pipefail

# shellcheck source=.ci/lib/debian.sh
. "$(dirname "$0")/../lib/debian.sh"
ensure_debian_packages shellcheck curl jq
