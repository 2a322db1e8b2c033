import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HEALTH_CHECK_RESTART_POLICY, PITR, PITR_JOB_TIMEOUT_SECONDS, PITR_QUICK_JOB_TIMEOUT_SECONDS } from "../defaults";
import { EnvironmentName, isContainerName, jobUnitName, networkName, PITR_JOB_KINDS, PitrJobKind, postgresDataVolumeName, validateUnitNameParts } from "../naming";
import { archiveLagLimitSeconds } from "../pgbackrest";
import { readScripts } from "../scripts";
import { alertEnvVars, JobAlerts, validateAlerts } from "./alerts";
import { ScheduledJob, ScheduledJobSpec } from "./scheduled-job";
import { jobPaths, remoteShell } from "./systemd";

/** Arguments of {@link PointInTimeRecovery}. */
export interface PointInTimeRecoveryArgs extends EnvironmentName {
    /** SSH connection to the VPS (VpsHost.connection); see ScheduledJobArgs.connection. */
    readonly connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /** Install with `sudo -n` because the SSH user is not root (see ScheduledJobArgs.sudo). Default false. */
    readonly sudo?: boolean;
    /** The PostgreSQL container that archives WAL (its fixed name, `<app>-<env>-postgres`). */
    readonly container: string;
    /** The role the jobs connect as (postgres.user, the image's superuser). */
    readonly pgUser: string;
    /** RPO target in minutes (the lag check's limit: the RPO minus archive_timeout). */
    readonly rpoMinutes: number;
    /** Memory limit of the restore check's throwaway server, in MiB (postgres.memory). */
    readonly memoryMb: number;
    /** systemd OnCalendar= of each job. Defaults: {@link PITR}. */
    readonly schedules?: Partial<Record<"fullSchedule" | "diffSchedule" | "lagCheckSchedule" | "markerSchedule" | "restoreCheckSchedule", string>>;
    /** The data volume the server mounts: a change (a PITR promote) starts a full backup at once, as does enabling PITR. */
    readonly dataVolume: string;
    /** The volumes point-in-time recovery depends on (data, kept, pgBackRest's spool): the policy pack checks they are retained. */
    readonly volumes: string[];
    /** Where alerts go. */
    readonly alerts: JobAlerts;
    /** Resources the installs wait for (the PostgreSQL container). */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** Throws with a sentence naming the argument when the jobs cannot work. */
export function validatePointInTimeRecoveryArgs(args: Omit<PointInTimeRecoveryArgs, "connection">): void {
    validateUnitNameParts("PointInTimeRecovery", args);
    const owner = `PointInTimeRecovery ${args.app}-${args.environment}`;
    if (!isContainerName(args.container)) throw new Error(`${owner}: container "${args.container}" is not a Docker container name`);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(args.pgUser)) throw new Error(`${owner}: pgUser "${args.pgUser}" must be a role name`);
    if (!Number.isInteger(args.rpoMinutes) || args.rpoMinutes < 1 || args.rpoMinutes > 60) throw new Error(`${owner}: rpoMinutes must be a whole number 1-60, got ${args.rpoMinutes}`);
    if (!Number.isInteger(args.memoryMb) || args.memoryMb < 6) throw new Error(`${owner}: memoryMb must be a whole number of MiB, at least 6, got ${args.memoryMb}`);
    if (args.volumes.length === 0) throw new Error(`${owner}: volumes must name the data volume at least`);
    validateAlerts(owner, args.alerts);
}

/** What each job runs: its entrypoint and what it needs beside it, its timeout and restart policy, and its own settings. */
const JOBS: Record<PitrJobKind, { what: string; schedule: keyof typeof PITR; entrypoint: string; files: string[]; quick: boolean; env?: Record<string, string> }> = {
    "pitr-full": { what: "weekly full PITR backup (counted after verify)", schedule: "fullSchedule", entrypoint: "pitr-backup.sh", files: [], quick: false, env: { PITR_BACKUP_TYPE: "full" } },
    "pitr-diff": { what: "daily differential PITR backup (counted after verify)", schedule: "diffSchedule", entrypoint: "pitr-backup.sh", files: [], quick: false, env: { PITR_BACKUP_TYPE: "diff" } },
    "pitr-lag-check": { what: "WAL archive-lag check", schedule: "lagCheckSchedule", entrypoint: "pitr-lag-check.sh", files: [], quick: true },
    "pitr-marker": { what: "PITR marker row", schedule: "markerSchedule", entrypoint: "pitr-marker.sh", files: [], quick: true },
    // restore.sh (with pitr-restore.sh) is the PITR restore a person runs; it reads this job's env file.
    "pitr-restore-check": {
        what: "weekly PITR restore check",
        schedule: "restoreCheckSchedule",
        entrypoint: "pitr-restore-check.sh",
        files: ["restore.sh", "pitr-restore.sh", "db.sh", "s3.sh"],
        quick: false,
    },
};

