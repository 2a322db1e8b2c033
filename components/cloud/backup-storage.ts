import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { BackupTarget } from "../jobs/backup-job";
import { ownershipTags } from "../docker/labels";
import { BACKUP_TIERS, backupWriterName, bucketKeyPrefix, bucketNamePrefix, IAM_PATH, MAX_BUCKET_NAME_PREFIX } from "../naming";

/** How long backups and their leftovers are kept, in days. */
export interface BackupRetention {
    /** Objects under `<prefix>daily/` expire after this many days (default 30). */
    readonly dailyDays: number;
    /** Objects under `<prefix>weekly/` (default 84, 12 weeks); must exceed dailyDays. */
    readonly weeklyDays: number;
    /** Objects under `<prefix>monthly/` (default 365, 12 months); must exceed weeklyDays. */
    readonly monthlyDays: number;
    /** A replaced or expired version stays recoverable this long (default 30). */
    readonly noncurrentVersionDays: number;
    /** An upload cut short is aborted (and its parts freed) after this long (default 7). */
    readonly abortIncompleteUploadDays: number;
}

/** Arguments of {@link BackupStorage}. */
export interface BackupStorageArgs {
    /** Application name, e.g. "shop"; first part of the bucket name and of the key prefix. */
    readonly app: string;
    /** Environment name, e.g. "staging". */
    readonly environment: string;
    /** "aws": create the bucket and a least-privilege IAM credential; "s3-compatible": use an existing bucket and credential. */
    readonly store: "aws" | "s3-compatible";
    /** Bucket region, e.g. "eu-central-1" (set on every S3 resource), or an S3-compatible store's own, e.g. "auto". */
    readonly region: string;
    /** S3 API URL of an S3-compatible store (B2, Wasabi, R2, Spaces); s3-compatible only. */
    readonly endpoint?: string;
    /** Exact bucket name; AWS default: generated from the prefix "<app>-<env>-backups-". Required for s3-compatible. */
    readonly bucketName?: string;
    /** Import the existing bucket `bucketName` instead of creating it (AWS): re-attaches a bucket a destroy retained. Default false. */
    readonly adoptExisting?: boolean;
    /** KMS key ARN for SSE-KMS (AWS); undefined: SSE-S3 (AES256). */
    readonly kmsKeyArn?: string;
    /** Lifecycle of the backups (AWS). */
    readonly retention: BackupRetention;
    /** S3 Object Lock default retention in GOVERNANCE mode (AWS, production); undefined: no lock. */
    readonly objectLock?: { mode: "GOVERNANCE"; days: number };
    /** `protect: true` on the bucket (production), so destroy and replacement fail. retainOnDelete is always on. */
    readonly protect: boolean;
    /** The store's credential (s3-compatible only); pass secret Outputs. */
    readonly credentials?: { accessKeyId: pulumi.Input<string>; secretAccessKey: pulumi.Input<string> };
}

/** Throws with a sentence naming the argument when the bucket cannot be built as given. */
export function validateBackupStorageArgs(name: string, args: BackupStorageArgs): void {
    const owner = `BackupStorage ${name}`;
    const r = args.retention;
    for (const key of ["dailyDays", "weeklyDays", "monthlyDays", "noncurrentVersionDays", "abortIncompleteUploadDays"] as const) {
        if (!Number.isInteger(r[key]) || r[key] < 1) throw new Error(`${owner}: retention.${key} must be a whole number of days, at least 1`);
    }
    if (r.weeklyDays <= r.dailyDays) throw new Error(`${owner}: retention.weeklyDays (${r.weeklyDays}) must be longer than dailyDays (${r.dailyDays})`);
    if (r.monthlyDays <= r.weeklyDays) throw new Error(`${owner}: retention.monthlyDays (${r.monthlyDays}) must be longer than weeklyDays (${r.weeklyDays})`);
    if (args.store === "s3-compatible") {
        if (!args.endpoint) throw new Error(`${owner}: endpoint is required for an s3-compatible store`);
        if (!args.bucketName) throw new Error(`${owner}: bucketName is required for an s3-compatible store`);
        if (!args.credentials) throw new Error(`${owner}: credentials are required for an s3-compatible store`);
        if (args.kmsKeyArn !== undefined || args.objectLock !== undefined || args.adoptExisting) {
            throw new Error(`${owner}: kmsKeyArn, objectLock and adoptExisting apply to AWS only; configure the s3-compatible store itself`);
        }
    } else {
        if (args.endpoint !== undefined) throw new Error(`${owner}: endpoint is for s3-compatible stores; AWS S3 needs none`);
        if (args.credentials !== undefined) throw new Error(`${owner}: credentials are for s3-compatible stores; with AWS the component creates its own`);
        if (args.adoptExisting && args.bucketName === undefined) throw new Error(`${owner}: adoptExisting needs bucketName`);
        if (args.bucketName === undefined && bucketNamePrefix(args).length > MAX_BUCKET_NAME_PREFIX) {
            throw new Error(`${owner}: the bucket prefix "${bucketNamePrefix(args)}" is longer than ${MAX_BUCKET_NAME_PREFIX} characters; set bucketName`);
        }
    }
    if (args.objectLock !== undefined && (args.objectLock.mode !== "GOVERNANCE" || !Number.isInteger(args.objectLock.days) || args.objectLock.days < 1)) {
        throw new Error(`${owner}: objectLock must be { mode: "GOVERNANCE", days: <whole number ≥ 1> }`);
    }
}

