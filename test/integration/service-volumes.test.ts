import { strict as assert } from "assert";
import { ChildProcess, execFile, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { needCommand } from "../helpers/tools";
import { docker, ensureDockerEngine, ensureTestImage, removeTestContainers, RUN_ID, startContainer, testContainerName } from "./helpers/docker";
import { freePort, S3Server } from "./helpers/s3-server";
import { runScript, scripts } from "./helpers/s3-scripts";
import { WebhookReceiver } from "./helpers/webhook-receiver";

/** path -> "<type> <mode> <sha256 or link target>" of every entry below `dir`: byte-equal trees compare equal. */
function tree(dir: string): Map<string, string> {
    const out = new Map<string, string>();
    const walk = (rel: string) => {
        for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
            const r = path.join(rel, name);
            const full = path.join(dir, r);
            const st = fs.lstatSync(full);
            const mode = (st.mode & 0o7777).toString(8);
            if (st.isSymbolicLink()) out.set(r, `link ${fs.readlinkSync(full)}`);
            else if (st.isDirectory()) {
                out.set(r, `dir ${mode}`);
                walk(r);
            } else out.set(r, `file ${mode} ${st.uid}:${st.gid} ${crypto.createHash("sha256").update(fs.readFileSync(full)).digest("hex")}`);
        }
    };
    walk("");
    return out;
}

