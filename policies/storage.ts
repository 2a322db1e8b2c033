/**
 * Storage and data safety: the data volumes and backup buckets that `pulumi destroy` must never
 * take with it (named, retained, protected in production, backed up; the buckets versioned,
 * encrypted, private, TLS-only, with a lifecycle). All mandatory.
 */
import {
    asArray,
    asRecord,
    asString,
    configSchema,
    DEFAULT_PRODUCTION_ENVIRONMENTS,
    definePolicy,
    environmentOf,
    isProductionResource,
    isType,
    isUnknown,
    PolicyResourceView,
    productionEnvironmentsSchema,
    roleOf,
    stackEnvironments,
    StackViolation,
    stringList,
    T,
} from "./vocabulary";


const exemptBucketsSchema = stringList("Bucket names this policy does not apply to.");

function isDataVolume(r: PolicyResourceView, exemptRoles: string[]): boolean {
    if (!isType(r, T.volume)) return false;
    const role = roleOf(r);
    return role === undefined || !exemptRoles.includes(role);
}

/** The names under which other resources may refer to a bucket (its `bucket` name, its id). */
function bucketIds(bucket: PolicyResourceView): string[] {
    return [bucket.props.bucket, bucket.props.id].filter((v): v is string => typeof v === "string");
}

function bucketLabel(bucket: PolicyResourceView): string {
    return asString(bucket.props.bucket) ?? bucket.name;
}

/**
 * Whether `sub` (a versioning, encryption, ... resource) configures `bucket`: by bucket name or
 * id; when its `bucket` is unknown during preview, or the bucket's name is generated from a
 * `bucketPrefix`, by sharing the bucket's parent component.
 */
function configures(sub: PolicyResourceView, bucket: PolicyResourceView): boolean {
    const ref = sub.props.bucket;
    const ids = bucketIds(bucket);
    if (typeof ref === "string" && ids.length > 0) return ids.includes(ref);
    // A generated name (`bucketPrefix`) is known only after create: match by the parent component.
    const byParent = sub.options?.parent !== undefined && sub.options.parent === bucket.options?.parent;
    return (isUnknown(ref) || (typeof ref === "string" && ids.length === 0)) && byParent;
}

/**
 * Shared shape of the per-bucket checks: for every bucket not exempt, find the resources of
 * `subTypes` that configure it and let `check` say what is missing (undefined = fine).
 */
function perBucket(
    resources: PolicyResourceView[],
    exemptBuckets: string[],
    subTypes: readonly string[],
    check: (subs: PolicyResourceView[], bucket: PolicyResourceView) => string | undefined,
): StackViolation[] {
    const out: StackViolation[] = [];
    for (const bucket of resources.filter((r) => isType(r, T.bucket))) {
        if (exemptBuckets.includes(bucketLabel(bucket))) continue;
        const subs = resources.filter((r) => isType(r, subTypes) && configures(r, bucket));
        const message = check(subs, bucket);
        if (message) out.push({ urn: bucket.urn, message });
    }
    return out;
}

const volumeNameDefaults = { namePattern: "^[a-z0-9][a-z0-9_.-]*$" };
export const volumeExplicitName = definePolicy({
    name: "volume-explicit-name",
    description:
        "Docker volumes have an explicit `name`, so an environment that is destroyed and brought up again re-attaches its data instead of creating an empty auto-named volume.",
    enforcementLevel: "mandatory",
    defaults: volumeNameDefaults,
    configSchema: configSchema(volumeNameDefaults, {
        namePattern: { type: "string", description: "Regular expression the volume name must match." },
    }),
    validateResource(r, config) {
        if (!isType(r, T.volume)) return [];
        const name = r.props.name;
        if (isUnknown(name)) return [];
        if (typeof name !== "string" || name === "") {
            return ["Volume has no explicit name: set `name` to `<app>-<env>-<role>` (e.g. `shop-staging-postgres-data`) so a re-created environment re-attaches its data."];
        }
        if (!new RegExp(config.namePattern).test(name)) {
            return [`Volume name '${name}' does not match /${config.namePattern}/: data volumes are named \`<app>-<env>-<role>\` from the stack config keys \`app\` and \`environment\`; a volume declared outside this program must follow that form.`];
        }
        return [];
    },
});