/** The lifecycle rules of an environment's prefix: one expiration per tier, and the cleanup of old versions and uploads. */
export function lifecycleRules(prefix: string, r: BackupRetention): aws.types.input.s3.BucketLifecycleConfigurationRule[] {
    const days: Record<(typeof BACKUP_TIERS)[number], number> = { daily: r.dailyDays, weekly: r.weeklyDays, monthly: r.monthlyDays };
    return [
        ...BACKUP_TIERS.map((tier) => ({
            id: `expire-${tier}`,
            status: "Enabled",
            filter: { prefix: `${prefix}${tier}/` },
            expiration: { days: days[tier] },
        })),
        {
            id: "expire-noncurrent-and-incomplete",
            status: "Enabled",
            filter: { prefix },
            // Expiring a current version leaves a delete marker; once its versions are gone it is removed too.
            expiration: { expiredObjectDeleteMarker: true },
            noncurrentVersionExpiration: { noncurrentDays: r.noncurrentVersionDays },
            abortIncompleteMultipartUpload: { daysAfterInitiation: r.abortIncompleteUploadDays },
        },
    ];
}

/** An IAM policy document (the JSON AWS takes), built here rather than by an invoke so the synth shows it. */
export interface PolicyDocument {
    Version: "2012-10-17";
    Statement: {
        Sid: string;
        Effect: "Allow" | "Deny";
        Principal?: "*";
        Action: string | string[];
        Resource: string | string[];
        Condition?: Record<string, Record<string, string | string[]>>;
    }[];
}

/**
 * The backup job's policy: list the bucket only under the environment's prefix, and
 * put, get and delete objects (delete removes a partial upload) only under its tiers;
 * with SSE-KMS, use of that one key. Nothing else: no other bucket, prefix or action.
 */
export function backupWriterPolicy(bucketArn: string, prefix: string, kmsKeyArn?: string): PolicyDocument {
    const doc: PolicyDocument = {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "ListEnvironmentPrefix",
                Effect: "Allow",
                Action: "s3:ListBucket",
                Resource: bucketArn,
                Condition: { StringLike: { "s3:prefix": [prefix, `${prefix}*`] } },
            },
            {
                Sid: "ReadWriteEnvironmentBackups",
                Effect: "Allow",
                Action: ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                Resource: BACKUP_TIERS.map((tier) => `${bucketArn}/${prefix}${tier}/*`),
            },
        ],
    };
    if (kmsKeyArn !== undefined) {
        doc.Statement.push({ Sid: "UseBucketKey", Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: kmsKeyArn });
    }
    return doc;
}

