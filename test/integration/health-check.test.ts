import { strict as assert } from "assert";
import { execFile, spawn } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { WebhookReceiver } from "./helpers/webhook-receiver";
import { LOOPBACK_WEBHOOK, scripts } from "./helpers/s3-scripts";
import {
    breakContainer,
    docker,
    ensureDockerEngine,
    freePort,
    ensureTestImage,
    healthStatus,
    removeTestContainers,
    startContainer,
    startedAt,
    testContainerName,
    waitForHealth,
} from "./helpers/docker";

const script = scripts.healthCheck;

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
    ms: number;
}

/** Runs health-check.sh once, configured only through its environment, as the systemd unit does. */
export function runHealthCheck(env: Record<string, string>): Promise<RunResult> {
    const t0 = Date.now();
    return new Promise((resolve) => {
        execFile(
            script,
            [],
            { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...LOOPBACK_WEBHOOK, ...env }, timeout: 300_000 },
            (err, stdout, stderr) => {
                const code = err ? (typeof (err as any).code === "number" ? (err as any).code : -1) : 0;
                resolve({ code, stdout, stderr, ms: Date.now() - t0 });
            },
        );
    });
}

const pgBin = fs.existsSync("/usr/lib/postgresql")
    ? fs.readdirSync("/usr/lib/postgresql").map((v) => `/usr/lib/postgresql/${v}/bin`).find((d) => fs.existsSync(`${d}/pg_isready`))
    : undefined;

/** A container that has the machine's real pg_isready and redis-cli (host /usr mounted) on the host network. */
function clientToolsArgs(pgPort: number): string[] {
    return [
        "--volume", "/usr:/usr:ro",
        "--env", `PATH=/bin:${pgBin}:/usr/bin`,
        "--env", "PGHOST=127.0.0.1",
        "--env", `PGPORT=${pgPort}`,
    ];
}

