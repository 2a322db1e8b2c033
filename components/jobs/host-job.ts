/**
 * What the jobs of a host stack (ImagePruneJob, DiskUsageCheck, EdgeCheck) take alike: the host
 * stack's name, where to install, when to run and where to alert; and the one way they make a
 * ScheduledJob spec from a script and its settings.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { HostJobKind, hostJobUnitName, UNIT_NAME } from "../naming";
import { readScripts } from "../scripts";
import { alertEnvVars, JobAlerts, validateAlerts } from "./alerts";
import { ScheduledJobSpec } from "./scheduled-job";
import { RestartPolicy } from "./systemd";

/** Arguments every job of a host stack takes. */
export interface HostJobArgs {
    /** SSH connection to the VPS (VpsHost.connection); see ScheduledJobArgs.connection. */
    readonly connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /** Install with `sudo -n` because the SSH user is not root (see ScheduledJobArgs.sudo). Default false. */
    readonly sudo?: boolean;
    /** The host stack's name, `[a-z0-9][a-z0-9-]*`, e.g. "vps1"; the unit is `<host>-<job>`. */
    readonly host: string;
    /** systemd OnCalendar= expression; each job has its default. */
    readonly onCalendar?: string;
    /** Where alerts go; messages are prefixed "[<host>]". */
    readonly alerts: JobAlerts;
    /** Resources the install must wait for. */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** What tells one host job from another. */
export interface HostJobKindSpec {
    readonly job: HostJobKind;
    /** Its script in components/scripts/ (it sources notify.sh and job.sh). */
    readonly script: string;
    readonly description: string;
    readonly defaultCalendar: string;
    /** The script's own settings (besides ALERT_*). */
    readonly envVars: Record<string, pulumi.Input<string>>;
    readonly timeoutSeconds?: number;
    readonly restart?: RestartPolicy;
}

/** Throws with a sentence naming the argument when `host` or the alerts cannot make a working job. */
export function validateHostJobArgs(owner: string, args: Pick<HostJobArgs, "host"> & { alerts?: Pick<JobAlerts, "format" | "reminderMinutes"> }): void {
    if (!UNIT_NAME.test(args.host)) throw new Error(`${owner}: host "${args.host}" must match [a-z0-9][a-z0-9-]*`);
    if (args.alerts) validateAlerts(`${owner} ${args.host}`, args.alerts);
}

/** The ScheduledJob of a host job: unit `<host>-<job>` running its script with its settings and the alert variables. */
export function hostJobSpec(args: HostJobArgs, kind: HostJobKindSpec): ScheduledJobSpec {
    return {
        unitName: hostJobUnitName(args, kind.job),
        description: `${kind.description} on ${args.host}`,
        onCalendar: args.onCalendar ?? kind.defaultCalendar,
        files: readScripts(kind.script, "job.sh", "notify.sh"),
        entrypoint: kind.script,
        envVars: { ...kind.envVars, ...alertEnvVars(args, args.alerts) },
        timeoutSeconds: kind.timeoutSeconds,
        restart: kind.restart,
    };
}
