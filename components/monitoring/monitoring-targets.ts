import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { namePrefix } from "../naming";
import { fileSetCommand } from "./file-set";
import { MonitoringFile } from "./files";
import { environmentTargetFiles, ProbeTarget, targetProblem } from "./target-files";

/** A service whose metrics the host's Prometheus scrapes. */
export interface ScrapedService {
    /** The service's name (label `service`). */
    readonly service: string;
    /** Its container's name (a generated one is an Output): Prometheus reaches it by name on the host's edge network. */
    readonly container: pulumi.Input<string>;
    readonly port: number;
    /** HTTP path, e.g. /metrics. */
    readonly path: string;
}

/** Arguments of {@link MonitoringTargets}. */
export interface MonitoringTargetsArgs {
    /** Application name, e.g. "shop". */
    readonly app: string;
    /** Environment name, e.g. "staging". */
    readonly environment: string;
    /** SSH connection to the VPS (VpsHost.connection). */
    readonly connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /** Write with `sudo -n` (the SSH user is not root). Default false. */
    readonly sudo?: boolean;
    /** The host stack's monitoring directory on the VPS, from its outputs. */
    readonly monitoringDir: pulumi.Input<string>;
    /** The public URLs blackbox-exporter probes. */
    readonly probes: ProbeTarget[];
    /** The services whose metrics Prometheus scrapes. */
    readonly scrapes: ScrapedService[];
    /** The environment's backup.maxAgeHours (the limit of BackupTooOld); undefined without backups. */
    readonly backupMaxAgeHours?: number;
    /** Resources to exist first (the scraped containers). */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * What an environment publishes for the host's monitoring: its probe and scrape targets as
 * Prometheus file-based service discovery files, and its expectations (the backup age limit),
 * under the host stack's monitoring directory. Written and removed by one remote command
 * with this environment's name, so `pulumi destroy` of the environment removes its targets
 * and nothing else; Prometheus notices within 5 s, without a reload.
 */
export class MonitoringTargets extends pulumi.ComponentResource {
    /** The files, relative to the monitoring directory. */
    readonly files: pulumi.Output<string[]>;

    constructor(name: string, args: MonitoringTargetsArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("vps:index:MonitoringTargets", name, { app: args.app, environment: args.environment }, opts);
        const env = { app: args.app, environment: args.environment };
        for (const p of args.probes) {
            const problem = targetProblem(p);
            if (problem) throw new Error(`MonitoringTargets ${name}: ${problem}`);
        }
        const files: pulumi.Output<MonitoringFile[]> = pulumi
            .all(args.scrapes.map((s) => pulumi.output(s.container).apply((container) => ({ address: `${container}:${s.port}`, path: s.path, service: s.service }))))
            .apply((scrapes) => environmentTargetFiles(env, { probes: args.probes, scrapes, backupMaxAgeHours: args.backupMaxAgeHours }));
        fileSetCommand(
            `${name}-files`,
            { connection: args.connection, sudo: args.sudo, monitoringDir: args.monitoringDir, set: namePrefix(env), files },
            { parent: this, dependsOn: args.dependsOn },
        );
        this.files = files.apply((f) => f.map((x) => x.path));
        this.registerOutputs({ files: this.files });
    }
}
