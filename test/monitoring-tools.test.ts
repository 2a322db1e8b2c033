/**
 * The generated monitoring configuration checked by the tools of the programs that read it:
 * promtool (Prometheus 2.42, Debian's) for prometheus.yml, the rules, the environments'
 * file_sd files and the dashboards' PromQL; `promtool test rules` for every alert firing,
 * staying silent and resolving; amtool (Alertmanager 0.25) for alertmanager.yml and its
 * routing; blackbox-exporter for its modules. .ci/setup.d/15-monitoring-tools.sh installs them.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { MONITORING_PATHS } from "../components/naming";
import { renderAlertRules } from "../components/monitoring/alert-rules";
import { dashboards, environmentDashboard } from "../components/monitoring/grafana";
import { environmentTargetFiles } from "../components/monitoring/target-files";
import { configFiles, DEFAULT_THRESHOLDS, writeFiles } from "./helpers/monitoring";
import { needCommand } from "./helpers/tools";

const INSTALL = "bash .ci/setup.d/15-monitoring-tools.sh";
const FIXTURES = path.join(__dirname, "fixtures", "monitoring");

function run(cmd: string, args: string[]): { status: number | null; out: string } {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe("monitoring configuration checked by promtool, amtool and blackbox-exporter", function () {
    let dir: string;
    const at = (relative: string) => path.join(dir, relative);

    beforeEach(function () {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "monitoring-tools-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("passes promtool check config with its rules and two environments' target files", function () {
        needCommand(this, "promtool", INSTALL);
        writeFiles(dir, configFiles());
        for (const environment of ["staging", "production"]) {
            writeFiles(dir, environmentTargetFiles({ app: "shop", environment }, {
                probes: [{ url: `https://${environment}.example.com/health`, service: "frontend", insecureTls: environment === "staging" }],
                scrapes: [{ address: `shop-${environment}-backend-1a2b:3000`, path: "/metrics", service: "backend" }],
                backupMaxAgeHours: 26,
            }));
        }
        const r = run("promtool", ["check", "config", at(MONITORING_PATHS.prometheusConfig)]);
        assert.equal(r.status, 0, r.out);
        assert.match(r.out, /SUCCESS: 1 rule files found/);
        assert.match(r.out, /SUCCESS: 12 rules found/);
    });

    it("fails promtool check config on a target file Prometheus could not read (so the check does read them)", function () {
        needCommand(this, "promtool", INSTALL);
        writeFiles(dir, configFiles());
        writeFiles(dir, [{ path: `${MONITORING_PATHS.targets}/shop-staging-probe.json`, content: '[{"targets": "https://x"}]', mode: "0644" }]);
        const r = run("promtool", ["check", "config", at(MONITORING_PATHS.prometheusConfig)]);
        assert.equal(r.status, 1, r.out);
        assert.match(r.out, /checking SD file/);
    });

    it("shows each alert firing on synthetic series, silent while pending and on healthy series, and resolving (promtool test rules)", function () {
        needCommand(this, "promtool", INSTALL);
        fs.writeFileSync(at("rules.yml"), renderAlertRules(DEFAULT_THRESHOLDS));
        fs.copyFileSync(path.join(FIXTURES, "alerts.test.yml"), at("alerts.test.yml"));
        const r = run("promtool", ["test", "rules", at("alerts.test.yml")]);
        assert.equal(r.status, 0, r.out);
        assert.match(r.out, /SUCCESS/);
    });

    it("passes amtool check-config for Discord, Slack and no webhook", function () {
        needCommand(this, "amtool", INSTALL);
        const receivers = [
            { format: "discord" as const, webhookUrl: "https://discord.com/api/webhooks/1/abc" },
            { format: "slack" as const, webhookUrl: "https://hooks.slack.com/services/T0/B0/abc" },
            { format: "discord" as const },
        ];
        for (const receiver of receivers) {
            writeFiles(dir, configFiles({ receiver }));
            const r = run("amtool", ["check-config", at(MONITORING_PATHS.alertmanagerConfig)]);
            assert.equal(r.status, 0, `${receiver.format}: ${r.out}`);
            assert.match(r.out, /SUCCESS/);
            assert.match(r.out, /1 inhibit rules/);
        }
    });

    it("routes every alert to the one receiver (amtool config routes test)", function () {
        needCommand(this, "amtool", INSTALL);
        writeFiles(dir, configFiles());
        for (const labels of [["alertname=ServerDown", "severity=critical", "vps=vps1", "app=shop", "environment=staging"], ["alertname=HostDown", "vps=vps1"]]) {
            const r = run("amtool", ["config", "routes", "test", "--config.file", at(MONITORING_PATHS.alertmanagerConfig), "--verify.receivers=chat", ...labels]);
            assert.equal(r.status, 0, r.out);
        }
    });

    it("passes blackbox-exporter's own config check", function () {
        needCommand(this, "prometheus-blackbox-exporter", INSTALL);
        writeFiles(dir, configFiles());
        const r = run("prometheus-blackbox-exporter", ["--config.check", `--config.file=${at(MONITORING_PATHS.blackboxConfig)}`]);
        assert.equal(r.status, 0, r.out);
        assert.match(r.out, /Config file is ok/);
    });

    it("has dashboards whose every query is PromQL promtool parses", function () {
        needCommand(this, "promtool", INSTALL);
        // Grafana's variables replaced by what they stand for: a range, a label value.
        const grafanaVariables = (e: string) => e.replace(/\$__(rate_interval|interval|range)\b/g, "5m").replace(/\$\{(\w+)(:\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, "x");
        let n = 0;
        const own = { "environments/shop-staging.json": environmentDashboard({ app: "shop", environment: "staging" }) };
        for (const [file, text] of Object.entries({ ...dashboards(), ...own })) {
            const d = JSON.parse(text);
            const exprs: string[] = [];
            const walk = (panels: any[] | undefined) => {
                for (const p of panels ?? []) {
                    for (const t of p.targets ?? []) if (t.expr) exprs.push(t.expr);
                    walk(p.panels);
                }
            };
            walk(d.panels);
            const rules = { groups: [{ name: d.uid, rules: exprs.map((e, i) => ({ record: `grafana_check:panel_${i}`, expr: grafanaVariables(e) })) }] };
            const rulesFile = at(`${file.replace("/", "-")}.rules.yml`);
            fs.writeFileSync(rulesFile, stringify(rules));
            const r = run("promtool", ["check", "rules", rulesFile]);
            assert.equal(r.status, 0, `${file}: ${r.out}`);
            n += exprs.length;
        }
        assert.ok(n >= 20, `${n} queries`);
    });
});
