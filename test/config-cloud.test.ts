import { strict as assert } from "assert";
import { assertIssue, issuesOf, parse } from "./helpers/config";
import { validValues, VALID_SECRET_KEYS } from "./fixtures/config";
import { isSecret, unwrap } from "./helpers/pulumi";

/** The shared valid fixture plus a dns section and an AWS backup storage section. */
function cloudValues(): Record<string, any> {
    return {
        ...validValues(),
        dns: { zone: "example.com" },
        backupStorage: { region: "eu-central-1" },
    };
}

/** An S3-compatible store (Backblaze B2) with its credential. */
function compatibleValues(): Record<string, any> {
    return {
        ...validValues(),
        backupStorage: { store: "s3-compatible", region: "eu-central-003", endpoint: "https://s3.eu-central-003.backblazeb2.com", bucketName: "shop-backups" },
        backupAccessKeyId: "0031234567890ab0000000001",
        backupSecretAccessKey: "K003abcdefghijklmnopqrstuvwxyz0",
    };
}
const COMPATIBLE_SECRETS = [...VALID_SECRET_KEYS, "backupAccessKeyId", "backupSecretAccessKey"];

describe("config: dns", () => {
    it("parses a dns section with its defaults: DNS only, CAA on, no overrides", () => {
        const cfg = parse(cloudValues());
        assert.deepEqual(cfg.dns, { zone: "example.com", proxied: false, caa: true, records: {} });
    });

    it("leaves dns undefined when the section is absent (DNS managed elsewhere)", () => {
        assert.equal(parse(validValues()).dns, undefined);
    });

    it("rejects a dns section without a zone name", () => {
        const v = cloudValues();
        v.dns = { proxied: true };
        assertIssue(v, "dns.zone", /is required/);
    });

    it("still needs the zone name when a zone id is given: it is what hosts are checked against", () => {
        const v = cloudValues();
        v.dns = { zoneId: "0123456789abcdef0123456789abcdef" };
        assertIssue(v, "dns.zone", /is required/);
    });

    it("rejects a TTL set while records are proxied", () => {
        const v = cloudValues();
        v.dns = { zone: "example.com", proxied: true, ttl: 300 };
        assertIssue(v, "dns.ttl", /proxied record's TTL is automatic/);
    });

    it("rejects a TTL on a record proxied by its own override", () => {
        const v = cloudValues();
        v.dns = { zone: "example.com", records: { "api-staging.example.com": { type: "A", proxied: true, ttl: 120 } } };
        assertIssue(v, 'dns.records["api-staging.example.com"].ttl', /proxied record: its TTL is automatic/);
    });

    it("accepts a TTL on DNS-only records", () => {
        const v = cloudValues();
        v.dns = { zone: "example.com", proxied: false, ttl: 120 };
        assert.equal(parse(v).dns!.ttl, 120);
    });

    it("rejects a routed host outside the zone, naming the host and where it is routed", () => {
        const v = cloudValues();
        v.services.frontend.hosts = ["shop.example.org"];
        assertIssue(v, "services.frontend.hosts[0]", /"shop\.example\.org" is routed by the proxy but gets no DNS record: it is outside the DNS zone "example\.com"/);
    });

    it("rejects a record for a host no service routes", () => {
        const v = cloudValues();
        v.dns.records = { "old.example.com": { type: "CNAME", target: "lb.example.net" } };
        assertIssue(v, 'dns.records["old.example.com"]', /no service routes "old\.example\.com"/);
    });

    it("accepts an override for a routed host", () => {
        const v = cloudValues();
        v.dns.records = { "api-staging.example.com": { type: "CNAME", target: "lb.example.net" } };
        assert.deepEqual(parse(v).dns!.records["api-staging.example.com"], { type: "CNAME", target: "lb.example.net" });
    });

    it("rejects a CNAME without a target and an AAAA record whose target is not IPv6", () => {
        const v = cloudValues();
        v.dns.records = { "api-staging.example.com": { type: "CNAME" }, "app-staging.example.com": { type: "AAAA", target: "203.0.113.11" } };
        assertIssue(v, 'dns.records["api-staging.example.com"].target', /is required for a CNAME record/);
        assertIssue(v, 'dns.records["app-staging.example.com"].target', /is not an IPv6 address/);
    });

    it("rejects a TTL outside Cloudflare's 60–86400 seconds", () => {
        const v = cloudValues();
        v.dns.ttl = 30;
        assertIssue(v, "dns.ttl", /60–86400/);
    });

    it("requires a CAA issuer when the proxy's ACME CA is not Let's Encrypt", () => {
        const v = cloudValues();
        v.proxy.acmeCaServer = "https://acme.zerossl.com/v2/DV90";
        assertIssue(v, "dns.caaIssuer", /is required when dns\.caa is on and proxy\.acmeCaServer is not Let's Encrypt/);
        v.dns.caaIssuer = "sectigo.com";
        assert.equal(parse(v).dns!.caaIssuer, "sectigo.com");
    });
});

describe("config: backupStorage", () => {
    it("parses an AWS section with the retention defaults (30, 84, 365 days; 30 noncurrent; 7 for uploads)", () => {
        const cfg = parse(cloudValues());
        assert.equal(cfg.backupStorage!.store, "aws");
        assert.deepEqual(cfg.backupStorage!.retention, { dailyDays: 30, weeklyDays: 84, monthlyDays: 365, noncurrentVersionDays: 30, abortIncompleteUploadDays: 7 });
        assert.equal(cfg.backupStorage!.credentials, undefined);
        assert.equal(cfg.backupStorage!.objectLock, undefined);
    });

    it("rejects a weekly retention shorter than the daily one", () => {
        const v = cloudValues();
        v.backupStorage.retention = { dailyDays: 30, weeklyDays: 14 };
        assertIssue(v, "backupStorage.retention.weeklyDays", /weekly backups \(14 days\) must be kept longer than daily ones \(dailyDays 30\)/);
    });

    it("rejects a monthly retention not longer than the weekly one, against the defaults", () => {
        const v = cloudValues();
        v.backupStorage.retention = { monthlyDays: 60 };
        assertIssue(v, "backupStorage.retention.monthlyDays", /monthly backups \(60 days\) must be kept longer than weekly ones \(weeklyDays 84\)/);
    });

    it("accepts Object Lock in GOVERNANCE mode and rejects COMPLIANCE", () => {
        const v = cloudValues();
        v.backupStorage.objectLock = { mode: "GOVERNANCE", days: 30 };
        assert.deepEqual(parse(v).backupStorage!.objectLock, { mode: "GOVERNANCE", days: 30 });
        v.backupStorage.objectLock = { mode: "COMPLIANCE", days: 30 };
        assertIssue(v, "backupStorage.objectLock.mode", /GOVERNANCE/);
    });

    it("rejects an endpoint or a credential with the AWS store, which creates its own", () => {
        const v = cloudValues();
        v.backupStorage.endpoint = "https://minio.example.com";
        v.backupAccessKeyId = "AKIAEXAMPLE";
        assertIssue(v, "backupStorage.endpoint", /only for an s3-compatible store/, [...VALID_SECRET_KEYS, "backupAccessKeyId"]);
        assertIssue(v, "backupAccessKeyId", /only for an s3-compatible store/, [...VALID_SECRET_KEYS, "backupAccessKeyId"]);
    });

    it("adopts an existing bucket only by its exact name", () => {
        const v = cloudValues();
        v.backupStorage.adoptExisting = true;
        assertIssue(v, "backupStorage.adoptExisting", /needs backupStorage\.bucketName/);
        v.backupStorage.bucketName = "acme-shop-staging-backups";
        assert.equal(parse(v).backupStorage!.adoptExisting, true);
    });

    it("requires an exact bucket name when the generated prefix would exceed 37 characters", () => {
        const v = cloudValues();
        v.app = "a-very-long-application-name";
        assertIssue(v, "backupStorage.bucketName", /generated prefix "a-very-long-application-name-staging-backups-" is longer than the 37 characters/);
    });

    it("returns an S3-compatible store's credential as secret Outputs", async () => {
        const cfg = parse(compatibleValues(), COMPATIBLE_SECRETS);
        const creds = cfg.backupStorage!.credentials!;
        assert.equal(await isSecret(creds.accessKeyId), true);
        assert.equal(await isSecret(creds.secretAccessKey), true);
        assert.equal(await unwrap(creds.secretAccessKey), "K003abcdefghijklmnopqrstuvwxyz0");
        assert.equal(cfg.backupStorage!.endpoint, "https://s3.eu-central-003.backblazeb2.com");
    });

    it("rejects an S3-compatible store's credential given in plain text", () => {
        const v = compatibleValues();
        assertIssue(v, "backupAccessKeyId", /plain text: set it with "pulumi config set --secret backupAccessKeyId"/, VALID_SECRET_KEYS);
        assertIssue(v, "backupSecretAccessKey", /plain text: set it with "pulumi config set --secret backupSecretAccessKey"/, VALID_SECRET_KEYS);
    });

    it("requires an S3-compatible store's endpoint, bucket name and credential", () => {
        const v = compatibleValues();
        delete v.backupStorage.endpoint;
        delete v.backupStorage.bucketName;
        delete v.backupSecretAccessKey;
        assertIssue(v, "backupStorage.endpoint", /is required for an s3-compatible store/, COMPATIBLE_SECRETS);
        assertIssue(v, "backupStorage.bucketName", /is required for an s3-compatible store/, COMPATIBLE_SECRETS);
        assertIssue(v, "backupSecretAccessKey", /is required for an s3-compatible store/, COMPATIBLE_SECRETS);
    });

    it("rejects settings only AWS resources apply (retention, KMS, Object Lock) for an S3-compatible store", () => {
        const v = compatibleValues();
        v.backupStorage.retention = { dailyDays: 30 };
        v.backupStorage.objectLock = { mode: "GOVERNANCE", days: 7 };
        assertIssue(v, "backupStorage.retention", /applies to AWS only/, COMPATIBLE_SECRETS);
        assertIssue(v, "backupStorage.objectLock", /applies to AWS only/, COMPATIBLE_SECRETS);
    });

    it("rejects a non-http endpoint", () => {
        const v = compatibleValues();
        v.backupStorage.endpoint = "ftp://s3.example.com";
        assertIssue(v, "backupStorage.endpoint", /http\(s\) URL/, COMPATIBLE_SECRETS);
    });

    it("rejects a credential set without any backupStorage section", () => {
        const v = validValues();
        v.backupSecretAccessKey = "K003abcdefghijklmnopqrstuvwxyz0";
        assertIssue(v, "backupSecretAccessKey", /backupStorage is not configured/, [...VALID_SECRET_KEYS, "backupSecretAccessKey"]);
    });
});

describe("config: dns and backupStorage problems together", () => {
    it("reports every problem of both sections at once, each with its key path", () => {
        const v = cloudValues();
        v.dns = { proxied: true, ttl: 300, records: { "old.example.com": { type: "A" } } };
        v.backupStorage.retention = { weeklyDays: 7 };
        const { issues } = issuesOf(v);
        const paths = issues.map((i) => i.path);
        for (const p of ["dns.zone", "dns.ttl", 'dns.records["old.example.com"]', "backupStorage.retention.weeklyDays"]) {
            assert.ok(paths.includes(p), `${p} missing from ${paths.join(", ")}`);
        }
    });
});
