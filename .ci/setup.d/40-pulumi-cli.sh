#!/usr/bin/env bash
# The real `pulumi` CLI for the engine suite (test/engine/), built from the Go module proxy
# because no vendor download site is reachable from these machines.
#
# What is built: github.com/pulumi/pulumi/pkg/v3/cmd/pulumi at $PULUMI_CLI_VERSION, through
# a throwaway wrapper module generated here (a go.mod that requires pkg/v3 and sdk/v3 at that
# version, with the clipboard replace that pkg's own go.mod carries, and a tools.go that
# imports the command). Nothing of it lives in the checkout: the wrapper, the binary and
# the Go caches stay under $PULUMI_CLI_CACHE (default /var/cache/vps-stacks/pulumi-cli).
#
# Idempotent: skipped when $PULUMI_CLI_CACHE/<version>/bin/pulumi exists and reports the
# version. Cost, measured on a 2-core machine of this kind: about 8.5 min and 3.5 GB of
# module and build cache cold; under a second warm. The build time is printed.
#
# The test suite finds the binary at the path printed last (test/engine/cli.ts reads the
# same default and version).
set -euo pipefail

version=${PULUMI_CLI_VERSION:-v3.274.1}
cache=${PULUMI_CLI_CACHE:-/var/cache/vps-stacks/pulumi-cli}
dir=$cache/$version
bin=$dir/bin/pulumi

if [ -x "$bin" ] && "$bin" version 2>/dev/null | grep -qx "$version"; then
  echo "pulumi $version already built at $bin"
  exit 0
fi

mkdir -p "$dir/wrapper" "$dir/bin"
cd "$dir/wrapper"

cat >go.mod <<EOF
module vps-stacks/pulumi-cli

go 1.24

require (
	github.com/pulumi/pulumi/pkg/v3 $version
	github.com/pulumi/pulumi/sdk/v3 $version
)

// pkg/v3's own go.mod carries this replace; a replace is not inherited by a dependent
// module, so the wrapper repeats it (the upstream clipboard module does not build here).
replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
EOF

cat >tools.go <<'EOF'
//go:build tools

package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
EOF

export GOFLAGS=-mod=mod
export GOMODCACHE=$cache/gomodcache
export GOCACHE=$cache/gocache
export GOTOOLCHAIN=local

start=$(date +%s)
echo "building pulumi $version into $dir (cold: about 8.5 min on 2 cores)"
go mod tidy
go build -o "$bin" \
  -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
  github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
end=$(date +%s)

built=$("$bin" version)
if [ "$built" != "$version" ]; then
  echo "built binary reports '$built', expected $version" >&2
  exit 1
fi
echo "pulumi $version built in $((end - start)) s: $bin"
