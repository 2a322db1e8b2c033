#!/usr/bin/env bash
# Debian's Prometheus, Alertmanager (with amtool), node-exporter and blackbox-exporter: the
# tests check the generated monitoring configuration with promtool, amtool and
# blackbox-exporter --config.check, and the integration suite runs all four on loopback.
# Their postinst starts nothing where systemd is not running (invoke-rc.d finds no runlevel).
# Idempotent.
set -euo pipefail

# shellcheck source=.ci/lib/debian.sh
. "$(dirname "$0")/../lib/debian.sh"
ensure_debian_packages prometheus prometheus-alertmanager prometheus-node-exporter prometheus-blackbox-exporter
