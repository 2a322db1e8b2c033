import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ownershipTags } from "../docker/labels";
import { IAM_PATH, pitrKeyPrefix, pitrRepositoryPath, pitrWriterName } from "../naming";
import { PgbackrestRepository } from "../pgbackrest";
import { PolicyDocument } from "./backup-storage";

/** Arguments of {@link PitrRepository}. */
export interface PitrRepositoryArgs {
    readonly app: string;
    readonly environment: string;
    /** The backup storage's kind: "aws" (this stack made the bucket) or "s3-compatible". */
    readonly store: "aws" | "s3-compatible";
    /** The backup bucket's name. */
    readonly bucket: pulumi.Input<string>;
    /** Its ARN (AWS). */
    readonly bucketArn?: pulumi.Input<string>;
    /** Region of the bucket, or the store's own name. */
    readonly region: string;
    /** Endpoint URL of an S3-compatible store (https, a DNS name: the config checks it). */
    readonly endpoint?: string;
    /** The bucket's SSE-KMS key (AWS), which pgBackRest's writes must be allowed to use. */
    readonly kmsKeyArn?: string;
    /** The S3-compatible store's credential (from config): its stores have no per-prefix users here. */
    readonly credentials?: { accessKeyId: pulumi.Input<string>; secretAccessKey: pulumi.Input<string> };
}

/**
 * What pgBackRest's credential may do on AWS: list the bucket under the PITR prefix only, and
 * put, get and delete objects there (pgBackRest deletes what its retention expires). Nothing
 * of the dumps' tiers: the credential lives in the database container's environment, more
 * exposed than the root-only env file of the backup job.
 */
export function pitrWriterPolicy(bucketArn: string, prefix: string, kmsKeyArn?: string): PolicyDocument {
    const doc: PolicyDocument = {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "ListPitrPrefix",
                Effect: "Allow",
                Action: "s3:ListBucket",
                Resource: bucketArn,
                Condition: { StringLike: { "s3:prefix": [prefix, `${prefix}*`] } },
            },
            {
                Sid: "ReadWritePitrRepository",
                Effect: "Allow",
                Action: ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                Resource: `${bucketArn}/${prefix}*`,
            },
        ],
    };
    if (kmsKeyArn !== undefined) {
        doc.Statement.push({ Sid: "UseBucketKey", Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: kmsKeyArn });
    }
    return doc;
}

/**
 * The point-in-time-recovery repository of an environment: its own prefix in the
 * environment's backup bucket (`<app>/<env>/pitr/`, pgBackRest's `repo1-path`) and the
 * credential pgBackRest uses. On AWS that is an IAM user of its own (`<app>-<env>-pitr`) that
 * may touch that prefix only; an S3-compatible store's credential comes from config, as the
 * backup job's does. The bucket's versioning, encryption, TLS-only policy and the lifecycle
 * rule for old versions and incomplete uploads apply to the repository as to the dumps; its
 * retention is pgBackRest's (`postgres.pitr.retentionDays`), not a lifecycle rule.
 */
export class PitrRepository extends pulumi.ComponentResource {
    /** Where pgBackRest keeps the repository. */
    readonly repository: PgbackrestRepository<pulumi.Input<string>>;
    /** The repository's credential (secret). */
    readonly accessKeyId: pulumi.Input<string>;
    readonly secretAccessKey: pulumi.Input<string>;

    constructor(name: string, args: PitrRepositoryArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const path = pitrRepositoryPath(args);
        super("vps:index:PitrRepository", name, { environment: args.environment, store: args.store, path }, opts);
        this.repository = { bucket: args.bucket, path, region: args.region, endpoint: args.endpoint };
        if (args.store === "s3-compatible") {
            if (!args.credentials) throw new Error(`PitrRepository ${name}: credentials are required for an s3-compatible store`);
            this.accessKeyId = pulumi.secret(args.credentials.accessKeyId);
            this.secretAccessKey = pulumi.secret(args.credentials.secretAccessKey);
            this.registerOutputs({ path });
            return;
        }
        if (args.bucketArn === undefined) throw new Error(`PitrRepository ${name}: bucketArn is required with AWS`);
        const writer = new aws.iam.User(
            `${name}-writer`,
            { name: pitrWriterName(args), path: IAM_PATH, tags: ownershipTags({ ...args, role: "pitr" }) },
            { parent: this },
        );
        const policy = new aws.iam.UserPolicy(
            `${name}-writer-policy`,
            { user: writer.name, policy: pulumi.output(args.bucketArn).apply((arn) => JSON.stringify(pitrWriterPolicy(arn, pitrKeyPrefix(args), args.kmsKeyArn))) },
            { parent: this },
        );
        // After its policy: what uses the key (PostgreSQL's archive_command, a backup started at
        // once) must not meet an AccessDenied from a user that has no policy yet.
        const key = new aws.iam.AccessKey(`${name}-writer-key`, { user: writer.name }, { parent: this, dependsOn: [policy] });
        this.accessKeyId = key.id;
        this.secretAccessKey = pulumi.secret(key.secret);
        this.registerOutputs({ path, writer: writer.arn });
    }
}
