import { strict as assert } from "assert";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { MONITORING_PATHS } from "../components/naming";
import { GROUP_BY, renderAlertmanagerConfig } from "../components/monitoring/alertmanager-config";
import { alertRules } from "../components/monitoring/alert-rules";
import { filePathProblem, renderFileBundle } from "../components/monitoring/files";
import { DATASOURCE_UID, dashboards, ENVIRONMENT_DASHBOARD, environmentDashboard } from "../components/monitoring/grafana";
import { renderPrometheusConfig } from "../components/monitoring/prometheus-config";
import { environmentTargetFiles, NOW_TOKEN } from "../components/monitoring/target-files";
import { metricsSchema, monitoringChecks, monitoringSchema } from "../config/monitoring";
import { CONTAINER_ADDRESSES, configFiles, DEFAULT_THRESHOLDS, DEFAULT_TIMING, fileOf } from "./helpers/monitoring";

const IMAGES = {
    prometheus: { image: "prom/prometheus:v3.5.0" },
    alertmanager: { image: "prom/alertmanager:v0.28.1" },
    nodeExporter: { image: "prom/node-exporter:v1.9.1" },
    blackboxExporter: { image: "prom/blackbox-exporter:v0.27.0" },
};
const SECTION = { ...IMAGES, grafana: { image: "grafana/grafana:12.1.1", host: "grafana.example.com", basicAuth: { usersKey: "monitoringUsers" } } };
const SECRETS = { grafanaAdminPassword: "a-long-admin-password", monitoringUsers: "ops:a-long-proxy-password" };
const secretKeys = new Set(Object.keys(SECRETS));
const checks = (raw: Record<string, unknown>, keys: ReadonlySet<string> = secretKeys) => monitoringChecks({ monitoring: SECTION, ...SECRETS, ...raw }, keys);

describe("monitoring config", () => {
    it("fills every default of a section that names only the images and Grafana's host and users", () => {
        const m = monitoringSchema.parse(SECTION);
        assert.equal(m.enabled, true);
        assert.deepEqual(
            { scrape: m.prometheus.scrapeInterval, retention: m.prometheus.retentionTime, size: m.prometheus.retentionSize, memory: m.prometheus.memory },
            { scrape: "15s", retention: "30d", size: "4GB", memory: 512 },
        );
        assert.equal(m.grafana.adminUser, "admin");
        assert.equal(m.thresholds.serverDownMinutes, 2);
        assert.equal(m.thresholds.diskUsedPercent, 80);
        assert.deepEqual(m.errorRate, { metric: "http_requests_total", statusLabel: "code" });
    });

    it("rejects a duration Prometheus would not read, a threshold out of range and an unknown key, each at its path", () => {
        const r = monitoringSchema.safeParse({
            ...SECTION,
            prometheus: { ...IMAGES.prometheus, scrapeInterval: "15 seconds" },
            thresholds: { diskUsedPercent: 120, bogus: 1 },
        });
        assert.equal(r.success, false);
        const paths = r.error!.issues.map((i) => i.path.join("."));
        assert.ok(paths.includes("prometheus.scrapeInterval"), paths.join());
        assert.ok(paths.includes("thresholds.diskUsedPercent"), paths.join());
        assert.ok(r.error!.issues.some((i) => i.code === "unrecognized_keys"), "unknown threshold key");
    });

    it("needs Grafana's host and the proxy's users: Grafana is reachable only through the proxy, with its authentication", () => {
        const r = monitoringSchema.safeParse({ ...IMAGES, grafana: { image: "grafana/grafana:12.1.1" } });
        assert.equal(r.success, false);
        assert.deepEqual(r.error!.issues.map((i) => i.path.join(".")).sort(), ["grafana.basicAuth", "grafana.host"]);
    });

    it("passes a section with pinned images and its secrets set", () => {
        assert.deepEqual(checks({}), []);
    });

    it("reports an unpinned image of any part, and a digest missing where requireImageDigest", () => {
        const issues = checks({ monitoring: { ...SECTION, nodeExporter: { image: "prom/node-exporter:latest" } } });
        assert.deepEqual(issues.map((i) => i.path), ["monitoring.nodeExporter.image"]);
        assert.equal(checks({ requireImageDigest: true }).length, 5);
    });

    it("requires Grafana's admin password as a secret of 12 characters or more", () => {
        const { grafanaAdminPassword: _, ...withoutPassword } = SECRETS;
        assert.match(monitoringChecks({ monitoring: SECTION, ...withoutPassword }, secretKeys)[0].message, /is required with monitoring/);
        assert.match(checks({}, new Set(["monitoringUsers"]))[0].message, /plain text/);
        assert.match(checks({ grafanaAdminPassword: "short" })[0].message, /shorter than 12/);
    });

    it("requires the proxy's users as a secret key of usable user:password lines, never repeating a password", () => {
        assert.match(checks({ monitoringUsers: undefined })[0].message, /names "monitoringUsers", which is not set/);
        assert.match(checks({}, new Set(["grafanaAdminPassword"]))[0].message, /plain text/);
        const weak = checks({ monitoringUsers: "ops:tooshort" });
        assert.match(weak[0].message, /shorter than 12/);
        assert.ok(!weak[0].message.includes("tooshort"));
        assert.match(checks({ monitoringUsers: "a:123456789012\na:123456789012" })[0].message, /lists the user "a" twice/);
    });

    it("checks nothing of a section that is switched off, or absent", () => {
        assert.deepEqual(monitoringChecks({ monitoring: { enabled: false } }, new Set()), []);
        assert.deepEqual(monitoringChecks({}, new Set()), []);
    });

    it("takes a service's metrics path (default /metrics) and an optional port", () => {
        assert.deepEqual(metricsSchema.parse({}), { path: "/metrics" });
        assert.deepEqual(metricsSchema.parse({ path: "/internal/metrics", port: 9464 }), { path: "/internal/metrics", port: 9464 });
        assert.equal(metricsSchema.safeParse({ path: "metrics" }).success, false);
    });
});

