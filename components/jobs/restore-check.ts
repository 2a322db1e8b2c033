import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { BACKUP_SCHEDULES, FRESHNESS_CHECK_TIMEOUT_SECONDS, MAX_BACKUP_AGE_HOURS } from "../defaults";
import { EnvironmentName, jobUnitName, namePrefix, validateUnitNameParts } from "../naming";
import { readScripts } from "../scripts";
import { alertEnvVars, JobAlerts, validateAlerts } from "./alerts";
import {
    BackupTarget,
    PostgresDatabase,
    RedisInstance,
    sourceEnvVars,
    targetEnvVars,
    validateBackupTarget,
    validatePostgresSource,
    validateRedisSource,
    validateVolumeSource,
    VolumeBackupSource,
} from "./backup-job";
import { JobComponent, ScheduledJobSpec } from "./scheduled-job";

/**
 * What a check of an environment's backups reads: the sources the BackupJob writes, its
 * target, the age limit and where to alert. The weekly {@link RestoreCheck} and the daily
 * BackupFreshnessCheck (backup-freshness-check.ts) take these; both run restore-check.sh.
 */
export interface BackupCheckArgs extends EnvironmentName {
    /** SSH connection to the VPS (VpsHost.connection); see ScheduledJobArgs.connection. */
    readonly connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /** Install with `sudo -n` because the SSH user is not root (see ScheduledJobArgs.sudo). Default false. */
    readonly sudo?: boolean;
    /** Application name, `[a-z0-9][a-z0-9-]*`. */
    readonly app: string;
    /** Environment name, `[a-z0-9][a-z0-9-]*`. */
    readonly environment: string;
    /** systemd OnCalendar= of the check (defaults: see each component). */
    readonly onCalendar?: string;
    /** Databases whose backups are checked (as named in BackupJob's postgres); may be empty when redis is not. */
    readonly postgres: PostgresDatabase[];
    /** Redis instances whose snapshots are checked (as named in BackupJob's redis). Default none. */
    readonly redis?: RedisInstance[];
    /** Service volumes whose archives are checked (as named in BackupJob's volumes). Default none. */
    readonly volumes?: VolumeBackupSource[];
    /** The same target the environment's BackupJob writes to. */
    readonly target: BackupTarget;
    /** Alert when the newest complete backup is older than this many hours. Default {@link MAX_BACKUP_AGE_HOURS} (26). */
    readonly maxBackupAgeHours?: number;
    /** Webhook that gets the outcome of every check. */
    readonly alerts: JobAlerts;
    /** Resources the job's install waits for. */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * What tells the two checks of the backups apart; restore-check.sh runs both, by mode. The
 * restore check (its default mode) restores into scratch copies through `docker exec`; the
 * freshness check only lists the bucket, so an hour's timeout would hide a hung store.
 */
const BACKUP_CHECKS = {
    restore: {
        component: "RestoreCheck",
        unit: "restore-check",
        what: "restore check",
        schedule: BACKUP_SCHEDULES.restoreCheckSchedule,
        timeoutSeconds: undefined,
        envVars: { DB_ACCESS: "docker" },
        postgresLabel: (database: string) => database,
    },
    freshness: {
        component: "BackupFreshnessCheck",
        unit: "backup-freshness",
        what: "freshness check",
        schedule: BACKUP_SCHEDULES.freshnessCheckSchedule,
        timeoutSeconds: FRESHNESS_CHECK_TIMEOUT_SECONDS,
        envVars: { RESTORE_CHECK_MODE: "freshness" },
        postgresLabel: (database: string) => `PostgreSQL ${database}`,
    },
} as const;

/** Throws with a sentence naming the argument when a check of the backups cannot run; `component` names it. */
export function validateBackupCheckArgs(component: string, args: Omit<BackupCheckArgs, "connection">): void {
    validateUnitNameParts(component, args);
    const owner = `${component} ${namePrefix(args)}`;
    const redis = args.redis ?? [];
    const volumes = args.volumes ?? [];
    if (args.postgres.length === 0 && redis.length === 0 && volumes.length === 0) {
        throw new Error(`${owner}: postgres, redis and volumes are all empty; there is no backup to check`);
    }
    args.postgres.forEach((pg, i) => validatePostgresSource(owner, i, pg));
    redis.forEach((r, i) => validateRedisSource(owner, i, r));
    volumes.forEach((v, i) => validateVolumeSource(owner, i, v));
    const h = args.maxBackupAgeHours;
    if (h !== undefined && (!Number.isInteger(h) || h < 1)) {
        throw new Error(`${owner}: maxBackupAgeHours must be a whole number of hours, at least 1, got ${h}`);
    }
    validateBackupTarget(owner, args.target);
    validateAlerts(owner, args.alerts);
}

/**
 * The ScheduledJob of a check of the backups, minus the connection and dependsOn: unit
 * `<app>-<env>-restore-check` or `<app>-<env>-backup-freshness` running restore-check.sh in
 * that mode, with restore.sh, s3.sh, db.sh, job.sh and notify.sh beside it.
 */
export function backupCheckSpec(kind: keyof typeof BACKUP_CHECKS, args: Omit<BackupCheckArgs, "connection">): ScheduledJobSpec {
    const check = BACKUP_CHECKS[kind];
    validateBackupCheckArgs(check.component, args);
    const redis = args.redis ?? [];
    const covered = [
        ...args.postgres.map((p) => check.postgresLabel(p.database)),
        ...redis.map((r) => `Redis ${r.container}`),
        ...(args.volumes ?? []).map((v) => `volume ${v.volume}`),
    ];
    return {
        unitName: jobUnitName(args, check.unit),
        description: `${args.app} ${args.environment} ${check.what} of the newest backup of ${covered.join(", ")}`,
        onCalendar: args.onCalendar ?? check.schedule,
        files: readScripts("restore-check.sh", "restore.sh", "s3.sh", "db.sh", "job.sh", "notify.sh"),
        entrypoint: "restore-check.sh",
        timeoutSeconds: check.timeoutSeconds,
        envVars: {
            ...check.envVars,
            ...sourceEnvVars(args.postgres, redis, args.volumes),
            MAX_BACKUP_AGE_HOURS: String(args.maxBackupAgeHours ?? MAX_BACKUP_AGE_HOURS),
            ...targetEnvVars(args.target),
            ...alertEnvVars(args, args.alerts),
        },
    };
}

/** The props a check of the backups registers: what it checks. */
export function backupCheckProps(args: Omit<BackupCheckArgs, "connection">): Record<string, unknown> {
    return {
        environment: args.environment,
        databases: args.postgres.map((p) => p.database),
        redis: (args.redis ?? []).map((r) => r.container),
        ...(args.volumes && args.volumes.length > 0 ? { volumes: args.volumes.map((v) => v.volume) } : {}),
    };
}

/** Arguments of {@link RestoreCheck}; `onCalendar` defaults to {@link BACKUP_SCHEDULES}.restoreCheckSchedule ("Sun *-*-* 05:00:00 UTC"). */
export type RestoreCheckArgs = BackupCheckArgs;

/**
 * The weekly ScheduledJob a RestoreCheck installs: restore-check.sh in its default (restore)
 * mode, every PostgreSQL backup restored into a scratch database, every Redis snapshot loaded
 * into a scratch redis-server with its key count compared.
 */
export function restoreCheckSpec(args: Omit<RestoreCheckArgs, "connection">): ScheduledJobSpec {
    return backupCheckSpec("restore", args);
}

/**
 * The weekly proof that an environment's backups restore: a systemd timer
 * `<app>-<env>-restore-check` that fetches the newest complete backup of each database and
 * Redis instance, verifies its SHA-256 (falling back to the newest that verifies, and alerting
 * that the newest did not), restores PostgreSQL into a scratch database with a smoke query and
 * loads Redis into a scratch redis-server with its key count compared to the one recorded at
 * backup time, and reports; it also alerts on a stale backup. The daily freshness check is
 * BackupFreshnessCheck. See components/scripts/restore-check.sh.
 */
export class RestoreCheck extends JobComponent {
    constructor(name: string, args: RestoreCheckArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("vps:index:RestoreCheck", name, backupCheckProps(args), restoreCheckSpec(args), args, opts);
        this.registerOutputs({ environment: args.environment, unitName: this.unitName, timerName: this.timerName });
    }
}
