/**
 * The faults of issue 10, each as a scenario run against the real services (PostgreSQL,
 * Redis, an S3-compatible server on loopback, a Docker client, a webhook receiver), shared by
 * the integration test (test/integration/job-faults.test.ts, which asserts on the outcome) and
 * the fault matrix (bench/fault-matrix.ts, which prints it as a table). A scenario reports
 * what a person would ask after the fault: what the job exited with, which objects it left
 * that look complete, how many alerts it sent, whether data was lost and whether anything
 * said "OK" that was not.
 */
import { ChildProcess, execFile, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { S3Server } from "./s3-server";
import { LOOPBACK_WEBHOOK, RUN_LOCK_DIR, ScriptResult, runScript, scripts } from "./s3-scripts";
import { WebhookReceiver } from "./webhook-receiver";
import { createDatabase, databaseExists, dropDatabase, pgEnv, pgUser, psql, seedShop, uniqueDatabase } from "./postgres";

const exec = promisify(execFile);

/** What one fault did. */
export interface FaultOutcome {
    fault: string;
    /** Exit code of each job run of the scenario, in order. */
    exitCodes: number[];
    /** Backups the faulty run left that look complete (a sidecar beside them) and do not verify. */
    badCompleteObjects: number;
    /** Webhook messages the scenario's runs sent. */
    alerts: number;
    /** Data that existed before the fault (a database, a complete backup) is gone or no longer verifies. */
    dataLost: boolean;
    /** An "OK" (message or exit 0) for something that did not complete or does not restore. */
    falseOk: boolean;
    /** The scenario's own facts, for the test's assertions and the table's last column. */
    notes: string[];
    /** Every run's stderr, for a failing assertion's message. */
    log: string;
    /** Every webhook message. */
    texts: string[];
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!(await check())) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 25));
    }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts a job script in its own process group, as systemd starts a unit in its own control
 * group, so that a signal can be sent to the whole job (systemd's KillMode=control-group).
 */
export function startJob(script: string, args: string[], env: Record<string, string>): { child: ChildProcess; done: Promise<ScriptResult> } {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(S3_|BACKUP_|ALERT_|DB_ACCESS$|REDIS_|RESTORE_CHECK_|RCLONE_|STATE_DIRECTORY$|HC_)/.test(k)));
    const child = spawn(script, args, { env: { ...base, ...LOOPBACK_WEBHOOK, JOB_LOCK_DIR: RUN_LOCK_DIR, ...env }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    const done = new Promise<ScriptResult>((resolve) =>
        child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 128 + (os.constants.signals as any)[signal] : -1), stdout, stderr })),
    );
    return { child, done };
}

/** As startJob, but SIGKILLs the whole job after timeoutMs (a run that hangs, as systemd's limit would end it). */
export async function runJob(script: string, args: string[], env: Record<string, string>, timeoutMs: number): Promise<ScriptResult> {
    const job = startJob(script, args, env);
    const timer = setTimeout(() => {
        try {
            process.kill(-job.child.pid!, "SIGKILL");
        } catch {
            // already gone
        }
    }, timeoutMs);
    const r = await job.done;
    clearTimeout(timer);
    return r;
}

/** A Unix socket that accepts connections and never answers: a hung Docker daemon. */
export async function hungSocket(file: string): Promise<net.Server> {
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => server.listen(file, resolve));
    server.on("close", () => sockets.forEach((s) => s.destroy()));
    const close = server.close.bind(server);
    (server as any).close = (cb?: () => void) => {
        sockets.forEach((s) => s.destroy());
        return close(cb);
    };
    return server;
}

/** The services and data every scenario uses; built once. */
export class FaultLab {
    readonly small = uniqueDatabase("flt_small");
    readonly big = uniqueDatabase("flt_big");
    readonly live = uniqueDatabase("flt_live");
    readonly work = fs.mkdtempSync(path.join(os.tmpdir(), "job-faults-"));
    s3!: S3Server;
    receiver!: WebhookReceiver;
    private prefixes = 0;
    private databases: string[] = [];

    async start(): Promise<this> {
        this.receiver = await new WebhookReceiver().start();
        this.s3 = await new S3Server().start();
        for (const db of [this.small, this.big, this.live]) {
            await createDatabase(db);
            this.databases.push(db);
        }
        await seedShop(this.small, 1000);
        // ~48 MB of random bytes (it does not compress): with a bandwidth limit the upload is
        // still running seconds after its first part is stored.
        await psql(this.big, "CREATE TABLE blobs AS SELECT g AS id, decode(md5(random()::text) || md5(random()::text), 'hex') AS body FROM generate_series(1, 1500000) g");
        await seedShop(this.live, 250_000);
        return this;
    }