describe("monitoring renderers", () => {
    it("labels every series and alert with the host and finds targets only in the environments' files", () => {
        const cfg = parseYaml(renderPrometheusConfig({ vps: "vps1", scrapeInterval: "15s", evaluationInterval: "15s", addresses: CONTAINER_ADDRESSES }));
        assert.deepEqual(cfg.global.external_labels, { vps: "vps1" });
        assert.deepEqual(cfg.rule_files, ["rules/*.yml"]);
        assert.equal(cfg.alerting.alertmanagers[0].api_version, "v2");
        const jobs = Object.fromEntries(cfg.scrape_configs.map((j: any) => [j.job_name, j]));
        assert.deepEqual(jobs.probe.file_sd_configs, [{ files: ["targets/*-probe.json"] }]);
        assert.deepEqual(jobs.services.file_sd_configs, [{ files: ["targets/*-scrape.json"] }]);
        assert.equal(jobs.probe.relabel_configs[2].replacement, "blackbox-exporter:9115");
        // Retention is a flag: Prometheus 2.x refuses storage settings in the file.
        assert.equal(cfg.storage, undefined);
    });

    it("routes every alert to one Discord receiver with resolved notifications, grouped by alert and environment, the host down silencing the rest", () => {
        const am = parseYaml(renderAlertmanagerConfig({ format: "discord", webhookUrl: "https://discord.com/api/webhooks/1/x" }, DEFAULT_TIMING));
        assert.deepEqual(am.route, { receiver: "chat", group_by: GROUP_BY, group_wait: "30s", group_interval: "5m", repeat_interval: "240m" });
        assert.equal(am.receivers[0].discord_configs[0].webhook_url, "https://discord.com/api/webhooks/1/x");
        assert.equal(am.receivers[0].discord_configs[0].send_resolved, true);
        assert.match(am.receivers[0].discord_configs[0].title, /ServerUp/);
        assert.deepEqual(am.inhibit_rules, [{ source_matchers: ['alertname="HostDown"'], target_matchers: ['alertname!="HostDown"'], equal: ["vps"] }]);
    });

    it("sends to Slack with send_resolved set (Slack's default is false), and to nobody without a webhook", () => {
        const slack = parseYaml(renderAlertmanagerConfig({ format: "slack", webhookUrl: "https://hooks.slack.com/services/T/B/x" }, DEFAULT_TIMING));
        assert.deepEqual(Object.keys(slack.receivers[0]).sort(), ["name", "slack_configs"]);
        assert.equal(slack.receivers[0].slack_configs[0].send_resolved, true);
        assert.deepEqual(parseYaml(renderAlertmanagerConfig({ format: "discord" }, DEFAULT_TIMING)).receivers, [{ name: "chat" }]);
    });

    it("gives every alert a severity, a summary and a resolved text", () => {
        const rules = alertRules(DEFAULT_THRESHOLDS).flatMap((g) => g.rules);
        assert.deepEqual(rules.map((r) => r.alert).sort(), [
            "BackupMissing", "BackupTooOld", "ContainerRestarting", "DiskFull", "HealthCheckJobFailing", "HealthCheckJobSilent",
            "HighErrorRate", "HostDown", "MemoryPressure", "MetricsFileUnreadable", "MetricsUnreachable", "ServerDown",
        ]);
        for (const r of rules) {
            assert.ok(["critical", "warning"].includes(r.labels.severity), r.alert);
            assert.ok(r.annotations.summary && r.annotations.resolved, r.alert);
        }
        assert.equal(rules.find((r) => r.alert === "ServerDown")!.for, "2m");
    });

    it("writes the webhook's file readable by Alertmanager's user only, every other file readable", () => {
        const files = configFiles();
        assert.deepEqual(fileOf(files, MONITORING_PATHS.alertmanagerConfig), { ...fileOf(files, MONITORING_PATHS.alertmanagerConfig), mode: "0600", uid: 65534 });
        for (const f of files.filter((x) => x.path !== MONITORING_PATHS.alertmanagerConfig)) assert.equal(f.mode, "0644", f.path);
        assert.deepEqual(files.filter((f) => f.path.startsWith("grafana/dashboards/")).map((f) => f.path.split("/").pop()), [
            "backups.json", "containers.json", "environment.json", "host.json", "probes.json",
        ]);
    });
});