const protectDefaults = { productionEnvironments: DEFAULT_PRODUCTION_ENVIRONMENTS, exemptVolumeRoles: [] as string[], exemptBuckets: [] as string[] };
export const productionDataProtected = definePolicy({
    name: "production-data-protected",
    description:
        "In production, every data volume and backup bucket has `protect: true` set on the resource itself, so `pulumi destroy` or an accidental replacement fails instead of deleting data. Production is known from the `vps.environment` label of the stack's resources.",
    enforcementLevel: "mandatory",
    defaults: protectDefaults,
    configSchema: configSchema(protectDefaults, {
        productionEnvironments: productionEnvironmentsSchema,
        exemptVolumeRoles: stringList("`vps.role` values of volumes that need no protection (none by default)."),
        exemptBuckets: exemptBucketsSchema,
    }),
    validateStack(resources, config, ctx) {
        const envs = stackEnvironments(resources, ctx);
        const out: StackViolation[] = [];
        for (const r of resources) {
            const volume = isDataVolume(r, config.exemptVolumeRoles);
            const bucket = isType(r, T.bucket) && !config.exemptBuckets.includes(bucketLabel(r));
            if (!volume && !bucket) continue;
            if (!isProductionResource(r, envs, config.productionEnvironments)) continue;
            if (r.options?.protect !== true) {
                const what = volume ? "Production data volume" : "Production backup bucket";
                out.push({ urn: r.urn, message: `${what} '${asString(r.props.name) ?? bucketLabel(r)}' is not protected: set \`protectData: true\` in the stack config, which sets the resource option \`protect: true\` on every data volume and backup bucket (a resource declared outside this program needs the option on itself, not only on its parent).` });
            }
        }
        return out;
    },
});

const retainDefaults = { exemptVolumeRoles: [] as string[], exemptBuckets: [] as string[] };
export const dataRetainedOnDelete = definePolicy({
    name: "data-retained-on-delete",
    description:
        "Every data volume and backup bucket, in every environment, has `retainOnDelete: true` on the resource itself, so `pulumi destroy --stack staging` removes it from the stack but keeps the data. Runs in the offline synth only: `@pulumi/policy` does not expose `retainOnDelete` to policies.",
    enforcementLevel: "mandatory",
    synthOnly: true,
    defaults: retainDefaults,
    configSchema: configSchema(retainDefaults, {
        exemptVolumeRoles: stringList("`vps.role` values of volumes that may be deleted with their stack."),
        exemptBuckets: exemptBucketsSchema,
    }),
    validateResource(r, config) {
        const volume = isDataVolume(r, config.exemptVolumeRoles);
        const bucket = isType(r, T.bucket) && !config.exemptBuckets.includes(bucketLabel(r));
        if (!volume && !bucket) return [];
        if (r.options?.retainOnDelete === true) return [];
        return [`${volume ? "Data volume" : "Backup bucket"} is not retained on delete: every data volume and backup bucket this program builds has it, so this one was declared elsewhere; set the resource option \`retainOnDelete: true\` on it, then run \`pulumi up\` once before any destroy so the state records it.`];
    },
});

const forceDestroyDefaults = { exemptBuckets: [] as string[] };
export const bucketNoForceDestroy = definePolicy({
    name: "bucket-no-force-destroy",
    description: "No S3 bucket sets `forceDestroy`, which would let a delete empty the bucket and its backups.",
    enforcementLevel: "mandatory",
    defaults: forceDestroyDefaults,
    configSchema: configSchema(forceDestroyDefaults, { exemptBuckets: exemptBucketsSchema }),
    validateResource(r, config) {
        if (!isType(r, T.bucket) || config.exemptBuckets.includes(bucketLabel(r))) return [];
        return r.props.forceDestroy === true
            ? ["Bucket sets `forceDestroy: true`: remove it (or set it to false) so deleting the bucket can never delete the backups in it."]
            : [];
    },
});

const versioningDefaults = { exemptBuckets: [] as string[] };
export const backupBucketVersioning = definePolicy({
    name: "backup-bucket-versioning",
    description: "Every backup bucket has a `BucketVersioning` with status `Enabled`, so an overwritten or deleted backup can be restored from a previous version.",
    enforcementLevel: "mandatory",
    defaults: versioningDefaults,
    configSchema: configSchema(versioningDefaults, { exemptBuckets: exemptBucketsSchema }),
    validateStack(resources, config) {
        return perBucket(resources, config.exemptBuckets, T.bucketVersioning, (subs) => {
            const statuses = subs.map((s) => asRecord(s.props.versioningConfiguration)?.status);
            if (statuses.some((s) => s === "Enabled" || isUnknown(s))) return undefined;
            return "Backup bucket has no versioning: add an `aws.s3.BucketVersioning` for it with `versioningConfiguration: { status: \"Enabled\" }`.";
        });
    },
});

