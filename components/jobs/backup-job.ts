import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { ScheduledJob, ScheduledJobArgs } from "./scheduled-job";

/** When the backup runs when the caller sets no schedule: daily at 03:00 UTC, as the setups it replaces. */
export const DEFAULT_BACKUP_SCHEDULE = "*-*-* 03:00:00 UTC";

/** Where the backups of one environment go: its bucket, under its own key prefix. */
export interface BackupTarget {
    /** Bucket name (from the BackupBucket component or config). */
    readonly bucket: pulumi.Input<string>;
    /** Key prefix inside the bucket, "" or ending in "/", e.g. "shop/staging/"; objects go under <prefix>daily/, weekly/, monthly/. */
    readonly prefix: string;
    /** Region of the bucket, e.g. "eu-central-1" (S3-compatible stores take their own, e.g. "auto" for R2). */
    readonly region: string;
    /** S3-compatible endpoint URL (B2, Wasabi, R2, Spaces, MinIO), http(s); undefined for AWS. */
    readonly endpoint?: string;
    /** Access key id of the environment's least-privilege backup credential. */
    readonly accessKeyId: pulumi.Input<string>;
    /** Its secret access key; pass a secret Output. */
    readonly secretAccessKey: pulumi.Input<string>;
}

/** While a problem lasts, how often a job alerts it again (Alertmanager's repeat_interval default): 4 hours. */
export const DEFAULT_ALERT_REMINDER_MINUTES = 240;

/** Where a job reports success and failure. */
export interface BackupAlerts {
    /** Incoming-webhook URL (Discord or Slack, https only); a secret Output. */
    readonly webhookUrl: pulumi.Input<string>;
    /** Body format of the webhook: "discord" ({content}) or "slack" ({text}). */
    readonly format: "discord" | "slack";
    /**
     * Minutes between reminders of a problem that lasts (the health check alerts a broken check
     * once, then every this many minutes, then a RESOLVED notice). Whole number, 1-10080.
     * Default 240 ({@link DEFAULT_ALERT_REMINDER_MINUTES}).
     */
    readonly reminderMinutes?: number;
}

/** One PostgreSQL database to back up. */
export interface PostgresBackupSource {
    /** Name of the container the database runs in (`docker exec` target), e.g. "shop-staging-postgres". */
    readonly container: string;
    /** Database to dump with pg_dump; names the backup objects (`postgres-<database>-<stamp>.dump`). */
    readonly database: string;
    /** Role pg_dump connects as (through the container's local socket). */
    readonly user: string;
    /** The data volume this backup covers, e.g. "shop-staging-postgres-data". */
    readonly volume: string;
}

/** One Redis instance to back up. */
export interface RedisBackupSource {
    /** Name of the Redis container (`docker exec` target); names the objects (`redis-<container>-<stamp>.rdb`). */
    readonly container: string;
    /** The data volume this backup covers, e.g. "shop-staging-redis-data". */
    readonly volume: string;
}

