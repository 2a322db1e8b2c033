/**
 * The monitoring on the host stack (issue 13), from the offline synth of the shipped stacks:
 * vps1 runs the Monitoring component on its own network and the edge, Grafana routed by the
 * host's proxy behind basic auth, the data in retained and protected volumes, the exporters'
 * host mounts read-only, and the policy pack passes with the one documented node-exporter
 * exception; staging and production publish their targets, dashboard and backup limit under
 * vps1's monitoring directory.
 */
import { strict as assert } from "assert";
import type { SynthResource, SynthResult } from "../tools/synth/synthesize";
import { runPolicyPack } from "../policies/synth-check";
import { synthShippedStack } from "./helpers/synth";

const CONTAINER = "docker:index/container:Container";
const IN_MONITORING = "vps:index:Monitoring$";
type Label = { label: string; value: string };
const labels = (c: SynthResource) => Object.fromEntries((c.props.labels as Label[]).map((l) => [l.label, l.value]));
const role = (c: SynthResource) => labels(c)["vps.role"];

describe("monitoring on the host stack: the offline synth of vps1, staging and production", function () {
    this.timeout(120000);
    const results: Record<string, SynthResult> = {};
    let monitoring: SynthResource[];
    const container = (r: string) => monitoring.find((c) => c.type === CONTAINER && role(c) === r)!;

    before(async () => {
        for (const stack of ["vps1", "staging", "production"] as const) {
            const run = await synthShippedStack(stack);
            assert.equal(run.code, 0, run.stderr);
            results[stack] = run.result!;
        }
        monitoring = results.vps1.resources.filter((r) => r.urn.includes(IN_MONITORING));
    });

    it("shows the Monitoring component in the host stack's synth, with its five containers", () => {
        assert.deepEqual(results.vps1.resources.filter((r) => r.type === "vps:index:Monitoring").map((r) => r.name), ["vps1-monitoring"]);
        assert.deepEqual(monitoring.filter((r) => r.type === CONTAINER).map(role).sort(), ["alertmanager", "blackbox-exporter", "grafana", "node-exporter", "prometheus"]);
        for (const c of monitoring.filter((r) => r.type === CONTAINER)) assert.deepEqual([labels(c)["vps.host"], labels(c)["vps.app"]], ["vps1", undefined], c.name);
    });

    it("puts the monitoring containers only on the monitoring network, and Prometheus and Grafana on the edge too", () => {
        const networks = (r: string) => (container(r).props.networksAdvanced as { name: string }[]).map((n) => n.name);
        for (const r of ["alertmanager", "node-exporter", "blackbox-exporter"]) assert.deepEqual(networks(r), ["vps1-monitoring"], r);
        for (const r of ["prometheus", "grafana"]) assert.deepEqual(networks(r), ["vps1-monitoring", "vps1-edge"], r);
        for (const c of monitoring.filter((x) => x.type === CONTAINER)) {
            assert.ok(!c.props.ports || (c.props.ports as unknown[]).length === 0, `${c.name} publishes no port`);
            assert.notEqual(c.props.networkMode, "host", c.name);
        }
    });

    it("routes Grafana through the host's proxy on its own host name, behind the proxy's basic auth", () => {
        const l = labels(container("grafana"));
        const router = "traefik.http.routers.vps1-grafana";
        assert.equal(l["traefik.enable"], "true");
        assert.equal(l["vps.edge"], "vps1", "the label the host's proxy routes by");
        assert.equal(l[`${router}.rule`], "Host(`grafana.example.com`)");
        assert.equal(l[`${router}.entrypoints`], "websecure");
        assert.equal(l[`${router}.tls.certresolver`], "letsencrypt");
        assert.equal(l[`${router}.middlewares`], "vps1-grafana-auth");
        assert.equal(l["traefik.http.middlewares.vps1-grafana-auth.basicauth.users"], "[secret]", "bcrypt hashes, kept secret in the state");
        assert.equal(l["traefik.http.middlewares.vps1-grafana-auth.basicauth.removeheader"], "true");
        assert.equal(l["traefik.docker.network"], "vps1-edge");
        // The host's proxy routes it: vps.edge=vps1 and vps.host=vps1 meet its constraint.
        const proxy = results.vps1.resources.find((r) => r.type === CONTAINER && r.props.name === "vps1-reverse-proxy")!;
        assert.ok((proxy.props.command as string[]).some((f) => f.startsWith("--providers.docker.constraints=") && f.includes("Label(`vps.host`,`vps1`)")));
        // Prometheus, Alertmanager and the exporters are never routed.
        for (const r of ["prometheus", "alertmanager", "node-exporter", "blackbox-exporter"]) assert.equal(labels(container(r))["traefik.enable"], undefined, r);
    });

    it("keeps Prometheus', Alertmanager's and Grafana's data in retained volumes, protected as the host's protectData says", () => {
        const volumes = monitoring.filter((r) => r.type === "docker:index/volume:Volume");
        assert.deepEqual(volumes.map((v) => v.props.name).sort(), ["vps1-alertmanager-data", "vps1-grafana-data", "vps1-prometheus-data"]);
        for (const v of volumes) assert.deepEqual([v.options.retainOnDelete, v.options.protect], [true, true], String(v.props.name));
        assert.deepEqual(results.vps1.outputs.dataVolumeNames, ["vps1-acme", "vps1-prometheus-data", "vps1-alertmanager-data", "vps1-grafana-data"]);
    });

    it("mounts every host path of the monitoring read-only: node-exporter the host's /proc, /sys and /, the others their configuration", () => {
        const mounts = (r: string) => (container(r).props.volumes as { hostPath?: string; containerPath: string; readOnly?: boolean }[]).filter((m) => m.hostPath);
        assert.deepEqual(
            mounts("node-exporter").map((m) => [m.hostPath, m.readOnly]),
            [["/proc", true], ["/sys", true], ["/", true], ["/srv/vps1/monitoring/textfile", true]],
        );
        for (const r of ["prometheus", "alertmanager", "blackbox-exporter", "grafana"]) {
            for (const m of mounts(r)) {
                assert.equal(m.readOnly, true, `${r} ${m.hostPath}`);
                assert.ok(m.hostPath!.startsWith("/srv/vps1/monitoring/"), `${r} mounts only its configuration: ${m.hostPath}`);
            }
        }
        const nodeExporter = container("node-exporter");
        assert.ok(!nodeExporter.props.privileged, "never privileged");
        assert.notEqual(nodeExporter.props.pidMode, "host", "not in the host's process namespace");
    });

    it("passes the policy pack over the host stack, node-exporter's read-only host mounts being the one exception, which a writable one breaks", () => {
        assert.equal(runPolicyPack(results.vps1.resources, { stack: "vps1" }).mandatoryCount, 0);
        const writable: SynthResult = JSON.parse(JSON.stringify(results.vps1));
        const ne = writable.resources.find((r) => r.type === CONTAINER && role(r) === "node-exporter")!;
        ne.props.volumes = (ne.props.volumes as { hostPath?: string; readOnly?: boolean }[]).map((m) => (m.hostPath === "/proc" ? { ...m, readOnly: false } : m));
        const violations = runPolicyPack(writable.resources, { stack: "vps1" }).violations.filter((v) => v.enforcementLevel === "mandatory");
        assert.deepEqual(violations.map((v) => [v.policyName, v.urn]), [["container-host-paths", ne.urn]]);
        // The same mounts on any other role are refused.
        const other: SynthResult = JSON.parse(JSON.stringify(results.vps1));
        const bb = other.resources.find((r) => r.type === CONTAINER && role(r) === "blackbox-exporter")!;
        bb.props.volumes = [...(bb.props.volumes as unknown[]), { hostPath: "/proc", containerPath: "/host/proc", readOnly: true }];
        assert.deepEqual(runPolicyPack(other.resources, { stack: "vps1" }).violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => v.policyName), ["container-host-paths"]);
    });

    for (const stack of ["staging", "production"]) {
        it(`shows ${stack}'s target files, dashboard and backup limit in its synth, under vps1's monitoring directory`, () => {
            const r = results[stack];
            assert.deepEqual(r.resources.filter((x) => x.type === "vps:index:MonitoringTargets").map((x) => x.name), [`shop-${stack}-monitoring-targets`]);
            const cmd = r.resources.find((x) => x.type === "command:remote:Command" && x.name === `shop-${stack}-monitoring-targets-files`)!;
            const script = String(cmd.props.create).split("'\\''").join("'");
            assert.match(script, new RegExp(`MON_DIR='/srv/vps1/monitoring' MON_SET='shop-${stack}'`));
            const files = Object.fromEntries(
                String(cmd.props.stdin)
                    .trim()
                    .split("\n")
                    .map((line) => line.split(" "))
                    .map(([, , file, content]) => [file, Buffer.from(content, "base64").toString("utf8")]),
            );
            assert.deepEqual(Object.keys(files), [
                `prometheus/targets/shop-${stack}-probe.json`,
                `prometheus/targets/shop-${stack}-scrape.json`,
                `grafana/dashboards/environments/shop-${stack}.json`,
                `textfile/shop-${stack}-expectations.prom`,
            ]);
            const probes = JSON.parse(files[`prometheus/targets/shop-${stack}-probe.json`]);
            assert.ok(probes.length > 0 && probes.every((g: { labels: Record<string, string> }) => g.labels.app === "shop" && g.labels.environment === stack));
            assert.match(files[`textfile/shop-${stack}-expectations.prom`], /^vps_backup_max_age_seconds\{app="shop",environment="[a-z]+"\} \d+$/m);
            assert.equal(JSON.parse(files[`grafana/dashboards/environments/shop-${stack}.json`]).title, `Environment shop/${stack}`);
        });
    }
});