/** The ScheduledJob of one PITR job kind, minus connection and dependsOn. */
export function pitrJobSpec(kind: PitrJobKind, args: Omit<PointInTimeRecoveryArgs, "connection">): ScheduledJobSpec {
    validatePointInTimeRecoveryArgs(args);
    const job = JOBS[kind];
    return {
        unitName: jobUnitName(args, kind),
        description: `${args.app} ${args.environment} ${job.what} of ${args.container}`,
        onCalendar: args.schedules?.[job.schedule as keyof NonNullable<PointInTimeRecoveryArgs["schedules"]>] ?? String(PITR[job.schedule]),
        files: readScripts(job.entrypoint, ...job.files, "pitr.sh", "job.sh", "notify.sh"),
        entrypoint: job.entrypoint,
        timeoutSeconds: job.quick ? PITR_QUICK_JOB_TIMEOUT_SECONDS : PITR_JOB_TIMEOUT_SECONDS,
        // The per-minute jobs are retried only when they died, like the health check: a found
        // problem (exit 1) is answered by its alert, and the next run comes within minutes.
        restart: job.quick ? HEALTH_CHECK_RESTART_POLICY : undefined,
        envVars: { ...pitrEnvVars(args), ...(job.env ?? {}) },
    };
}

/** The settings every PITR job reads (pitr.sh); the repository's own are in the container. */
export function pitrEnvVars(args: Omit<PointInTimeRecoveryArgs, "connection">): Record<string, pulumi.Input<string>> {
    return {
        DB_ACCESS: "docker",
        PITR_CONTAINER: args.container,
        PITR_PG_USER: args.pgUser,
        PITR_LAG_LIMIT_SECONDS: String(archiveLagLimitSeconds(args.rpoMinutes)),
        PITR_NETWORK: networkName(args, "pitr"),
        PITR_MEMORY_MB: String(args.memoryMb),
        PITR_SCRATCH_PREFIX: `${jobUnitName(args, "pitr-restore-check")}`,
        PITR_VOLUME_PREFIX: postgresDataVolumeName(args),
        PITR_FULL_UNIT: jobPaths(jobUnitName(args, "pitr-full")).serviceName,
        ...alertEnvVars(args, args.alerts),
    };
}

/**
 * Point-in-time recovery's jobs for one environment, each a ScheduledJob (systemd timer) with
 * the alerting of the other jobs (one alert per problem, reminders, RESOLVED):
 * - `<app>-<env>-pitr-full` (weekly) and `-pitr-diff` (daily): a pgBackRest backup, counted
 *   only after `pgbackrest verify` passed (pitr-backup.sh);
 * - `-pitr-lag-check` (every minute): the archiver's lag, failures and dropped WAL;
 * - `-pitr-marker` (every few minutes): a marker row in the cluster's `vps_pitr` database;
 * - `-pitr-restore-check` (weekly): a restore to a moment between two markers into a
 *   throwaway server, checked and removed; its directory also holds restore.sh's pitr commands.
 * Plus a remote command that starts the full backup at once when PITR is enabled or the data
 * volume changes (a promote): a new timeline starts from a backup, not from a week-old one.
 * Its props name the volumes and units, which the policy pack checks.
 */
export class PointInTimeRecovery extends pulumi.ComponentResource {
    /** The systemd timers of the five jobs. */
    readonly timerNames: string[];

    constructor(name: string, args: PointInTimeRecoveryArgs, opts: pulumi.ComponentResourceOptions = {}) {
        validatePointInTimeRecoveryArgs(args);
        const units = PITR_JOB_KINDS.map((kind) => jobUnitName(args, kind));
        super("vps:index:PointInTimeRecovery", name, { environment: args.environment, container: args.container, volumes: args.volumes, units }, opts);
        const jobs = PITR_JOB_KINDS.map(
            (kind) =>
                new ScheduledJob(
                    `${name}-${kind.replace(/^pitr-/, "")}`,
                    { ...pitrJobSpec(kind, args), connection: args.connection, sudo: args.sudo, dependsOn: args.dependsOn },
                    { parent: this },
                ),
        );
        this.timerNames = jobs.map((j) => j.timerName);
        const full = jobPaths(jobUnitName(args, "pitr-full")).serviceName;
        new command.remote.Command(
            `${name}-full-now`,
            {
                connection: args.connection,
                // --no-block: pulumi up does not wait for the backup; its outcome is the job's alert.
                create: remoteShell(`systemctl start --no-block ${full}`, args.sudo),
                triggers: [args.dataVolume],
                addPreviousOutputInEnv: false,
            },
            { parent: this, dependsOn: jobs },
        );
        this.registerOutputs({ environment: args.environment, timerNames: this.timerNames });
    }
}
