import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { ScheduledJob, ScheduledJobArgs } from "./scheduled-job";
import {
    alertEnvironment,
    BackupAlerts,
    BackupTarget,
    postgresEntries,
    readJobScript,
    targetEnvironment,
    validateAlerts,
    validateAppEnvironment,
    validateBackupTarget,
    validatePostgresSource,
} from "./backup-job";

/** When the restore check runs when the caller sets no schedule: Sundays 05:00 UTC, two hours after the daily backup. */
export const DEFAULT_RESTORE_CHECK_SCHEDULE = "Sun *-*-* 05:00:00 UTC";
/** Alert threshold for the newest complete backup: a daily backup plus two hours of slack. */
export const DEFAULT_MAX_BACKUP_AGE_HOURS = 26;

/** One PostgreSQL database whose newest backup is restored into a scratch database `<database>_restore_check`. */
export interface RestoreCheckDatabase {
    /** Container the database server runs in (the scratch restore runs there, with `docker exec`). */
    readonly container: string;
    /** Database whose backups are checked (as named in BackupJob's postgres). */
    readonly database: string;
    /** Role that creates, restores and drops the scratch database. */
    readonly user: string;
}

/** Arguments of {@link RestoreCheck}. */
export interface RestoreCheckArgs {
    /** SSH connection to the VPS (VpsHost.connection), as root. */
    readonly connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /** Install with `sudo -n` because the SSH user is not root (see ScheduledJobArgs.sudo). Default false. */
    readonly sudo?: boolean;
    /** Application name, `[a-z0-9][a-z0-9-]*`. */
    readonly app: string;
    /** Environment name, `[a-z0-9][a-z0-9-]*`. */
    readonly environment: string;
    /** systemd OnCalendar= of the check. Default "Sun *-*-* 05:00:00 UTC". */
    readonly onCalendar?: string;
    /** Databases to check; at least one. */
    readonly postgres: RestoreCheckDatabase[];
    /** The same target the environment's BackupJob writes to. */
    readonly target: BackupTarget;
    /** Alert when the newest complete backup is older than this many hours. Default 26. */
    readonly maxBackupAgeHours?: number;
    /** Webhook that gets the outcome of every check. */
    readonly alerts: BackupAlerts;
    /** Resources the job's install waits for. */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** Throws with a sentence naming the argument when the check cannot run. */
export function validateRestoreCheckArgs(args: Omit<RestoreCheckArgs, "connection">): void {
    validateAppEnvironment("RestoreCheck", args.app, args.environment);
    const owner = `RestoreCheck ${args.app}-${args.environment}`;
    if (args.postgres.length === 0) {
        throw new Error(`${owner}: postgres is empty; there is nothing to restore`);
    }
    args.postgres.forEach((pg, i) => validatePostgresSource(owner, i, pg));
    const h = args.maxBackupAgeHours;
    if (h !== undefined && (!Number.isInteger(h) || h < 1)) {
        throw new Error(`${owner}: maxBackupAgeHours must be a whole number of hours, at least 1, got ${h}`);
    }
    validateBackupTarget(owner, args.target);
    validateAlerts(owner, args.alerts);
}

/**
 * The ScheduledJob a RestoreCheck installs, minus the connection and dependsOn: unit
 * `<app>-<env>-restore-check` running restore-check.sh, which uses restore.sh, s3.sh and notify.sh.
 */
export function restoreCheckSpec(args: Omit<RestoreCheckArgs, "connection">): Omit<ScheduledJobArgs, "connection" | "dependsOn"> {
    validateRestoreCheckArgs(args);
    return {
        unitName: `${args.app}-${args.environment}-restore-check`,
        description: `${args.app} ${args.environment} restore check of the newest backup of ${args.postgres.map((p) => p.database).join(", ")}`,
        onCalendar: args.onCalendar ?? DEFAULT_RESTORE_CHECK_SCHEDULE,
        files: {
            "restore-check.sh": readJobScript("restore-check.sh"),
            "restore.sh": readJobScript("restore.sh"),
            "s3.sh": readJobScript("s3.sh"),
            "notify.sh": readJobScript("notify.sh"),
        },
        entrypoint: "restore-check.sh",
        environment: {
            DB_ACCESS: "docker",
            BACKUP_POSTGRES: postgresEntries(args.postgres),
            MAX_BACKUP_AGE_HOURS: String(args.maxBackupAgeHours ?? DEFAULT_MAX_BACKUP_AGE_HOURS),
            ...targetEnvironment(args.target),
            ...alertEnvironment(args.app, args.environment, args.alerts),
        },
    };
}

/**
 * The weekly proof that an environment's backups restore: a systemd timer that fetches the
 * newest complete backup of each database, verifies its SHA-256, restores it into a scratch
 * database, runs a smoke query and reports; it alerts when the newest complete backup is
 * older than `maxBackupAgeHours`. See components/scripts/restore-check.sh.
 */
export class RestoreCheck extends pulumi.ComponentResource {
    /** The systemd unit base name, `<app>-<env>-restore-check`. */
    readonly unitName: string;
    /** `<app>-<env>-restore-check.timer`. */
    readonly timerName: string;

    constructor(name: string, args: RestoreCheckArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const spec = restoreCheckSpec(args);
        super(
            "vps:index:RestoreCheck",
            name,
            { environment: args.environment, databases: args.postgres.map((p) => p.database) },
            opts,
        );
        const job = new ScheduledJob(
            `${name}-job`,
            { ...spec, connection: args.connection, sudo: args.sudo, dependsOn: args.dependsOn },
            { parent: this },
        );
        this.unitName = job.unitName;
        this.timerName = job.timerName;
        this.registerOutputs({ environment: args.environment, unitName: this.unitName, timerName: this.timerName });
    }
}
