/**
 * Entry point of the Pulumi program (package.json `main`; Pulumi.yaml sets none): reads and
 * validates the stack's configuration, builds the kind of stack it says it is (an environment,
 * or a host stack that owns a VPS's shared edge), exports its outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { buildEnvironment } from "../compose/environment";
import { buildHost } from "../compose/host";
import { ConfigError } from "../config/types";
import { loadStackConfig } from "./stack-config";

function load() {
    try {
        return loadStackConfig();
    } catch (err) {
        // A RunError is printed by the Pulumi CLI as its message alone: a config
        // mistake is a user error, not a crash, and gets no stack trace.
        if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
        throw err;
    }
}

const cfg = load();

/**
 * The stack outputs of an environment: `urls` (https URL of every public host),
 * `dataVolumeNames` (the retained volumes, `<app>-<env>-<role>`: what survives `pulumi
 * destroy`), `networkNames`, `containerNames` (of each application service), `jobTimers`
 * (systemd timers on the VPS), `dnsRecords` (host names with a record in this stack),
 * `backupBucket` (retained, and protected in production) and `backupPrefix`
 * (`<app>/<env>/`). Of a host stack: `edge` (what attached environments read through their
 * StackReference, compose/edge.ts), `dataVolumeNames` (`<host>-acme`, and the monitoring's
 * volumes), `proxyContainer`, `jobTimers`, `monitoringDir` (where attached environments publish
 * their targets) and, with monitoring, `grafanaUrl`.
 */
function outputs(): Record<string, unknown> {
    if (cfg.kind === "host") {
        const { edge, dataVolumeNames, proxyContainer, jobTimers, monitoringDir, grafanaUrl } = buildHost(cfg);
        return { edge, dataVolumeNames, proxyContainer, jobTimers, monitoringDir, grafanaUrl };
    }
    const { urls, dataVolumeNames, networkNames, containerNames, jobTimers, dnsRecords, backupBucket, backupPrefix } = buildEnvironment(cfg);
    return { urls, dataVolumeNames, networkNames, containerNames, jobTimers, dnsRecords, backupBucket, backupPrefix };
}

// The module's exports are the stack outputs. Each kind exports its own, set here rather than
// as `export const` so that the other kind's are absent rather than undefined (which the SDK
// warns about on every run); an undefined optional one (no bucket) is left out too.
Object.assign(module.exports, Object.fromEntries(Object.entries(outputs()).filter(([, v]) => v !== undefined)));
