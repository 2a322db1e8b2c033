import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderEnvFile } from "../../components/jobs/systemd";
import { WebhookReceiver } from "./helpers/webhook-receiver";
import { S3Server } from "./helpers/s3-server";
import { runScript, scripts } from "./helpers/s3-scripts";
import { createDatabase, databaseExists, dropDatabase, pgEnv, pgUser, psql, seedShop, tableFingerprints, uniqueDatabase } from "./helpers/postgres";

// Scenario 1: backup then restore on the machine's real PostgreSQL (DB_ACCESS=local), through
// an S3-compatible server on loopback; and the restore check over the same backups.
describe("backup.sh → restore.sh round trip on PostgreSQL and an S3-compatible server", () => {
    const prefix = "shop/staging/";
    const source = uniqueDatabase("bk_src");
    const restored = uniqueDatabase("bk_dst");
    const created = [source, restored];
    let s3: S3Server;
    let receiver: WebhookReceiver;
    let env: Record<string, string>;

    // 2026-11-01 is a Sunday and the 1st: the backup goes to daily/, weekly/ and monthly/.
    const sundayFirst = "2026-11-01T03:00:00Z";
    // Keys carry the run id backup.sh picked (8 hex digits), learnt from the store.
    let sundayRun = "";
    const sundayKey = (tier: string) => `${prefix}${tier}/postgres-${source}-20261101T030000Z-${sundayRun}.dump`;

    before(async () => {
        receiver = await new WebhookReceiver().start();
        s3 = await new S3Server().start();
        await createDatabase(source);
        await seedShop(source, 100_000);
        env = {
            ...s3.env(prefix),
            ...pgEnv,
            DB_ACCESS: "local",
            BACKUP_POSTGRES: `local-postgres:${source}:${pgUser}`,
            BACKUP_REDIS: "",
            ALERT_WEBHOOK_URL: receiver.url,
            ALERT_PREFIX: "[shop/staging]",
        };
    });

    after(async () => {
        // restore --replace keeps the database it replaced as "<name>_replaced_<time>".
        const replaced = (await psql("postgres", `SELECT datname FROM pg_database WHERE datname LIKE '${restored}_replaced_%'`)).split("\n").filter(Boolean);
        for (const db of [...created, ...replaced]) {
            await dropDatabase(db);
        }
        await receiver?.stop();
        await s3?.stop();
        s3?.remove();
    });

    beforeEach(() => receiver.clear());

    it("seeds a source database of more than 100 000 rows", async () => {
        const fp = await tableFingerprints(source);
        const total = Object.entries(fp).filter(([t]) => !t.startsWith("(")).reduce((n, [, v]) => n + v.rows, 0);
        assert.ok(total >= 100_000, `total rows ${total}`);
    });

    it("uploads the dump with a sidecar that matches the stored object's SHA-256, and reports OK", async () => {
        const r = await runScript(scripts.backup, [], { ...env, BACKUP_TIME: sundayFirst });
        assert.equal(r.code, 0, r.stderr);
        const keys = await s3.keys(`${prefix}daily/`);
        sundayRun = new RegExp(`postgres-${source}-20261101T030000Z-([0-9a-f]{8})\\.dump$`).exec(keys[0])?.[1] ?? "";
        assert.match(sundayRun, /^[0-9a-f]{8}$/, keys.join(","));
        const key = sundayKey("daily");
        assert.deepEqual(keys, [key, `${key}.sha256`]);
        const sidecar = (await s3.read(`${key}.sha256`)).toString("utf8");
        assert.equal(sidecar, `${await s3.sha256(key)}  postgres-${source}-20261101T030000Z-${sundayRun}.dump\n`);
        assert.equal((await s3.read(key)).subarray(0, 5).toString("latin1"), "PGDMP", "custom-format archive");
        assert.equal(receiver.texts().length, 1);
        assert.match(receiver.texts()[0], new RegExp(`^\\[shop/staging\\] OK: backup 20261101T030000Z .*postgres-${source} `));
    });

    it("copies a Sunday-the-1st backup to weekly/ and monthly/ with their sidecars, byte for byte", async () => {
        const daily = await s3.sha256(sundayKey("daily"));
        for (const tier of ["weekly", "monthly"]) {
            assert.deepEqual(await s3.keys(`${prefix}${tier}/`), [sundayKey(tier), `${sundayKey(tier)}.sha256`]);
            assert.equal(await s3.sha256(sundayKey(tier)), daily, tier);
            assert.deepEqual(await s3.read(`${sundayKey(tier)}.sha256`), await s3.read(`${sundayKey("daily")}.sha256`));
        }
    });

    it("restores the newest backup into a new database with the same row counts and per-table checksums", async () => {
        const r = await runScript(scripts.restore, ["postgres", source, "--into", restored], env);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /checksum ok/);
        const [want, got] = [await tableFingerprints(source), await tableFingerprints(restored)];
        assert.deepEqual(Object.keys(got).sort(), ["(sequences)", "attachments", "customers", "orders"]);
        assert.deepEqual(got, want);
        assert.equal(await psql(restored, "SELECT count(*) FROM paid_orders"), await psql(source, "SELECT count(*) FROM paid_orders"));
    });

    it("refuses to restore into an existing database without --replace, and leaves it as it was", async () => {
        await psql(restored, "DELETE FROM attachments WHERE id <= 10");
        const r = await runScript(scripts.restore, ["postgres", source, "--into", restored], env);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /exists; pass --replace/);
        assert.equal(await psql(restored, "SELECT count(*) FROM attachments"), "4990");
        const again = await runScript(scripts.restore, ["postgres", source, "--into", restored, "--replace"], env);
        assert.equal(again.code, 0, again.stderr);
        assert.equal(await psql(restored, "SELECT count(*) FROM attachments"), "5000");
        // The database it replaced is kept, under a dated name, with its rows.
        const kept = /the database it replaced is kept as '([^']+)'/.exec(again.stderr)?.[1];
        assert.match(kept ?? "", new RegExp(`^${restored}_replaced_\\d{14}$`), again.stderr);
        assert.equal(await psql(kept!, "SELECT count(*) FROM attachments"), "4990");
    });

    it("puts a weekday backup in daily/ only, and lists both backups oldest first", async () => {
        const r = await runScript(scripts.backup, [], { ...env, BACKUP_TIME: "2026-11-03T03:00:00Z" });
        assert.equal(r.code, 0, r.stderr);
        assert.equal((await s3.keys(`${prefix}weekly/`)).length, 2);
        const list = await runScript(scripts.restore, ["list", "postgres", source], env);
        assert.equal(list.code, 0, list.stderr);
        const lines = list.stdout.trim().split("\n");
        assert.equal(lines[0], sundayKey("daily"));
        assert.match(lines[1], new RegExp(`^${prefix}daily/postgres-${source}-20261103T030000Z-[0-9a-f]{8}\\.dump$`));
        assert.equal(lines.length, 2);
    });

    it("loads the job's env file (as ScheduledJob renders it) with --env-file, for a person at the VPS", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "restore-env-"));
        try {
            const envFile = path.join(dir, "shop-staging-backup.env");
            fs.writeFileSync(envFile, renderEnvFile(env), { mode: 0o600 });
            // Owned by whoever runs the test: root in CI, as on the VPS.
            const r = await runScript(scripts.restore, ["--env-file", envFile, "list", "postgres", source], { VPS_JOBS_ENV_OWNER_UID: String(process.getuid!()) });
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.stdout.trim().split("\n").length, 2);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("ignores a newer dump without a sidecar: restore, list and the freshness check use only complete backups", async () => {
        const incomplete = `${prefix}daily/postgres-${source}-20261104T030000Z.dump`;
        // An upload cut short: the bytes are there, the sidecar is not.
        await s3.put(incomplete, Buffer.from("PGDMP truncated"));
        const list = await runScript(scripts.restore, ["list", "postgres", source], env);
        assert.ok(!list.stdout.includes(incomplete), list.stdout);
        const check = await runScript(scripts.restoreCheck, [], { ...env, RESTORE_CHECK_NOW: "2026-11-05T06:00:00Z" });
        // Newest complete backup: 2026-11-03 03:00, 51 h before; the incomplete one would be 27 h.
        assert.equal(check.code, 1, check.stderr);
        assert.match(receiver.texts().join("\n"), /newest complete backup is 51 h old \(limit 26 h\)/);
    });

    it("refuses to restore a backup whose bytes no longer match its sidecar, creating nothing", async () => {
        const key = sundayKey("monthly");
        const bytes = await s3.read(key);
        const flipped = Buffer.from(bytes);
        flipped[flipped.length - 100] ^= 0xff;
        // Stored as a whole new object (consistent ETag), so only the sidecar can tell.
        await s3.put(key, flipped);
        const target = uniqueDatabase("bk_bad");
        created.push(target);
        const r = await runScript(scripts.restore, ["postgres", source, "--into", target, "--key", key], env);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /checksum mismatch/);
        assert.equal(await databaseExists(target), false);
        await s3.put(key, bytes);
    });

    it("falls back to the newest backup that verifies when the newest is corrupt, and says so; the restore check alerts it", async () => {
        const list = (await runScript(scripts.restore, ["list", "postgres", source], env)).stdout.trim().split("\n");
        const newest = list[list.length - 1];
        const bytes = await s3.read(newest);
        const flipped = Buffer.from(bytes);
        flipped[flipped.length - 100] ^= 0xff;
        await s3.put(newest, flipped);
        try {
            const target = uniqueDatabase("bk_fallback");
            created.push(target);
            const r = await runScript(scripts.restore, ["postgres", source, "--into", target], env);
            assert.equal(r.code, 0, r.stderr);
            assert.match(r.stderr, new RegExp(`${newest.replace(/[.]/g, "\\.")} does not verify; trying the next newest backup`));
            assert.match(r.stderr, new RegExp(`falling back to ${list[list.length - 2].replace(/[.]/g, "\\.")}, the newest backup that verifies`));
            assert.deepEqual(await tableFingerprints(target), await tableFingerprints(source));
            const check = await runScript(scripts.restoreCheck, [], { ...env, RESTORE_CHECK_NOW: "2026-11-03T09:00:00Z" });
            assert.equal(check.code, 1, check.stderr);
            assert.match(receiver.texts().join("\n"), /restore check FAILED: postgres .*: the newest backup does not verify, so .*20261101T030000Z.* was restored instead: .*checksum mismatch/);
        } finally {
            await s3.put(newest, bytes);
        }
    });

    it("restore check: restores the newest backup into a scratch database, runs the smoke query, reports OK and drops the scratch", async () => {
        const r = await runScript(scripts.restoreCheck, [], { ...env, RESTORE_CHECK_NOW: "2026-11-03T09:00:00Z" });
        assert.equal(r.code, 0, r.stderr);
        const texts = receiver.texts();
        assert.equal(texts.length, 1);
        assert.match(texts[0], new RegExp(`^\\[shop/staging\\] OK: restore check passed: postgres ${source}: .*20261103T030000Z-[0-9a-f]{8}\\.dump \\(6 h old\\) restored in \\d+s, smoke query: 3;`));
        assert.equal(await databaseExists(`${source}_restore_check`), false);
    });

    it("restore check: fails and alerts when the smoke query finds nothing in the restored copy", async () => {
        const r = await runScript(scripts.restoreCheck, [], {
            ...env,
            RESTORE_CHECK_NOW: "2026-11-03T09:00:00Z",
            RESTORE_CHECK_SMOKE_QUERY: "SELECT count(*) FROM orders WHERE amount < 0",
        });
        assert.equal(r.code, 1);
        assert.match(receiver.texts().join("\n"), /FAILURE: restore check FAILED: postgres .*smoke query on the restored copy returned '0'/);
        assert.equal(await databaseExists(`${source}_restore_check`), false);
    });

    it("restore check: alerts when the newest good backup is older than 26 hours", async () => {
        const r = await runScript(scripts.restoreCheck, [], { ...env, RESTORE_CHECK_NOW: "2026-11-04T06:00:00Z" });
        assert.equal(r.code, 1);
        assert.match(receiver.texts().join("\n"), /FAILURE: .*newest complete backup is 27 h old \(limit 26 h\)/);
        const within = await runScript(scripts.restoreCheck, [], { ...env, RESTORE_CHECK_NOW: "2026-11-04T04:59:00Z", MAX_BACKUP_AGE_HOURS: "26" });
        assert.equal(within.code, 0, within.stderr);
    });

    it("restore check: alerts when a database has no complete backup at all", async () => {
        const r = await runScript(scripts.restoreCheck, [], { ...env, BACKUP_POSTGRES: `local-postgres:never_backed_up:${pgUser}` });
        assert.equal(r.code, 1);
        assert.match(receiver.texts().join("\n"), /FAILURE: restore check FAILED: postgres never_backed_up: no complete backup found/);
    });
});
