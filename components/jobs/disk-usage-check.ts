import * as pulumi from "@pulumi/pulumi";
import { DISK_USAGE, HEALTH_CHECK_RESTART_POLICY, HOST_CHECK_TIMEOUT_SECONDS } from "../defaults";
import { HostJobArgs, hostJobSpec, validateHostJobArgs } from "./host-job";
import { JobComponent, ScheduledJobSpec } from "./scheduled-job";

/** Arguments of {@link DiskUsageCheck}. */
export interface DiskUsageCheckArgs extends HostJobArgs {
    /** Used space, in percent (1–99), above which a file system is alerted. Default {@link DISK_USAGE}.thresholdPercent (80). */
    readonly thresholdPercent?: number;
    /** Absolute paths whose file systems are checked. Default {@link DISK_USAGE}.paths (/ and /var/lib/docker). */
    readonly paths?: string[];
}

/** The ScheduledJob a DiskUsageCheck installs: `<host>-disk-usage` running disk-usage.sh (every 15 minutes by default). */
export function diskUsageSpec(args: DiskUsageCheckArgs): ScheduledJobSpec {
    validateHostJobArgs("DiskUsageCheck", args);
    const threshold = args.thresholdPercent ?? DISK_USAGE.thresholdPercent;
    if (!Number.isInteger(threshold) || threshold < 1 || threshold > 99) throw new Error(`DiskUsageCheck ${args.host}: thresholdPercent must be a whole number from 1 to 99, got ${threshold}`);
    const paths = args.paths ?? [...DISK_USAGE.paths];
    const bad = paths.find((p) => !/^\/\S*$/.test(p));
    if (paths.length === 0 || bad !== undefined) throw new Error(`DiskUsageCheck ${args.host}: paths must be absolute paths without spaces, got "${bad ?? ""}"`);
    return hostJobSpec(args, {
        job: "disk-usage",
        script: "disk-usage.sh",
        description: `Disk usage check (alerts above ${threshold} %)`,
        defaultCalendar: DISK_USAGE.schedule,
        envVars: { DISK_THRESHOLD_PERCENT: String(threshold), DISK_PATHS: paths.join(" ") },
        timeoutSeconds: HOST_CHECK_TIMEOUT_SECONDS,
        // A full disk is answered by the alert (exit 1), not by running the check again.
        restart: HEALTH_CHECK_RESTART_POLICY,
    });
}

/**
 * The host's disk-usage check: alerts when the file system of any of `paths` is fuller than
 * `thresholdPercent`, reminds while it lasts and says RESOLVED when it is not. See
 * components/scripts/disk-usage.sh.
 */
export class DiskUsageCheck extends JobComponent {
    constructor(name: string, args: DiskUsageCheckArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("vps:index:DiskUsageCheck", name, { host: args.host }, diskUsageSpec(args), args, opts);
        this.registerOutputs({ unitName: this.unitName, timerName: this.timerName });
    }
}
