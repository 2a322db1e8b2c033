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
/**
 * When the backup freshness check runs when the caller sets no schedule: daily 06:00 UTC, three
 * hours after the daily backup, so a backup timer that stopped is noticed within a day (the
 * weekly restore check alone would notice it up to a week late).
 */
export const DEFAULT_FRESHNESS_CHECK_SCHEDULE = "*-*-* 06:00:00 UTC";
/** TimeoutStartSec= of the freshness check: it only lists the bucket, once per source; an hour would hide a hung store. */
export const FRESHNESS_CHECK_TIMEOUT_SECONDS = 600;

// Docker's own rule for container names (as BackupJob checks them).
const CONTAINER = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** One PostgreSQL database whose newest backup is restored into a scratch database `<database>_restore_check`. */
export interface RestoreCheckDatabase {
    /** Container the database server runs in (the scratch restore runs there, with `docker exec`). */
    readonly container: string;
    /** Database whose backups are checked (as named in BackupJob's postgres). */
    readonly database: string;
    /** Role that creates, restores and drops the scratch database. */
    readonly user: string;
}

/** One Redis instance whose newest backup (`redis-<container>-<stamp>-<run>.rdb`) is load-tested weekly and aged daily. */
export interface RestoreCheckRedis {
    /** The Redis container, as named in BackupJob's redis (it names the backup objects; its image runs the scratch redis-server). */
    readonly container: string;
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
    /** systemd OnCalendar= of the weekly restore check. Default "Sun *-*-* 05:00:00 UTC". */
    readonly onCalendar?: string;
    /** systemd OnCalendar= of the daily backup freshness check. Default "*-*-* 06:00:00 UTC". */
    readonly freshnessOnCalendar?: string;
    /** Databases to restore weekly and to age daily; may be empty when redis is not. */
    readonly postgres: RestoreCheckDatabase[];
    /** Redis instances whose snapshots are loaded weekly into a scratch redis-server and aged daily. Default none. */
    readonly redis?: RestoreCheckRedis[];
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
    const redis = args.redis ?? [];
    if (args.postgres.length === 0 && redis.length === 0) {
        throw new Error(`${owner}: postgres and redis are both empty; there is no backup to check`);
    }
    args.postgres.forEach((pg, i) => validatePostgresSource(owner, i, pg));
    redis.forEach((r, i) => {
        if (!CONTAINER.test(r.container)) {
            throw new Error(`${owner}: redis[${i}].container "${r.container}" is not a Docker container name`);
        }
    });
    const h = args.maxBackupAgeHours;
    if (h !== undefined && (!Number.isInteger(h) || h < 1)) {
        throw new Error(`${owner}: maxBackupAgeHours must be a whole number of hours, at least 1, got ${h}`);
    }
    validateBackupTarget(owner, args.target);
    validateAlerts(owner, args.alerts);
}

/** The files both jobs install: restore-check.sh, which uses restore.sh, s3.sh, db.sh, job.sh and notify.sh. */
function checkFiles(): Record<string, string> {
    return {
        "restore-check.sh": readJobScript("restore-check.sh"),
        "restore.sh": readJobScript("restore.sh"),
        "s3.sh": readJobScript("s3.sh"),
        "db.sh": readJobScript("db.sh"),
        "job.sh": readJobScript("job.sh"),
        "notify.sh": readJobScript("notify.sh"),
    };
}

/**
 * The weekly ScheduledJob a RestoreCheck installs, minus the connection and dependsOn: unit
 * `<app>-<env>-restore-check` running restore-check.sh in its default (restore) mode: every
 * PostgreSQL backup restored into a scratch database, every Redis snapshot loaded into a
 * scratch redis-server with its key count compared.
 */
export function restoreCheckSpec(args: Omit<RestoreCheckArgs, "connection">): Omit<ScheduledJobArgs, "connection" | "dependsOn"> {
    validateRestoreCheckArgs(args);
    const redis = args.redis ?? [];
    const covered = [...args.postgres.map((p) => p.database), ...redis.map((r) => `Redis ${r.container}`)];
    return {
        unitName: `${args.app}-${args.environment}-restore-check`,
        description: `${args.app} ${args.environment} restore check of the newest backup of ${covered.join(", ")}`,
        onCalendar: args.onCalendar ?? DEFAULT_RESTORE_CHECK_SCHEDULE,
        files: checkFiles(),
        entrypoint: "restore-check.sh",
        environment: {
            DB_ACCESS: "docker",
            BACKUP_POSTGRES: postgresEntries(args.postgres),
            BACKUP_REDIS: redis.map((r) => r.container).join(" "),
            MAX_BACKUP_AGE_HOURS: String(args.maxBackupAgeHours ?? DEFAULT_MAX_BACKUP_AGE_HOURS),
            ...targetEnvironment(args.target),
            ...alertEnvironment(args.app, args.environment, args.alerts),
        },
    };
}

