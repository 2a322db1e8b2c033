import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { BACKUP_SCHEDULES } from "../defaults";
import { isBucketName, isContainerName, jobUnitName, namePrefix, validateUnitNameParts } from "../naming";
import { readScripts } from "../scripts";
import { alertEnvVars, JobAlerts, validateAlerts } from "./alerts";
import { metricsEnvVars } from "./metrics";
import { JobComponent, ScheduledJobSpec } from "./scheduled-job";

/** Where the backups of one environment go: its bucket, under its own key prefix. */
export interface BackupTarget {
    /** Bucket name (from the BackupStorage component or config). */
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

/** A PostgreSQL database the backup job dumps and the checks restore or age. */
export interface PostgresDatabase {
    /** Name of the container the database runs in (`docker exec` target), e.g. "shop-staging-postgres". */
    readonly container: string;
    /** Database to dump with pg_dump; names the backup objects (`postgres-<database>-<stamp>.dump`). */
    readonly database: string;
    /** Role pg_dump (and the restore check) connects as, through the container's local socket. */
    readonly user: string;
}

/** One PostgreSQL database to back up. */
export interface PostgresBackupSource extends PostgresDatabase {
    /** The data volume this backup covers, e.g. "shop-staging-postgres-data". */
    readonly volume: string;
}

/** A Redis instance the backup job snapshots and the checks load or age. */
export interface RedisInstance {
    /** Name of the Redis container (`docker exec` target); names the objects (`redis-<container>-<stamp>-<run>.rdb`). */
    readonly container: string;
}

/** One Redis instance to back up. */
export interface RedisBackupSource extends RedisInstance {
    /** The data volume this backup covers, e.g. "shop-staging-redis-data". */
    readonly volume: string;
}

/** A service's own Docker volume the backup job archives (tar) and the checks extract or age. */
export interface VolumeBackupSource {
    /** The Docker volume name, `<app>-<env>-<service>-<role>`; names the objects (`volume-<volume>-<stamp>-<run>.tar`). */
    readonly volume: string;
}

/** Arguments of {@link BackupJob}. */
export interface BackupJobArgs {
    /** SSH connection to the VPS (VpsHost.connection); see ScheduledJobArgs.connection. */
    readonly connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /** Install with `sudo -n` because the SSH user is not root (see ScheduledJobArgs.sudo). Default false. */
    readonly sudo?: boolean;
    /** Application name, `[a-z0-9][a-z0-9-]*`, e.g. "shop". */
    readonly app: string;
    /** Environment name, `[a-z0-9][a-z0-9-]*`, e.g. "staging". */
    readonly environment: string;
    /** systemd OnCalendar= of the backup. Default {@link BACKUP_SCHEDULES}.schedule ("*-*-* 03:00:00 UTC"). */
    readonly onCalendar?: string;
    /** PostgreSQL databases to dump (custom format); database names must be unique. */
    readonly postgres: PostgresBackupSource[];
    /** Redis instances to snapshot (RDB); container names must be unique. */
    readonly redis: RedisBackupSource[];
    /** The services' own volumes to archive (tar, their containers paused meanwhile). Default none. */
    readonly volumes?: VolumeBackupSource[];
    /** Password of the Redis instances (`REDISCLI_AUTH`, passed to redis-cli through the environment). Default none. */
    readonly redisPassword?: pulumi.Input<string>;
    /** Bucket, prefix and credential the backups go to. */
    readonly target: BackupTarget;
    /** Webhook that gets the success or failure message of every run. */
    readonly alerts: JobAlerts;
    /** The host's node-exporter textfile directory, where each run writes its outcome and the time of the last success. Default none. */
    readonly metricsDir?: pulumi.Input<string>;
    /** Resources the job's install waits for (e.g. the database containers). */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

// Database and role names the scripts pass as words of BACKUP_POSTGRES ("<container>:<db>:<user>").
const PG_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/;

/** Throws with a sentence naming the field when a backup target cannot work. Used by every backup job and check. */
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

/** Throws when a PostgreSQL source cannot be written as a "<container>:<database>:<user>" word. */
export function validatePostgresSource(owner: string, i: number, pg: PostgresDatabase): void {
    if (!isContainerName(pg.container)) {
        throw new Error(`${owner}: postgres[${i}].container "${pg.container}" is not a Docker container name`);
    }
    if (!PG_NAME.test(pg.database)) {
        throw new Error(`${owner}: postgres[${i}].database "${pg.database}" must match [A-Za-z_][A-Za-z0-9_-]* (at most 63 characters)`);
    }
    if (!PG_NAME.test(pg.user)) {
        throw new Error(`${owner}: postgres[${i}].user "${pg.user}" must match [A-Za-z_][A-Za-z0-9_-]* (at most 63 characters)`);
    }
}

/** Throws when a volume source is not a Docker volume name. */
export function validateVolumeSource(owner: string, i: number, v: VolumeBackupSource): void {
    if (!isContainerName(v.volume)) {
        throw new Error(`${owner}: volumes[${i}].volume "${v.volume}" is not a Docker volume name`);
    }
}

/** Throws when a Redis source names no Docker container. */
export function validateRedisSource(owner: string, i: number, redis: RedisInstance): void {
    if (!isContainerName(redis.container)) {
        throw new Error(`${owner}: redis[${i}].container "${redis.container}" is not a Docker container name`);
    }
}

/** Throws with a sentence naming the argument when the job cannot back up what it is given. */
export function validateBackupJobArgs(args: Omit<BackupJobArgs, "connection">): void {
    const owner = `BackupJob ${namePrefix(args)}`;
    validateUnitNameParts("BackupJob", args);
    const serviceVolumes = args.volumes ?? [];
    if (args.postgres.length === 0 && args.redis.length === 0 && serviceVolumes.length === 0) {
        throw new Error(`${owner}: postgres, redis and volumes are all empty; a backup job must cover at least one data volume`);
    }
    args.postgres.forEach((pg, i) => validatePostgresSource(owner, i, pg));
    args.redis.forEach((r, i) => validateRedisSource(owner, i, r));
    serviceVolumes.forEach((v, i) => validateVolumeSource(owner, i, v));
    const dup = (xs: string[]) => xs.find((x, i) => xs.indexOf(x) !== i);
    const dbDup = dup(args.postgres.map((p) => p.database));
    if (dbDup !== undefined) {
        throw new Error(`${owner}: postgres database "${dbDup}" is listed twice; its backups would share one key`);
    }
    const redisDup = dup(args.redis.map((r) => r.container));
    if (redisDup !== undefined) {
        throw new Error(`${owner}: redis container "${redisDup}" is listed twice; its backups would share one key`);
    }
    const volumes = coveredVolumes(args);
    const empty = volumes.findIndex((v) => !v || !v.trim());
    if (empty >= 0) {
        throw new Error(`${owner}: every postgres/redis/volumes entry must name its volume`);
    }
    const volDup = dup(volumes);
    if (volDup !== undefined) {
        throw new Error(`${owner}: volume "${volDup}" is covered twice`);
    }
    validateBackupTarget(owner, args.target);
    validateAlerts(owner, args.alerts);
}

/** The S3_* env vars of s3.sh for a target; S3_ENDPOINT only for S3-compatible stores. */
export function targetEnvVars(target: BackupTarget): Record<string, pulumi.Input<string>> {
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

/**
 * BACKUP_POSTGRES (space-separated "<container>:<database>:<user>"), BACKUP_REDIS (container
 * names) and, when there are any, BACKUP_VOLUMES (volume names) of the scripts.
 */
export function sourceEnvVars(postgres: PostgresDatabase[], redis: RedisInstance[], volumes: VolumeBackupSource[] = []): Record<string, string> {
    return {
        BACKUP_POSTGRES: postgres.map((p) => `${p.container}:${p.database}:${p.user}`).join(" "),
        BACKUP_REDIS: redis.map((r) => r.container).join(" "),
        // Only when there are any: the env file of a job without service volumes stays as it was.
        ...(volumes.length > 0 ? { BACKUP_VOLUMES: volumes.map((v) => v.volume).join(" ") } : {}),
    };
}

/** Every data volume a backup job covers: the databases', Redis' and the services' own. */
export function coveredVolumes(args: Pick<BackupJobArgs, "postgres" | "redis" | "volumes">): string[] {
    return [...args.postgres.map((p) => p.volume), ...args.redis.map((r) => r.volume), ...(args.volumes ?? []).map((v) => v.volume)];
}

/**
 * The ScheduledJob a BackupJob installs, minus the connection and dependsOn: unit
 * `<app>-<env>-backup` running backup.sh, with restore.sh (the restore command a person
 * runs) and the shared s3.sh, db.sh, job.sh, notify.sh and metrics.sh beside it. Databases are reached with
 * `docker exec` (DB_ACCESS=docker).
 */
export function backupJobSpec(args: Omit<BackupJobArgs, "connection">): ScheduledJobSpec {
    validateBackupJobArgs(args);
    const covered = [
        ...args.postgres.map((p) => `PostgreSQL ${p.database}`),
        ...args.redis.map((r) => `Redis ${r.container}`),
        ...(args.volumes ?? []).map((v) => `volume ${v.volume}`),
    ];
    return {
        unitName: jobUnitName(args, "backup"),
        description: `${args.app} ${args.environment} backup of ${covered.join(", ")} to the backup bucket`,
        onCalendar: args.onCalendar ?? BACKUP_SCHEDULES.schedule,
        files: readScripts("backup.sh", "restore.sh", "s3.sh", "db.sh", "job.sh", "notify.sh", "metrics.sh"),
        entrypoint: "backup.sh",
        envVars: {
            DB_ACCESS: "docker",
            ...sourceEnvVars(args.postgres, args.redis, args.volumes),
            ...(args.redisPassword !== undefined ? { REDISCLI_AUTH: args.redisPassword } : {}),
            ...targetEnvVars(args.target),
            ...alertEnvVars(args, args.alerts),
            ...metricsEnvVars(args, "backup", args.metricsDir),
        },
    };
}

/**
 * The daily backup of one environment on the VPS: a systemd timer that dumps every
 * PostgreSQL database (pg_dump, custom format), snapshots every Redis instance (RDB) and
 * archives every service volume (tar, its containers paused meanwhile),
 * uploads each with a SHA-256 sidecar to `<prefix>daily/` (copies to `weekly/` on Sundays
 * and `monthly/` on the 1st), and posts the outcome to the alert webhook; see
 * components/scripts/backup.sh. Its props name the data volumes it covers, which a policy
 * checks against every postgres/redis volume of the environment.
 */
export class BackupJob extends JobComponent {
    /** The data volumes this job backs up. */
    readonly volumes: string[];

    constructor(name: string, args: BackupJobArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const spec = backupJobSpec(args);
        const volumes = coveredVolumes(args);
        super("vps:index:BackupJob", name, { environment: args.environment, volumes }, spec, args, opts);
        this.volumes = volumes;
        this.registerOutputs({ environment: args.environment, unitName: this.unitName, timerName: this.timerName, volumes: this.volumes });
    }
}