describe("health-check.sh against a real Docker engine", function () {
    let receiver: WebhookReceiver;
    let stateDir: string;
    const c = testContainerName;
    /** A container name as a regular expression. */
    const rc = (role: string) => c(role).replace(/[.-]/g, "\\$&");

    before(async function () {
        await ensureDockerEngine();
        await ensureTestImage();
        await removeTestContainers();
        receiver = await new WebhookReceiver().start();
    });
    after(async () => {
        await receiver?.stop();
        await removeTestContainers().catch(() => undefined);
    });
    beforeEach(() => {
        receiver.clear();
        stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "hc-state-"));
    });
    afterEach(() => fs.rmSync(stateDir, { recursive: true, force: true }));

    const baseEnv = (extra: Record<string, string>) => ({
        HC_STATE_DIR: stateDir,
        HC_RESTART_WAIT_SECONDS: "10",
        HC_POLL_SECONDS: "1",
        ALERT_WEBHOOK_URL: receiver.url,
        ALERT_PREFIX: "[shop/test]",
        ...extra,
    });

    it("passes silently when every URL, container, pg_isready and redis-cli ping is healthy", async function () {
        assert.ok(pgBin, "PostgreSQL client binaries are installed");
        const port = await freePort();
        await startContainer(c("web"), { httpPort: port });
        await startContainer(c("db"), { hostNetwork: true, extraArgs: clientToolsArgs(5432) });
        await waitForHealth(c("web"), "healthy");
        await waitForHealth(c("db"), "healthy");
        const before = await startedAt(c("web"));
        const r = await runHealthCheck(
            baseEnv({
                HC_URLS: `http://shop.test:${port}/|200|${c("web")}`,
                HC_CURL_RESOLVE: `shop.test:${port}:127.0.0.1`,
                HC_CONTAINERS: `${c("web")} ${c("db")}`,
                HC_POSTGRES_CONTAINER: c("db"),
                HC_POSTGRES_USER: "postgres",
                HC_REDIS_CONTAINER: c("db"),
            }),
        );
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /all 5 checks pass/);
        assert.deepEqual(receiver.texts(), []);
        assert.equal(await startedAt(c("web")), before, "a healthy container is not restarted");
    });

    it("restarts a container whose healthcheck starts failing, and it is healthy again without an alert", async function () {
        await startContainer(c("api"));
        await waitForHealth(c("api"), "healthy");
        await breakContainer(c("api"));
        await waitForHealth(c("api"), "unhealthy");
        const before = await startedAt(c("api"));
        const r = await runHealthCheck(baseEnv({ HC_CONTAINERS: c("api") }));
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, new RegExp(`${rc("api")}: restarted \\(1 of 3 this hour\\)`));
        assert.match(r.stdout, new RegExp(`healed: restarted ${rc("api")}`));
        assert.notEqual(await startedAt(c("api")), before);
        assert.equal(await healthStatus(c("api")), "healthy");
        assert.deepEqual(receiver.texts(), []);
    });

    it("restarts the container behind a URL that answers the wrong status, through --resolve", async function () {
        const port = await freePort();
        await startContainer(c("front"), { httpPort: port });
        await waitForHealth(c("front"), "healthy");
        await breakContainerPage(c("front"));
        const env = baseEnv({ HC_URLS: `http://shop.test:${port}/|200|${c("front")}`, HC_CURL_RESOLVE: `shop.test:${port}:127.0.0.1` });
        const r = await runHealthCheck(env);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, new RegExp(`FAILING: GET http://shop\\.test:${port}/ answered 404, expected 200`));
        assert.match(r.stdout, /healed/);
        assert.deepEqual(receiver.texts(), []);
        const again = await runHealthCheck(env);
        assert.equal(again.code, 0);
        assert.match(again.stdout, /all 1 checks pass/);
    });

    it("probes an https URL whose certificate no client trusts only with HC_INSECURE_TLS=1 (healthCheck.insecureTls)", async function () {
        // A self-signed certificate for shop.test, as a proxy on Let's Encrypt's staging CA serves.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hc-tls-"));
        await new Promise<void>((resolve, reject) =>
            execFile("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=shop.test", "-addext", "subjectAltName=DNS:shop.test",
                "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")], (err) => (err ? reject(err) : resolve())),
        );
        const server = https.createServer({ key: fs.readFileSync(path.join(dir, "key.pem")), cert: fs.readFileSync(path.join(dir, "cert.pem")) }, (_req, res) => res.end("ok"));
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const port = (server.address() as { port: number }).port;
        try {
            await startContainer(c("tls"));
            await waitForHealth(c("tls"), "healthy");
            const env = baseEnv({ HC_URLS: `https://shop.test:${port}/|200|${c("tls")}`, HC_CURL_RESOLVE: `shop.test:${port}:127.0.0.1`, HC_RESTART_BUDGET_PER_HOUR: "0" });
            const insecure = await runHealthCheck({ ...env, HC_INSECURE_TLS: "1" });
            assert.equal(insecure.code, 0, insecure.stdout + insecure.stderr);
            assert.match(insecure.stdout, /all 1 checks pass/);
            const verifying = await runHealthCheck(env);
            assert.equal(verifying.code, 1, verifying.stdout + verifying.stderr);
            assert.match(verifying.stdout, new RegExp(`GET https://shop\\.test:${port}/ answered 000, expected 200`));
        } finally {
            server.close();
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("alerts a check that stays broken once, not on every run, reminds after the interval and sends a resolved notice when it passes", async function () {
        await startContainer(c("stuck"));
        await waitForHealth(c("stuck"), "healthy");
        await breakContainer(c("stuck"));
        await waitForHealth(c("stuck"), "unhealthy");
        await startContainer(c("fine"));
        await waitForHealth(c("fine"), "healthy");
        // No restart (budget 0): the container stays broken until the test repairs it.
        const env = baseEnv({ HC_CONTAINERS: `${c("fine")} ${c("stuck")}`, HC_RESTART_BUDGET_PER_HOUR: "0" });
        const first = await runHealthCheck(env);
        assert.equal(first.code, 1, first.stdout + first.stderr);
        assert.equal(receiver.texts().length, 1);
        const text = receiver.texts()[0];
        assert.match(text, new RegExp(`^\\[shop/test\\] FAILURE: 1 of 2 health checks still failing:\n- container ${rc("stuck")} is unhealthy`));
        assert.match(text, new RegExp(`${rc("stuck")}: restart budget spent`));
        assert.doesNotMatch(text, new RegExp(rc("fine")));
        const second = await runHealthCheck(env);
        assert.equal(second.code, 1);
        assert.equal(receiver.texts().length, 1, "the same problem is not alerted again on the next run");
        assert.match(second.stderr, /alert not repeated: every problem was alerted less than 240 min ago/);
        // Once the reminder interval has passed, one reminder that says since when.
        const alerts = path.join(stateDir, "alerts");
        for (const f of fs.readdirSync(alerts)) {
            const [head, ...rest] = fs.readFileSync(path.join(alerts, f), "utf8").split("\n");
            const first = Number(head.split(" ")[0]) - 5 * 3600;
            fs.writeFileSync(path.join(alerts, f), [`${first} ${first}`, ...rest].join("\n"));
        }
        const third = await runHealthCheck(env);
        assert.equal(third.code, 1);
        assert.equal(receiver.texts().length, 2);
        assert.match(receiver.texts()[1], new RegExp(`- container ${rc("stuck")} is unhealthy; .* \\(failing since \\d\\d:\\d\\dZ\\)`));
        await docker(["exec", c("stuck"), "touch", "/tmp/ok"]);
        await waitForHealth(c("stuck"), "healthy");
        const healed = await runHealthCheck(env);
        assert.equal(healed.code, 0, healed.stdout + healed.stderr);
        assert.equal(receiver.texts().length, 3);
        assert.match(receiver.texts()[2], new RegExp(`^\\[shop/test\\] RESOLVED: health check: no longer failing: - container ${rc("stuck")} is unhealthy \\(for \\d+ min\\);`));
        const quiet = await runHealthCheck(env);
        assert.equal(quiet.code, 0);
        assert.equal(receiver.texts().length, 3, "nothing more once resolved");
    });

    it("respects the restart budget: past it, the container is not restarted and the run says so", async function () {
        await startContainer(c("flappy"), { healthCmd: "false" });
        await waitForHealth(c("flappy"), "unhealthy");
        const env = baseEnv({ HC_CONTAINERS: c("flappy"), HC_RESTART_WAIT_SECONDS: "2", HC_RESTART_BUDGET_PER_HOUR: "2" });
        const starts: string[] = [await startedAt(c("flappy"))];
        let last = "";
        for (let run = 0; run < 3; run++) {
            const r = await runHealthCheck(env);
            assert.equal(r.code, 1, r.stdout + r.stderr);
            starts.push(await startedAt(c("flappy")));
            last = r.stdout;
        }
        assert.notEqual(starts[1], starts[0], "run 1 restarts");
        assert.notEqual(starts[2], starts[1], "run 2 restarts");
        assert.equal(starts[3], starts[2], "run 3 does not: the budget of 2 per hour is spent");
        // One alert for the problem (deduplicated), the budget in the third run's journal.
        assert.equal(receiver.texts().length, 1);
        assert.match(last, new RegExp(`${rc("flappy")}: restart budget spent \\(2 restarts in the last hour, budget 2\\): not restarted`));
        assert.equal(fs.readFileSync(path.join(stateDir, `restarts-${c("flappy")}`), "utf8").trim().split("\n").length, 2);
    });

    it("forgets restarts older than an hour", async function () {
        await startContainer(c("old"), { healthCmd: "false" });
        await waitForHealth(c("old"), "unhealthy");
        const hourAgo = Math.floor(Date.now() / 1000) - 3700;
        fs.writeFileSync(path.join(stateDir, `restarts-${c("old")}`), `${hourAgo}\n${hourAgo}\n`);
        const before = await startedAt(c("old"));
        const r = await runHealthCheck(baseEnv({ HC_CONTAINERS: c("old"), HC_RESTART_WAIT_SECONDS: "2", HC_RESTART_BUDGET_PER_HOUR: "2" }));
        assert.equal(r.code, 1);
        assert.notEqual(await startedAt(c("old")), before, "restarted: the old entries no longer count");
        assert.equal(fs.readFileSync(path.join(stateDir, `restarts-${c("old")}`), "utf8").trim().split("\n").length, 1);
    });

    it("lists every check that still fails in the one alert (pg_isready against a dead port, a missing container)", async function () {
        await startContainer(c("deadpg"), { hostNetwork: true, extraArgs: clientToolsArgs(1) });
        await waitForHealth(c("deadpg"), "healthy");
        const r = await runHealthCheck(
            baseEnv({
                HC_POSTGRES_CONTAINER: c("deadpg"),
                HC_CONTAINERS: c("gone"),
                HC_RESTART_WAIT_SECONDS: "2",
            }),
        );
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.equal(receiver.texts().length, 1);
        const lines = receiver.texts()[0].split("\n");
        assert.equal(lines[0], "[shop/test] FAILURE: 2 of 2 health checks still failing:");
        assert.match(lines[1], new RegExp(`^- container ${rc("gone")} is missing; ${rc("gone")}: restart failed: `));
        assert.match(lines[2], new RegExp(`^- pg_isready -U postgres in ${rc("deadpg")} exited 2; ${rc("deadpg")}: restarted, still failing after 2 s$`));
        assert.equal(lines.length, 3);
    });

    it("alerts, instead of skipping silently, when an earlier run has held the lock past HC_STALE_LOCK_SECONDS", async function () {
        const lock = path.join(stateDir, "vps-jobs-health-check.lock");
        // A run that started 10 minutes ago and still holds the lock (a stuck run).
        fs.writeFileSync(lock, `${Math.floor(Date.now() / 1000) - 600} 1\n`);
        const holder = spawn("flock", [lock, "sleep", "30"], { stdio: "ignore" });
        try {
            await new Promise((r) => setTimeout(r, 300));
            const fresh = await runHealthCheck(baseEnv({ HC_CONTAINERS: c("none"), HC_STALE_LOCK_SECONDS: "900" }));
            assert.equal(fresh.code, 0, fresh.stdout + fresh.stderr);
            assert.match(fresh.stdout, /another run has held .* for \d+ s; skipping this one/);
            const stale = await runHealthCheck(baseEnv({ HC_CONTAINERS: c("none") }));
            assert.equal(stale.code, 1, stale.stdout + stale.stderr);
            assert.equal(receiver.texts().length, 1);
            assert.match(receiver.texts()[0], /FAILURE: health check not run: the health-check run started 6\d\d s ago still holds .* \(stuck; limit HC_STALE_LOCK_SECONDS=240\)/);
        } finally {
            holder.kill();
        }
    });

    it("does not restart a container that Docker is still starting, even when its URL fails (a deploy in progress)", async function () {
        await startContainer(c("slow"), { healthCmd: "sleep 30" });
        assert.equal(await healthStatus(c("slow")), "starting");
        const before = await startedAt(c("slow"));
        const deadPort = await freePort();
        const r = await runHealthCheck(
            baseEnv({ HC_CONTAINERS: c("slow"), HC_URLS: `http://127.0.0.1:${deadPort}/|200|${c("slow")}` }),
        );
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /0 of 2 checks pass, 2 pending/);
        assert.doesNotMatch(r.stdout, /all 2 checks pass/);
        assert.match(r.stdout, new RegExp(`pending: container ${rc("slow")} is starting`));
        assert.match(r.stdout, new RegExp(`pending: GET http://127\\.0\\.0\\.1:${deadPort}/ answered 000, expected 200 \\(${rc("slow")} has not passed`));
        assert.equal(await startedAt(c("slow")), before);
        assert.deepEqual(receiver.texts(), []);
    });
});

/** Removes the page the container's httpd serves, so the URL answers 404 until the container restarts. */
async function breakContainerPage(name: string): Promise<void> {
    await docker(["exec", name, "rm", "-f", "/www/index.html"]);
}
