import { strict as assert } from "assert";
import type { SynthResource, SynthResult } from "../tools/synth/synthesize";
import { SynthRun, synthShippedStack } from "./helpers/synth";

const STACKS = ["staging", "production"] as const;

type Run = SynthRun;

const ofType = (r: SynthResult, type: string) => r.resources.filter((x) => x.type === type);
const one = (r: SynthResult, type: string): SynthResource => {
    const list = ofType(r, type);
    assert.equal(list.length, 1, `one ${type}`);
    return list[0];
};

/** Every S3 ARN an IAM or bucket policy document names. */
function s3Arns(policy: unknown): string[] {
    const doc = JSON.parse(String(policy));
    return doc.Statement.flatMap((s: any) => [s.Resource].flat()).filter((arn: string) => arn.startsWith("arn:aws:s3:"));
}

describe("offline synth: DNS records and backup buckets of the shipped stacks", function () {
    const runs: Record<string, Run> = {};

    before(async function () {
        this.timeout(120000);
        await Promise.all([...STACKS, "vps1" as const].map(async (s) => (runs[s] = await synthShippedStack(s))));
    });

    for (const stack of STACKS) {
        it(`synthesizes ${stack} without a mandatory policy violation`, () => {
            assert.equal(runs[stack].code, 0, `${runs[stack].stdout}\n${runs[stack].stderr}`);
            assert.ok(runs[stack].result, "the JSON was written");
        });

        it(`retains every ${stack} S3 bucket on delete and never force-destroys it`, () => {
            const buckets = ofType(runs[stack].result!, "aws:s3/bucket:Bucket");
            assert.equal(buckets.length, 1);
            for (const b of buckets) {
                assert.equal(b.options.retainOnDelete, true, b.urn);
                assert.notEqual(b.props.forceDestroy, true, b.urn);
            }
        });

        it(`gives ${stack}'s bucket versioning, encryption, public access blocks, ownership, a TLS-only policy and a lifecycle`, () => {
            const r = runs[stack].result!;
            const bucket = one(r, "aws:s3/bucket:Bucket");
            const name = bucket.props.bucket;
            for (const type of [
                "aws:s3/bucketVersioning:BucketVersioning",
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
                "aws:s3/bucketPolicy:BucketPolicy",
                "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
            ]) {
                const child = one(r, type);
                assert.equal(child.props.bucket, name, type);
                assert.equal(child.parent, bucket.parent, `${type} is in the BackupStorage component`);
                assert.equal(child.options.retainOnDelete, true, type);
            }
            const rules = one(r, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").props.rules as any[];
            assert.deepEqual(
                rules.filter((x) => x.expiration?.days).map((x) => [x.filter.prefix, x.expiration.days]),
                [
                    [`shop/${stack}/daily/`, 30],
                    [`shop/${stack}/weekly/`, 84],
                    [`shop/${stack}/monthly/`, 365],
                ],
            );
        });

        it(`names only ${stack}'s own bucket in the backup credential's IAM policy`, () => {
            const r = runs[stack].result!;
            const arn = `arn:aws:s3:::${one(r, "aws:s3/bucket:Bucket").props.bucket}`;
            const policies = ofType(r, "aws:iam/userPolicy:UserPolicy");
            // The backup job's, and pgBackRest's (PITR): each its own user.
            assert.deepEqual(policies.map((p) => p.name).sort(), [`shop-${stack}-backups-writer-policy`, `shop-${stack}-pitr-repository-writer-policy`]);
            for (const policy of policies) {
                const arns = s3Arns(policy.props.policy);
                assert.ok(arns.length > 0);
                for (const a of arns) assert.ok(a === arn || a.startsWith(`${arn}/shop/${stack}/`), `${a} is outside ${arn}/shop/${stack}/`);
            }
            const other = STACKS.find((s) => s !== stack)!;
            const otherArn = `arn:aws:s3:::${one(runs[other].result!, "aws:s3/bucket:Bucket").props.bucket}`;
            assert.notEqual(otherArn, arn, "each environment has its own bucket");
        });

        it(`gives pgBackRest (in ${stack}'s database container) a credential for the PITR prefix only, none of the dumps' tiers`, () => {
            const r = runs[stack].result!;
            const arn = `arn:aws:s3:::${one(r, "aws:s3/bucket:Bucket").props.bucket}`;
            const pitr = ofType(r, "aws:iam/userPolicy:UserPolicy").find((p) => p.name === `shop-${stack}-pitr-repository-writer-policy`)!;
            assert.deepEqual(s3Arns(pitr.props.policy), [arn, `${arn}/shop/${stack}/pitr/*`]);
            const list = JSON.parse(String(pitr.props.policy)).Statement.find((st: any) => st.Action === "s3:ListBucket");
            assert.deepEqual(list.Condition, { StringLike: { "s3:prefix": [`shop/${stack}/pitr/`, `shop/${stack}/pitr/*`] } });
        });

        it(`creates one DNS record per routed host of ${stack}, pointing at its host stack's proxy address`, () => {
            const r = runs[stack].result!;
            const records = ofType(r, "cloudflare:index/dnsRecord:DnsRecord").filter((x) => x.props.type === "A");
            const hosts = (r.outputs.urls as string[]).map((u) => u.replace("https://", "")).sort();
            assert.deepEqual(records.map((x) => x.props.name).sort(), hosts);
            const proxy = (runs.vps1.result!.outputs.edge as { publicAddress: string }).publicAddress;
            for (const x of records) {
                assert.equal(x.props.content, proxy);
                assert.equal(x.options.retainOnDelete, false, "destroy removes DNS records");
                assert.equal(x.options.protect, false);
            }
            assert.deepEqual(r.outputs.dnsRecords, hosts);
        });

        it(`never writes the backup credential's secret key (${stack})`, () => {
            assert.doesNotMatch(runs[stack].text!, /synth-secret-/);
        });
    }

    it("leaves staging's bucket unprotected, so `pulumi destroy --stack staging` passes", () => {
        assert.equal(one(runs.staging.result!, "aws:s3/bucket:Bucket").options.protect, false);
    });

    it("protects production's bucket and locks its objects in GOVERNANCE mode", () => {
        const r = runs.production.result!;
        for (const b of ofType(r, "aws:s3/bucket:Bucket")) assert.equal(b.options.protect, true, b.urn);
        const lock = one(r, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration");
        assert.equal((lock.props.rule as any).defaultRetention.mode, "GOVERNANCE");
        assert.equal(ofType(runs.staging.result!, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration").length, 0);
    });

    it("proxies production's records with automatic TTL and keeps staging's DNS-only with a TTL", () => {
        const a = (s: string) => ofType(runs[s].result!, "cloudflare:index/dnsRecord:DnsRecord").filter((x) => x.props.type === "A");
        for (const x of a("production")) assert.deepEqual([x.props.proxied, x.props.ttl], [true, 1], x.urn);
        for (const x of a("staging")) assert.deepEqual([x.props.proxied, x.props.ttl], [false, 300], x.urn);
    });

    it("allows only Let's Encrypt to issue certificates for the hosts (CAA)", () => {
        for (const s of STACKS) {
            const caa = ofType(runs[s].result!, "cloudflare:index/dnsRecord:DnsRecord").filter((x) => x.props.type === "CAA");
            assert.ok(caa.length > 0, s);
            for (const x of caa) assert.deepEqual(x.props.data, { flags: 0, tag: "issue", value: "letsencrypt.org" });
        }
    });
});
