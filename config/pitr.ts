/**
 * Point-in-time recovery of the `postgres` service (`postgres.pitr`), and the data volume the
 * server mounts (`postgres.dataVolume`, `postgres.keptVolumes`), which the promote step of a
 * recovery changes.
 */
import { z } from "zod";
import { PGBACKREST_MIN_VERSION, PITR } from "../components/defaults";
import { isPostgresDataVolumeName, postgresDataVolumeName } from "../components/naming";
import { pgbackrestEndpointProblem } from "../components/pgbackrest";
import { calendarExpressionProblem, longestGapHours } from "./calendar";
import type { ConfigIssue } from "./types";
import { calendar, CrossFieldCheck, list, record, text } from "./values";

/** pgBackRest's size syntax for archive-push-queue-max, in bytes (1024-based units, as pgBackRest reads KB and KiB alike). */
export function pgbackrestSizeBytes(value: string): number | undefined {
    const m = /^(\d+)(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$/.exec(value);
    if (!m) return undefined;
    const unit = { B: 0, KB: 1, KiB: 1, MB: 2, MiB: 2, GB: 3, GiB: 3, TB: 4, TiB: 4 }[m[2] ?? "B"] ?? 0;
    return Number(m[1]) * 1024 ** unit;
}

/** Whether version `a` ("2.54.0") is at least `b` ("2.45"). */
export function versionAtLeast(a: string, b: string): boolean {
    const pa = a.split(".").map(Number);
    const pb = b.split(".").map(Number);
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
        const d = (pa[i] ?? 0) - (pb[i] ?? 0);
        if (d !== 0) return d > 0;
    }
    return true;
}

/** `postgres.pitr`. */
export const pitrSchema = z.strictObject({
    /** Archive WAL and run the PITR jobs; false turns them off and keeps the repository. Default true. */
    enabled: z.boolean().default(PITR.enabled),
    /** RPO target in minutes, 1–60: archive_timeout is half of it, and the lag check alerts past it. Default 5. */
    rpoMinutes: z.number().int("rpoMinutes must be a whole number of minutes").min(1, "rpoMinutes must be 1–60").max(60, "rpoMinutes must be 1–60").default(PITR.rpoMinutes),
    /** When the full backup runs (weekly). */
    fullSchedule: calendar.default(PITR.fullSchedule),
    /** When the differential backup runs (daily). */
    diffSchedule: calendar.default(PITR.diffSchedule),
    /** When the archive-lag check runs (every minute). */
    lagCheckSchedule: calendar.default(PITR.lagCheckSchedule),
    /** When a marker row is written (every few minutes). */
    markerSchedule: calendar.default(PITR.markerSchedule),
    /** When the PITR restore check runs (weekly). */
    restoreCheckSchedule: calendar.default(PITR.restoreCheckSchedule),
    /** Days of full backups (and their WAL) kept: any point in this window can be restored. 1–3650; default 14. */
    retentionDays: z.number().int("retentionDays must be a whole number of days").min(1, "retentionDays must be 1–3650").max(3650, "retentionDays must be 1–3650").default(PITR.retentionDays),
    /** archive-push-queue-max: WAL waiting past this size is dropped (and alerted). pgBackRest's size syntax, at least 64MiB. */
    queueMax: z.string().default(PITR.queueMax),
    /** Name of the secret config key holding the repository's encryption passphrase. Default "pitrPassphrase". */
    passphraseKey: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, "passphraseKey must name a config key (letters, digits, _)").default(PITR.passphraseKey),
    /**
     * The pgBackRest version the derived image installs from the base image's distribution
     * (e.g. "2.54.0" on Alpine 3.21, "2.45" on Debian 12); at least 2.45. Required: it depends
     * on the base image, and the build fails when the distribution does not carry it.
     */
    pgbackrestVersion: z.string().regex(/^\d+\.\d+(\.\d+)?$/, 'pgbackrestVersion must look like "2.54.0"'),
});

/** The `postgres.pitr` section, parsed. */
export type PitrSection = z.output<typeof pitrSchema>;

/** `postgres.dataVolume`: the volume the server mounts (default `<app>-<env>-postgres-data`). */
export const dataVolumeSchema = z.string().optional();

/** `postgres.keptVolumes`: earlier data volumes the stack keeps (retained, and protected in production) but does not mount. */
export const keptVolumesSchema = z.array(z.string()).default([]);

const SCHEDULES = ["fullSchedule", "diffSchedule", "lagCheckSchedule", "markerSchedule", "restoreCheckSchedule"] as const;

/**
 * `postgres.pitr`: its repository is the backup bucket (so backupStorage is required, and an
 * S3-compatible endpoint must be one pgBackRest 2.45 can reach: https, a DNS name); the
 * passphrase is a secret config key of a generated length; the schedules repeat; the lag
 * check runs at least once per RPO; the queue holds at least four WAL segments; the version
 * is one the jobs work with.
 */
