import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { evaluateSynth } from "../policies/adapters";
import { CapturedResource, capture, isSecret, unwrap, useMocks } from "./helpers/pulumi";
import { DEFAULT_THRESHOLDS } from "./helpers/monitoring";

/** The host stack that owns the monitoring, as the components take an owner. */
const OWNER = { app: "vps1", environment: "host" } as const;
const PREFIX = "vps1-host";
const CONTAINER = "docker:index/container:Container";
const COMMAND = "command:remote:Command";

describe("Monitoring: the monitoring of a VPS", () => {
    let mod: typeof import("../components/monitoring/monitoring");

    before(async () => {
        await useMocks();
        mod = await import("../components/monitoring/monitoring");
    });

    const container = (image: string, memoryMb = 64) => ({ image, memoryMb, cpus: 0.25 });
    const args = (): import("../components/monitoring/monitoring").MonitoringArgs => ({
        owner: OWNER,
        vps: "vps1",
        connection: { host: "203.0.113.10", user: "deploy", privateKey: pulumi.secret("KEY") },
        sudo: true,
        monitoringDir: "/srv/vps1/monitoring",
        edgeNetwork: pulumi.output("vps1-edge"),
        protectData: true,
        prometheus: { ...container("prom/prometheus:v3.5.0", 512), scrapeInterval: "15s", evaluationInterval: "15s", retentionTime: "30d", retentionSize: "4GB" },
        alertmanager: container("prom/alertmanager:v0.28.1"),
        nodeExporter: container("prom/node-exporter:v1.9.1"),
        blackboxExporter: container("prom/blackbox-exporter:v0.27.0"),
        grafana: {
            ...container("grafana/grafana:12.1.1", 256),
            host: "grafana.example.com",
            adminUser: "admin",
            adminPassword: pulumi.secret("a-long-admin-password"),
            basicAuthUsers: pulumi.secret("ops:a-long-proxy-password"),
        },
        thresholds: DEFAULT_THRESHOLDS,
        alerts: { format: "discord", webhookUrl: pulumi.secret("https://discord.com/api/webhooks/1/TOP-SECRET"), reminderMinutes: 240 },
        grouping: { groupWaitSeconds: 30, groupIntervalMinutes: 5 },
    });

    let built: { monitoring: InstanceType<typeof mod.Monitoring>; resources: CapturedResource[] } | undefined;
    async function build() {
        if (!built) {
            const { resources, opts } = capture();
            const monitoring = new mod.Monitoring("vps1-monitoring", args(), opts);
            built = { monitoring, resources };
        }
        return built;
    }
    const containers = async () => (await build()).resources.filter((r) => r.type === CONTAINER);
    const containerOf = async (role: string) => {
        for (const c of await containers()) {
            const labels: { label: string; value: string }[] = await unwrap(c.props.labels);
            if (labels.some((l) => l.label === "vps.role" && l.value === role)) return c;
        }
        throw new Error(`no container of role ${role}`);
    };
    const labelsOf = async (c: CapturedResource) => Object.fromEntries((await unwrap<{ label: string; value: string }[]>(c.props.labels)).map((l) => [l.label, l.value]));

    it("runs five containers, each a Service of the component", async () => {
        const { monitoring, resources } = await build();
        const services = resources.filter((r) => r.type === "vps:index:Service");
        assert.deepEqual(services.map((s) => s.name).sort(), [
            "vps1-monitoring-alertmanager", "vps1-monitoring-blackbox-exporter", "vps1-monitoring-grafana", "vps1-monitoring-node-exporter", "vps1-monitoring-prometheus",
        ]);
        for (const s of services) assert.equal(s.opts.parent, monitoring, s.name);
        assert.equal((await containers()).length, 5);
    });

    it("puts every container on the monitoring network only, and Prometheus and Grafana on the edge network too", async () => {
        const monitoringNet = `${PREFIX}-monitoring`;
        for (const role of ["alertmanager", "node-exporter", "blackbox-exporter", "prometheus", "grafana"]) {
            const nets: { name: string }[] = await unwrap((await containerOf(role)).props.networksAdvanced);
            const expected = ["prometheus", "grafana"].includes(role) ? [monitoringNet, "vps1-edge"] : [monitoringNet];
            assert.deepEqual(nets.map((n) => n.name), expected, role);
            assert.equal((await containerOf(role)).props.networkMode, undefined, role);
        }
        const net = (await build()).resources.find((r) => r.type === "docker:index/network:Network")!;
        assert.equal(net.props.name, monitoringNet);
        assert.notEqual(net.props.internal, true, "blackbox-exporter probes the public URLs, Alertmanager reaches the webhook");
    });

    it("publishes no host port, runs nothing privileged, in the host's process namespace or with a capability", async () => {
        for (const c of await containers()) {
            assert.equal(c.props.ports, undefined, c.name);
            assert.equal(c.props.privileged, false, c.name);
            assert.equal(c.props.pidMode, undefined, c.name);
            assert.deepEqual(await unwrap(c.props.capabilities), { drops: ["ALL"], adds: [] }, c.name);
            assert.deepEqual(c.props.securityOpts, ["no-new-privileges:true"], c.name);
        }
        assert.equal((await containerOf("node-exporter")).props.user, "65534:65534", "node-exporter reads the host as nobody");
    });

    it("routes Grafana through the proxy on its own host name, behind the proxy's basic auth, which Grafana never sees", async () => {
        const grafana = await containerOf("grafana");
        const labels = await labelsOf(grafana);
        const router = `${PREFIX}-grafana`;
        assert.equal(labels["traefik.enable"], "true");
        assert.equal(labels[`traefik.http.routers.${router}.rule`], "Host(`grafana.example.com`)");
        assert.equal(labels[`traefik.http.routers.${router}.middlewares`], `${router}-auth`);
        assert.match(labels[`traefik.http.middlewares.${router}-auth.basicauth.users`], /^ops:\$2b\$10\$/, "a bcrypt hash, never the password");
        assert.equal(labels[`traefik.http.middlewares.${router}-auth.basicauth.removeheader`], "true");
        const users = (grafana.props.labels as any[]).find((l: any) => l.label.endsWith("basicauth.users"));
        assert.ok(await isSecret(pulumi.output(users.value)), "the hashes stay secret");
        for (const role of ["prometheus", "alertmanager", "node-exporter", "blackbox-exporter"]) {
            assert.equal((await labelsOf(await containerOf(role)))["traefik.enable"], undefined, `${role} is not routed`);
        }
    });

    it("gives Grafana its admin password as a secret and its settings as a file: no anonymous access, no sign-up", async () => {
        const grafana = await containerOf("grafana");
        const envs: pulumi.Output<string>[] = grafana.props.envs;
        const values: string[] = await Promise.all(envs.map((e) => unwrap(e)));
        assert.ok(values.includes("GF_SECURITY_ADMIN_PASSWORD=a-long-admin-password"));
        assert.ok(await isSecret(envs[values.findIndex((v) => v.startsWith("GF_SECURITY_ADMIN_PASSWORD="))]));
        assert.ok(values.includes("GF_PATHS_CONFIG=/etc/grafana/vps-stacks/grafana.ini"));
        const stdin = await unwrap<string>((await build()).resources.find((r) => r.type === COMMAND)!.props.stdin);
        const ini = Buffer.from(stdin.split("\n").find((l) => l.includes(" grafana/config/grafana.ini "))!.split(" ")[3], "base64").toString();
        assert.match(ini, /\[auth\.anonymous\]\nenabled = false/);
        assert.match(ini, /allow_sign_up = false/);
        assert.match(ini, /root_url = https:\/\/grafana\.example\.com\//);
    });

    it("keeps Prometheus', Alertmanager's and Grafana's data in retained volumes, protected with protectData", async () => {
        const { resources } = await build();
        const volumes = resources.filter((r) => r.type === "docker:index/volume:Volume");
        assert.deepEqual(volumes.map((v) => v.props.name).sort(), [`${PREFIX}-alertmanager-data`, `${PREFIX}-grafana-data`, `${PREFIX}-prometheus-data`]);
        for (const v of volumes) {
            assert.equal(v.opts.retainOnDelete, true, v.name);
            assert.equal(v.opts.protect, true, v.name);
        }
        const mounts = async (role: string) => (await unwrap<any[]>((await containerOf(role)).props.volumes)).filter((m) => m.volumeName).map((m) => `${m.volumeName}:${m.containerPath}`);
        assert.deepEqual(await mounts("prometheus"), [`${PREFIX}-prometheus-data:/prometheus`]);
        assert.deepEqual(await mounts("grafana"), [`${PREFIX}-grafana-data:/var/lib/grafana`]);
    });

    it("mounts every host path read-only: node-exporter the host's /proc, /sys and /, the others their configuration", async () => {
        const hostMounts = async (role: string) => (await unwrap<any[]>((await containerOf(role)).props.volumes)).filter((m) => m.hostPath);
        for (const c of await containers()) {
            for (const m of (await unwrap<any[]>(c.props.volumes)).filter((x) => x.hostPath)) assert.equal(m.readOnly, true, `${c.name} ${m.hostPath}`);
        }
        assert.deepEqual((await hostMounts("node-exporter")).map((m) => `${m.hostPath}:${m.containerPath}`), [
            "/proc:/host/proc", "/sys:/host/sys", "/:/rootfs", "/srv/vps1/monitoring/textfile:/textfile",
        ]);
        assert.deepEqual((await hostMounts("prometheus")).map((m) => m.hostPath), ["/srv/vps1/monitoring/prometheus"]);
        const command: string[] = await unwrap((await containerOf("node-exporter")).props.command);
        assert.ok(command.includes("--path.rootfs=/rootfs") && command.includes("--collector.textfile.directory=/textfile"), command.join(" "));
    });

    it("writes its configuration with one remote command and reloads the programs by their fixed names, never recreating them", async () => {
        const { resources } = await build();
        const cmd = resources.find((r) => r.type === COMMAND)!;
        assert.equal(cmd.name, "vps1-monitoring-config");
        const create = await unwrap<string>(cmd.props.create);
        assert.ok(create.includes(`MON_RELOAD='\\''${PREFIX}-prometheus|9090 ${PREFIX}-alertmanager|9093 ${PREFIX}-blackbox-exporter|9115'\\''`), create.slice(0, 300));
        assert.equal(await unwrap(cmd.props.update), create);
        assert.ok(await isSecret(cmd.props.stdin), "the files hold the webhook URL: secret in the state");
        for (const role of ["prometheus", "alertmanager", "blackbox-exporter", "grafana"]) {
            assert.equal((await containerOf(role)).props.name, `${PREFIX}-${role}`, role);
        }
        for (const c of await containers()) {
            const deps = ((await unwrap<any[]>(c.opts.dependsOn as any)) ?? []) as pulumi.Resource[];
            assert.ok(deps.some((d) => d === (cmd.resource as any)), `${c.name} waits for its configuration`);
        }
    });

    it("sends the alerts to the webhook, and Prometheus labels them with the host", async () => {
        const stdin = await unwrap<string>((await build()).resources.find((r) => r.type === COMMAND)!.props.stdin);
        const file = (p: string) => Buffer.from(stdin.split("\n").find((l) => l.split(" ")[2] === p)!.split(" ")[3], "base64").toString();
        const am = parseYaml(file("alertmanager/alertmanager.yml"));
        assert.equal(am.receivers[0].discord_configs[0].webhook_url, "https://discord.com/api/webhooks/1/TOP-SECRET");
        assert.equal(am.route.repeat_interval, "240m");
        const prom = parseYaml(file("prometheus/prometheus.yml"));
        assert.deepEqual(prom.global.external_labels, { vps: "vps1" });
        assert.equal(prom.alerting.alertmanagers[0].static_configs[0].targets[0], "alertmanager:9093");
    });

    it("tells the environments where their targets and the jobs' metrics go", async () => {
        const { monitoring } = await build();
        assert.equal(monitoring.targetsDir, "/srv/vps1/monitoring/prometheus/targets");
        assert.equal(monitoring.textfileDir, "/srv/vps1/monitoring/textfile");
        assert.equal(monitoring.grafanaUrl, "https://grafana.example.com");
    });

    it("passes the policy pack's container policies, node-exporter's read-only host mounts included", async () => {
        const views = [];
        for (const c of await containers()) {
            views.push({ urn: c.name, type: c.type, name: c.name, props: await unwrap<Record<string, unknown>>(pulumi.output(c.props) as any), options: {} });
        }
        const violations = evaluateSynth(views).filter((v) => v.policyName.startsWith("container-") && v.enforcementLevel === "mandatory");
        assert.deepEqual(violations, []);
    });

    it("refuses a relative monitoring directory, naming it", () => {
        assert.throws(() => new mod.Monitoring("bad", { ...args(), monitoringDir: "monitoring" }), /Monitoring bad: monitoringDir "monitoring" must be an absolute path/);
    });
});