/** The bucket policy: every request without TLS is denied, for everyone. */
export function tlsOnlyPolicy(bucketArn: string): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "DenyInsecureTransport",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: [bucketArn, `${bucketArn}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
        ],
    };
}

/**
 * The backup storage of one environment, and the target its backup job uploads to.
 *
 * With AWS (`store: "aws"`) it creates a bucket (`<app>-<env>-backups-…` or an exact
 * name) with versioning, default encryption (SSE-S3, or SSE-KMS with a given key), all
 * four public access blocks, `BucketOwnerEnforced` ownership, a policy denying requests
 * without TLS, lifecycle rules per tier under `<app>/<env>/` and, optionally, an Object
 * Lock default retention in GOVERNANCE mode; plus an IAM user that may only list that
 * prefix and read, write and delete objects under its tiers, and its access key.
 *
 * The bucket has `retainOnDelete: true` always and `protect` from args, set on the
 * bucket itself and never `forceDestroy`: `pulumi destroy` drops it from the stack and
 * keeps the backups. Its configuration resources are retained too, so a retained bucket
 * keeps its versioning, blocks and lifecycle (which goes on expiring old backups) rather
 * than being stripped of them; and a replaced configuration is never deleted after its
 * successor was written. The IAM user and key are ordinary: destroy revokes them.
 * S3 will not create a bucket that exists (BucketAlreadyOwnedByYou), so a stack brought
 * up again after a destroy re-attaches its exact-named bucket with `adoptExisting`.
 *
 * With an S3-compatible store it creates nothing: bucket and credential come from args.
 *
 * Its type was `vps:index:BackupBucket` until issue 14 (it creates no bucket for an
 * S3-compatible store); that type is an alias, so a deployed stack moves the component and
 * every resource under it instead of replacing them (children inherit the alias).
 */
export class BackupStorage extends pulumi.ComponentResource {
    /** What the backup job needs: bucket, prefix, region, endpoint and the credential (secret). */
    readonly target: BackupTarget;
    /** The bucket name. */
    readonly bucketName: pulumi.Output<string>;
    /** The environment's key prefix inside the bucket, `<app>/<env>/`. */
    readonly prefix: string;
    /** The AWS bucket (undefined for an S3-compatible store). */
    readonly bucket?: aws.s3.Bucket;
    /** The backup job's IAM user (undefined for an S3-compatible store). */
    readonly writer?: aws.iam.User;

    constructor(name: string, args: BackupStorageArgs, opts: pulumi.ComponentResourceOptions = {}) {
        validateBackupStorageArgs(name, args);
        const prefix = bucketKeyPrefix(args);
        super(
            "vps:index:BackupStorage",
            name,
            { app: args.app, environment: args.environment, store: args.store, region: args.region, endpoint: args.endpoint, prefix },
            { ...opts, aliases: [...(opts.aliases ?? []), { type: "vps:index:BackupBucket" }] },
        );
        this.prefix = prefix;

        if (args.store === "s3-compatible") {
            const credentials = args.credentials!;
            this.bucketName = pulumi.output(args.bucketName!);
            this.target = {
                bucket: args.bucketName!,
                prefix,
                region: args.region,
                endpoint: args.endpoint,
                accessKeyId: pulumi.secret(credentials.accessKeyId),
                secretAccessKey: pulumi.secret(credentials.secretAccessKey),
            };
            this.registerOutputs({ bucketName: this.bucketName, prefix, region: args.region, endpoint: args.endpoint });
            return;
        }

        const region = args.region;
        const tags = ownershipTags({ ...args, role: "backups" });
        // Kept when destroyed or replaced, like the bucket: see the class comment.
        const keep: pulumi.CustomResourceOptions = { parent: this, retainOnDelete: true };

        const bucket = new aws.s3.Bucket(
            `${name}-bucket`,
            {
                ...(args.bucketName !== undefined ? { bucket: args.bucketName } : { bucketPrefix: bucketNamePrefix(args) }),
                region,
                forceDestroy: false,
                tags,
            },
            // `import` is a no-op once the bucket is in the stack's state (same id), so it can stay on.
            { parent: this, retainOnDelete: true, protect: args.protect, ...(args.adoptExisting ? { import: args.bucketName } : {}) },
        );
        this.bucket = bucket;
        this.bucketName = bucket.bucket;

        new aws.s3.BucketOwnershipControls(`${name}-ownership`, { bucket: bucket.bucket, region, rule: { objectOwnership: "BucketOwnerEnforced" } }, keep);
        const publicAccess = new aws.s3.BucketPublicAccessBlock(
            `${name}-public-access`,
            { bucket: bucket.bucket, region, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
            keep,
        );
        const versioning = new aws.s3.BucketVersioning(`${name}-versioning`, { bucket: bucket.bucket, region, versioningConfiguration: { status: "Enabled" } }, keep);
        new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-encryption`,
            {
                bucket: bucket.bucket,
                region,
                rules: [
                    args.kmsKeyArn === undefined
                        ? { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }
                        : { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.kmsKeyArn }, bucketKeyEnabled: true },
                ],
            },
            keep,
        );
        // S3 rejects a bucket policy put while the public access block is being applied (OperationAborted).
        new aws.s3.BucketPolicy(
            `${name}-tls-only`,
            { bucket: bucket.bucket, region, policy: bucket.arn.apply((arn) => JSON.stringify(tlsOnlyPolicy(arn))) },
            { ...keep, dependsOn: [publicAccess] },
        );
        new aws.s3.BucketLifecycleConfiguration(
            `${name}-lifecycle`,
            { bucket: bucket.bucket, region, rules: lifecycleRules(prefix, args.retention) },
            { ...keep, dependsOn: [versioning] },
        );
        if (args.objectLock !== undefined) {
            // Object Lock needs versioning; this resource enables it on a new or an existing bucket.
            new aws.s3.BucketObjectLockConfiguration(
                `${name}-object-lock`,
                {
                    bucket: bucket.bucket,
                    region,
                    objectLockEnabled: "Enabled",
                    rule: { defaultRetention: { mode: args.objectLock.mode, days: args.objectLock.days } },
                },
                { ...keep, dependsOn: [versioning] },
            );
        }

        const writer = new aws.iam.User(`${name}-writer`, { name: backupWriterName(args), path: IAM_PATH, tags }, { parent: this });
        this.writer = writer;
        const policy = new aws.iam.UserPolicy(
            `${name}-writer-policy`,
            { user: writer.name, policy: bucket.arn.apply((arn) => JSON.stringify(backupWriterPolicy(arn, prefix, args.kmsKeyArn))) },
            { parent: this },
        );
        // After its policy: what uses the key (PostgreSQL's archive_command, a backup started at
        // once) must not meet an AccessDenied from a user that has no policy yet.
        const key = new aws.iam.AccessKey(`${name}-writer-key`, { user: writer.name }, { parent: this, dependsOn: [policy] });

        this.target = {
            bucket: bucket.bucket,
            prefix,
            region,
            accessKeyId: key.id,
            secretAccessKey: pulumi.secret(key.secret),
        };
        this.registerOutputs({ bucketName: this.bucketName, prefix, region, writer: writer.arn });
    }
}
