/**
 * The generated monitoring, run for real: Debian's prometheus, prometheus-alertmanager,
 * prometheus-node-exporter and prometheus-blackbox-exporter on loopback with the files and
 * flags the Monitoring component deploys (only addresses, paths and timings changed), an
 * environment's target and expectations files as it publishes them, a probed URL served by a
 * loopback HTTP server, and Alertmanager's real Discord notifications captured by a loopback
 * receiver.
 *
 * Timings: scrape and evaluation every 1 s, ServerDown `for: 10s` (the unit tests prove the
 * 2-minute default), group_wait and group_interval 1 s, repeat_interval 1 h (so "exactly one"
 * can hold). A firing notification arrives after the detection (the next scrape, then the
 * next evaluation), exactly `for`, and group_wait: the bound asserted is
 * for ≤ t ≤ for + scrape + evaluation + group_wait + slack (the "for plus one
 * evaluation interval" leaves out the scrape and group_wait, which the measurement shows).
 */
import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { MONITORING_PATHS, metricsFileName } from "../../components/naming";
import { alertmanagerFlags, blackboxFlags, nodeExporterFlags, prometheusFlags } from "../../components/monitoring/flags";
import { environmentTargetFiles } from "../../components/monitoring/target-files";
import { renderPrometheusConfig } from "../../components/monitoring/prometheus-config";
import { configFiles, DEFAULT_THRESHOLDS, writeFiles } from "../helpers/monitoring";
import { needCommand } from "../helpers/tools";
import { freePort } from "./helpers/docker";
import { ReceivedWebhook, WebhookReceiver } from "./helpers/webhook-receiver";

const INSTALL = "bash .ci/setup.d/15-monitoring-tools.sh";
const SCRAPE_S = 1;
const EVAL_S = 1;
const FOR_S = 10;
const GROUP_WAIT_S = 1;
const GROUP_INTERVAL_S = 1;
/** Room for a loaded machine (the measured spread is about 1 s). */
const SLACK_S = 3;
const VPS = "vps-it";
const ENV = { app: "shop", environment: "it" };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 50): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
        try {
            const v = await fn();
            if (v) return v;
        } catch {
            // not up yet
        }
        if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await sleep(everyMs);
    }
}

/** The title of a Discord notification (Alertmanager's discord_configs): "ServerDown [...]" or "ServerUp [...]". */
const title = (r: ReceivedWebhook): string => String(r.body?.embeds?.[0]?.title ?? "");