const encryptionDefaults = { allowedAlgorithms: ["AES256", "aws:kms", "aws:kms:dsse"], exemptBuckets: [] as string[] };
export const backupBucketEncryption = definePolicy({
    name: "backup-bucket-encryption",
    description: "Every backup bucket has a server-side encryption configuration whose default algorithm is in the allow-list.",
    enforcementLevel: "mandatory",
    defaults: encryptionDefaults,
    configSchema: configSchema(encryptionDefaults, {
        allowedAlgorithms: stringList("Accepted `sseAlgorithm` values."),
        exemptBuckets: exemptBucketsSchema,
    }),
    validateStack(resources, config) {
        return perBucket(resources, config.exemptBuckets, T.bucketEncryption, (subs) => {
            const algorithms = subs.flatMap((s) => asArray(s.props.rules)).map((rule) => asRecord(asRecord(rule)?.applyServerSideEncryptionByDefault)?.sseAlgorithm);
            if (algorithms.some((a) => isUnknown(a) || (typeof a === "string" && config.allowedAlgorithms.includes(a)))) return undefined;
            return `Backup bucket has no server-side encryption with an allowed algorithm: add an \`aws.s3.BucketServerSideEncryptionConfiguration\` whose rule sets \`applyServerSideEncryptionByDefault.sseAlgorithm\` to one of ${config.allowedAlgorithms.join(", ")}.`;
        });
    },
});

const publicAccessDefaults = { exemptBuckets: [] as string[] };
const PUBLIC_ACCESS_FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"];
export const backupBucketPublicAccessBlocked = definePolicy({
    name: "backup-bucket-public-access-blocked",
    description: "Every backup bucket has a `BucketPublicAccessBlock` with all four blocks on, so no ACL or policy can make a backup public.",
    enforcementLevel: "mandatory",
    defaults: publicAccessDefaults,
    configSchema: configSchema(publicAccessDefaults, { exemptBuckets: exemptBucketsSchema }),
    validateStack(resources, config) {
        return perBucket(resources, config.exemptBuckets, T.bucketPublicAccessBlock, (subs) => {
            if (subs.length === 0) {
                return `Backup bucket has no public access block: add an \`aws.s3.BucketPublicAccessBlock\` for it with ${PUBLIC_ACCESS_FLAGS.join(", ")} all true.`;
            }
            const missing = PUBLIC_ACCESS_FLAGS.filter((f) => !subs.some((s) => s.props[f] === true || isUnknown(s.props[f])));
            return missing.length ? `Backup bucket's public access block leaves ${missing.join(", ")} off: set ${missing.length > 1 ? "them" : "it"} to true.` : undefined;
        });
    },
});

/** Whether a bucket policy document denies every request made without TLS. */
export function deniesInsecureTransport(policy: unknown): boolean {
    let doc: unknown = policy;
    if (typeof policy === "string") {
        try {
            doc = JSON.parse(policy);
        } catch {
            return false;
        }
    }
    const statements = asRecord(doc)?.Statement;
    for (const st of Array.isArray(statements) ? statements : [statements]) {
        const s = asRecord(st);
        if (!s || s.Effect !== "Deny") continue;
        const bool = asRecord(asRecord(s.Condition)?.Bool);
        const secure = bool?.["aws:SecureTransport"];
        if (secure !== false && secure !== "false" && !(Array.isArray(secure) && secure.map(String).includes("false"))) continue;
        const principal = s.Principal;
        const everyone = principal === "*" || asRecord(principal)?.AWS === "*" || (Array.isArray(asRecord(principal)?.AWS) && (asRecord(principal)?.AWS as unknown[]).includes("*"));
        const actions = Array.isArray(s.Action) ? s.Action : [s.Action];
        if (everyone && actions.some((a) => a === "s3:*" || a === "*")) return true;
    }
    return false;
}

const tlsDefaults = { exemptBuckets: [] as string[] };
export const backupBucketTlsOnly = definePolicy({
    name: "backup-bucket-tls-only",
    description: "Every backup bucket has a bucket policy that denies `s3:*` to everyone when `aws:SecureTransport` is false, so backups never travel unencrypted.",
    enforcementLevel: "mandatory",
    defaults: tlsDefaults,
    configSchema: configSchema(tlsDefaults, { exemptBuckets: exemptBucketsSchema }),
    validateStack(resources, config) {
        return perBucket(resources, config.exemptBuckets, T.bucketPolicy, (subs) => {
            if (subs.some((s) => isUnknown(s.props.policy) || deniesInsecureTransport(s.props.policy))) return undefined;
            return "Backup bucket allows requests without TLS: attach an `aws.s3.BucketPolicy` with a statement `{Effect: \"Deny\", Principal: \"*\", Action: \"s3:*\", Condition: {Bool: {\"aws:SecureTransport\": \"false\"}}}` on the bucket and its objects.";
        });
    },
});

