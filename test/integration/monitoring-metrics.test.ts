/**
 * components/scripts/metrics.sh, what the backup and health-check jobs tell the host's
 * monitoring, run for real: the files it writes are read by Debian's node-exporter textfile
 * collector without error, with the series the alert rules and dashboards use.
 */
import { strict as assert } from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { nodeExporterFlags } from "../../components/monitoring/flags";
import { needCommand } from "../helpers/tools";
import { freePort } from "./helpers/docker";

const METRICS = path.join(__dirname, "..", "..", "components", "scripts", "metrics.sh");
const LABELS = 'app="shop",environment="staging"';


describe("metrics.sh: the jobs' metrics for node-exporter's textfile collector", function () {
    this.timeout(60_000);
    let dir: string;
    let docker: string;

    /** Runs `script` in bash with metrics.sh sourced, METRICS_FILE=<dir>/<file>. */
    function bash(script: string, file: string) {
        const r = spawnSync("bash", ["-c", `set -euo pipefail; . ${JSON.stringify(METRICS)}; ${script}`], {
            encoding: "utf8",
            env: { ...process.env, METRICS_FILE: path.join(dir, file), METRICS_LABELS: LABELS, DOCKER: docker },
        });
        assert.equal(r.status, 0, r.stderr);
        return fs.readFileSync(path.join(dir, file), "utf8");
    }

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "monitoring-metrics-"));
        docker = path.join(dir, "docker-stub");
        // `docker inspect --format ... <names>`: what Docker prints for two containers, one missing (left out).
        fs.writeFileSync(
            docker,
            "#!/usr/bin/env bash\nprintf '%s\\n' '/shop-staging-backend-1a2b 4 healthy backend' '/shop-staging-postgres 0 unhealthy postgres'\nexit 1\n",
            { mode: 0o755 },
        );
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("records a backup's success, and keeps its time when a later run fails", () => {
        const ok = bash("metrics_backup_run 1", "shop-staging-backup.prom");
        const stamp = /^vps_backup_last_success_timestamp_seconds\{app="shop",environment="staging"\} (\d+)$/m.exec(ok)![1];
        const failed = bash("metrics_backup_run 0", "shop-staging-backup.prom");
        assert.match(failed, /^vps_backup_last_run_success\{app="shop",environment="staging"\} 0$/m);
        assert.match(failed, new RegExp(`^vps_backup_last_success_timestamp_seconds\\{app="shop",environment="staging"\\} ${stamp}$`, "m"));
    });

    it("records the health check's outcome and each container's restarts and health", () => {
        const text = bash("metrics_health_check_run 1 shop-staging-backend-1a2b shop-staging-postgres gone", "shop-staging-health-check.prom");
        assert.match(text, /^vps_health_check_last_run_success\{app="shop",environment="staging"\} 0$/m);
        assert.match(text, /^vps_container_restarts_total\{app="shop",environment="staging",container="shop-staging-backend-1a2b",service="backend"\} 4$/m);
        assert.match(text, /^vps_container_healthy\{app="shop",environment="staging",container="shop-staging-postgres",service="postgres"\} 0$/m);
    });

    it("writes nothing without METRICS_FILE (a host without monitoring)", () => {
        const r = spawnSync("bash", ["-c", `. ${JSON.stringify(METRICS)}; metrics_backup_run 1; metrics_health_check_run 0 x; ls -A ${JSON.stringify(dir)}`], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout.trim(), "docker-stub");
    });

    it("writes files node-exporter reads without error", async function () {
        needCommand(this, "prometheus-node-exporter", "bash .ci/setup.d/15-monitoring-tools.sh");
        bash("metrics_backup_run 1", "shop-staging-backup.prom");
        bash("metrics_health_check_run 0 shop-staging-backend-1a2b shop-staging-postgres", "shop-staging-health-check.prom");
        const port = await freePort();
        const exporter: ChildProcess = spawn("prometheus-node-exporter", nodeExporterFlags({ listen: `127.0.0.1:${port}`, textfileDir: dir }), { stdio: "ignore" });
        try {
            let text = "";
            for (let i = 0; i < 100 && !text; i++) {
                try {
                    text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
                } catch {
                    await new Promise((r) => setTimeout(r, 100));
                }
            }
            assert.match(text, /^node_textfile_scrape_error 0$/m);
            assert.match(text, /^vps_backup_last_success_timestamp_seconds\{app="shop",environment="staging"\} \d/m);
            assert.match(text, /^vps_health_check_last_run_success\{app="shop",environment="staging"\} 1$/m);
            assert.match(text, /^vps_container_restarts_total\{app="shop",container="shop-staging-backend-1a2b",environment="staging",service="backend"\} 4$/m);
        } finally {
            exporter.kill("SIGTERM");
            await new Promise((r) => exporter.once("exit", r));
        }
    });
});