describe("monitoring on loopback: Debian's binaries with the generated configuration", function () {
    this.timeout(180_000);
    let dir: string;
    const procs: ChildProcess[] = [];
    const ports: Record<"prom" | "am" | "node" | "bb" | "app", number> = { prom: 0, am: 0, node: 0, bb: 0, app: 0 };
    const receiver = new WebhookReceiver();
    let app: http.Server | undefined;
    const at = (relative: string) => path.join(dir, relative);
    const get = async (url: string) => {
        const r = await fetch(url);
        return { status: r.status, text: await r.text() };
    };
    const query = async (expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> =>
        JSON.parse((await get(`http://127.0.0.1:${ports.prom}/api/v1/query?query=${encodeURIComponent(expr)}`)).text).data.result;

    async function startApp(): Promise<void> {
        app = http.createServer((_req, res) => res.end("ok"));
        await new Promise<void>((resolve) => app!.listen(ports.app, "127.0.0.1", resolve));
    }
    async function stopApp(): Promise<void> {
        const s = app;
        app = undefined;
        if (!s) return;
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
    }

    function run(name: string, bin: string, args: string[]): void {
        const log = fs.openSync(at(`${name}.log`), "w");
        const p = spawn(bin, args, { stdio: ["ignore", log, log] });
        fs.closeSync(log);
        procs.push(p);
    }

    /** The settings of the run: the component's files with loopback addresses and test timings. */
    function prometheusSettings(vps = VPS) {
        return {
            vps,
            scrapeInterval: `${SCRAPE_S}s`,
            evaluationInterval: `${EVAL_S}s`,
            addresses: {
                prometheus: `127.0.0.1:${ports.prom}`,
                alertmanager: `127.0.0.1:${ports.am}`,
                nodeExporter: `127.0.0.1:${ports.node}`,
                blackboxExporter: `127.0.0.1:${ports.bb}`,
            },
        };
    }

    before(async function () {
        for (const cmd of ["prometheus", "prometheus-alertmanager", "prometheus-node-exporter", "prometheus-blackbox-exporter"]) needCommand(this, cmd, INSTALL);
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "monitoring-loopback-"));
        for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
        await receiver.start();
        writeFiles(
            dir,
            configFiles({
                prometheus: prometheusSettings(),
                thresholds: { ...DEFAULT_THRESHOLDS, serverDownFor: `${FOR_S}s` },
                receiver: { format: "discord", webhookUrl: `http://127.0.0.1:${new URL(receiver.url).port}/discord` },
                timing: { groupWait: `${GROUP_WAIT_S}s`, groupInterval: `${GROUP_INTERVAL_S}s`, repeatInterval: "1h" },
            }),
        );
        writeFiles(dir, environmentTargetFiles(ENV, { probes: [{ url: `http://127.0.0.1:${ports.app}/health`, service: "web" }], scrapes: [], backupMaxAgeHours: 26 }));
        await startApp();

        run("blackbox", "prometheus-blackbox-exporter", blackboxFlags({ configFile: at(MONITORING_PATHS.blackboxConfig), listen: `127.0.0.1:${ports.bb}` }));
        run("node", "prometheus-node-exporter", nodeExporterFlags({ listen: `127.0.0.1:${ports.node}`, textfileDir: at(MONITORING_PATHS.textfile) }));
        run("alertmanager", "prometheus-alertmanager", alertmanagerFlags({ configFile: at(MONITORING_PATHS.alertmanagerConfig), storagePath: at("am-data"), listen: `127.0.0.1:${ports.am}` }));
        run(
            "prometheus",
            "prometheus",
            prometheusFlags({ configFile: at(MONITORING_PATHS.prometheusConfig), storagePath: at("prom-data"), listen: `127.0.0.1:${ports.prom}`, retentionTime: "1d", retentionSize: "100MB" }),
        );
        await until("prometheus ready", async () => (await get(`http://127.0.0.1:${ports.prom}/-/ready`)).status === 200, 30_000);
        await until("alertmanager ready", async () => (await get(`http://127.0.0.1:${ports.am}/-/ready`)).status === 200, 30_000);
        await until("blackbox healthy", async () => (await get(`http://127.0.0.1:${ports.bb}/-/healthy`)).status === 200, 30_000);
        await until("the probe succeeding", async () => (await query("probe_success")).some((s) => s.value[1] === "1"), 60_000);
    });

    after(async function () {
        for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGTERM");
        await Promise.all(
            procs.map((p) =>
                p.exitCode !== null || p.signalCode !== null
                    ? undefined
                    : Promise.race([new Promise((r) => p.once("exit", r)), sleep(5000).then(() => p.kill("SIGKILL"))]),
            ),
        );
        await stopApp();
        await receiver.stop();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("a URL that stops answering yields exactly one ServerDown, and exactly one ServerUp when it answers again", async function () {
        const firing = () => receiver.received.filter((r) => r.path === "/discord" && title(r).startsWith("ServerDown"));
        const resolved = () => receiver.received.filter((r) => r.path === "/discord" && title(r).startsWith("ServerUp"));

        const down = Date.now();
        await stopApp();
        const fired = await until("ServerDown at the receiver", async () => firing()[0], (FOR_S + 60) * 1000);
        const firingSeconds = (fired.at - down) / 1000;
        await sleep(5 * GROUP_INTERVAL_S * 1000);
        assert.equal(firing().length, 1, "exactly one firing notification");
        assert.match(title(fired), new RegExp(`^ServerDown \\[${VPS} shop/it\\]$`));
        assert.match(fired.body.embeds[0].description, /http:\/\/127\.0\.0\.1:\d+\/health \(shop\/it\) is down: its probe has failed for 10s/);

        const up = Date.now();
        await startApp();
        const back = await until("ServerUp at the receiver", async () => resolved()[0], 60_000);
        const resolvedSeconds = (back.at - up) / 1000;
        await sleep(5 * GROUP_INTERVAL_S * 1000);
        assert.equal(resolved().length, 1, "exactly one resolved notification");
        assert.equal(firing().length, 1, "still exactly one firing notification");
        assert.match(back.body.embeds[0].description, /is up again/);

        console.log(
            `      measured: ServerDown at the receiver ${firingSeconds.toFixed(2)} s after the URL stopped answering (for ${FOR_S} s, scrape ${SCRAPE_S} s, ` +
                `evaluation ${EVAL_S} s, group_wait ${GROUP_WAIT_S} s); ServerUp ${resolvedSeconds.toFixed(2)} s after it answered again`,
        );
        assert.ok(firingSeconds >= FOR_S, `fired after ${firingSeconds} s, before for (${FOR_S} s)`);
        assert.ok(firingSeconds <= FOR_S + SCRAPE_S + EVAL_S + GROUP_WAIT_S + SLACK_S, `fired after ${firingSeconds} s`);
        assert.ok(resolvedSeconds <= SCRAPE_S + EVAL_S + GROUP_INTERVAL_S + SLACK_S, `resolved after ${resolvedSeconds} s`);
    });

    it("a backup older than the environment's published limit fires BackupTooOld through node-exporter's textfile collector", async function () {
        const stale = Math.floor(Date.now() / 1000) - 30 * 3600;
        const file = at(`${MONITORING_PATHS.textfile}/${metricsFileName(ENV, "backup")}`);
        fs.writeFileSync(`${file}.tmp`, `vps_backup_last_success_timestamp_seconds{app="shop",environment="it"} ${stale}\n`);
        fs.renameSync(`${file}.tmp`, file);
        const n = await until("BackupTooOld at the receiver", async () => receiver.received.find((r) => title(r).startsWith("BackupTooOld")), 30_000);
        assert.match(title(n), /^BackupTooOld \[vps-it shop\/it\]$/);
        assert.match(n.body.embeds[0].description, /The newest backup of shop\/it is 1d 6h/);
    });

    it("the host down holds back the alerts of everything on it (inhibition)", async function () {
        const now = new Date().toISOString();
        const post = await fetch(`http://127.0.0.1:${ports.am}/api/v2/alerts`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify([
                { labels: { alertname: "HostDown", vps: "vps-inhibit", severity: "critical" }, annotations: { summary: "host down" }, startsAt: now },
                { labels: { alertname: "ServerDown", vps: "vps-inhibit", app: "shop", environment: "it", severity: "critical" }, annotations: { summary: "url down" }, startsAt: now },
            ]),
        });
        assert.equal(post.status, 200);
        await until("HostDown at the receiver", async () => receiver.received.find((r) => title(r).startsWith("HostDown [vps-inhibit")), 15_000);
        await sleep(4 * GROUP_INTERVAL_S * 1000);
        assert.deepEqual(receiver.received.filter((r) => title(r).includes("vps-inhibit")).map(title), ["HostDown [vps-inhibit]"]);
    });

    it("applies a changed configuration on POST /-/reload, and keeps the running one when the new file is broken", async function () {
        fs.writeFileSync(at(MONITORING_PATHS.prometheusConfig), renderPrometheusConfig(prometheusSettings("vps-reloaded")));
        const ok = await fetch(`http://127.0.0.1:${ports.prom}/-/reload`, { method: "POST" });
        assert.equal(ok.status, 200);
        assert.match(JSON.parse((await get(`http://127.0.0.1:${ports.prom}/api/v1/status/config`)).text).data.yaml, /vps: vps-reloaded/);

        fs.writeFileSync(at(MONITORING_PATHS.prometheusConfig), "global: {scrape_interval: nope}\n");
        const broken = await fetch(`http://127.0.0.1:${ports.prom}/-/reload`, { method: "POST" });
        assert.equal(broken.status, 500);
        assert.match(JSON.parse((await get(`http://127.0.0.1:${ports.prom}/api/v1/status/config`)).text).data.yaml, /vps: vps-reloaded/);

        const am = await fetch(`http://127.0.0.1:${ports.am}/-/reload`, { method: "POST" });
        assert.equal(am.status, 200);
    });
});