export const pitrChecks: CrossFieldCheck = (raw, secretKeys) => {
    const postgres = record(raw.postgres);
    if (postgres.pitr === undefined) return [];
    const pitr = record(postgres.pitr);
    const at = "postgres.pitr";
    const issues: ConfigIssue[] = [];
    if (pitr.enabled === false) return issues;

    const storage = record(raw.backupStorage);
    if (raw.backupStorage === undefined) {
        issues.push({ path: `${at}.enabled`, message: "needs backupStorage: the PITR repository lives in the environment's backup bucket, under <app>/<env>/pitr/" });
    } else if (typeof storage.endpoint === "string") {
        const problem = pgbackrestEndpointProblem(storage.endpoint);
        if (problem) issues.push({ path: "backupStorage.endpoint", message: `${problem} (postgres.pitr stores its repository there)` });
    }

    const key = text(pitr.passphraseKey) ?? PITR.passphraseKey;
    const value = raw[key];
    if (value === undefined) {
        issues.push({ path: key, message: `is required by postgres.pitr (the repository's encryption passphrase): pulumi config set --secret ${key} "$(openssl rand -base64 48)". Keep a copy outside the stack: without it no backup can be read` });
    } else if (!secretKeys.has(key)) {
        issues.push({ path: key, message: `is the PITR encryption passphrase but is stored in plain text: set it with "pulumi config set --secret ${key}"` });
    } else if (typeof value === "string" && value.length < 20) {
        issues.push({ path: key, message: "is shorter than 20 characters: use a generated one (openssl rand -base64 48)" });
    }

    for (const schedule of SCHEDULES) {
        const expr = text(pitr[schedule]) ?? PITR[schedule];
        if (calendarExpressionProblem(expr)) continue; // reported by the schema
        if (longestGapHours(expr) === Infinity) {
            issues.push({ path: `${at}.${schedule}`, message: `"${expr}" does not repeat (a fixed date): the PITR jobs need a recurring schedule` });
        }
    }
    // An RPO out of range is the schema's to report; comparing the lag check with it would add a second, misleading issue.
    const rpo = pitr.rpoMinutes === undefined ? PITR.rpoMinutes : Number.isInteger(pitr.rpoMinutes) && Number(pitr.rpoMinutes) >= 1 && Number(pitr.rpoMinutes) <= 60 ? Number(pitr.rpoMinutes) : undefined;
    const lag = text(pitr.lagCheckSchedule) ?? PITR.lagCheckSchedule;
    if (rpo !== undefined && !calendarExpressionProblem(lag) && longestGapHours(lag) * 60 > rpo) {
        issues.push({ path: `${at}.lagCheckSchedule`, message: `"${lag}" leaves up to ${Math.round(longestGapHours(lag) * 60)} min between two checks, longer than rpoMinutes (${rpo}): a stalled archive would be noticed after the RPO is already missed` });
    }
    const marker = text(pitr.markerSchedule) ?? PITR.markerSchedule;
    if (!calendarExpressionProblem(marker) && longestGapHours(marker) > 1) {
        issues.push({ path: `${at}.markerSchedule`, message: `"${marker}" writes a marker less often than hourly: markers are the restore check's points in time and keep WAL flowing; use every few minutes` });
    }

    const queue = text(pitr.queueMax) ?? PITR.queueMax;
    const bytes = pgbackrestSizeBytes(queue);
    if (bytes === undefined) {
        issues.push({ path: `${at}.queueMax`, message: `"${queue}" is not a pgBackRest size: a number with B, KB, MB, GB, TB (or KiB, MiB, GiB, TiB), e.g. "4GiB"` });
    } else if (bytes < 64 * 1024 ** 2) {
        issues.push({ path: `${at}.queueMax`, message: `${queue} holds fewer than four WAL segments: pgBackRest would drop WAL after a short store outage; size it well below the data volume's free space, e.g. "4GiB"` });
    }

    const version = text(pitr.pgbackrestVersion);
    if (version !== undefined && /^\d+\.\d+(\.\d+)?$/.test(version) && !versionAtLeast(version, PGBACKREST_MIN_VERSION)) {
        issues.push({ path: `${at}.pgbackrestVersion`, message: `${version} is older than ${PGBACKREST_MIN_VERSION}: the PITR jobs need annotate (2.41), the restore's refusal without a matching set (2.37) and are tested on 2.45; use a base image whose distribution carries ${PGBACKREST_MIN_VERSION} or newer (Debian 12, Alpine 3.18+)` });
    }
    return issues;
};

/**
 * `postgres.dataVolume` and `postgres.keptVolumes`: only the environment's own PostgreSQL
 * volume or one restore.sh pitr recovered (`<app>-<env>-postgres-data[-<YYYYmmdd>t<HHMMSS>]`),
 * none twice, the mounted one not also kept. The default volume is always kept in the stack.
 */
export const postgresVolumeChecks: CrossFieldCheck = (raw) => {
    const postgres = record(raw.postgres);
    const app = text(raw.app) ?? "";
    const environment = text(raw.environment) ?? "";
    const env = { app, environment };
    const issues: ConfigIssue[] = [];
    const expected = `"${postgresDataVolumeName(env)}" or a volume restore.sh pitr recovered ("${postgresDataVolumeName(env)}-<YYYYmmdd>t<HHMMSS>")`;
    const mounted = text(postgres.dataVolume);
    if (postgres.dataVolume !== undefined && (mounted === undefined || !isPostgresDataVolumeName(env, mounted))) {
        issues.push({ path: "postgres.dataVolume", message: `must be ${expected}` });
    }
    const seen = new Set<string>([postgresDataVolumeName(env)]);
    list(postgres.keptVolumes).forEach((v, i) => {
        const at = `postgres.keptVolumes[${i}]`;
        if (typeof v !== "string" || !isPostgresDataVolumeName(env, v)) {
            issues.push({ path: at, message: `must be ${expected}` });
        } else if (v === mounted) {
            issues.push({ path: at, message: `"${v}" is postgres.dataVolume, the volume the server mounts: list only the volumes it no longer mounts` });
        } else if (seen.has(v)) {
            issues.push({ path: at, message: v === postgresDataVolumeName(env) ? `"${v}" is always kept: remove it from the list` : `"${v}" is listed twice` });
        } else {
            seen.add(v);
        }
    });
    return issues;
};
