import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { monitoringSchema, monitoringConfig } from "../config/monitoring";
import { validValues } from "./fixtures/config";
import { parse } from "./helpers/config";
import { capture, unwrap, useMocks } from "./helpers/pulumi";

/** An environment whose backend is behind basic auth and answers metrics, and whose admin has no healthPath. */
function environment(over: Record<string, any> = {}) {
    const values = validValues();
    values.services.backend.metrics = { path: "/internal/metrics", port: 9100 };
    values.services.frontend.healthPath = "/";
    values.services.frontend.hosts = ["app-staging.example.com", "www-staging.example.com/shop"];
    values.services.admin = {
        image: "ghcr.io/acme/shop-admin:sha-3f2c1e7",
        port: 4000,
        hosts: ["admin-staging.example.com"],
        healthcheck: { test: ["CMD", "true"] },
        metrics: {},
        memory: "128m",
    };
    values.services.backend.routes = { basicAuth: { usersKey: "apiUsers" } };
    values.apiUsers = "ops:a-long-enough-password";
    return parse({ ...values, ...over }, ["sshPrivateKey", "databasePassword", "alertWebhookUrl", "apiUsers"]);
}

describe("compose: the monitoring of a host stack and what an attached environment publishes", () => {
    let compose: typeof import("../compose/monitoring");

    before(async () => {
        await useMocks();
        compose = await import("../compose/monitoring");
    });

    it("probes the URLs the health check checks, 401 behind basic auth, nothing of a service without healthPath", () => {
        assert.deepEqual(compose.environmentProbes(environment()), [
            { url: "https://api-staging.example.com/health", service: "backend", behindAuth: true },
            { url: "https://app-staging.example.com/", service: "frontend" },
            { url: "https://www-staging.example.com/shop/", service: "frontend" },
        ]);
    });

    it("probes without certificate checks when the environment's health check skips them", () => {
        const probes = compose.environmentProbes(environment({ healthCheck: { insecureTls: true } }));
        assert.ok(probes.every((p) => p.insecureTls === true));
    });

    it("scrapes every replica of each service with metrics, at its metrics port (default its port) and path", async () => {
        const cfg = environment();
        const names = { backend: [pulumi.output("shop-staging-backend-1"), pulumi.output("shop-staging-backend-2")], frontend: [pulumi.output("x")], admin: [pulumi.output("shop-staging-admin")] };
        const scrapes = compose.environmentScrapes(cfg, Object.fromEntries(Object.entries(names).map(([k, v]) => [k, { containerNames: v }])));
        const resolved = await Promise.all(scrapes.map(async (s) => `${s.service} ${await unwrap(s.container)}:${s.port}${s.path}`));
        assert.deepEqual(resolved, ["backend shop-staging-backend-1:9100/internal/metrics", "backend shop-staging-backend-2:9100/internal/metrics", "admin shop-staging-admin:4000/metrics"]);
    });

    it("builds no monitoring without the section or with it switched off", () => {
        const host = { owner: { app: "vps1", environment: "host" }, vps: "vps1", connection: { host: "h" }, sudo: false, deployDir: "/srv/vps1", edgeNetwork: "vps1-edge", protectData: false, alerts: { format: "discord" as const, reminderMinutes: 240 } } as any;
        assert.equal(compose.buildMonitoring("m", undefined, host), undefined);
        const section = monitoringSchema.parse({
            enabled: false,
            prometheus: { image: "prom/prometheus:v3.5.0" },
            alertmanager: { image: "prom/alertmanager:v0.28.1" },
            grafana: { image: "grafana/grafana:12.1.1", host: "grafana.example.com", basicAuth: { usersKey: "grafanaUsers" } },
            nodeExporter: { image: "prom/node-exporter:v1.9.1" },
            blackboxExporter: { image: "prom/blackbox-exporter:v0.27.0" },
        });
        assert.equal(compose.buildMonitoring("m", monitoringConfig(section, (k) => pulumi.secret(k)), host), undefined);
    });

    it("publishes the environment's targets, dashboard and backup limit as its own file set under the host's monitoring directory", async () => {
        const cfg = environment();
        const { resources, opts } = capture();
        const services = Object.fromEntries(Object.keys(cfg.services).map((n) => [n, { containerNames: [pulumi.output(`shop-staging-${n}`)], containers: [] }])) as any;
        const targets = compose.publishMonitoringTargets(cfg, { connection: { host: "h" }, sudo: true, monitoringDir: pulumi.output("/srv/vps1/monitoring"), services, backups: true }, opts);
        assert.deepEqual(await unwrap(targets.files), [
            "prometheus/targets/shop-staging-probe.json",
            "prometheus/targets/shop-staging-scrape.json",
            "grafana/dashboards/environments/shop-staging.json",
            "textfile/shop-staging-expectations.prom",
        ]);
        const cmd = resources.find((r) => r.type === "command:remote:Command")!;
        assert.equal(cmd.name, "shop-staging-monitoring-targets-files");
        // The script is quoted once more for `sudo -n bash -c '...'`.
        const script = (await unwrap<string>(cmd.props.create)).split("'\\''").join("'");
        assert.match(script, /^sudo -n bash -c /);
        assert.match(script, /MON_DIR='\/srv\/vps1\/monitoring' MON_SET='shop-staging'/);
    });
});