    async stop(): Promise<void> {
        for (const db of this.databases) await dropDatabase(db).catch(() => undefined);
        const leftovers = (await psql("postgres", `SELECT datname FROM pg_database WHERE datname LIKE '${this.live}%'`).catch(() => "")).split("\n").filter(Boolean);
        for (const db of leftovers) await dropDatabase(db).catch(() => undefined);
        await this.receiver?.stop();
        await this.s3?.stop();
        this.s3?.remove();
        fs.rmSync(this.work, { recursive: true, force: true });
    }

    /** A key prefix of its own for one scenario. */
    prefix(): string {
        return `faults/${process.pid}-${++this.prefixes}/`;
    }

    /** The backup job's environment for some databases, under a prefix. */
    env(prefix: string, databases: string[], extra: Record<string, string> = {}): Record<string, string> {
        return {
            ...this.s3.env(prefix),
            ...pgEnv,
            DB_ACCESS: "local",
            BACKUP_POSTGRES: databases.map((d) => `local-postgres:${d}:${pgUser}`).join(" "),
            BACKUP_REDIS: "",
            ALERT_WEBHOOK_URL: this.receiver.url,
            ALERT_PREFIX: "[shop/faults]",
            ...extra,
        };
    }

    /** The backups under a prefix that look complete (a sidecar beside them), counted once by their daily key, and of every copy (daily, weekly, monthly) the ones whose bytes do not match their sidecar. */
    async completeObjects(prefix: string): Promise<{ complete: string[]; bad: string[] }> {
        const keys = await this.s3.keys(prefix);
        const looksComplete = keys.filter((k) => !k.endsWith(".sha256") && !k.endsWith(".manifest") && keys.includes(`${k}.sha256`));
        // A run on a Sunday or the 1st of a month also copies its backup into weekly/ or
        // monthly/: every copy must verify, but a backup counts once, by its daily key.
        const complete = looksComplete.filter((k) => k.startsWith(`${prefix}daily/`));
        const bad: string[] = [];
        for (const k of looksComplete) {
            const line = (await this.s3.read(`${k}.sha256`)).toString("utf8");
            const m = /^([0-9a-f]{64}) {2}(\S+)\n$/.exec(line);
            if (!m || m[1] !== (await this.s3.sha256(k)) || m[2] !== path.posix.basename(k)) bad.push(k);
        }
        return { complete, bad };
    }

    outcome(fault: string, runs: ScriptResult[], texts: string[], facts: Partial<FaultOutcome>): FaultOutcome {
        return {
            fault,
            exitCodes: runs.map((r) => r.code),
            badCompleteObjects: 0,
            alerts: texts.length,
            dataLost: false,
            falseOk: texts.some((t) => /\bOK: /.test(t)) && runs.some((r) => r.code !== 0),
            notes: [],
            log: runs.map((r) => r.stderr).join("\n---\n"),
            texts,
            ...facts,
        };
    }