describe("an environment's monitoring targets", () => {
    const env = { app: "shop", environment: "staging" };
    const files = environmentTargetFiles(env, {
        probes: [
            { url: "https://shop.example.com/health", service: "frontend" },
            { url: "https://api.example.com/health", service: "backend" },
            { url: "https://www.example.com/", service: "frontend" },
        ],
        scrapes: [{ address: "shop-staging-backend-1a2b:3000", path: "/metrics", service: "backend" }],
        backupMaxAgeHours: 26,
    });

    const file = (suffix: string) => files.find((f) => f.path.endsWith(suffix))!;

    it("are files of its own, named after it, under the host's targets, dashboards and textfile directories", () => {
        assert.deepEqual(files.map((f) => f.path), [
            "prometheus/targets/shop-staging-probe.json",
            "prometheus/targets/shop-staging-scrape.json",
            "grafana/dashboards/environments/shop-staging.json",
            "textfile/shop-staging-expectations.prom",
        ]);
    });

    it("include its own dashboard: the environment dashboard with its app and environment fixed, its own uid and title", () => {
        const d = JSON.parse(file("shop-staging.json").content);
        assert.equal(d.uid, "vps-env-shop-staging");
        assert.equal(d.title, "Environment shop/staging");
        assert.deepEqual(d.templating.list, [
            { name: "app", label: "Application", type: "constant", query: "shop", hide: 2 },
            { name: "environment", label: "Environment", type: "constant", query: "staging", hide: 2 },
        ]);
        const template = JSON.parse(dashboards()[ENVIRONMENT_DASHBOARD]);
        assert.deepEqual(d.panels, template.panels, "the panels are the repository's");
        const long = JSON.parse(environmentDashboard({ app: "a-rather-long-application-name", environment: "feature-branch-preview" }));
        assert.ok(long.uid.length <= 40, long.uid);
        assert.match(long.uid, /^vps-env-a-rather-long-applicati-[0-9a-f]{8}$/);
    });

    it("group the public URLs by service, labelled with the environment", () => {
        assert.deepEqual(JSON.parse(file("-probe.json").content), [
            { targets: ["https://api.example.com/health"], labels: { app: "shop", environment: "staging", service: "backend" } },
            { targets: ["https://shop.example.com/health", "https://www.example.com/"], labels: { app: "shop", environment: "staging", service: "frontend" } },
        ]);
    });

    it("probe without certificate checks only where the environment says so, and expect 401 behind the proxy's basic auth", () => {
        const modules = environmentTargetFiles(env, {
            probes: [
                { url: "https://s.example.com/", service: "web", insecureTls: true },
                { url: "https://admin.example.com/health", service: "admin", behindAuth: true },
            ],
            scrapes: [],
        });
        assert.deepEqual(JSON.parse(modules[0].content).map((g: any) => g.labels.__param_module), ["http_401", "http_2xx_insecure"]);
    });

    it("name each metrics endpoint by container and port with its path", () => {
        assert.deepEqual(JSON.parse(file("-scrape.json").content), [
            { targets: ["shop-staging-backend-1a2b:3000"], labels: { app: "shop", environment: "staging", service: "backend", __metrics_path__: "/metrics" } },
        ]);
    });

    it("publish the environment's backup age limit, and no expectations without backups", () => {
        assert.match(file(".prom").content, /^vps_backup_max_age_seconds\{app="shop",environment="staging"\} 93600$/m);
        assert.match(file(".prom").content, new RegExp(`^vps_backup_expected_since_timestamp_seconds\\{app="shop",environment="staging"\\} ${NOW_TOKEN}$`, "m"));
        assert.deepEqual(environmentTargetFiles(env, { probes: [], scrapes: [] }).filter((f) => f.path.endsWith(".prom")), []);
    });

    it("refuse a URL or address the file would carry wrongly", () => {
        assert.throws(() => environmentTargetFiles(env, { probes: [{ url: 'https://a"b', service: "x" }], scrapes: [] }), /probe URL/);
        assert.throws(() => environmentTargetFiles(env, { probes: [], scrapes: [{ address: "backend", path: "/metrics", service: "x" }] }), /<container>:<port>/);
    });
});

