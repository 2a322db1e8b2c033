/**
 * The two kinds of stack (issue 12): a host stack (`kind: host`) and an environment stack (the
 * default), each with its own schema; a key of the other kind, an environment without `edge`
 * or `proxy`, or with both, are reported with their key path.
 */
import { strict as assert } from "assert";
import { HostStackConfig } from "../config/host-stack";
import { parseStackConfig, StackConfig } from "../config/stack";
import { ConfigError, ConfigIssue } from "../config/types";
import { validValues, VALID_SECRET_KEYS } from "./fixtures/config";
import { validHostValues, VALID_HOST_SECRET_KEYS } from "./fixtures/host-config";
import { isSecret } from "./helpers/pulumi";

function parse(values: Record<string, unknown>, secretKeys: string[]): StackConfig {
    return parseStackConfig({ stack: "test", values, secretKeys: new Set(secretKeys) });
}

function issues(values: Record<string, unknown>, secretKeys: string[]): { list: ConfigIssue[]; message: string } {
    try {
        parse(values, secretKeys);
    } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        return { list: err.issues, message: err.message };
    }
    assert.fail("the configuration was accepted");
}

function assertIssue(values: Record<string, unknown>, secretKeys: string[], path: string, reason: RegExp): void {
    const { list, message } = issues(values, secretKeys);
    assert.ok(list.some((i) => i.path === path && reason.test(i.message)), `no issue at ${path} matching ${reason}:\n${message}`);
    assert.ok(message.includes(`  - ${path}: `), "the message lists the key path");
}

const host = (overrides: Record<string, unknown> = {}) => ({ ...validHostValues(), ...overrides });
const attached = () => {
    const values: Record<string, unknown> = { ...validValues(), edge: { stack: "organization/vps-stacks/vps1" } };
    delete values.proxy;
    return values;
};

describe("config: stack kinds", () => {
    it("parses a host stack with every default filled in", async () => {
        const cfg = parse(host(), VALID_HOST_SECRET_KEYS) as { kind: "host" } & HostStackConfig;
        assert.equal(cfg.kind, "host");
        assert.equal(cfg.name, "vps1");
        assert.equal(cfg.protectData, false);
        assert.equal(cfg.proxy.memory, 256);
        assert.equal(cfg.proxy.acmeChallenge, "http");
        assert.deepEqual(cfg.jobs, {
            imagePrune: { schedule: "*-*-* 04:30:00 UTC", keepPerRepository: 3 },
            diskUsage: { schedule: "*-*-* *:00/15:00", thresholdPercent: 80, paths: ["/", "/var/lib/docker"] },
            edgeCheck: { schedule: "*-*-* *:00/05:00" },
        });
        assert.equal(await isSecret(cfg.host.sshPrivateKey), true);
        assert.equal(await isSecret(cfg.alerts.webhookUrl), true);
    });

    it("is an environment stack without kind, whatever the stack is called", () => {
        const cfg = parseStackConfig({ stack: "vps1", values: validValues(), secretKeys: new Set(VALID_SECRET_KEYS) });
        assert.equal(cfg.kind, "environment");
    });

    it("parses an environment attached to a host stack: edge instead of proxy", () => {
        const cfg = parse(attached(), VALID_SECRET_KEYS);
        assert.equal(cfg.kind, "environment");
        assert.deepEqual(cfg.kind === "environment" && cfg.edge, { stack: "organization/vps-stacks/vps1" });
        assert.equal(cfg.kind === "environment" && cfg.proxy, undefined);
    });

    it("names an environment's key in a host stack with its kind", () => {
        assertIssue(host({ services: validValues().services }), VALID_HOST_SECRET_KEYS, "services", /is a key of an environment stack \(kind: environment\), not of this host stack \(kind: host\)/);
        assertIssue(host({ app: "shop" }), VALID_HOST_SECRET_KEYS, "app", /environment stack \(kind: environment\)/);
    });

    it("names a host stack's key in an environment stack with its kind", () => {
        assertIssue({ ...validValues(), jobs: {} }, VALID_SECRET_KEYS, "jobs", /is a key of a host stack \(kind: host\), not of this environment stack \(kind: environment\)/);
        // A host stack's file without `kind: host` is read as an environment: its keys say so.
        const { list } = issues(validHostValues() && { ...validHostValues(), kind: undefined }, VALID_HOST_SECRET_KEYS);
        assert.ok(list.some((i) => i.path === "name" && /set kind: host/.test(i.message)), JSON.stringify(list));
    });

    it("reports a key of the other kind together with the kind's own problems", () => {
        const { list } = issues(host({ services: {}, proxy: { ...validHostValues().proxy, publicAddress: "nowhere" } }), VALID_HOST_SECRET_KEYS);
        assert.deepEqual(list.map((i) => i.path), ["services", "proxy.publicAddress"]);
    });

    it("refuses an environment with neither edge nor proxy, naming edge", () => {
        const values = attached();
        delete values.edge;
        assertIssue(values, VALID_SECRET_KEYS, "edge", /is required unless proxy is set/);
    });

    it("refuses an environment with both edge and proxy", () => {
        assertIssue({ ...attached(), proxy: validValues().proxy }, VALID_SECRET_KEYS, "edge", /and proxy are mutually exclusive/);
    });

    it("refuses an edge.stack that is not <org>/<project>/<stack>, and an edge section without it", () => {
        assertIssue({ ...attached(), edge: { stack: "vps1" } }, VALID_SECRET_KEYS, "edge.stack", /fully qualified stack name "<org>\/<project>\/<stack>"/);
        assertIssue({ ...attached(), edge: {} }, VALID_SECRET_KEYS, "edge.stack", /is required/);
        assertIssue({ ...attached(), edge: { stack: "organization/vps-stacks/vps1", network: "x" } }, VALID_SECRET_KEYS, "edge", /unknown key\(s\) "network"/);
    });

    it("refuses an unknown kind", () => {
        assertIssue(host({ kind: "vps" }), VALID_HOST_SECRET_KEYS, "kind", /must be "environment" \(the default\) or "host", got "vps"/);
    });

    it("checks a host stack's own keys: name, proxy, jobs, secrets", () => {
        assertIssue(host({ name: "VPS 1" }), VALID_HOST_SECRET_KEYS, "name", /2–32 characters/);
        const { proxy, ...rest } = host();
        void proxy;
        assertIssue(rest, VALID_HOST_SECRET_KEYS, "proxy", /is required/);
        assertIssue(host({ proxy: { ...validHostValues().proxy, image: "traefik:v3.5.0" } }), VALID_HOST_SECRET_KEYS, "proxy.image", /Docker Engine 29/);
        assertIssue(host({ jobs: { diskUsage: { thresholdPercent: 100 } } }), VALID_HOST_SECRET_KEYS, "jobs.diskUsage.thresholdPercent", /1–99/);
        assertIssue(host({ jobs: { imagePrune: { keepPerRepository: 0 } } }), VALID_HOST_SECRET_KEYS, "jobs.imagePrune.keepPerRepository", /1–50/);
        assertIssue(host({ jobs: { imagePrune: { schedule: "daily at 4" } } }), VALID_HOST_SECRET_KEYS, "jobs.imagePrune.schedule", /bad systemd calendar expression/);
        assertIssue(host({ jobs: { diskUsage: { paths: ["var/lib"] } } }), VALID_HOST_SECRET_KEYS, "jobs.diskUsage.paths[0]", /absolute/);
        assertIssue(host(), ["alertWebhookUrl"], "sshPrivateKey", /plain text/);
        assertIssue(host({ requireImageDigest: true }), VALID_HOST_SECRET_KEYS, "proxy.image", /must be pinned by digest/);
    });
});