// Issue 11: a service's own volume (a real Docker volume on the engine of the suite) is
// archived by backup.sh with its writer paused, uploaded to the S3-compatible server, restored
// byte-equal by restore.sh, and checked by the restore and freshness checks.
describe("backup.sh → restore.sh for a service's own Docker volume", function () {
    const prefix = "saas/services/";
    const volume = `vt-${RUN_ID}-storage-data`;
    const writer = testContainerName("storage-writer");
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "volume-restore-"));
    let s3: S3Server;
    let receiver: WebhookReceiver;
    let env: Record<string, string>;
    let mountpoint: string;

    before(async function () {
        this.timeout(180_000);
        needCommand(this, "docker", "bash .ci/setup.d/30-docker-engine.sh");
        await ensureDockerEngine();
        await ensureTestImage();
        receiver = await new WebhookReceiver().start();
        s3 = await new S3Server().start();
        await docker(["volume", "create", "--label", `vps.test.run=${RUN_ID}`, volume]);
        // Text, binary, an empty file, a nested directory, a symlink, odd names and modes: what an object store keeps.
        await docker([
            "run", "--rm", "-v", `${volume}:/data`, "vps-test/busybox:local", "sh", "-c",
            [
                "mkdir -p /data/buckets/media/2026 /data/empty-dir",
                "echo 'hello' >/data/buckets/readme.txt",
                "head -c 3000000 /dev/urandom >/data/buckets/media/2026/video.bin",
                "head -c 70000 /dev/urandom >'/data/buckets/media/2026/name with spaces.jpg'",
                ": >/data/buckets/empty",
                "ln -s buckets/readme.txt /data/latest",
                "chmod 0600 /data/buckets/readme.txt",
                "chown 1000:1000 /data/buckets/media/2026/video.bin",
            ].join(" && "),
        ]);
        mountpoint = await docker(["volume", "inspect", "--format", "{{.Mountpoint}}", volume]);
        // A running container that writes the volume: the backup pauses it, and must unpause it.
        await startContainer(writer, { extraArgs: ["-v", `${volume}:/data`] });
        env = {
            ...s3.env(prefix),
            DB_ACCESS: "docker",
            BACKUP_POSTGRES: "",
            BACKUP_REDIS: "",
            BACKUP_VOLUMES: volume,
            ALERT_WEBHOOK_URL: receiver.url,
        };
    });

    after(async () => {
        await removeTestContainers();
        await docker(["volume", "rm", "--force", volume]).catch(() => undefined);
        fs.rmSync(work, { recursive: true, force: true });
        await receiver?.stop();
        await s3?.stop();
        s3?.remove();
    });

    beforeEach(() => receiver.clear());

    it("archives the volume as volume-<name>-<stamp>-<run>.tar with a sidecar and the entry count, and unpauses its writer", async () => {
        const r = await runScript(scripts.backup, [], { ...env, BACKUP_TIME: "2026-11-03T03:00:00Z" });
        assert.equal(r.code, 0, r.stderr);
        const keys = await s3.keys(prefix);
        const key = keys[0];
        assert.match(key, new RegExp(`^${prefix}daily/volume-${volume}-20261103T030000Z-[0-9a-f]{8}\\.tar$`));
        assert.deepEqual(keys, [key, `${key}.manifest`, `${key}.sha256`]);
        assert.equal((await s3.read(`${key}.sha256`)).toString("utf8"), `${await s3.sha256(key)}  ${path.posix.basename(key)}\n`);
        assert.equal((await s3.read(`${key}.manifest`)).toString("utf8"), `volume_files=${tree(mountpoint).size}\n`);
        assert.match(receiver.texts()[0], new RegExp(`^OK: backup 20261103T030000Z .*volume-${volume} `));
        assert.equal(await docker(["inspect", "--format", "{{.State.Status}}", writer]), "running", "the writer was unpaused");
    });

    it("restores the verified archive byte-equal into a new directory", async () => {
        const out = path.join(work, "restored");
        const r = await runScript(scripts.restore, ["volume", volume, "--output", out], env);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /checksum ok; extracted .* into /);
        const [want, got] = [tree(mountpoint), tree(out)];
        assert.ok(want.size >= 8);
        assert.deepEqual([...got.entries()], [...want.entries()]);
    });

    it("refuses to restore into the volume while a running container mounts it", async () => {
        const r = await runScript(scripts.restore, ["volume", volume, "--replace"], env);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /mounted by running containers .* stop the service first/);
    });

    it("restore check: extracts the newest archive into a scratch directory and finds the entry count recorded at backup time", async () => {
        const r = await runScript(scripts.restoreCheck, [], { ...env, RESTORE_CHECK_NOW: "2026-11-03T05:00:00Z" });
        assert.equal(r.code, 0, r.stderr);
        assert.match(receiver.texts()[0], new RegExp(`^OK: restore check passed: volume ${volume}: .*\\.tar \\(2 h old\\) extracted \\d+ entries, as recorded at backup time`));
    });

    it("freshness check: a volume whose newest archive is too old is alerted", async () => {
        const r = await runScript(scripts.restoreCheck, [], { ...env, RESTORE_CHECK_MODE: "freshness", RESTORE_CHECK_NOW: "2026-11-05T05:00:00Z" });
        assert.equal(r.code, 1, r.stderr);
        assert.match(receiver.texts().join("\n"), new RegExp(`volume ${volume}: the newest complete backup is 50 h old \\(limit 26 h\\)`));
    });

    it("restores into the volume itself once its writer is stopped, keeping the data it replaced", async () => {
        await docker(["stop", "--time", "1", writer]);
        await docker(["run", "--rm", "-v", `${volume}:/data`, "vps-test/busybox:local", "sh", "-c", "echo changed >/data/buckets/readme.txt && rm /data/latest"]);
        const before = tree(path.join(work, "restored"));
        const r = await runScript(scripts.restore, ["volume", volume, "--replace"], env);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual([...tree(mountpoint).entries()], [...before.entries()]);
        const kept = fs.readdirSync(path.dirname(mountpoint)).filter((n) => n.startsWith("_data.replaced-"));
        assert.equal(kept.length, 1, "the replaced data is kept beside");
        assert.equal(fs.readFileSync(path.join(path.dirname(mountpoint), kept[0], "buckets", "readme.txt"), "utf8"), "changed\n");
        fs.rmSync(path.join(path.dirname(mountpoint), kept[0]), { recursive: true, force: true });
    });
});

