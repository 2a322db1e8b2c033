import { strict as assert } from "assert";
import { ChildProcess, execFile, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { WebhookReceiver } from "./helpers/webhook-receiver";
import { freePort, S3Server } from "./helpers/s3-server";
import { runScript, scripts } from "./helpers/s3-scripts";

/** redis-cli against 127.0.0.1:<port>; the raw bytes of the reply. */
function redis(port: number, ...args: string[]): Promise<Buffer> {
    return new Promise((resolve, reject) =>
        execFile("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "--raw", ...args], { encoding: "buffer" }, (err, stdout, stderr) =>
            err ? reject(new Error(`redis-cli ${args.join(" ")}: ${stderr}`)) : resolve(stdout),
        ),
    );
}

async function redisText(port: number, ...args: string[]): Promise<string> {
    return (await redis(port, ...args)).toString("utf8").trim();
}

/**
 * Every key matching the pattern with a canonical form of its value: type, then the value
 * (hash fields and set members sorted, since their iteration order changes on reload).
 * The test values hold no newline, which --raw output separates items with.
 */
async function snapshotKeys(port: number, pattern: string): Promise<Map<string, string>> {
    const keys = (await redisText(port, "--scan", "--pattern", pattern)).split("\n").filter((k) => k);
    const out = new Map<string, string>();
    for (const k of keys.sort()) {
        const type = await redisText(port, "TYPE", k);
        const lines = async (...cmd: string[]) => (await redisText(port, ...cmd)).split("\n");
        let value: string[];
        switch (type) {
            case "string":
                value = [await redisText(port, "GET", k)];
                break;
            case "hash": {
                const flat = await lines("HGETALL", k);
                value = flat.filter((_, i) => i % 2 === 0).map((f, i) => `${f}=${flat[2 * i + 1]}`).sort();
                break;
            }
            case "list":
                value = await lines("LRANGE", k, "0", "-1");
                break;
            case "set":
                value = (await lines("SMEMBERS", k)).sort();
                break;
            case "zset":
                value = await lines("ZRANGE", k, "0", "-1", "WITHSCORES");
                break;
            default:
                throw new Error(`unexpected type ${type} of ${k}`);
        }
        out.set(k, `${type}:${JSON.stringify(value)}`);
    }
    return out;
}

// Scenario 3: the RDB snapshot of the machine's real Redis (127.0.0.1:6379, no persistence:
// redis-cli --rdb asks it for a replication snapshot), restored into a scratch redis-server
// that this test starts on its own port and directory.
describe("backup.sh → restore.sh for a Redis RDB snapshot", () => {
    const sourcePort = 6379;
    const keyPrefix = `bktest:${process.pid}:`;
    const prefix = "shop/staging/";
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "redis-restore-"));
    let s3: S3Server;
    let receiver: WebhookReceiver;
    let scratch: ChildProcess | undefined;
    let env: Record<string, string>;

    before(async () => {
        receiver = await new WebhookReceiver().start();
        s3 = await new S3Server().start();
        await redis(sourcePort, "SET", `${keyPrefix}string`, "plain value");
        await redis(sourcePort, "SET", `${keyPrefix}unicode`, "grüße ✓ \"quoted\"");
        await redis(sourcePort, "SET", `${keyPrefix}counter`, "41");
        await redis(sourcePort, "INCR", `${keyPrefix}counter`);
        await redis(sourcePort, "SET", `${keyPrefix}expiring`, "soon", "EX", "86400");
        await redis(sourcePort, "HSET", `${keyPrefix}hash`, "name", "Ada", "cart", "3");
        await redis(sourcePort, "RPUSH", `${keyPrefix}list`, "a", "b", "c", "a");
        await redis(sourcePort, "SADD", `${keyPrefix}set`, "x", "y", "z");
        await redis(sourcePort, "ZADD", `${keyPrefix}zset`, "1.5", "one", "2", "two", "-3", "minus");
        for (let i = 0; i < 200; i++) {
            await redis(sourcePort, "HSET", `${keyPrefix}bulk`, `field${i}`, "v".repeat(i));
        }
        env = {
            ...s3.env(prefix),
            DB_ACCESS: "local",
            REDIS_HOST: "127.0.0.1",
            REDIS_PORT: String(sourcePort),
            BACKUP_POSTGRES: "",
            BACKUP_REDIS: "local-redis",
            ALERT_WEBHOOK_URL: receiver.url,
        };
    });

    after(async () => {
        const keys = (await redisText(sourcePort, "--scan", "--pattern", `${keyPrefix}*`)).split("\n").filter((k) => k);
        if (keys.length) {
            await redis(sourcePort, "DEL", ...keys);
        }
        if (scratch && scratch.exitCode === null) {
            const exited = new Promise((r) => scratch!.once("exit", r));
            scratch.kill("SIGTERM");
            await exited;
        }
        fs.rmSync(work, { recursive: true, force: true });
        await receiver?.stop();
        await s3?.stop();
        s3?.remove();
    });

    beforeEach(() => receiver.clear());

    it("uploads the snapshot as redis-<container>-<stamp>.rdb with a matching sidecar, and reports OK", async () => {
        const r = await runScript(scripts.backup, [], { ...env, BACKUP_TIME: "2026-11-03T03:00:00Z" });
        assert.equal(r.code, 0, r.stderr);
        const keys = await s3.keys(prefix);
        const key = keys[0];
        assert.match(key, new RegExp(`^${prefix}daily/redis-local-redis-20261103T030000Z-[0-9a-f]{8}\\.rdb$`));
        assert.deepEqual(keys, [key, `${key}.manifest`, `${key}.sha256`]);
        // The key count redis-check-rdb read from the snapshot, for the weekly load test.
        assert.match((await s3.read(`${key}.manifest`)).toString("utf8"), /^redis_keys=\d+\n$/);
        const rdb = await s3.read(key);
        assert.equal(rdb.subarray(0, 5).toString("latin1"), "REDIS");
        assert.equal((await s3.read(`${key}.sha256`)).toString("utf8"), `${await s3.sha256(key)}  ${path.posix.basename(key)}\n`);
        assert.match(receiver.texts()[0], /^OK: backup 20261103T030000Z .*redis-local-redis /);
    });

    it("restores the verified snapshot, and a redis-server started on it holds the same keys and values", async () => {
        const dir = path.join(work, "data");
        fs.mkdirSync(dir);
        const r = await runScript(scripts.restore, ["redis", "local-redis", "--output", path.join(dir, "dump.rdb")], env);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /checksum ok/);

        const port = await freePort();
        scratch = spawn(
            "redis-server",
            ["--bind", "127.0.0.1", "--port", String(port), "--dir", dir, "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no"],
            { stdio: "ignore" },
        );
        const end = Date.now() + 20_000;
        while ((await redisText(port, "PING").catch(() => "")) !== "PONG") {
            assert.ok(Date.now() < end, "scratch redis-server did not start");
            await new Promise((res) => setTimeout(res, 50));
        }
        const [want, got] = [await snapshotKeys(sourcePort, `${keyPrefix}*`), await snapshotKeys(port, `${keyPrefix}*`)];
        assert.equal(want.size, 9);
        assert.deepEqual([...got.entries()], [...want.entries()]);
        assert.equal(await redisText(port, "GET", `${keyPrefix}counter`), "42");
        const ttl = Number(await redisText(port, "TTL", `${keyPrefix}expiring`));
        assert.ok(ttl > 80_000 && ttl <= 86_400, `ttl ${ttl}`);
    });

    it("restore check: loads the newest snapshot into a scratch redis-server and finds the key count recorded at backup time", async () => {
        const r = await runScript(scripts.restoreCheck, [], { ...env, RESTORE_CHECK_NOW: "2026-11-03T05:00:00Z" });
        assert.equal(r.code, 0, r.stderr);
        assert.match(receiver.texts()[0], /^OK: restore check passed: redis local-redis: .*\.rdb \(2 h old\) loaded \d+ keys \(\d+ expired since\), as recorded at backup time/);
    });

    it("restore check: alerts when the snapshot loads fewer keys than the backup recorded", async () => {
        const [key] = await s3.keys(`${prefix}daily/`);
        const manifest = await s3.read(`${key}.manifest`);
        const recorded = Number(/redis_keys=(\d+)/.exec(manifest.toString("utf8"))![1]);
        await s3.put(`${key}.manifest`, Buffer.from(`redis_keys=${recorded + 5}\n`));
        try {
            const r = await runScript(scripts.restoreCheck, [], { ...env, RESTORE_CHECK_NOW: "2026-11-03T05:00:00Z" });
            assert.equal(r.code, 1, r.stderr);
            assert.match(receiver.texts()[0], new RegExp(`FAILURE: restore check FAILED: redis local-redis: the scratch load of .* has \\d+ keys and \\d+ expired ones, but the backup recorded ${recorded + 5} keys`));
        } finally {
            await s3.put(`${key}.manifest`, manifest);
        }
    });

    it("exits 1, alerts and uploads nothing when Redis cannot be reached", async () => {
        const closed = await freePort();
        const r = await runScript(scripts.backup, [], { ...env, REDIS_PORT: String(closed), S3_PREFIX: "shop/redis-down/" });
        assert.equal(r.code, 1);
        assert.match(receiver.texts().join("\n"), /FAILURE: .*redis-local-redis: snapshot failed/);
        assert.deepEqual(await s3.keys("shop/redis-down/"), []);
    });
});
