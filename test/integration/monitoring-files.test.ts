/**
 * components/scripts/monitoring-files.sh run for real: file sets written and removed under a
 * monitoring directory, and a changed configuration applied to a running Debian Prometheus
 * through POST /-/reload (the docker client is a stand-in that runs the `docker exec ... wget`
 * of the script as curl on loopback), with the previous files put back when it refuses them.
 */
import { strict as assert } from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readScript } from "../../components/scripts";
import { MonitoringFile, renderFileBundle } from "../../components/monitoring/files";
import { prometheusFlags } from "../../components/monitoring/flags";
import { renderPrometheusConfig } from "../../components/monitoring/prometheus-config";
import { needCommand } from "../helpers/tools";
import { freePort } from "./helpers/docker";

const SCRIPT = readScript("monitoring-files.sh");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


describe("monitoring-files.sh: a set of monitoring files on the VPS", function () {
    this.timeout(60_000);
    let root: string;
    let dir: string;
    let stub: string;
    let stubLog: string;

    function run(action: "write" | "remove", set: string, files: MonitoringFile[] = [], env: Record<string, string> = {}) {
        const r = spawnSync("bash", ["-c", SCRIPT, "monitoring-files.sh", action], {
            input: action === "write" ? renderFileBundle(files) : "",
            encoding: "utf8",
            env: { ...process.env, MON_DIR: dir, MON_SET: set, DOCKER: stub, STUB_LOG: stubLog, ...env },
        });
        return { status: r.status, out: `${r.stdout}${r.stderr}` };
    }
    const at = (rel: string) => path.join(dir, rel);
    const file = (p: string, content: string, mode: "0644" | "0600" = "0644", uid?: number): MonitoringFile => ({ path: p, content, mode, uid });

    beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "monitoring-files-"));
        dir = path.join(root, "monitoring");
        stubLog = path.join(root, "docker.log");
        stub = path.join(root, "docker");
        // The docker client as the script uses it: `inspect` says whether a container of
        // STUB_RUNNING runs; `exec <container> wget ... <url>` POSTs to the URL.
        fs.writeFileSync(
            stub,
            [
                "#!/usr/bin/env bash",
                'echo "$*" >>"$STUB_LOG"',
                'case "$1" in',
                '  inspect) case " ${STUB_RUNNING:-} " in *" ${*: -1} "*) echo true ;; *) echo false ;; esac ;;',
                '  exec) curl -fsS -X POST --data reload "${*: -1}" ;;',
                "  *) exit 1 ;;",
                "esac",
                "",
            ].join("\n"),
            { mode: 0o755 },
        );
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    it("writes each file with its mode and owner, the time in place of @NOW@, and lists them in the set's manifest", () => {
        const before = Math.floor(Date.now() / 1000);
        const r = run("write", "config", [file("alertmanager/alertmanager.yml", "secret: x\n", "0600", 65534), file("textfile/a.prom", "m @NOW@\n")]);
        assert.equal(r.status, 0, r.out);
        const st = fs.statSync(at("alertmanager/alertmanager.yml"));
        assert.equal(st.mode & 0o777, 0o600);
        if (process.getuid?.() === 0) assert.equal(st.uid, 65534);
        const stamp = Number(/^m (\d+)$/m.exec(fs.readFileSync(at("textfile/a.prom"), "utf8"))![1]);
        assert.ok(stamp >= before && stamp <= before + 60, String(stamp));
        assert.deepEqual(fs.readFileSync(at(".sets/config.files"), "utf8").trim().split("\n"), ["alertmanager/alertmanager.yml", "textfile/a.prom"]);
    });

    it("does nothing, and reloads nothing, when the files are unchanged", () => {
        const files = [file("prometheus/prometheus.yml", "a\n")];
        assert.equal(run("write", "config", files).status, 0);
        fs.writeFileSync(stubLog, "");
        const r = run("write", "config", files, { MON_RELOAD: "prom|9090", STUB_RUNNING: "prom" });
        assert.equal(r.status, 0, r.out);
        assert.match(r.out, /unchanged/);
        assert.equal(fs.readFileSync(stubLog, "utf8"), "");
    });

    it("removes a file the set no longer has, and never another set's", () => {
        run("write", "shop-staging", [file("prometheus/targets/shop-staging-probe.json", "[]\n"), file("textfile/shop-staging-expectations.prom", "x 1\n")]);
        run("write", "shop-production", [file("prometheus/targets/shop-production-probe.json", "[]\n")]);
        assert.equal(run("write", "shop-staging", [file("prometheus/targets/shop-staging-probe.json", "[]\n")]).status, 0);
        assert.equal(fs.existsSync(at("textfile/shop-staging-expectations.prom")), false);
        assert.equal(run("remove", "shop-staging").status, 0);
        assert.deepEqual(fs.readdirSync(at("prometheus/targets")), ["shop-production-probe.json"]);
        assert.equal(fs.existsSync(at(".sets/shop-staging.files")), false);
    });

    it("refuses a path outside the directory and writes nothing", () => {
        const r = spawnSync("bash", ["-c", SCRIPT, "monitoring-files.sh", "write"], {
            input: `0644 0 ../escape ${Buffer.from("x").toString("base64")}\n`,
            encoding: "utf8",
            env: { ...process.env, MON_DIR: dir, MON_SET: "config" },
        });
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, /not a plain relative path/);
        assert.equal(fs.existsSync(path.join(root, "escape")), false);
    });

    it("does not reload a container that is not running (it reads the files when it starts)", () => {
        const r = run("write", "config", [file("prometheus/prometheus.yml", "a\n")], { MON_RELOAD: "prom|9090", STUB_RUNNING: "" });
        assert.equal(r.status, 0, r.out);
        assert.match(fs.readFileSync(stubLog, "utf8"), /^inspect/);
        assert.doesNotMatch(fs.readFileSync(stubLog, "utf8"), /exec/);
    });

    describe("with a running Prometheus", function () {
        let prometheus: ChildProcess | undefined;
        let port: number;
        const config = (vps: string) => renderPrometheusConfig({
            vps,
            scrapeInterval: "15s",
            evaluationInterval: "15s",
            addresses: { prometheus: `127.0.0.1:${port}`, alertmanager: "127.0.0.1:1", nodeExporter: "127.0.0.1:1", blackboxExporter: "127.0.0.1:1" },
        });
        const running = async () => JSON.parse(await (await fetch(`http://127.0.0.1:${port}/api/v1/status/config`)).text()).data.yaml as string;

        beforeEach(async function () {
            needCommand(this, "prometheus", "bash .ci/setup.d/15-monitoring-tools.sh");
            port = await freePort();
            assert.equal(run("write", "config", [file("prometheus/prometheus.yml", config("first"))]).status, 0);
            prometheus = spawn(
                "prometheus",
                prometheusFlags({ configFile: at("prometheus/prometheus.yml"), storagePath: path.join(root, "data"), listen: `127.0.0.1:${port}`, retentionTime: "1d", retentionSize: "100MB" }),
                { stdio: "ignore" },
            );
            for (let i = 0; i < 200; i++) {
                try {
                    if ((await fetch(`http://127.0.0.1:${port}/-/ready`)).status === 200) return;
                } catch {
                    // starting
                }
                await sleep(50);
            }
            throw new Error("prometheus did not become ready");
        });
        afterEach(async () => {
            if (prometheus && prometheus.exitCode === null) {
                prometheus.kill("SIGTERM");
                await new Promise((r) => prometheus!.once("exit", r));
            }
        });

        it("applies a changed configuration with POST /-/reload, without a restart", async () => {
            const r = run("write", "config", [file("prometheus/prometheus.yml", config("second"))], { MON_RELOAD: `prom|${port}`, STUB_RUNNING: "prom" });
            assert.equal(r.status, 0, r.out);
            assert.match(await running(), /vps: second/);
        });

        it("puts the previous files back and fails when Prometheus refuses the new ones, which it keeps running on", async () => {
            const r = run("write", "config", [file("prometheus/prometheus.yml", "global: {scrape_interval: nope}\n")], { MON_RELOAD: `prom|${port}`, STUB_RUNNING: "prom" });
            assert.equal(r.status, 1, r.out);
            assert.match(r.out, /prom refused the new configuration.*previous files are restored/);
            assert.match(fs.readFileSync(at("prometheus/prometheus.yml"), "utf8"), /vps: first/);
            assert.match(await running(), /vps: first/);
        });
    });
});