const lifecycleDefaults = { minRetentionDays: 7, requireNoncurrentVersionExpiration: true, exemptBuckets: [] as string[] };
export const backupBucketLifecycle = definePolicy({
    name: "backup-bucket-lifecycle",
    description:
        "Every backup bucket has an enabled lifecycle rule that expires old backups (and, by default, old noncurrent versions), and no rule expires anything sooner than `minRetentionDays`.",
    enforcementLevel: "mandatory",
    defaults: lifecycleDefaults,
    configSchema: configSchema(lifecycleDefaults, {
        minRetentionDays: { type: "integer", minimum: 1, description: "Shortest expiration (days) a rule may set; guards the restore window." },
        requireNoncurrentVersionExpiration: { type: "boolean", description: "Require an enabled rule expiring noncurrent versions (versioned buckets otherwise grow forever)." },
        exemptBuckets: exemptBucketsSchema,
    }),
    validateStack(resources, config) {
        return perBucket(resources, config.exemptBuckets, T.bucketLifecycle, (subs) => {
            if (subs.some((s) => isUnknown(s.props.rules))) return undefined;
            const rules = subs.flatMap((s) => asArray(s.props.rules)).map((r) => asRecord(r) ?? {});
            const enabled = rules.filter((r) => r.status === "Enabled");
            if (enabled.length === 0) {
                return "Backup bucket has no enabled lifecycle rule: add an `aws.s3.BucketLifecycleConfiguration` with a rule `{status: \"Enabled\", expiration: {days: N}}` matching the retention policy.";
            }
            const tooShort: string[] = [];
            for (const r of enabled) {
                const days = asRecord(r.expiration)?.days;
                const noncurrent = asRecord(r.noncurrentVersionExpiration)?.noncurrentDays;
                for (const d of [days, noncurrent]) {
                    if (typeof d === "number" && d < config.minRetentionDays) tooShort.push(`${asString(r.id) ?? "rule"} (${d} days)`);
                }
            }
            if (tooShort.length) {
                return `Backup bucket lifecycle expires data sooner than ${config.minRetentionDays} days in ${tooShort.join(", ")}: raise \`backupStorage.retention\` (dailyDays, weeklyDays, monthlyDays, noncurrentVersionDays) in the stack config to at least ${config.minRetentionDays} days.`;
            }
            if (config.requireNoncurrentVersionExpiration && !enabled.some((r) => asRecord(r.noncurrentVersionExpiration) !== undefined)) {
                return "Backup bucket lifecycle never expires noncurrent versions: add `noncurrentVersionExpiration: { noncurrentDays: N }` to an enabled rule.";
            }
            return undefined;
        });
    },
});

const backupCoverageDefaults = { backedUpRoles: ["postgres-data", "redis-data"] };
export const dataVolumesBackedUp = definePolicy({
    name: "data-volumes-backed-up",
    description:
        "Every PostgreSQL or Redis data volume (by its `vps.role` label) is listed in the `volumes` of a `vps:index:BackupJob` of the same environment, so no database runs without a backup.",
    enforcementLevel: "mandatory",
    defaults: backupCoverageDefaults,
    configSchema: configSchema(backupCoverageDefaults, {
        backedUpRoles: stringList("`vps.role` values of volumes that must be covered by a backup job."),
    }),
    validateStack(resources, config) {
        const jobs = resources.filter((r) => isType(r, T.backupJob));
        const out: StackViolation[] = [];
        for (const v of resources.filter((r) => isType(r, T.volume))) {
            const role = roleOf(v);
            if (!role || !config.backedUpRoles.includes(role)) continue;
            const name = v.props.name;
            if (isUnknown(name)) continue;
            const env = environmentOf(v);
            const covered = jobs.some((j) => {
                const jobEnv = j.props.environment;
                // Under `pulumi preview` a component's stack-policy props may be its registered
                // outputs, which need not repeat `environment`: a job without one is not ruled out.
                const sameEnv = env === undefined || jobEnv === env || jobEnv === undefined || isUnknown(jobEnv);
                const volumes = j.props.volumes;
                return sameEnv && (isUnknown(volumes) || asArray(volumes).includes(name));
            });
            if (!covered) {
                out.push({ urn: v.urn, message: `Data volume '${String(name ?? v.name)}' (${role}) is not covered by any backup job${env ? ` of environment '${env}'` : ""}: set \`backupStorage\` in the stack config, which gives the environment a backup job for its PostgreSQL and Redis volumes.` });
            }
        }
        return out;
    },
});

export const storagePolicies = [
    volumeExplicitName,
    productionDataProtected,
    dataRetainedOnDelete,
    bucketNoForceDestroy,
    backupBucketVersioning,
    backupBucketEncryption,
    backupBucketPublicAccessBlocked,
    backupBucketTlsOnly,
    backupBucketLifecycle,
    dataVolumesBackedUp,
];