describe("the file bundle", () => {
    it("carries one line per file: mode, owner, path and the content in base64", () => {
        const bundle = renderFileBundle([{ path: "a/b.yml", content: "x: 1\n", mode: "0600", uid: 65534 }]);
        assert.equal(bundle, `0600 65534 a/b.yml ${Buffer.from("x: 1\n").toString("base64")}\n`);
    });

    it("refuses a path that leaves the directory or is hidden, and a path listed twice", () => {
        for (const p of ["../etc/passwd", "/etc/passwd", "a/../b", ".files", "a b"]) assert.ok(filePathProblem(p), p);
        assert.throws(() => renderFileBundle([{ path: "a", content: "", mode: "0644" }, { path: "a", content: "", mode: "0644" }]), /listed twice/);
    });
});

/** What Grafana needs of a provisioned dashboard, and what the provisioning promises (every panel on the one data source). */
const datasource = z.strictObject({ type: z.literal("prometheus"), uid: z.literal(DATASOURCE_UID) });
const target = z.object({ refId: z.string(), expr: z.string().min(1), datasource });
const panel = z.object({
    id: z.number().int(),
    type: z.enum(["timeseries", "stat", "table", "gauge", "bargauge", "row"]),
    title: z.string().min(1),
    datasource,
    gridPos: z.strictObject({ x: z.number().int().min(0).max(23), y: z.number().int().min(0), w: z.number().int().min(1).max(24), h: z.number().int().min(1) }),
    targets: z.array(target).min(1),
});
const dashboard = z.object({
    uid: z.string().min(1).max(40),
    title: z.string().min(1),
    schemaVersion: z.number(),
    editable: z.literal(false),
    panels: z.array(panel).min(1),
    templating: z.object({ list: z.array(z.object({ name: z.string(), type: z.string(), datasource: datasource.optional() })) }),
});

describe("the Grafana dashboards", () => {
    const all = Object.entries(dashboards()).map(([file, text]) => ({ file, d: JSON.parse(text) }));

    it("are host, containers, probes, backups and one environment at a time", () => {
        assert.deepEqual(all.map((x) => x.d.uid).sort(), ["vps-backups", "vps-containers", "vps-environment", "vps-host", "vps-probes"]);
    });

    it("have the structure Grafana provisions, every panel on the provisioned data source (an environment's own too)", () => {
        const own = { file: "environments/shop-staging.json", d: JSON.parse(environmentDashboard({ app: "shop", environment: "staging" })) };
        for (const { file, d } of [...all, own]) {
            const r = dashboard.safeParse(d);
            assert.ok(r.success, `${file}: ${r.success ? "" : JSON.stringify(r.error.issues.slice(0, 3))}`);
            const ids = d.panels.map((p: any) => p.id);
            assert.equal(new Set(ids).size, ids.length, `${file}: panel ids unique`);
        }
    });

    it("let the environment dashboard choose an application and its environment", () => {
        const env = all.find((x) => x.d.uid === "vps-environment")!.d;
        assert.deepEqual(env.templating.list.map((v: any) => v.name), ["app", "environment"]);
        for (const p of env.panels) for (const t of p.targets) assert.match(t.expr, /app="\$app",environment="\$environment"/, p.title);
    });
});

describe("the README's monitoring reference", () => {
    const readme = require("fs").readFileSync(require("path").join(__dirname, "..", "README.md"), "utf8") as string;
    const section = readme.slice(readme.indexOf("### `monitoring`"), readme.indexOf("## Policy pack"));
    const rowOf = (key: string) => section.split("\n").find((l) => l.startsWith("| ") && l.split(" | ")[0].includes(`\`${key}\``));

    it("documents every key of the section, each threshold with its default", () => {
        const d = require("../components/defaults");
        for (const [key, value] of Object.entries(d.MONITORING_THRESHOLDS)) {
            const row = rowOf(`thresholds.${key}`);
            assert.ok(row, `README documents thresholds.${key}`);
            assert.ok(row.includes(`\`${value}\``), `README thresholds.${key} states ${value}: ${row}`);
        }
        for (const key of ["enabled", "prometheus.image", "prometheus.scrapeInterval", "prometheus.retentionTime", "prometheus.retentionSize", "grafana.host", "grafana.adminUser", "grafana.basicAuth.usersKey", "errorRate.metric"]) {
            assert.ok(rowOf(key), `README documents monitoring.${key}`);
        }
        assert.ok(rowOf("prometheus.retentionTime")!.includes(`\`${d.PROMETHEUS.retentionTime}\`, \`${d.PROMETHEUS.retentionSize}\``));
        assert.ok(rowOf("prometheus.scrapeInterval")!.includes(`\`${d.PROMETHEUS.scrapeInterval}\``));
    });
});