describe("a host stack's monitoring section (issue 13)", () => {
    const monitoring = {
        prometheus: { image: "prom/prometheus:v3.5.0" },
        alertmanager: { image: "prom/alertmanager:v0.28.1" },
        grafana: { image: "grafana/grafana:12.1.1", host: "grafana.example.com", basicAuth: { usersKey: "grafanaUsers" } },
        nodeExporter: { image: "prom/node-exporter:v1.9.1" },
        blackboxExporter: { image: "prom/blackbox-exporter:v0.27.0" },
    };
    const secrets = { grafanaAdminPassword: "a-long-admin-password", grafanaUsers: "ops:a-long-proxy-password" };
    const secretKeys = [...VALID_HOST_SECRET_KEYS, "grafanaAdminPassword", "grafanaUsers"];

    it("is taken with its secrets, Grafana's password and the proxy's users as secret Outputs", async () => {
        const cfg = parse(host({ monitoring, ...secrets }), secretKeys) as { kind: "host" } & HostStackConfig;
        assert.equal(cfg.monitoring!.grafana.host, "grafana.example.com");
        assert.equal(cfg.monitoring!.thresholds.serverDownMinutes, 2);
        assert.equal(await isSecret(cfg.monitoring!.grafanaAdminPassword), true);
        assert.equal(await isSecret(cfg.monitoring!.basicAuthUsers), true);
    });

    it("is as if absent when switched off, its secrets then not needed", () => {
        const cfg = parse(host({ monitoring: { ...monitoring, enabled: false } }), VALID_HOST_SECRET_KEYS) as { kind: "host" } & HostStackConfig;
        assert.equal(cfg.monitoring, undefined);
    });

    it("needs Grafana's admin password and the users its usersKey names, as secrets", () => {
        assertIssue(host({ monitoring }), VALID_HOST_SECRET_KEYS, "grafanaAdminPassword", /is required with monitoring/);
        assertIssue(host({ monitoring }), VALID_HOST_SECRET_KEYS, "monitoring.grafana.basicAuth.usersKey", /names "grafanaUsers", which is not set/);
        assertIssue(host({ monitoring, ...secrets }), VALID_HOST_SECRET_KEYS, "grafanaAdminPassword", /plain text/);
    });

    it("is a key of a host stack, which an environment stack refuses with its kind", () => {
        assertIssue({ ...attached(), monitoring }, VALID_SECRET_KEYS, "monitoring", /is a key of a host stack \(kind: host\)/);
    });
});
