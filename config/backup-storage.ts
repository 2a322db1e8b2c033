/**
 * Where the backups go (`backupStorage`): an AWS S3 bucket this stack creates, or an
 * S3-compatible store whose bucket and credential come from config.
 */
import { z } from "zod";
import { BACKUP_RETENTION } from "../components/defaults";
import { bucketNamePrefix, MAX_BUCKET_NAME_PREFIX } from "../components/naming";
import type { ConfigIssue } from "./types";
import { CrossFieldCheck, record } from "./values";

const days = (what: string, max = 36500) =>
    z.number().int(`${what} must be a whole number of days`).min(1, `${what} must be at least 1 day`).max(max, `${what} must be at most ${max} days`);

/** `backupStorage`. */
export const backupStorageSchema = z.strictObject({
    /** "aws": this stack creates the S3 bucket and an IAM credential; "s3-compatible": both come from config. */
    store: z.enum(["aws", "s3-compatible"]).default("aws"),
    /** Region of the bucket (AWS, e.g. eu-central-1) or the store's own region name (e.g. "auto" for R2). */
    region: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'region must look like "eu-central-1" (or the store\'s own, e.g. "auto")'),
    /** Endpoint URL of an S3-compatible store (B2, Wasabi, R2, Spaces); s3-compatible only. */
    endpoint: z.url({ protocol: /^https?$/, error: "endpoint must be an http(s) URL" }).optional(),
    /** Exact bucket name; AWS default: a generated name starting "<app>-<env>-backups-". Required for s3-compatible. */
    bucketName: z
        .string()
        .regex(/^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "bucketName must be 3–63 characters of a-z, 0-9, \".\" and \"-\" (S3 bucket naming rules)")
        .optional(),
    /**
     * Adopt (import) the existing bucket named bucketName instead of creating it (AWS). A
     * destroyed stack retains its bucket, and S3 refuses to create it again
     * (BucketAlreadyOwnedByYou); with this on, the next `pulumi up` re-attaches it. Harmless
     * once the bucket is in the stack. Requires bucketName; default false.
     */
    adoptExisting: z.boolean().default(false),
    /** KMS key ARN for SSE-KMS (AWS); default SSE-S3 (AES256). */
    kmsKeyArn: z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, "kmsKeyArn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias").optional(),
    /** Lifecycle (AWS): days objects under <prefix>daily/, weekly/, monthly/ are kept, noncurrent versions, incomplete uploads. */
    retention: z
        .strictObject({
            dailyDays: days("dailyDays").default(BACKUP_RETENTION.dailyDays),
            weeklyDays: days("weeklyDays").default(BACKUP_RETENTION.weeklyDays),
            monthlyDays: days("monthlyDays").default(BACKUP_RETENTION.monthlyDays),
            noncurrentVersionDays: days("noncurrentVersionDays").default(BACKUP_RETENTION.noncurrentVersionDays),
            abortIncompleteUploadDays: days("abortIncompleteUploadDays", 365).default(BACKUP_RETENTION.abortIncompleteUploadDays),
        })
        .default({ ...BACKUP_RETENTION }),
    /** S3 Object Lock default retention (AWS, production): GOVERNANCE mode only. */
    objectLock: z
        .strictObject({
            mode: z.literal("GOVERNANCE", { error: 'mode must be "GOVERNANCE" (a COMPLIANCE lock cannot be lifted, not even by the account root)' }),
            days: days("objectLock.days", 3650),
        })
        .optional(),
});

/** The `backupStorage` section, parsed. */
export type BackupStorageSection = z.output<typeof backupStorageSchema>;

/** The secret config keys of an S3-compatible store's credential. */
export const CREDENTIAL_KEYS = ["backupAccessKeyId", "backupSecretAccessKey"] as const;

/**
 * `backupStorage`: weekly backups outlive daily ones and monthly outlive weekly; an
 * S3-compatible store needs an endpoint, a bucket name and a secret credential, and takes
 * none of the settings only this stack's AWS resources apply (lifecycle, KMS, Object Lock);
 * AWS takes no endpoint or credential, and a generated bucket name must fit AWS's limit.
 */
export const backupStorageChecks: CrossFieldCheck = (raw) => {
    const issues: ConfigIssue[] = [];
    if (raw.backupStorage === undefined) {
        for (const key of CREDENTIAL_KEYS) {
            if (raw[key] !== undefined) issues.push({ path: key, message: "is set but backupStorage is not configured" });
        }
        return issues;
    }
    const storage = record(raw.backupStorage);
    const retention = record(storage.retention);
    const dayValue = (key: keyof typeof BACKUP_RETENTION): number | undefined => {
        const v = retention[key] ?? BACKUP_RETENTION[key];
        return typeof v === "number" ? v : undefined;
    };
    const [daily, weekly, monthly] = [dayValue("dailyDays"), dayValue("weeklyDays"), dayValue("monthlyDays")];
    if (daily !== undefined && weekly !== undefined && weekly <= daily) {
        issues.push({ path: "backupStorage.retention.weeklyDays", message: `weekly backups (${weekly} days) must be kept longer than daily ones (dailyDays ${daily})` });
    }
    if (weekly !== undefined && monthly !== undefined && monthly <= weekly) {
        issues.push({ path: "backupStorage.retention.monthlyDays", message: `monthly backups (${monthly} days) must be kept longer than weekly ones (weeklyDays ${weekly})` });
    }

    if (storage.store === "s3-compatible") {
        if (storage.endpoint === undefined) issues.push({ path: "backupStorage.endpoint", message: "is required for an s3-compatible store (its S3 API URL)" });
        if (storage.bucketName === undefined) issues.push({ path: "backupStorage.bucketName", message: "is required for an s3-compatible store (create the bucket in the store first)" });
        for (const key of ["retention", "kmsKeyArn", "objectLock", "adoptExisting"]) {
            if (storage[key] !== undefined) {
                issues.push({ path: `backupStorage.${key}`, message: "applies to AWS only: this stack creates no resources in an s3-compatible store; set it in the store itself (docs/backup-targets.md)" });
            }
        }
        for (const key of CREDENTIAL_KEYS) {
            // A plain-text value is reported by the secret keys' check (parse.ts).
            if (raw[key] === undefined) {
                issues.push({ path: key, message: `is required for an s3-compatible store: pulumi config set --secret ${key} ...` });
            }
        }
    } else {
        if (storage.endpoint !== undefined) {
            issues.push({ path: "backupStorage.endpoint", message: 'is only for an s3-compatible store: set store: "s3-compatible", or remove it to use AWS S3' });
        }
        for (const key of CREDENTIAL_KEYS) {
            if (raw[key] !== undefined) {
                issues.push({ path: key, message: "is only for an s3-compatible store: with AWS this stack creates its own least-privilege IAM credential" });
            }
        }
        const app = typeof raw.app === "string" ? raw.app : "";
        const environment = typeof raw.environment === "string" ? raw.environment : "";
        const prefix = bucketNamePrefix({ app, environment });
        if (storage.adoptExisting === true && storage.bucketName === undefined) {
            issues.push({ path: "backupStorage.adoptExisting", message: "needs backupStorage.bucketName: only a bucket with an exact name can be adopted" });
        }
        if (storage.bucketName === undefined && prefix.length > MAX_BUCKET_NAME_PREFIX) {
            issues.push({ path: "backupStorage.bucketName", message: `is required because the generated prefix "${prefix}" is longer than the ${MAX_BUCKET_NAME_PREFIX} characters AWS allows` });
        }
    }
    return issues;
};