/** Arguments of {@link BackupJob}. */
export interface BackupJobArgs {
    /** SSH connection to the VPS (VpsHost.connection), as root. */
    readonly connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /** Install with `sudo -n` because the SSH user is not root (see ScheduledJobArgs.sudo). Default false. */
    readonly sudo?: boolean;
    /** Application name, `[a-z0-9][a-z0-9-]*`, e.g. "shop". */
    readonly app: string;
    /** Environment name, `[a-z0-9][a-z0-9-]*`, e.g. "staging". */
    readonly environment: string;
    /** systemd OnCalendar= of the backup. Default "*-*-* 03:00:00 UTC" ({@link DEFAULT_BACKUP_SCHEDULE}). */
    readonly onCalendar?: string;
    /** PostgreSQL databases to dump (custom format); database names must be unique. */
    readonly postgres: PostgresBackupSource[];
    /** Redis instances to snapshot (RDB); container names must be unique. */
    readonly redis: RedisBackupSource[];
    /** Bucket, prefix and credential the backups go to. */
    readonly target: BackupTarget;
    /** Webhook that gets the success or failure message of every run. */
    readonly alerts: BackupAlerts;
    /** Resources the job's install waits for (e.g. the database containers). */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

const NAME = /^[a-z0-9][a-z0-9-]*$/;
// Docker's own rule for container names.
const CONTAINER = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
// Database and role names the scripts pass as words of BACKUP_POSTGRES ("<container>:<db>:<user>").
const PG_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/;

const SCRIPTS_DIR = path.join(__dirname, "..", "scripts");

/** The content of a job script shipped in components/scripts/ (read at construction, so it is part of the job's content hash). */
export function readJobScript(file: string): string {
    return fs.readFileSync(path.join(SCRIPTS_DIR, file), "utf8");
}

/** S3's bucket naming rules, as s3.sh checks them (a "/" would address another bucket). */
export function isBucketName(b: string): boolean {
    return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(b) && !b.includes("..") && !/^\d+\.\d+\.\d+\.\d+$/.test(b);
}

/** Throws with a sentence naming the field when a backup target cannot work. Used by BackupJob and RestoreCheck. */
export function validateBackupTarget(owner: string, target: BackupTarget): void {
    const p = target.prefix;
    // As s3.sh checks it: no empty, "." or ".." segment, S3's safe characters only.
    const segmentsOk = p === "" || p.slice(0, -1).split("/").every((seg) => seg !== "" && seg !== "." && seg !== "..");
    if (p !== "" && (!p.endsWith("/") || p.startsWith("/") || p.includes("//") || !/^[A-Za-z0-9._!*'()/-]+$/.test(p) || !segmentsOk)) {
        throw new Error(`${owner}: target.prefix "${p}" must be "" or a relative key prefix ending in "/" (no "//", "." or ".." segments), e.g. "shop/staging/"`);
    }
    if (typeof target.bucket === "string" && !isBucketName(target.bucket)) {
        throw new Error(`${owner}: target.bucket "${target.bucket}" is not an S3 bucket name (3-63 of a-z 0-9 . -, no "/" or "..")`);
    }
    if (!target.region.trim()) {
        throw new Error(`${owner}: target.region must not be empty`);
    }
    if (target.endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(target.endpoint)) {
        throw new Error(`${owner}: target.endpoint "${target.endpoint}" must be an http(s) URL, or undefined for AWS`);
    }
}

/** Throws with a sentence naming the field when the alert settings are unusable. */
export function validateAlerts(owner: string, alerts: Pick<BackupAlerts, "format" | "reminderMinutes">): void {
    if (alerts.format !== "discord" && alerts.format !== "slack") {
        throw new Error(`${owner}: alerts.format must be "discord" or "slack", got "${alerts.format}"`);
    }
    const m = alerts.reminderMinutes;
    if (m !== undefined && (!Number.isInteger(m) || m < 1 || m > 10080)) {
        throw new Error(`${owner}: alerts.reminderMinutes must be a whole number of minutes from 1 to 10080 (a week), got ${m}`);
    }
}

/** Throws with a sentence naming the argument when app or environment cannot name a systemd unit. */
export function validateAppEnvironment(owner: string, app: string, environment: string): void {
    if (!NAME.test(app)) {
        throw new Error(`${owner}: app "${app}" must match [a-z0-9][a-z0-9-]*`);
    }
    if (!NAME.test(environment)) {
        throw new Error(`${owner}: environment "${environment}" must match [a-z0-9][a-z0-9-]*`);
    }
}

/** Throws when a PostgreSQL source cannot be written as a "<container>:<database>:<user>" word. */
export function validatePostgresSource(owner: string, i: number, pg: { container: string; database: string; user: string }): void {
    if (!CONTAINER.test(pg.container)) {
        throw new Error(`${owner}: postgres[${i}].container "${pg.container}" is not a Docker container name`);
    }
    if (!PG_NAME.test(pg.database)) {
        throw new Error(`${owner}: postgres[${i}].database "${pg.database}" must match [A-Za-z_][A-Za-z0-9_-]* (at most 63 characters)`);
    }
    if (!PG_NAME.test(pg.user)) {
        throw new Error(`${owner}: postgres[${i}].user "${pg.user}" must match [A-Za-z_][A-Za-z0-9_-]* (at most 63 characters)`);
    }
}

/** Throws with a sentence naming the argument when the job cannot back up what it is given. */
export function validateBackupJobArgs(args: Omit<BackupJobArgs, "connection">): void {
    const owner = `BackupJob ${args.app}-${args.environment}`;
    validateAppEnvironment("BackupJob", args.app, args.environment);
    if (args.postgres.length === 0 && args.redis.length === 0) {
        throw new Error(`${owner}: postgres and redis are both empty; a backup job must cover at least one data volume`);
    }
    args.postgres.forEach((pg, i) => validatePostgresSource(owner, i, pg));
    args.redis.forEach((r, i) => {
        if (!CONTAINER.test(r.container)) {
            throw new Error(`${owner}: redis[${i}].container "${r.container}" is not a Docker container name`);
        }
    });
    const dup = (xs: string[]) => xs.find((x, i) => xs.indexOf(x) !== i);
    const dbDup = dup(args.postgres.map((p) => p.database));
    if (dbDup !== undefined) {
        throw new Error(`${owner}: postgres database "${dbDup}" is listed twice; its backups would share one key`);
    }
    const redisDup = dup(args.redis.map((r) => r.container));
    if (redisDup !== undefined) {
        throw new Error(`${owner}: redis container "${redisDup}" is listed twice; its backups would share one key`);
    }
    const volumes = [...args.postgres.map((p) => p.volume), ...args.redis.map((r) => r.volume)];
    const empty = volumes.findIndex((v) => !v || !v.trim());
    if (empty >= 0) {
        throw new Error(`${owner}: every postgres/redis entry must name its volume`);
    }
    const volDup = dup(volumes);
    if (volDup !== undefined) {
        throw new Error(`${owner}: volume "${volDup}" is covered twice`);
    }
    validateBackupTarget(owner, args.target);
    validateAlerts(owner, args.alerts);
}

/** The S3_* variables of s3.sh for a target; S3_ENDPOINT only for S3-compatible stores. */
export function targetEnvironment(target: BackupTarget): Record<string, pulumi.Input<string>> {
    const env: Record<string, pulumi.Input<string>> = {
        S3_BUCKET: target.bucket,
        S3_PREFIX: target.prefix,
        S3_REGION: target.region,
        S3_ACCESS_KEY_ID: target.accessKeyId,
        S3_SECRET_ACCESS_KEY: target.secretAccessKey,
    };
    if (target.endpoint !== undefined) {
        env.S3_ENDPOINT = target.endpoint;
    }
    return env;
}

/** The ALERT_* variables of notify.sh; messages are prefixed "[<app>/<environment>]". */
export function alertEnvironment(app: string, environment: string, alerts: BackupAlerts): Record<string, pulumi.Input<string>> {
    return {
        ALERT_WEBHOOK_URL: alerts.webhookUrl,
        ALERT_WEBHOOK_FORMAT: alerts.format,
        ALERT_PREFIX: `[${app}/${environment}]`,
        ALERT_REMINDER_MINUTES: String(alerts.reminderMinutes ?? DEFAULT_ALERT_REMINDER_MINUTES),
    };
}

/** BACKUP_POSTGRES of the scripts: space-separated "<container>:<database>:<user>". */
export function postgresEntries(pg: { container: string; database: string; user: string }[]): string {
    return pg.map((p) => `${p.container}:${p.database}:${p.user}`).join(" ");
}

/**
 * The ScheduledJob a BackupJob installs, minus the connection and dependsOn: unit
 * `<app>-<env>-backup` running backup.sh, with restore.sh (the restore command a person
 * runs) and the shared s3.sh, db.sh, job.sh and notify.sh beside it. Databases are reached with
 * `docker exec` (DB_ACCESS=docker).
 */
export function backupJobSpec(args: Omit<BackupJobArgs, "connection">): Omit<ScheduledJobArgs, "connection" | "dependsOn"> {
    validateBackupJobArgs(args);
    const covered = [...args.postgres.map((p) => `PostgreSQL ${p.database}`), ...args.redis.map((r) => `Redis ${r.container}`)];
    return {
        unitName: `${args.app}-${args.environment}-backup`,
        description: `${args.app} ${args.environment} backup of ${covered.join(", ")} to the backup bucket`,
        onCalendar: args.onCalendar ?? DEFAULT_BACKUP_SCHEDULE,
        files: {
            "backup.sh": readJobScript("backup.sh"),
            "restore.sh": readJobScript("restore.sh"),
            "s3.sh": readJobScript("s3.sh"),
            "db.sh": readJobScript("db.sh"),
            "job.sh": readJobScript("job.sh"),
            "notify.sh": readJobScript("notify.sh"),
        },
        entrypoint: "backup.sh",
        environment: {
            DB_ACCESS: "docker",
            BACKUP_POSTGRES: postgresEntries(args.postgres),
            BACKUP_REDIS: args.redis.map((r) => r.container).join(" "),
            ...targetEnvironment(args.target),
            ...alertEnvironment(args.app, args.environment, args.alerts),
        },
    };
}

/**
 * The daily backup of one environment on the VPS: a systemd timer that dumps every
 * PostgreSQL database (pg_dump, custom format) and snapshots every Redis instance (RDB),
 * uploads each with a SHA-256 sidecar to `<prefix>daily/` (copies to `weekly/` on Sundays
 * and `monthly/` on the 1st), and posts the outcome to the alert webhook; see
 * components/scripts/backup.sh. Its props name the data volumes it covers, which a policy
 * checks against every postgres/redis volume of the environment.
 */
export class BackupJob extends pulumi.ComponentResource {
    /** The systemd unit base name, `<app>-<env>-backup`. */
    readonly unitName: string;
    /** `<app>-<env>-backup.timer`. */
    readonly timerName: string;
    /** The data volumes this job backs up. */
    readonly volumes: string[];

    constructor(name: string, args: BackupJobArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const spec = backupJobSpec(args);
        const volumes = [...args.postgres.map((p) => p.volume), ...args.redis.map((r) => r.volume)];
        super("vps:index:BackupJob", name, { environment: args.environment, volumes }, opts);
        const job = new ScheduledJob(
            `${name}-job`,
            { ...spec, connection: args.connection, sudo: args.sudo, dependsOn: args.dependsOn },
            { parent: this },
        );
        this.unitName = job.unitName;
        this.timerName = job.timerName;
        this.volumes = volumes;
        this.registerOutputs({ environment: args.environment, unitName: this.unitName, timerName: this.timerName, volumes: this.volumes });
    }
}
