import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { WebhookReceiver } from "./helpers/webhook-receiver";
import { freePort, S3Server } from "./helpers/s3-server";
import { runScript, scripts } from "./helpers/s3-scripts";
import { createDatabase, databaseExists, dropDatabase, pgEnv, pgUser, seedShop, uniqueDatabase } from "./helpers/postgres";

/**
 * A PATH directory whose `rclone` records each command line to `log` and then runs the real
 * rclone (/usr/bin/rclone) with the same arguments, so a test can tell a listing from a
 * download. Its `awk` is mawk when installed, as runScript would give (the VPS's awk).
 */
function recordingRcloneDir(dir: string, log: string): string {
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    const real = "/usr/bin/rclone";
    assert.ok(fs.existsSync(real), "rclone is installed (.ci/setup.d/20-backup-tools.sh)");
    fs.writeFileSync(path.join(bin, "rclone"), `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >>'${log}'\nexec ${real} "$@"\n`, { mode: 0o755 });
    if (fs.existsSync("/usr/bin/mawk")) {
        fs.symlinkSync("/usr/bin/mawk", path.join(bin, "awk"));
    }
    return bin;
}

// The daily freshness mode of restore-check.sh against backups that backup.sh wrote of the
// machine's real PostgreSQL (DB_ACCESS=local) and Redis (127.0.0.1:6379) to an S3-compatible
// server on loopback.
describe("restore-check.sh RESTORE_CHECK_MODE=freshness: the daily backup age check", () => {
    const prefix = "shop/staging/";
    const source = uniqueDatabase("fresh_src");
    const redisName = "shop-staging-redis";
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "backup-freshness-"));
    const rcloneLog = path.join(work, "rclone.log");
    let s3: S3Server;
    let receiver: WebhookReceiver;
    let backupEnv: Record<string, string>;
    let freshness: Record<string, string>;

    // One weekday backup of both sources at 2026-11-03 03:00 UTC.
    const stamp = "20261103T030000Z";
    // Keys carry the run id backup.sh picked, learnt from the store after the backup.
    let pgKey = "";
    let redisKey = "";

    before(async () => {
        receiver = await new WebhookReceiver().start();
        s3 = await new S3Server().start();
        await createDatabase(source);
        await seedShop(source, 100);
        backupEnv = {
            ...s3.env(prefix),
            ...pgEnv,
            DB_ACCESS: "local",
            REDIS_HOST: "127.0.0.1",
            REDIS_PORT: "6379",
            BACKUP_POSTGRES: `local-postgres:${source}:${pgUser}`,
            BACKUP_REDIS: redisName,
            ALERT_WEBHOOK_URL: receiver.url,
            ALERT_PREFIX: "[shop/staging]",
        };
        const r = await runScript(scripts.backup, [], { ...backupEnv, BACKUP_TIME: "2026-11-03T03:00:00Z" });
        assert.equal(r.code, 0, r.stderr);
        const keys = await s3.keys(prefix);
        const run = new RegExp(`-${stamp}-([0-9a-f]{8})\\.dump$`).exec(keys.find((k) => k.endsWith(".dump")) ?? "")?.[1];
        pgKey = `${prefix}daily/postgres-${source}-${stamp}-${run}.dump`;
        redisKey = `${prefix}daily/redis-${redisName}-${stamp}-${run}.rdb`;
        assert.deepEqual(keys, [pgKey, `${pgKey}.sha256`, redisKey, `${redisKey}.manifest`, `${redisKey}.sha256`].sort());
        // What the freshness job's env file holds (RestoreCheck's freshness spec), with PostgreSQL
        // on a port nobody listens on: the check must never need the database.
        freshness = {
            ...backupEnv,
            PGPORT: String(await freePort()),
            RESTORE_CHECK_MODE: "freshness",
            MAX_BACKUP_AGE_HOURS: "26",
            PATH: `${recordingRcloneDir(work, rcloneLog)}:${process.env.PATH}`,
        };
    });

    after(async () => {
        await dropDatabase(source);
        fs.rmSync(work, { recursive: true, force: true });
        await receiver?.stop();
        await s3?.stop();
        s3?.remove();
    });

    beforeEach(() => {
        receiver.clear();
        fs.rmSync(rcloneLog, { force: true });
    });

    const rcloneCalls = () => (fs.existsSync(rcloneLog) ? fs.readFileSync(rcloneLog, "utf8").split("\n").filter(Boolean) : []);

    it("passes a 3-hour-old PostgreSQL and Redis backup silently: exit 0, no webhook message, the pass in the journal", async () => {
        const r = await runScript(scripts.restoreCheck, [], { ...freshness, RESTORE_CHECK_NOW: "2026-11-03T06:00:00Z" });
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(receiver.texts(), []);
        assert.match(r.stderr, new RegExp(`backup freshness check passed \\(limit 26 h\\): postgres ${source}: ${pgKey} \\(3 h old\\); redis ${redisName}: ${redisKey} \\(3 h old\\);`));
    });

    it("only lists the bucket: no download, no sidecar read, no scratch database, no database contact", async () => {
        const r = await runScript(scripts.restoreCheck, [], { ...freshness, RESTORE_CHECK_NOW: "2026-11-03T06:00:00Z" });
        assert.equal(r.code, 0, r.stderr);
        const calls = rcloneCalls();
        assert.equal(calls.length, 2, `one listing per source: ${calls.join(" | ")}`);
        for (const call of calls) {
            assert.match(call, /(^| )lsf( |$)/, call);
            assert.doesNotMatch(call, /(^| )(copyto|copy|cat|sync|rcat)( |$)/, call);
        }
        assert.equal(await databaseExists(`${source}_restore_check`), false);
    });

    it("is told apart from restore mode by the same probes: restore mode needs the database and downloads the dump", async () => {
        const closed = await runScript(scripts.restoreCheck, [], { ...freshness, RESTORE_CHECK_MODE: "restore", RESTORE_CHECK_NOW: "2026-11-03T06:00:00Z" });
        assert.equal(closed.code, 1, closed.stderr);
        assert.match(receiver.texts().join("\n"), /restore check FAILED: .*cannot reach PostgreSQL/);
        fs.rmSync(rcloneLog, { force: true });
        const reachable = await runScript(scripts.restoreCheck, [], {
            ...freshness,
            PGPORT: pgEnv.PGPORT,
            RESTORE_CHECK_MODE: "restore",
            RESTORE_CHECK_NOW: "2026-11-03T06:00:00Z",
        });
        assert.equal(reachable.code, 0, reachable.stderr);
        assert.ok(rcloneCalls().some((c) => / cat \S+\.dump$/.test(c)), `restore mode downloads the dump: ${rcloneCalls().join(" | ")}`);
    });

    it("alerts once, naming both sources, when the newest backups are 27 hours old", async () => {
        const r = await runScript(scripts.restoreCheck, [], { ...freshness, RESTORE_CHECK_NOW: "2026-11-04T06:00:00Z" });
        assert.equal(r.code, 1, r.stderr);
        const texts = receiver.texts();
        assert.equal(texts.length, 1, texts.join("\n"));
        assert.match(texts[0], /^\[shop\/staging\] FAILURE: backup freshness check FAILED: /);
        assert.match(texts[0], new RegExp(`postgres ${source}: the newest complete backup is 27 h old \\(limit 26 h\\): ${pgKey}`));
        assert.match(texts[0], new RegExp(`redis ${redisName}: the newest complete backup is 27 h old \\(limit 26 h\\): ${redisKey}`));
    });

    it("counts seconds, not floored hours: exactly 26 h old is fresh, one second more is stale", async () => {
        const within = await runScript(scripts.restoreCheck, [], { ...freshness, RESTORE_CHECK_NOW: "2026-11-04T05:00:00Z" });
        assert.equal(within.code, 0, within.stderr);
        const past = await runScript(scripts.restoreCheck, [], { ...freshness, RESTORE_CHECK_NOW: "2026-11-04T05:00:01Z" });
        assert.equal(past.code, 1, past.stderr);
    });

    it("ignores a newer Redis snapshot without a sidecar: only a complete backup is fresh", async () => {
        // An upload cut short the next night: bytes without a sidecar.
        await s3.put(`${prefix}daily/redis-${redisName}-20261104T030000Z.rdb`, Buffer.from("REDIS0011 truncated"));
        const r = await runScript(scripts.restoreCheck, [], { ...freshness, RESTORE_CHECK_NOW: "2026-11-04T06:00:00Z" });
        assert.equal(r.code, 1, r.stderr);
        assert.match(receiver.texts().join("\n"), new RegExp(`redis ${redisName}: the newest complete backup is 27 h old .*${redisKey}`));
    });

    it("alerts once when a Redis instance has no backup at all, and lists what is fresh", async () => {
        const r = await runScript(scripts.restoreCheck, [], {
            ...freshness,
            BACKUP_REDIS: `${redisName} never-backed-up-redis`,
            RESTORE_CHECK_NOW: "2026-11-03T06:00:00Z",
        });
        assert.equal(r.code, 1, r.stderr);
        const texts = receiver.texts();
        assert.equal(texts.length, 1, texts.join("\n"));
        assert.match(texts[0], new RegExp(`FAILURE: backup freshness check FAILED: redis never-backed-up-redis: no complete backup found under s3://${s3.bucket}/${prefix}`));
        assert.match(texts[0], new RegExp(`fresh: postgres ${source}: ${pgKey} \\(3 h old\\); redis ${redisName}: ${redisKey} \\(3 h old\\);`));
    });

    it("checks Redis alone when there is no PostgreSQL database", async () => {
        const r = await runScript(scripts.restoreCheck, [], { ...freshness, BACKUP_POSTGRES: "", RESTORE_CHECK_NOW: "2026-11-03T06:00:00Z" });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, new RegExp(`passed \\(limit 26 h\\): redis ${redisName}: ${redisKey} \\(3 h old\\); $`, "m"));
        const stale = await runScript(scripts.restoreCheck, [], { ...freshness, BACKUP_POSTGRES: "", RESTORE_CHECK_NOW: "2026-11-05T06:00:00Z" });
        assert.equal(stale.code, 1, stale.stderr);
        assert.doesNotMatch(receiver.texts().join("\n"), /postgres/);
    });

    it("rejects an unknown mode and an empty source list with exit 2 and one alert each", async () => {
        const bad = await runScript(scripts.restoreCheck, [], { ...freshness, RESTORE_CHECK_MODE: "fresh" });
        assert.equal(bad.code, 2, bad.stderr);
        const empty = await runScript(scripts.restoreCheck, [], { ...freshness, BACKUP_POSTGRES: "", BACKUP_REDIS: "" });
        assert.equal(empty.code, 2, empty.stderr);
        assert.deepEqual(receiver.texts(), [
            "[shop/staging] FAILURE: restore check not run: RESTORE_CHECK_MODE must be restore or freshness, got 'fresh'",
            "[shop/staging] FAILURE: backup freshness check not run: BACKUP_POSTGRES, BACKUP_REDIS and BACKUP_VOLUMES are all empty",
        ]);
    });
});
