/**
 * The host stack and the environments attached to it (issue 12), from the offline synth of the
 * shipped stacks (vps1, staging, production) and the program under mocks: the host owns the
 * edge (network, the one proxy publishing ports, retained and protected certificates, jobs);
 * an attached environment publishes no port, joins the edge network named by its
 * StackReference, is routed by its vps.edge label, and owns nothing of the host's.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import type { SynthResource, SynthResult } from "../tools/synth/synthesize";
import { runPolicyPack } from "../policies/synth-check";
import { RecordingMocks, setEngineMocks } from "../tools/synth/mocks";
import { VPS1_EDGE } from "./fixtures/host-config";
import { validValues, VALID_SECRET_KEYS } from "./fixtures/config";
import { parse } from "./helpers/config";
import { runScript, synthShippedStack, synthTmp } from "./helpers/synth";
import { installedEnvText } from "./helpers/jobs";
import { unwrap } from "./helpers/pulumi";

const CONTAINER = "docker:index/container:Container";
const ofType = (r: SynthResult, type: string) => r.resources.filter((x) => x.type === type);
const labels = (c: SynthResource) => Object.fromEntries((c.props.labels as { label: string; value: string }[]).map((l) => [l.label, l.value]));
const publishing = (r: SynthResult) => ofType(r, CONTAINER).filter((c) => Array.isArray(c.props.ports) && c.props.ports.length > 0);

describe("host stack: the offline synth of vps1, staging and production", function () {
    this.timeout(120000);
    const results: Record<string, SynthResult> = {};

    before(async () => {
        for (const stack of ["vps1", "staging", "production"] as const) {
            const run = await synthShippedStack(stack);
            assert.equal(run.code, 0, run.stderr);
            results[stack] = run.result!;
        }
    });

    it("gives the host's Docker objects its own names: vps1-edge, vps1-reverse-proxy, vps1-acme (and its monitoring's, vps1-monitoring-*)", () => {
        const host = results.vps1;
        assert.deepEqual(ofType(host, "docker:index/network:Network").map((n) => n.props.name), ["vps1-edge", "vps1-monitoring"]);
        assert.deepEqual(ofType(host, CONTAINER).filter((c) => !c.urn.includes("vps:index:Monitoring$")).map((c) => c.props.name), ["vps1-reverse-proxy"]);
        const [acme] = ofType(host, "docker:index/volume:Volume");
        assert.equal(acme.props.name, "vps1-acme");
        assert.deepEqual(labels(acme), { "vps.host": "vps1", "vps.role": "acme" });
        assert.equal(acme.options.retainOnDelete, true);
        assert.equal(acme.options.protect, true, "protectData: true in Pulumi.vps1.yaml");
    });

    it("routes, on the host, only containers labelled vps.edge=vps1 with both ownership labels or the host's own, reached on vps1-edge", () => {
        const proxy = ofType(results.vps1, CONTAINER).find((c) => c.props.name === "vps1-reverse-proxy")!;
        const command = proxy.props.command as string[];
        assert.ok(
            command.includes("--providers.docker.constraints=Label(`vps.edge`,`vps1`) && (LabelRegex(`vps.app`,`.+`) && LabelRegex(`vps.environment`,`.+`) || Label(`vps.host`,`vps1`))"),
            command.join("\n"),
        );
        assert.ok(command.includes("--providers.docker.network=vps1-edge"));
        assert.ok(command.includes("--providers.docker.exposedbydefault=false"));
        assert.deepEqual(proxy.props.ports, [
            { internal: 80, external: 80, ip: "203.0.113.10", protocol: "tcp" },
            { internal: 443, external: 443, ip: "203.0.113.10", protocol: "tcp" },
        ]);
    });

    it("exports the edge an attached environment reads", () => {
        assert.deepEqual(results.vps1.outputs.edge, VPS1_EDGE);
        assert.deepEqual(results.vps1.outputs.jobTimers, ["vps1-image-prune.timer", "vps1-disk-usage.timer", "vps1-edge-check.timer"]);
        assert.equal(results.vps1.outputs.monitoringDir, "/srv/vps1/monitoring");
        assert.equal(results.vps1.outputs.grafanaUrl, "https://grafana.example.com");
        assert.equal(results.vps1.outputs.urls, undefined, "an environment's outputs are absent, not undefined");
    });

    it("guards the protected host stack: its destroy guard depends on every other resource", () => {
        const guard = results.vps1.resources.find((r) => r.type === "vps:index:DestroyGuard")!;
        assert.equal(guard.options.protect, true);
        const tops = results.vps1.resources.filter((r) => r.parent === null && r.urn !== guard.urn).map((r) => r.urn).sort();
        assert.deepEqual([...guard.options.dependsOn].sort(), tops);
    });

    for (const stack of ["staging", "production"]) {
        it(`attaches ${stack} to the host's edge through its StackReference: labels, network, DNS`, () => {
            const r = results[stack];
            assert.deepEqual(ofType(r, "pulumi:pulumi:StackReference").map((x) => x.props), [{ name: "organization/vps-stacks/vps1" }]);
            assert.deepEqual(publishing(r), [], "an attached environment publishes no host port");
            assert.deepEqual(ofType(r, "vps:index:ReverseProxy"), []);
            // The edge network is the host's; `pitr` is PostgreSQL's route to its PITR store (postgres.pitr).
            assert.deepEqual(ofType(r, "docker:index/network:Network").map((n) => n.props.name).sort(), [`shop-${stack}-internal`, `shop-${stack}-pitr`], "the edge network is the host's");
            for (const c of ofType(r, CONTAINER).filter((x) => labels(x)["traefik.enable"] === "true")) {
                const l = labels(c);
                const role = l["vps.role"];
                assert.equal(l["vps.edge"], "vps1");
                assert.equal(l["vps.app"], "shop");
                assert.equal(l["vps.environment"], stack);
                assert.equal(l["traefik.docker.network"], "vps1-edge");
                assert.equal(l[`traefik.http.routers.shop-${stack}-${role}.entrypoints`], "websecure");
                assert.equal(l[`traefik.http.routers.shop-${stack}-${role}.service`], `shop-${stack}-${role}`);
                assert.deepEqual(c.props.networksAdvanced, [
                    { name: "vps1-edge", aliases: [] },
                    { name: `shop-${stack}-internal`, aliases: [role] },
                ]);
            }
            for (const rec of ofType(r, "cloudflare:index/dnsRecord:DnsRecord").filter((x) => x.props.type === "A")) assert.equal(rec.props.content, "203.0.113.10");
            assert.deepEqual(r.outputs.networkNames, { edge: "vps1-edge", internal: `shop-${stack}-internal` });
        });

        it(`destroying ${stack} (its synth graph) removes no resource of the host stack`, () => {
            const hostUrns = new Set(results.vps1.resources.map((x) => x.urn));
            const hostNames = new Set(results.vps1.resources.map((x) => x.props.name).filter((n) => typeof n === "string"));
            for (const x of results[stack].resources) {
                assert.ok(!hostUrns.has(x.urn), x.urn);
                assert.ok(x.urn.startsWith(`urn:pulumi:${stack}::`), x.urn);
                // A StackReference's name is the referenced stack; every other name must not be a host's Docker object.
                if (x.type !== "pulumi:pulumi:StackReference") assert.ok(!hostNames.has(x.props.name as string), `${x.urn} manages ${x.props.name}`);
            }
        });
    }

    it("routes no host name from two environments, and names routers and services <app>-<env>-<service>", () => {
        const routers = new Map<string, string>();
        for (const stack of ["staging", "production"]) {
            for (const c of ofType(results[stack], CONTAINER)) {
                for (const [k, v] of Object.entries(labels(c))) {
                    const m = /^traefik\.http\.routers\.([^.]+)\.rule$/.exec(k);
                    if (!m) continue;
                    assert.match(m[1], new RegExp(`^shop-${stack}-`));
                    for (const [, h] of v.matchAll(/Host\(`([^`]+)`\)/g)) {
                        assert.ok(!routers.has(h), `${h} routed by ${routers.get(h)} and ${stack}`);
                        routers.set(h, stack);
                    }
                }
            }
        }
        assert.equal(routers.size, 4, [...routers.keys()].join(" "));
    });

    it("passes the policy pack as a whole: only the host's proxy publishes host ports", () => {
        const all = [...results.vps1.resources, ...results.staging.resources, ...results.production.resources];
        assert.deepEqual(
            all.filter((x) => x.type === CONTAINER && Array.isArray(x.props.ports) && x.props.ports.length > 0).map((x) => x.urn),
            ["urn:pulumi:vps1::vps-stacks::vps:index:ReverseProxy$vps:index:Service$docker:index/container:Container::vps1-proxy-traefik-container"],
        );
        for (const stack of ["vps1", "staging", "production"]) {
            assert.equal(runPolicyPack(results[stack].resources, { stack }).mandatoryCount, 0, stack);
        }
        // An environment's container that published a port would be refused.
        const graph: SynthResult = JSON.parse(JSON.stringify(results.staging));
        const backend = graph.resources.find((x) => x.name === "shop-staging-backend-container")!;
        backend.props.ports = [{ internal: 8080, external: 8080, ip: "203.0.113.10", protocol: "tcp" }];
        const violations = runPolicyPack(graph.resources, { stack: "staging" }).violations.filter((v) => v.policyName === "container-host-ports-proxy-only");
        assert.equal(violations.length, 1);
    });

    it("fails with a clear error (exit 2) when the referenced host stack has no stack file", async () => {
        const dir = path.join(synthTmp, "no-host");
        fs.mkdirSync(dir, { recursive: true });
        const file = path.join(dir, "Pulumi.staging.yaml");
        fs.writeFileSync(file, fs.readFileSync(path.join(__dirname, "..", "Pulumi.staging.yaml"), "utf8").replace("organization/vps-stacks/vps1", "organization/vps-stacks/vps9"));
        const run = await runScript("tools/synth/cli.ts", ["--config-file", file, "--quiet"]);
        assert.equal(run.code, 2, run.stderr);
        assert.match(run.stderr, /stack reference "organization\/vps-stacks\/vps9": no stack file .*Pulumi\.vps9\.yaml/);
        assert.doesNotMatch(run.stderr, /^\s+at /m);
    });
});

describe("host stack: an attached environment under mocks takes every edge value from the StackReference", function () {
    let resources: RecordingMocks["resources"];
    let edgeNetwork: unknown;

    before(async () => {
        // An edge whose every value differs from what naming.ts would derive, so each one found below came through the reference.
        const edge = { name: "edge7", network: "edge7-net", entrypoint: "tls", certResolver: "le2", publicAddress: "198.51.100.7", acmeCaServer: "https://acme-v02.api.letsencrypt.org/directory" };
        const mocks = new RecordingMocks(async (stack) => (stack === "acme/vps-stacks/edge7" ? { edge, monitoringDir: "/srv/edge7/monitoring" } : {}));
        await setEngineMocks(mocks, "vps-stacks", "attached");
        const { buildEnvironment } = await import("../compose/environment");
        const values: Record<string, any> = { ...validValues(), edge: { stack: "acme/vps-stacks/edge7" }, dns: { zone: "example.com" } };
        delete (values as Record<string, unknown>).proxy;
        // Issue 11's routes on an attached service: a path entry, a middleware and a private path; and a worker.
        values.services.frontend.hosts = ["app-staging.example.com", "app-staging.example.com/admin"];
        values.services.frontend.routes = { ipAllowList: ["203.0.113.0/24"], privatePaths: ["/metrics"] };
        values.services.worker = { image: "ghcr.io/acme/shop-api:sha-3f2c1e7", command: ["worker"], healthcheck: { test: ["CMD-SHELL", "test -f /tmp/alive"] }, memory: "128m" };
        const out = buildEnvironment(parse(values, VALID_SECRET_KEYS));
        edgeNetwork = await unwrap(out.networkNames.edge);
        await new Promise((r) => setTimeout(r, 200));
        resources = mocks.resources;
    });

    it("joins the referenced network, is labelled for the referenced edge and names its entrypoint and resolver", () => {
        assert.equal(edgeNetwork, "edge7-net");
        const backend = resources.find((r) => r.type === CONTAINER && r.name === "shop-staging-backend-container")!;
        const l = Object.fromEntries((backend.inputs.labels as { label: string; value: string }[]).map((x) => [x.label, x.value]));
        assert.equal(l["vps.edge"], "edge7");
        assert.equal(l["traefik.docker.network"], "edge7-net");
        assert.equal(l["traefik.http.routers.shop-staging-backend.entrypoints"], "tls");
        assert.equal(l["traefik.http.routers.shop-staging-backend.tls.certresolver"], "le2");
        assert.deepEqual(backend.inputs.networksAdvanced.map((n: { name: string }) => n.name), ["edge7-net", "shop-staging-internal"]);
        assert.deepEqual(resources.filter((r) => r.type === CONTAINER && r.inputs.ports?.length), []);
        const a = resources.find((r) => r.type === "cloudflare:index/dnsRecord:DnsRecord" && r.inputs.type === "A")!;
        assert.equal(a.inputs.content, "198.51.100.7");
    });

    it("gives an attached service's path and private routers (issue 11) the referenced entrypoint and resolver, its middlewares, and vps.edge", () => {
        const frontend = resources.find((r) => r.type === CONTAINER && r.name === "shop-staging-frontend-container")!;
        const l = Object.fromEntries((frontend.inputs.labels as { label: string; value: string }[]).map((x) => [x.label, x.value]));
        const r = "traefik.http.routers.shop-staging-frontend";
        assert.equal(l["vps.edge"], "edge7");
        assert.equal(l[`${r}.rule`], "Host(`app-staging.example.com`)");
        assert.equal(l[`${r}.middlewares`], "shop-staging-frontend-allow");
        assert.equal(l[`${r}-path-1.rule`], "Host(`app-staging.example.com`) && (Path(`/admin`) || PathPrefix(`/admin/`))");
        assert.equal(l[`${r}-private.middlewares`], "shop-staging-frontend-deny");
        for (const router of [r, `${r}-path-1`, `${r}-private`]) {
            assert.equal(l[`${router}.entrypoints`], "tls", router);
            assert.equal(l[`${router}.tls.certresolver`], "le2", router);
            assert.equal(l[`${router}.service`], "shop-staging-frontend", router);
        }
    });

    it("publishes its targets under the referenced monitoring directory, and its jobs' metrics into its textfile directory", async () => {
        const files = resources.find((r) => r.type === "command:remote:Command" && r.name === "shop-staging-monitoring-targets-files")!;
        assert.match(String(files.inputs.create), /MON_DIR='\\''\/srv\/edge7\/monitoring'\\''/);
        const health = resources.find((r) => r.type === "command:remote:Command" && r.name === "shop-staging-health-check-job-install")!;
        // The env file is the install's stdin, a secret (the mocks see its wrapper).
        const stdin = health.inputs.stdin as string | { value: string };
        assert.match(installedEnvText(typeof stdin === "string" ? stdin : stdin.value), /^METRICS_FILE="\/srv\/edge7\/monitoring\/textfile\/shop-staging-health-check\.prom"$/m);
    });

    it("leaves an attached worker (no port) unrouted: no vps.edge, no Traefik label", () => {
        const worker = resources.find((r) => r.type === CONTAINER && r.name === "shop-staging-worker-container")!;
        const keys = (worker.inputs.labels as { label: string }[]).map((x) => x.label);
        assert.deepEqual(keys.filter((k) => k === "vps.edge" || k.startsWith("traefik.")), []);
    });

    it("fails the deployment, naming edge.stack, when the referenced stack has no edge output", async () => {
        const { edgeOutputsProblem } = await import("../compose/edge");
        assert.match(edgeOutputsProblem("acme/vps-stacks/shop", undefined)!, /edge\.stack "acme\/vps-stacks\/shop" has no "edge" output: name a host stack \(kind: host\)/);
        assert.match(edgeOutputsProblem("s", { name: "x" })!, /lacks network, entrypoint, certResolver, publicAddress, acmeCaServer/);
        assert.equal(pulumi.RunError.isInstance(new pulumi.RunError("x")), true);
    });

    it("fails the deployment, naming edge.stack, when the host stack does not export its monitoring directory yet", async () => {
        const { monitoringDirProblem } = await import("../compose/edge");
        assert.match(monitoringDirProblem("acme/vps-stacks/vps1", undefined)!, /edge\.stack "acme\/vps-stacks\/vps1" has no "monitoringDir" output: update the host stack \(pulumi up --stack acme\/vps-stacks\/vps1\) first/);
        assert.equal(monitoringDirProblem("s", "/srv/vps1/monitoring"), undefined);
        assert.ok(monitoringDirProblem("s", "monitoring"), "a relative directory is refused");
    });
});