/**
 * The daily ScheduledJob a RestoreCheck installs, minus the connection and dependsOn: unit
 * `<app>-<env>-backup-freshness` running the same restore-check.sh with
 * RESTORE_CHECK_MODE=freshness: it lists the bucket and alerts when the newest complete backup
 * of a database or Redis instance is missing or older than `maxBackupAgeHours`; it downloads
 * and restores nothing, and a pass goes to the journal only.
 */
export function freshnessCheckSpec(args: Omit<RestoreCheckArgs, "connection">): Omit<ScheduledJobArgs, "connection" | "dependsOn"> {
    validateRestoreCheckArgs(args);
    const redis = args.redis ?? [];
    const covered = [...args.postgres.map((p) => `PostgreSQL ${p.database}`), ...redis.map((r) => `Redis ${r.container}`)];
    return {
        unitName: `${args.app}-${args.environment}-backup-freshness`,
        description: `${args.app} ${args.environment} freshness check of the newest backup of ${covered.join(", ")}`,
        onCalendar: args.freshnessOnCalendar ?? DEFAULT_FRESHNESS_CHECK_SCHEDULE,
        files: checkFiles(),
        entrypoint: "restore-check.sh",
        timeoutSeconds: FRESHNESS_CHECK_TIMEOUT_SECONDS,
        environment: {
            RESTORE_CHECK_MODE: "freshness",
            BACKUP_POSTGRES: postgresEntries(args.postgres),
            BACKUP_REDIS: redis.map((r) => r.container).join(" "),
            MAX_BACKUP_AGE_HOURS: String(args.maxBackupAgeHours ?? DEFAULT_MAX_BACKUP_AGE_HOURS),
            ...targetEnvironment(args.target),
            ...alertEnvironment(args.app, args.environment, args.alerts),
        },
    };
}

/**
 * The proof that an environment's backups restore and are fresh, as two systemd timers:
 * - weekly `<app>-<env>-restore-check`: fetches the newest complete backup of each database
 *   and Redis instance, verifies its SHA-256 (falling back to the newest that verifies, and
 *   alerting that the newest did not), restores PostgreSQL into a scratch database with a
 *   smoke query and loads Redis into a scratch redis-server with its key count compared to
 *   the one recorded at backup time, and reports; it also alerts on a stale backup;
 * - daily `<app>-<env>-backup-freshness`: alerts when the newest complete backup of a
 *   database or Redis instance is missing, older than `maxBackupAgeHours` or stamped in the
 *   future, so a backup timer that stopped is noticed within a day instead of at the next
 *   weekly check.
 * See components/scripts/restore-check.sh.
 */
export class RestoreCheck extends pulumi.ComponentResource {
    /** The weekly restore check's systemd unit base name, `<app>-<env>-restore-check`. */
    readonly unitName: string;
    /** `<unitName>.timer`. */
    readonly timerName: string;
    /** `<app>-<env>-backup-freshness.timer`. */
    readonly freshnessTimerName: string;
    /** Every timer it installs: the restore check's, then the freshness check's. */
    readonly timerNames: string[];

    constructor(name: string, args: RestoreCheckArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const restoreSpec = restoreCheckSpec(args);
        const freshnessSpec = freshnessCheckSpec(args);
        super(
            "vps:index:RestoreCheck",
            name,
            {
                environment: args.environment,
                databases: args.postgres.map((p) => p.database),
                redis: (args.redis ?? []).map((r) => r.container),
            },
            opts,
        );
        const common = { connection: args.connection, sudo: args.sudo, dependsOn: args.dependsOn };
        // The weekly job keeps the child name it had before the freshness job existed, so existing stacks keep its URN.
        const restoreJob = new ScheduledJob(`${name}-job`, { ...restoreSpec, ...common }, { parent: this });
        const freshnessJob = new ScheduledJob(`${name}-freshness-job`, { ...freshnessSpec, ...common }, { parent: this });
        this.unitName = restoreJob.unitName;
        this.timerName = restoreJob.timerName;
        this.freshnessTimerName = freshnessJob.timerName;
        this.timerNames = [restoreJob.timerName, freshnessJob.timerName];
        this.registerOutputs({
            environment: args.environment,
            unitName: this.unitName,
            timerName: this.timerName,
            freshnessTimerName: this.freshnessTimerName,
            timerNames: this.timerNames,
        });
    }
}
