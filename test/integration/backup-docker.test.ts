import { strict as assert } from "assert";
import { WebhookReceiver } from "./helpers/webhook-receiver";
import { S3Server } from "./helpers/s3-server";
import { runScript, scripts } from "./helpers/s3-scripts";
import { createDatabase, databaseExists, dropDatabase, pgUser, seedShop, tableFingerprints, uniqueDatabase } from "./helpers/postgres";
import { buildDbClientImage, removeDbClientContainer, startDbClientContainer } from "./helpers/postgres-client-image";

// The VPS path (DB_ACCESS unset = docker): every PostgreSQL and Redis client program runs
// through `docker exec` in a container, on the Docker engine that .ci/setup.d/30-docker-engine.sh
// starts. The scripts get no PGHOST and no REDIS_PORT: only the container knows where its
// server is, as on the VPS.
describe("backup.sh, restore.sh and restore-check.sh through docker exec (DB_ACCESS=docker)", () => {
    const tag = `vps-test/db-clients:${process.pid}`;
    const container = `bk-db-clients-${process.pid}`;
    const prefix = "shop/production/";
    const source = uniqueDatabase("bkd_src");
    const restored = uniqueDatabase("bkd_dst");
    let s3: S3Server;
    let receiver: WebhookReceiver;
    let env: Record<string, string>;

    before(async () => {
        receiver = await new WebhookReceiver().start();
        s3 = await new S3Server().start();
        await buildDbClientImage(tag);
        await startDbClientContainer(container, tag);
        await createDatabase(source);
        await seedShop(source, 20_000);
        env = {
            ...s3.env(prefix),
            BACKUP_POSTGRES: `${container}:${source}:${pgUser}`,
            BACKUP_REDIS: container,
            ALERT_WEBHOOK_URL: receiver.url,
            ALERT_WEBHOOK_FORMAT: "slack",
        };
    });

    after(async () => {
        await dropDatabase(source);
        await dropDatabase(restored);
        await removeDbClientContainer(container, tag);
        await receiver?.stop();
        await s3?.stop();
        s3?.remove();
    });

    beforeEach(() => receiver.clear());

    it("backs up the database and the Redis snapshot through docker exec, with matching sidecars", async () => {
        const r = await runScript(scripts.backup, [], { ...env, BACKUP_TIME: "2026-11-10T03:00:00Z" });
        assert.equal(r.code, 0, r.stderr);
        const keys = await s3.keys(prefix);
        const run = /-20261110T030000Z-([0-9a-f]{8})\.dump$/.exec(keys.find((k) => k.endsWith(".dump")) ?? "")?.[1];
        const dump = `${prefix}daily/postgres-${source}-20261110T030000Z-${run}.dump`;
        const rdb = `${prefix}daily/redis-${container}-20261110T030000Z-${run}.rdb`;
        assert.deepEqual(keys, [dump, `${dump}.sha256`, rdb, `${rdb}.manifest`, `${rdb}.sha256`].sort());
        for (const key of [dump, rdb]) {
            assert.equal((await s3.read(`${key}.sha256`)).toString("utf8").split(" ")[0], await s3.sha256(key), key);
        }
        assert.equal((await s3.read(dump)).subarray(0, 5).toString("latin1"), "PGDMP");
        // redis-cli wrote a file in the container and cat streamed it: no trailing EOF mark.
        assert.equal((await s3.read(rdb)).subarray(0, 5).toString("latin1"), "REDIS");
        assert.deepEqual(receiver.received.map((m) => Object.keys(m.body)), [["text"]]);
        assert.match(receiver.texts()[0], /^OK: backup 20261110T030000Z/);
    });

    it("restores through docker exec (createdb, pg_restore on stdin) with equal tables", async () => {
        const r = await runScript(scripts.restore, ["postgres", source, "--into", restored], env);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(await tableFingerprints(restored), await tableFingerprints(source));
    });

    it("runs the restore check through docker exec and drops its scratch database", async () => {
        const r = await runScript(scripts.restoreCheck, [], { ...env, RESTORE_CHECK_NOW: "2026-11-10T05:00:00Z" });
        assert.equal(r.code, 0, r.stderr);
        assert.match(receiver.texts()[0], /^OK: restore check passed: .*\(2 h old\) restored in \d+s, smoke query: 3;/);
        // The Redis snapshot loaded into a scratch redis-server of the container's own image.
        assert.match(receiver.texts()[0], new RegExp(`redis ${container}: .*\\.rdb \\(2 h old\\) loaded \\d+ keys \\(\\d+ expired since\\), as recorded at backup time`));
        assert.equal(await databaseExists(`${source}_restore_check`), false);
    });

    it("fails and alerts when the database container is gone", async () => {
        const r = await runScript(scripts.backup, [], { ...env, BACKUP_POSTGRES: `no-such-container-${process.pid}:${source}:${pgUser}`, BACKUP_REDIS: "" });
        assert.equal(r.code, 1);
        assert.match(receiver.texts()[0], /FAILURE: .*dump failed .*No such container/);
    });
});
