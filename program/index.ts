/**
 * Entry point of the Pulumi program (package.json `main`; Pulumi.yaml sets none): reads and
 * validates the stack's configuration, builds the environment, exports its outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { buildEnvironment } from "../compose/environment";
import { ConfigError } from "../config/types";
import { loadEnvironmentConfig } from "./stack-config";

function load() {
    try {
        return loadEnvironmentConfig();
    } catch (err) {
        // A RunError is printed by the Pulumi CLI as its message alone: a config
        // mistake is a user error, not a crash, and gets no stack trace.
        if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
        throw err;
    }
}

const environment = buildEnvironment(load());

/** https URL of every public host. */
export const urls = environment.urls;
/** Retained data volumes (`<app>-<env>-<role>`): what survives `pulumi destroy`. */
export const dataVolumeNames = environment.dataVolumeNames;
/** The environment's Docker networks. */
export const networkNames = environment.networkNames;
/** Container name of each application service. */
export const containerNames = environment.containerNames;
/** systemd timers of the scheduled jobs on the VPS. */
export const jobTimers = environment.jobTimers;
/** Host names with a DNS record in this stack. */
export const dnsRecords = environment.dnsRecords;
/** The backup bucket: retained by `pulumi destroy` (and protected in production). */
export const backupBucket = environment.backupBucket;
/** Where this environment's backups are in the bucket (`<app>/<env>/daily|weekly|monthly/`). */
export const backupPrefix = environment.backupPrefix;