    /** 1. A full temporary file system under the backup's work directory: three runs. */
    async fullTmp(): Promise<FaultOutcome> {
        const prefix = this.prefix();
        const tmp = path.join(this.work, "tmpfs");
        fs.mkdirSync(tmp, { recursive: true });
        await exec("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", tmp]);
        try {
            this.receiver.clear();
            const runs: ScriptResult[] = [];
            for (let i = 0; i < 3; i++) {
                // Full but for one page: the first small file a run writes takes it.
                await exec("bash", ["-c", `dd if=/dev/zero of="$1/fill" bs=4k 2>/dev/null; rm -f "$1/page"; truncate -s -4096 "$1/fill"; true`, "-", tmp]).catch(() => undefined);
                runs.push(await runScript(scripts.backup, [], this.env(prefix, [this.small], { TMPDIR: tmp })));
                fs.rmSync(path.join(tmp, "fill"), { force: true });
                for (const f of fs.readdirSync(tmp)) fs.rmSync(path.join(tmp, f), { recursive: true, force: true });
            }
            const { complete, bad } = await this.completeObjects(prefix);
            const list = await runScript(scripts.restore, ["list", "postgres", this.small], this.env(prefix, [this.small]));
            const texts = this.receiver.texts();
            return this.outcome("full temp file system (3 runs)", runs, texts, {
                badCompleteObjects: bad.length,
                // A run that said OK must have left a backup that verifies.
                falseOk: bad.length > 0 || runs.some((r) => r.code === 0) && complete.length < runs.filter((r) => r.code === 0).length,
                notes: [`complete-looking: ${complete.length}, listed by restore.sh: ${list.stdout.split("\n").filter(Boolean).length}`],
            });
        } finally {
            await exec("umount", [tmp]).catch(() => undefined);
        }
    }

    /** 2. `restore.sh --replace` interrupted (Ctrl-C) in the middle of pg_restore. */
    async interruptedReplace(): Promise<FaultOutcome> {
        const prefix = this.prefix();
        const env = this.env(prefix, [this.live]);
        const backup = await runScript(scripts.backup, [], env);
        if (backup.code !== 0) throw new Error(`backup of ${this.live} failed: ${backup.stderr}`);
        // Rows newer than the backup: the restore must not lose them unless it completes.
        await psql(this.live, "INSERT INTO customers (name, email, created) SELECT 'late ' || g, 'late' || g || '@example.com', now() FROM generate_series(1, 25) g");
        const rowsBefore = await psql(this.live, "SELECT (SELECT count(*) FROM orders) || '/' || (SELECT count(*) FROM customers)");
        this.receiver.clear();
        const job = startJob(scripts.restore, ["postgres", this.live, "--into", this.live, "--replace"], env);
        await until("pg_restore to be restoring", async () => (await psql("postgres", "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_restore'")) !== "0");
        await sleep(500);
        process.kill(-job.child.pid!, "SIGINT");
        const r = await job.done;
        await sleep(500);
        const exists = await databaseExists(this.live);
        const rowsAfter = exists ? await psql(this.live, "SELECT (SELECT count(*) FROM orders) || '/' || (SELECT count(*) FROM customers)") : "(gone)";
        const leftovers = (await psql("postgres", `SELECT datname FROM pg_database WHERE datname LIKE '${this.live}_%'`)).split("\n").filter(Boolean);
        const texts = this.receiver.texts();
        return this.outcome("restore --replace interrupted (SIGINT)", [r], texts, {
            dataLost: rowsAfter !== rowsBefore,
            falseOk: r.code === 0,
            notes: [`live rows (orders/customers) before ${rowsBefore}, after ${rowsAfter}`, `leftover databases: ${leftovers.join(",") || "none"}`],
        });
    }

    /** 3. Two runs with the same BACKUP_TIME: one at the same time as another, one failing afterwards. */
    async sameTime(): Promise<FaultOutcome> {
        const prefix = this.prefix();
        const time = "2026-11-10T03:00:00Z";
        this.receiver.clear();
        const slow = startJob(scripts.backup, [], this.env(prefix, [this.big], { BACKUP_TIME: time, RCLONE_BWLIMIT: "8M" }));
        await until("the first run's upload", () => this.s3.pendingUploadParts() > 0 || slow.child.exitCode !== null);
        const concurrent = await runScript(scripts.backup, [], this.env(prefix, [this.big], { BACKUP_TIME: time }));
        const first = await slow.done;
        // A re-run of the same night that fails (PostgreSQL unreachable) after the first completed.
        const rerun = await runScript(scripts.backup, [], this.env(prefix, [this.big], { BACKUP_TIME: time, PGPORT: "1" }));
        const { complete, bad } = await this.completeObjects(prefix);
        const list = (await runScript(scripts.restore, ["list", "postgres", this.big], this.env(prefix, [this.big]))).stdout.split("\n").filter(Boolean);
        const texts = this.receiver.texts();
        return this.outcome("two runs with the same BACKUP_TIME", [first, concurrent, rerun], texts, {
            badCompleteObjects: bad.length,
            dataLost: first.code === 0 && (list.length === 0 || bad.length > 0),
            falseOk: bad.length > 0,
            notes: [`complete backups: ${complete.length} (${complete.map((k) => path.posix.basename(k)).join(", ")}), listed: ${list.length}`],
        });
    }

    /** 4. A complete backup stamped ten years ahead (a clock in the future) six weeks after the last real one. */
    async futureStamp(): Promise<FaultOutcome> {
        const prefix = this.prefix();
        const env = this.env(prefix, [this.small]);
        const real = await runScript(scripts.backup, [], { ...env, BACKUP_TIME: "2026-10-01T03:00:00Z" });
        if (real.code !== 0) throw new Error(`backup failed: ${real.stderr}`);
        // What a host whose clock said 2036 would have written: a complete, verifying backup
        // (named as backups were before run ids, which both the old and the new scripts read).
        const [key] = (await this.completeObjects(prefix)).complete;
        const futureBase = path.posix.basename(key).replace(/20261001T030000Z(-[0-9a-f]{8})?/, "20361103T030000Z");
        const futureKey = `${path.posix.dirname(key)}/${futureBase}`;
        const bytes = await this.s3.read(key);
        await this.s3.put(futureKey, bytes);
        await this.s3.put(`${futureKey}.sha256`, Buffer.from(`${await this.s3.sha256(key)}  ${futureBase}\n`));
        this.receiver.clear();
        const now = "2026-11-12T06:00:00Z";
        const freshness = await runScript(scripts.restoreCheck, [], { ...env, RESTORE_CHECK_MODE: "freshness", RESTORE_CHECK_NOW: now });
        const check = await runScript(scripts.restoreCheck, [], { ...env, RESTORE_CHECK_NOW: now });
        const target = uniqueDatabase("flt_future");
        this.databases.push(target);
        const restore = await runScript(scripts.restore, ["postgres", this.small, "--into", target], env);
        const texts = this.receiver.texts();
        return this.outcome("backup stamped in the future", [freshness, check, restore], texts, {
            falseOk: freshness.code === 0 || check.code === 0 || texts.some((t) => /OK: /.test(t)),
            notes: [`restore.sh restored: ${/restored (\S+) into/.exec(restore.stderr)?.[1] ?? "nothing"}`],
        });
    }

    /** 5. A Docker daemon that accepts connections and never answers, under the health check and the backup. */
    async hungDocker(): Promise<FaultOutcome> {
        const sock = path.join(this.work, `hung-${Date.now()}.sock`);
        const server = await hungSocket(sock);
        const state = fs.mkdtempSync(path.join(this.work, "hc-state-"));
        this.receiver.clear();
        try {
            const started = Date.now();
            const hc = await runJob(
                scripts.healthCheck,
                [],
                { DOCKER_HOST: `unix://${sock}`, HC_CONTAINERS: "shop-web", HC_STATE_DIR: state, HC_DOCKER_TIMEOUT_SECONDS: "3", HC_RESTART_WAIT_SECONDS: "2", ALERT_WEBHOOK_URL: this.receiver.url, ALERT_PREFIX: "[shop/faults]" },
                90_000,
            );
            const hcSeconds = (Date.now() - started) / 1000;
            const prefix = this.prefix();
            const backup = await runJob(
                scripts.backup,
                [],
                { ...this.env(prefix, [this.small]), DB_ACCESS: "docker", DOCKER_HOST: `unix://${sock}`, DOCKER_TIMEOUT_SECONDS: "3" },
                90_000,
            );
            const texts = this.receiver.texts();
            return this.outcome("hung Docker daemon", [hc, backup], texts, {
                badCompleteObjects: (await this.completeObjects(prefix)).bad.length,
                falseOk: hc.code === 0 || backup.code === 0,
                notes: [`health check ended after ${hcSeconds.toFixed(1)} s`],
            });
        } finally {
            await new Promise((r) => server.close(() => r(undefined)));
            fs.rmSync(state, { recursive: true, force: true });
        }
    }

    /** 6. SIGTERM to the backup job (systemd stop or TimeoutStartSec) in the middle of an upload. */
    async sigterm(): Promise<FaultOutcome> {
        const prefix = this.prefix();
        this.receiver.clear();
        const before = this.s3.pendingUploadParts();
        const job = startJob(scripts.backup, [], this.env(prefix, [this.big], { RCLONE_BWLIMIT: "4M" }));
        await until("the first uploaded part", () => this.s3.pendingUploadParts() > before);
        process.kill(-job.child.pid!, "SIGTERM");
        const r = await job.done;
        await sleep(300);
        const { complete, bad } = await this.completeObjects(prefix);
        const texts = this.receiver.texts();
        return this.outcome("SIGTERM mid-upload", [r], texts, {
            badCompleteObjects: bad.length,
            falseOk: complete.length > 0 || r.code === 0,
            notes: [`objects left: ${(await this.s3.keys(prefix)).length}`],
        });
    }

    /** 7. An env file that someone other than root could have written, with a command in a value. */
    async envFile(): Promise<FaultOutcome> {
        const prefix = this.prefix();
        const dir = fs.mkdtempSync(path.join(this.work, "env-"));
        fs.chmodSync(dir, 0o755);
        const marker = path.join(dir, "ran-as-root");
        const file = path.join(dir, "shop-staging-backup.env");
        const env = this.env(prefix, [this.small]);
        const lines = Object.entries(env).map(([k, v]) => `${k}="${v}"`);
        lines.push(`BACKUP_NOTE="$(touch ${marker})"`);
        fs.writeFileSync(file, `${lines.join("\n")}\n`, { mode: 0o666 });
        fs.chmodSync(file, 0o666);
        const self = process.getuid!();
        // As root: owned by nobody, as in the report. As another user (tests only): owned by
        // the test user, who is not the owner the script is told to expect.
        if (self === 0) fs.chownSync(file, 65534, 65534);
        const owner = { VPS_JOBS_ENV_OWNER_UID: String(self === 0 ? 0 : self) };
        this.receiver.clear();
        const worldWritable = await runScript(scripts.restore, ["--env-file", file, "list", "postgres", this.small], owner);
        fs.chmodSync(file, 0o600);
        const otherOwner = await runScript(scripts.restore, ["--env-file", file, "list", "postgres", this.small], self === 0 ? owner : { VPS_JOBS_ENV_OWNER_UID: String(self + 1) });
        // Owned as expected and 0600: read, but the command in the value is never run.
        if (self === 0) fs.chownSync(file, 0, 0);
        const ranBefore = fs.existsSync(marker);
        const proper = await runScript(scripts.restore, ["--env-file", file, "list", "postgres", this.small], owner);
        const ran = ranBefore || fs.existsSync(marker);
        return this.outcome("world-writable env file owned by another user", [worldWritable, otherOwner, proper], this.receiver.texts(), {
            falseOk: worldWritable.code === 0 || otherOwner.code === 0,
            notes: [`a command from the env file ran: ${ran ? "yes" : "no"}`],
            dataLost: ran,
        });
    }

    /** 8. A webhook answering 500, then one answering only after 30 s. */
    async failingWebhook(): Promise<FaultOutcome> {
        const prefix = this.prefix();
        this.receiver.clear();
        this.receiver.failWith(500);
        const t0 = Date.now();
        const failing = await runScript(scripts.backup, [], this.env(prefix, [this.small]));
        const failingSeconds = (Date.now() - t0) / 1000;
        const posts5xx = this.receiver.received.length;
        this.receiver.failWith(undefined);
        this.receiver.answerAfter(30_000);
        const t1 = Date.now();
        const slow = await runScript(scripts.backup, [], this.env(prefix, [this.small], { ALERT_WEBHOOK_TIMEOUT_SECONDS: "3" }));
        const slowSeconds = (Date.now() - t1) / 1000;
        this.receiver.answerAfter(0);
        const { complete, bad } = await this.completeObjects(prefix);
        return this.outcome("webhook 5xx / slow", [failing, slow], this.receiver.texts(), {
            badCompleteObjects: bad.length,
            // The OK reports (which the webhook received but answered 5xx, or too late) are
            // about backups that are complete: true, unless one does not verify.
            falseOk: bad.length > 0 || complete.length !== 2,
            notes: [`posts for one report on 5xx: ${posts5xx}`, `run with a 5xx webhook took ${failingSeconds.toFixed(1)} s, with a 30-s webhook ${slowSeconds.toFixed(1)} s`],
        });
    }

    /** 9. The store drops for 2 s in the middle of a multipart upload. */
    async storeOutage(): Promise<FaultOutcome> {
        const prefix = this.prefix();
        this.receiver.clear();
        const before = this.s3.pendingUploadParts();
        const job = startJob(scripts.backup, [], this.env(prefix, [this.big], { RCLONE_BWLIMIT: "4M" }));
        await until("the first uploaded part", () => this.s3.pendingUploadParts() > before);
        await this.s3.stop();
        await sleep(2000);
        await this.s3.start();
        const r = await job.done;
        const { complete, bad } = await this.completeObjects(prefix);
        const texts = this.receiver.texts();
        return this.outcome("store down for 2 s mid-upload", [r], texts, {
            badCompleteObjects: bad.length,
            // The night's backup is lost when the run could not complete it.
            dataLost: complete.length - bad.length < 1,
            falseOk: r.code === 0 && (complete.length === 0 || bad.length > 0),
            notes: [`complete backups: ${complete.length}`],
        });
    }
}
