import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { capture, CapturedResource, find, isSecret, unwrap, useMocks } from "./helpers/pulumi";

type Mod = typeof import("../components/cloud/backup-storage");
type Args = import("../components/cloud/backup-storage").BackupStorageArgs;

const S3 = "aws:s3/";
const BUCKET = "aws:s3/bucket:Bucket";
const RETENTION = { dailyDays: 30, weeklyDays: 84, monthlyDays: 365, noncurrentVersionDays: 30, abortIncompleteUploadDays: 7 };

const awsArgs = (over: Partial<Args> = {}): Args => ({
    app: "shop",
    environment: "staging",
    store: "aws",
    region: "eu-central-1",
    retention: RETENTION,
    protect: false,
    ...over,
});

describe("BackupStorage", () => {
    let mod: Mod;
    let backupJob: typeof import("../components/jobs/backup-job");

    before(async () => {
        await useMocks();
        mod = await import("../components/cloud/backup-storage");
        backupJob = await import("../components/jobs/backup-job");
    });

    function build(name: string, over: Partial<Args> = {}) {
        const c = capture();
        const component = new mod.BackupStorage(name, awsArgs(over), c.opts);
        const of = (type: string) => find(c.resources, type);
        return { component, resources: c.resources, of };
    }

    const policyOf = async (r: CapturedResource) => JSON.parse(await unwrap<string>(r.props.policy));

    it("names the bucket with the prefix <app>-<env>-backups- by default", async () => {
        const { of, component } = build("b-prefix");
        const bucket = of(BUCKET);
        assert.equal(bucket.props.bucketPrefix, "shop-staging-backups-");
        assert.equal(bucket.props.bucket, undefined);
        assert.match(await unwrap(component.bucketName), /^shop-staging-backups-/);
    });

    it("uses an exact bucket name when one is given", async () => {
        const { of, component } = build("b-exact", { bucketName: "acme-shop-staging-backups" });
        assert.equal(of(BUCKET).props.bucket, "acme-shop-staging-backups");
        assert.equal(of(BUCKET).props.bucketPrefix, undefined);
        assert.equal(await unwrap(component.bucketName), "acme-shop-staging-backups");
    });

    it("retains the bucket on delete in every environment, protects it only when asked, and never force-destroys it", () => {
        const staging = build("b-staging").of(BUCKET);
        assert.equal(staging.opts.retainOnDelete, true);
        assert.equal(staging.opts.protect, false);
        assert.equal(staging.props.forceDestroy, false);
        const production = build("b-production", { environment: "production", protect: true }).of(BUCKET);
        assert.equal(production.opts.retainOnDelete, true);
        assert.equal(production.opts.protect, true);
    });

    it("adopts (imports) the retained bucket by its exact name when asked, so a destroyed stack re-attaches it", () => {
        const adopted = build("b-adopt", { bucketName: "acme-shop-staging-backups", adoptExisting: true }).of(BUCKET);
        assert.equal(adopted.opts.import, "acme-shop-staging-backups");
        assert.equal(adopted.opts.retainOnDelete, true);
        assert.equal(build("b-create", { bucketName: "acme-shop-staging-backups" }).of(BUCKET).opts.import, undefined);
        assert.throws(() => build("b-adopt-noname", { adoptExisting: true }), /adoptExisting needs bucketName/);
    });

    it("retains the bucket's configuration with it, so a kept bucket keeps its protections and lifecycle", () => {
        const { resources } = build("b-keep-config");
        const config = resources.filter((r) => r.type.startsWith(S3) && r.type !== BUCKET);
        assert.ok(config.length >= 6);
        for (const r of config) assert.equal(r.opts.retainOnDelete, true, r.type);
    });

    it("enables versioning, blocks all public access and enforces bucket-owner ownership", () => {
        const { of } = build("b-basics");
        assert.deepEqual(of("aws:s3/bucketVersioning:BucketVersioning").props.versioningConfiguration, { status: "Enabled" });
        const pab = of("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").props;
        assert.deepEqual([pab.blockPublicAcls, pab.blockPublicPolicy, pab.ignorePublicAcls, pab.restrictPublicBuckets], [true, true, true, true]);
        assert.deepEqual(of("aws:s3/bucketOwnershipControls:BucketOwnershipControls").props.rule, { objectOwnership: "BucketOwnerEnforced" });
    });

    it("encrypts with SSE-S3 (AES256) by default", () => {
        const sse = build("b-sse").of("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration");
        assert.deepEqual(sse.props.rules, [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }]);
    });

    it("encrypts with the given KMS key and a bucket key, and lets the backup credential use only that key", async () => {
        const key = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        const { of } = build("b-kms", { kmsKeyArn: key });
        const sse = of("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration");
        assert.deepEqual(sse.props.rules, [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: key }, bucketKeyEnabled: true }]);
        const doc = await policyOf(of("aws:iam/userPolicy:UserPolicy"));
        const kms = doc.Statement.filter((s: any) => [s.Action].flat().some((a: string) => a.startsWith("kms:")));
        assert.deepEqual(kms.map((s: any) => s.Resource), [key]);
    });

    it("sets the bucket's region on every S3 resource", () => {
        const { resources } = build("b-region", { region: "eu-west-3" });
        for (const r of resources.filter((x) => x.type.startsWith(S3))) assert.equal(r.props.region, "eu-west-3", r.type);
    });

    it("denies every request made without TLS, on the bucket and its objects", async () => {
        const { of, component } = build("b-tls");
        const doc = await policyOf(of("aws:s3/bucketPolicy:BucketPolicy"));
        const arn = `arn:aws:s3:::${await unwrap(component.bucketName)}`;
        assert.deepEqual(doc.Statement, [
            { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [arn, `${arn}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } },
        ]);
    });

    it("expires daily/, weekly/ and monthly/ under <app>/<env>/ after 30, 84 and 365 days by default", () => {
        const rules = build("b-lifecycle").of("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").props.rules as any[];
        const expiring = rules.filter((r) => r.expiration?.days !== undefined).map((r) => [r.filter.prefix, r.expiration.days, r.status]);
        assert.deepEqual(expiring, [
            ["shop/staging/daily/", 30, "Enabled"],
            ["shop/staging/weekly/", 84, "Enabled"],
            ["shop/staging/monthly/", 365, "Enabled"],
        ]);
    });

    it("expires noncurrent versions and aborts incomplete multipart uploads after 7 days", () => {
        const rules = build("b-cleanup", { retention: { ...RETENTION, noncurrentVersionDays: 14 } }).of("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").props.rules as any[];
        const cleanup = rules.find((r) => r.noncurrentVersionExpiration);
        assert.ok(cleanup, "a rule expires noncurrent versions");
        assert.equal(cleanup.status, "Enabled");
        assert.equal(cleanup.filter.prefix, "shop/staging/");
        assert.deepEqual(cleanup.noncurrentVersionExpiration, { noncurrentDays: 14 });
        assert.deepEqual(cleanup.abortIncompleteMultipartUpload, { daysAfterInitiation: 7 });
    });

    it("takes the tier expirations from its retention argument", () => {
        const rules = mod.lifecycleRules("a/b/", { ...RETENTION, dailyDays: 10, weeklyDays: 70, monthlyDays: 400 });
        assert.deepEqual(rules.slice(0, 3).map((r: any) => r.expiration.days), [10, 70, 400]);
    });

    it("adds an Object Lock default retention in GOVERNANCE mode only when asked, after versioning is on", () => {
        const none = build("b-nolock").resources.filter((r) => r.type === "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration");
        assert.equal(none.length, 0);
        const { of } = build("b-lock", { environment: "production", protect: true, objectLock: { mode: "GOVERNANCE", days: 30 } });
        const lock = of("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration");
        assert.deepEqual(lock.props.rule, { defaultRetention: { mode: "GOVERNANCE", days: 30 } });
        assert.equal(lock.props.objectLockEnabled, "Enabled");
        const versioning = of("aws:s3/bucketVersioning:BucketVersioning");
        assert.ok((lock.opts.dependsOn as any[]).includes(versioning.resource), "the lock waits for versioning");
    });

    it("limits the backup credential to listing its own prefix and reading, writing and deleting under its tiers", async () => {
        const { of, component } = build("b-iam", { bucketName: "acme-shop-staging-backups" });
        const doc = await policyOf(of("aws:iam/userPolicy:UserPolicy"));
        const arn = "arn:aws:s3:::acme-shop-staging-backups";
        const list = doc.Statement.find((s: any) => s.Action === "s3:ListBucket");
        assert.equal(list.Effect, "Allow");
        assert.equal(list.Resource, arn);
        assert.deepEqual(list.Condition, { StringLike: { "s3:prefix": ["shop/staging/", "shop/staging/*"] } });
        const objects = doc.Statement.find((s: any) => Array.isArray(s.Action) && s.Action.includes("s3:PutObject"));
        assert.deepEqual([...objects.Action].sort(), ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"]);
        assert.deepEqual(objects.Resource, [`${arn}/shop/staging/daily/*`, `${arn}/shop/staging/weekly/*`, `${arn}/shop/staging/monthly/*`]);
        assert.equal(doc.Statement.length, 2, "nothing else is allowed");
        assert.equal(component.prefix, "shop/staging/");
    });

    it("attaches the policy and access key to the environment's own IAM user", async () => {
        const { of } = build("b-user");
        const user = of("aws:iam/user:User");
        assert.equal(user.props.name, "shop-staging-backup");
        assert.equal(await unwrap(of("aws:iam/userPolicy:UserPolicy").props.user), "shop-staging-backup");
        assert.equal(await unwrap(of("aws:iam/accessKey:AccessKey").props.user), "shop-staging-backup");
        assert.notEqual(user.opts.retainOnDelete, true, "destroy revokes the credential");
    });

    it("exposes the AWS target: bucket, prefix <app>/<env>/, region, no endpoint, and the secret key as a secret", async () => {
        const { component } = build("b-target", { bucketName: "acme-shop-staging-backups" });
        const t = component.target;
        assert.equal(await unwrap(t.bucket), "acme-shop-staging-backups");
        assert.equal(t.prefix, "shop/staging/");
        assert.equal(t.region, "eu-central-1");
        assert.equal(t.endpoint, undefined);
        assert.ok((await unwrap(t.accessKeyId)).length > 0);
        assert.equal(await isSecret(t.secretAccessKey), true);
        assert.doesNotThrow(() => backupJob.validateBackupTarget("BackupJob", t), "the backup job accepts the target");
    });

    it("is vps:index:BackupStorage, with its former type vps:index:BackupBucket as an alias that its children inherit", async () => {
        const { component, resources } = build("b-alias");
        assert.deepEqual(resources.find((r) => r.name === "b-alias")?.opts.aliases, [{ type: "vps:index:BackupBucket" }]);
        const bucket = resources.find((r) => r.type === BUCKET)!;
        const urns = await Promise.all(pulumi.allAliases(bucket.opts.aliases ?? [], bucket.name, bucket.type, component, "b-alias").map((a) => unwrap(a)));
        assert.ok(urns.includes("urn:pulumi:test::vps-stacks::vps:index:BackupBucket$aws:s3/bucket:Bucket::b-alias-bucket"), urns.join("\n"));
    });

    it("gives every child the component as parent and a name derived from the component's", () => {
        const { component, resources } = build("b-tree");
        assert.deepEqual(resources.filter((r) => r.name === "b-tree").map((r) => r.type), ["vps:index:BackupStorage"]);
        for (const r of resources.filter((x) => x.name !== "b-tree")) {
            assert.equal(r.opts.parent, component, r.name);
            assert.ok(r.name.startsWith("b-tree-"), r.name);
        }
    });

    describe("with an S3-compatible store", () => {
        const compatible = (over: Partial<Args> = {}): Partial<Args> => ({
            store: "s3-compatible",
            region: "eu-central-003",
            endpoint: "https://s3.eu-central-003.backblazeb2.com",
            bucketName: "shop-backups",
            credentials: { accessKeyId: "0031234567890ab0000000001", secretAccessKey: "K003-very-secret" },
            ...over,
        });

        it("creates no AWS resource", () => {
            const { resources } = build("c-none", compatible());
            assert.deepEqual(resources.map((r) => r.type), ["vps:index:BackupStorage"]);
        });

        it("exposes the store's endpoint, bucket, prefix and credential, both keys as secrets", async () => {
            const { component } = build("c-target", compatible());
            const t = component.target;
            assert.equal(t.endpoint, "https://s3.eu-central-003.backblazeb2.com");
            assert.equal(await unwrap(t.bucket), "shop-backups");
            assert.equal(t.prefix, "shop/staging/");
            assert.equal(t.region, "eu-central-003");
            assert.equal(await isSecret(t.accessKeyId), true);
            assert.equal(await isSecret(t.secretAccessKey), true);
            assert.equal(await unwrap(t.secretAccessKey), "K003-very-secret");
            assert.doesNotThrow(() => backupJob.validateBackupTarget("BackupJob", t));
        });

        it("requires the store's credential", () => {
            assert.throws(() => build("c-nocreds", compatible({ credentials: undefined })), /credentials are required for an s3-compatible store/);
        });

        it("refuses AWS-only settings (Object Lock, KMS)", () => {
            assert.throws(() => build("c-lock", compatible({ objectLock: { mode: "GOVERNANCE", days: 7 } })), /apply to AWS only/);
        });
    });

    describe("rejects arguments that cannot work", () => {
        it("a weekly retention not longer than the daily one", () => {
            assert.throws(() => build("x-weekly", { retention: { ...RETENTION, weeklyDays: 14 } }), /retention\.weeklyDays \(14\) must be longer than dailyDays \(30\)/);
        });

        it("a monthly retention not longer than the weekly one", () => {
            assert.throws(() => build("x-monthly", { retention: { ...RETENTION, monthlyDays: 84 } }), /retention\.monthlyDays \(84\) must be longer than weeklyDays \(84\)/);
        });

        it("an endpoint or a credential with AWS", () => {
            assert.throws(() => build("x-endpoint", { endpoint: "https://minio.example.com" }), /endpoint is for s3-compatible stores/);
            assert.throws(() => build("x-creds", { credentials: { accessKeyId: "a", secretAccessKey: "b" } }), /credentials are for s3-compatible stores/);
        });

        it("a generated-name prefix longer than AWS allows", () => {
            assert.throws(() => build("x-long", { app: "a-very-long-application-name" }), /longer than 37 characters; set bucketName/);
        });
    });
});
