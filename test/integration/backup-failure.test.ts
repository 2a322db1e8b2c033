import { strict as assert } from "assert";
import { WebhookReceiver } from "./helpers/webhook-receiver";
import { S3Server } from "./helpers/s3-server";
import { runScript, scripts } from "./helpers/s3-scripts";
import { createDatabase, dropDatabase, pgEnv, pgUser, psql, seedShop, uniqueDatabase } from "./helpers/postgres";

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!(await check())) {
        if (Date.now() > end) {
            throw new Error(`timed out waiting for ${what}`);
        }
        await new Promise((r) => setTimeout(r, 25));
    }
}

// Scenario 2: failures exit non-zero, alert the webhook, and leave no object that looks like a
// complete backup (a dump without its .sha256 sidecar is never complete; the script also deletes it).
describe("backup.sh when the upload or the dump fails", () => {
    const small = uniqueDatabase("bkf_small");
    const big = uniqueDatabase("bkf_big");
    let s3: S3Server;
    let receiver: WebhookReceiver;
    let prefixCounter = 0;
    let prefix: string;

    const envFor = (databases: string[], extra: Record<string, string> = {}) => ({
        ...s3.env(prefix),
        ...pgEnv,
        DB_ACCESS: "local",
        BACKUP_POSTGRES: databases.map((d) => `local-postgres:${d}:${pgUser}`).join(" "),
        BACKUP_REDIS: "",
        ALERT_WEBHOOK_URL: receiver.url,
        ALERT_PREFIX: "[shop/staging]",
        ...extra,
    });

    before(async () => {
        receiver = await new WebhookReceiver().start();
        s3 = await new S3Server().start();
        await createDatabase(small);
        await seedShop(small, 1000);
        // ~48 MB of random bytes: the dump does not compress, so it is still running while the
        // (bandwidth-limited) upload has stored its first parts.
        await createDatabase(big);
        await psql(
            big,
            "CREATE TABLE blobs AS SELECT g AS id, decode(md5(random()::text) || md5(random()::text), 'hex') AS body FROM generate_series(1, 1500000) g",
        );
    });

    after(async () => {
        await dropDatabase(small);
        await dropDatabase(big);
        await receiver?.stop();
        await s3?.stop();
        s3?.remove();
    });

    beforeEach(async () => {
        receiver.clear();
        receiver.failWith(undefined);
        prefix = `shop/fail-${++prefixCounter}/`;
        await s3.start(); // again, when a test stopped it
    });

    async function assertNothingLooksComplete(): Promise<string[]> {
        const keys = await s3.keys(prefix);
        const dumps = keys.filter((k) => !k.endsWith(".sha256"));
        for (const d of dumps) {
            assert.ok(!keys.includes(`${d}.sha256`), `${d} has a sidecar`);
        }
        const list = await runScript(scripts.restore, ["list", "postgres", big], envFor([big]));
        assert.equal(list.stdout, "", "restore.sh lists no complete backup");
        return keys;
    }

    it("exits 1 and alerts when the S3 server is down, and leaves no object", async () => {
        await s3.stop();
        const started = Date.now();
        const r = await runScript(scripts.backup, [], envFor([small]));
        const seconds = (Date.now() - started) / 1000;
        assert.equal(r.code, 1, r.stderr);
        assert.equal(receiver.texts().length, 1);
        assert.match(receiver.texts()[0], new RegExp(`^\\[shop/staging\\] FAILURE: backup \\d{8}T\\d{6}Z to s3://${s3.bucket}/${prefix} FAILED: postgres-${small}: upload to .* failed`));
        assert.ok(seconds < 120, `gave up after ${seconds} s`);
        await s3.start();
        assert.deepEqual(await s3.keys(prefix), []);
    });

    // s3rver checks the access key id but does not verify SigV4 signatures, so the wrong
    // credential here is an unknown key id (a wrong secret is rejected the same way by S3).
    it("exits 1 and alerts when the credential is wrong, and leaves no object", async () => {
        const r = await runScript(scripts.backup, [], envFor([small], { S3_ACCESS_KEY_ID: "AKIANOTAKEY" }));
        assert.equal(r.code, 1, r.stderr);
        assert.match(receiver.texts().join("\n"), /FAILURE: .* upload to .* failed .*InvalidAccessKeyId/);
        assert.deepEqual(await s3.keys(prefix), []);
    });

    it("exits 1 when the server goes away in the middle of a multipart upload; nothing looks complete", async () => {
        // Parts of uploads that an earlier test cut short stay on the server's disk.
        const partsBefore = s3.pendingUploadParts();
        const run = runScript(scripts.backup, [], envFor([big], { RCLONE_BWLIMIT: "4M" }));
        await until("the first uploaded part", () => s3.pendingUploadParts() > partsBefore);
        await s3.stop();
        const r = await run;
        assert.equal(r.code, 1, r.stderr);
        assert.match(receiver.texts().join("\n"), new RegExp(`FAILURE: .*postgres-${big}: upload to .* failed`));
        await s3.start();
        assert.deepEqual(await assertNothingLooksComplete(), []);
    });

    it("deletes a dump that the upload completed after pg_dump died mid-stream, and alerts", async () => {
        // Parts of uploads that an earlier test cut short stay on the server's disk.
        const partsBefore = s3.pendingUploadParts();
        const run = runScript(scripts.backup, [], envFor([big], { RCLONE_BWLIMIT: "4M" }));
        await until("the first uploaded part", () => s3.pendingUploadParts() > partsBefore);
        // OFFSET 0 keeps the filter below the terminate call (no subquery flattening).
        const killed = await psql(
            "postgres",
            `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM (SELECT pid FROM pg_stat_activity WHERE datname = '${big}' AND application_name = 'pg_dump' OFFSET 0) s`,
        );
        assert.equal(killed, "1", "pg_dump was still dumping");
        const r = await run;
        assert.equal(r.code, 1, r.stderr);
        assert.match(receiver.texts().join("\n"), new RegExp(`FAILURE: .*postgres-${big}: dump failed \\(exit 1\\)`));
        // The truncated stream became a complete multipart object; backup.sh deleted it.
        assert.deepEqual(await assertNothingLooksComplete(), []);
    });

    it("backs up the other databases when one dump fails, and names both in the alert", async () => {
        const r = await runScript(scripts.backup, [], envFor(["no_such_database_here", small]));
        assert.equal(r.code, 1, r.stderr);
        const text = receiver.texts().join("\n");
        assert.match(text, /FAILURE: .*postgres-no_such_database_here: dump failed .*does not exist/);
        assert.match(text, new RegExp(`completed: postgres-${small} `));
        // On a Sunday or the 1st of a month the run also copies into weekly/ or monthly/:
        // count only the daily tier, which every run writes (dump + .sha256).
        const keys = await s3.keys(prefix);
        assert.equal(keys.filter((k) => k.includes("no_such_database_here")).length, 0, keys.join(","));
        const daily = await s3.keys(`${prefix}daily/`);
        assert.equal(daily.filter((k) => k.includes(small)).length, 2, daily.join(","));
    });

    it("exits 4 when every backup is complete but the webhook rejects the report", async () => {
        receiver.failWith(500);
        const r = await runScript(scripts.backup, [], envFor([small]));
        assert.equal(r.code, 4, r.stderr);
        assert.match(r.stderr, /all backups are complete, but the webhook did not take the report/);
        assert.equal((await s3.keys(`${prefix}daily/`)).length, 2);
    });

    it("exits 2 and alerts on a configuration it cannot run", async () => {
        const r = await runScript(scripts.backup, [], envFor([small], { DB_ACCESS: "ssh" }));
        assert.equal(r.code, 2);
        assert.match(receiver.texts().join("\n"), /FAILURE: backup not run: DB_ACCESS must be docker or local, got 'ssh'/);
        const missing = await runScript(scripts.backup, [], { ...envFor([small]), S3_BUCKET: "" });
        assert.equal(missing.code, 2);
        assert.match(missing.stderr, /missing environment: S3_BUCKET/);
    });
});