/** redis-cli against 127.0.0.1:<port> with a password through REDISCLI_AUTH (never argv). */
function redis(port: number, password: string, ...args: string[]): Promise<string> {
    return new Promise((resolve, reject) =>
        execFile("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "--raw", ...args], { env: { ...process.env, REDISCLI_AUTH: password } }, (err, stdout, stderr) =>
            err ? reject(new Error(`redis-cli ${args.join(" ")}: ${stderr}`)) : resolve(stdout.trim()),
        ),
    );
}

async function startRedis(port: number, dir: string, args: string[]): Promise<ChildProcess> {
    const p = spawn("redis-server", ["-", "--bind", "127.0.0.1", "--port", String(port), "--dir", dir, ...args], { stdio: ["pipe", "ignore", "ignore"] });
    return p;
}

// Issue 11: Redis with a password (requirepass from a config file, as RedisService writes it)
// is backed up with REDISCLI_AUTH and restored.
describe("backup.sh → restore.sh for a Redis with a password", function () {
    const password = `redis-pw-${crypto.randomBytes(8).toString("hex")}`;
    const prefix = "saas/redis-auth/";
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "redis-auth-"));
    const servers: ChildProcess[] = [];
    let s3: S3Server;
    let receiver: WebhookReceiver;
    let port: number;
    let env: Record<string, string>;

    const started = async (p: number, pw: string) => {
        const end = Date.now() + 20_000;
        while ((await redis(p, pw, "PING").catch(() => "")) !== "PONG") {
            assert.ok(Date.now() < end, "redis-server did not start");
            await new Promise((r) => setTimeout(r, 50));
        }
    };

    before(async function () {
        needCommand(this, "redis-server", "apt-get install redis-server (.ci/setup.d/25-database-servers.sh)");
        receiver = await new WebhookReceiver().start();
        s3 = await new S3Server().start();
        port = await freePort();
        // The password reaches redis-server as a config file on stdin ("-"), as the container's mounted redis.conf does.
        const server = await startRedis(port, work, ["--save", "", "--appendonly", "no"]);
        server.stdin!.end(`requirepass "${password}"\n`);
        servers.push(server);
        await started(port, password);
        await redis(port, password, "SET", "session:1", "alice");
        await redis(port, password, "HSET", "cart:1", "apples", "3");
        env = { ...s3.env(prefix), DB_ACCESS: "local", REDIS_HOST: "127.0.0.1", REDIS_PORT: String(port), BACKUP_POSTGRES: "", BACKUP_REDIS: "auth-redis", ALERT_WEBHOOK_URL: receiver.url };
    });

    after(async () => {
        for (const s of servers) s.kill("SIGTERM");
        fs.rmSync(work, { recursive: true, force: true });
        await receiver?.stop();
        await s3?.stop();
        s3?.remove();
    });

    it("fails without the password, and backs up with it (REDISCLI_AUTH, never on a command line)", async () => {
        const refused = await runScript(scripts.backup, [], { ...env, S3_PREFIX: "saas/redis-noauth/" });
        assert.equal(refused.code, 1);
        const r = await runScript(scripts.backup, [], { ...env, REDISCLI_AUTH: password });
        assert.equal(r.code, 0, r.stderr);
        assert.ok(!r.stderr.includes(password) && !receiver.texts().join("\n").includes(password), "the password is in no output");
        assert.match((await s3.keys(prefix))[0], /redis-auth-redis-\d{8}T\d{6}Z-[0-9a-f]{8}\.rdb$/);
    });

    it("restores the snapshot, and a redis-server started on it holds the keys", async () => {
        const dir = path.join(work, "restored");
        fs.mkdirSync(dir);
        const r = await runScript(scripts.restore, ["redis", "auth-redis", "--output", path.join(dir, "dump.rdb")], env);
        assert.equal(r.code, 0, r.stderr);
        const p = await freePort();
        const server = await startRedis(p, dir, ["--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no"]);
        server.stdin!.end(`requirepass "${password}"\n`);
        servers.push(server);
        await started(p, password);
        assert.equal(await redis(p, password, "GET", "session:1"), "alice");
        assert.equal(await redis(p, password, "HGET", "cart:1", "apples"), "3");
    });
});
