import { strict as assert } from "assert";
import { AppNetwork } from "../components/docker/app-network";
import { DataVolume } from "../components/docker/data-volume";
import { PostgresService } from "../components/services/postgres-service";
import { RedisService } from "../components/services/redis-service";
import { ReverseProxy } from "../components/services/reverse-proxy";
import { Service } from "../components/docker/service";
import { EXAMPLE_HOST_KEY } from "./fixtures/config";
import { VpsHost } from "../components/docker/vps-host";
import * as pulumi from "@pulumi/pulumi";
import { capture, find, isSecret, unwrap, useMocks } from "./helpers/pulumi";

const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";
const owner = { app: "shop", environment: "staging" };
const labelsOf = (props: any) => Object.fromEntries((props.labels as { label: string; value: string }[]).map((l) => [l.label, l.value]));

describe("components under mocks", () => {
    before(() => useMocks());

    describe("DataVolume", () => {
        it("names the volume <app>-<env>-<role> and retains it on delete without protect by default", async () => {
            const c = capture();
            const v = new DataVolume("v", { ...owner, role: "postgres-data" }, c.opts);
            const vol = find(c.resources, VOLUME);
            assert.equal(await unwrap(vol.props.name), "shop-staging-postgres-data");
            assert.equal(v.volumeName, "shop-staging-postgres-data");
            assert.equal(vol.opts.retainOnDelete, true);
            assert.equal(vol.opts.protect, false);
            assert.equal(vol.opts.parent, v);
        });

        it("sets protect on the volume itself when asked (production)", () => {
            const c = capture();
            new DataVolume("p", { app: "shop", environment: "production", role: "redis-data", protect: true }, c.opts);
            const vol = find(c.resources, VOLUME);
            assert.equal(vol.opts.protect, true);
            assert.equal(vol.opts.retainOnDelete, true);
        });
    });

    describe("AppNetwork", () => {
        it("creates a bridge edge network and an internal network with deterministic names", async () => {
            const c = capture();
            const n = new AppNetwork("n", owner, c.opts);
            const edge = find(c.resources, "docker:index/network:Network", "-edge");
            const internal = find(c.resources, "docker:index/network:Network", "-internal");
            assert.equal(await unwrap(edge.props.name), "shop-staging-edge");
            assert.equal(edge.props.internal, undefined);
            assert.equal(await unwrap(internal.props.name), "shop-staging-internal");
            assert.equal(internal.props.internal, true);
            assert.equal(n.internalName, "shop-staging-internal");
        });

        it("replaces both networks delete-first: Docker refuses a second network of a fixed name", () => {
            const c = capture();
            new AppNetwork("dbr", owner, c.opts);
            for (const suffix of ["-edge", "-internal"]) {
                assert.equal(find(c.resources, "docker:index/network:Network", suffix).opts.deleteBeforeReplace, true, suffix);
            }
        });
    });

    describe("Service", () => {
        const base = {
            ...owner,
            role: "backend",
            image: "ghcr.io/acme/api:1.2.3",
            healthcheck: { test: ["CMD", "true"], interval: "10s", timeout: "3s", retries: 3, startPeriod: "5s" },
            memoryMb: 512,
            cpus: 0.5,
            networks: [{ name: "shop-staging-edge" }],
        };

        it("creates a container with healthcheck, wait, limits, log rotation and no privileges", async () => {
            const c = capture();
            new Service("s", { ...base, healthTimeoutSeconds: 90 }, c.opts);
            const p = find(c.resources, CONTAINER).props;
            assert.deepEqual(p.healthcheck.tests, ["CMD", "true"]);
            assert.equal(p.wait, true);
            assert.equal(p.waitTimeout, 90);
            assert.equal(p.restart, "unless-stopped");
            assert.equal(p.logDriver, "json-file");
            assert.deepEqual(p.logOpts, { "max-size": "10m", "max-file": "3" });
            assert.equal(p.memory, 512);
            assert.equal(p.cpus, "0.5");
            assert.equal(p.privileged, false);
            assert.deepEqual(p.securityOpts, ["no-new-privileges:true"]);
            assert.deepEqual(p.capabilities, { drops: ["ALL"], adds: [] });
            assert.equal(p.networkMode, undefined, "networksAdvanced alone keeps it off the default bridge");
            assert.deepEqual(p.networksAdvanced, [{ name: "shop-staging-edge", aliases: [] }]);
            assert.equal(p.ports, undefined);
        });

        it("sends cpus, healthcheck durations and memory + swap in the forms the Docker provider reads back", async () => {
            const c = capture();
            new Service("forms", { ...base, cpus: 1, healthcheck: { ...base.healthcheck, interval: "90s", timeout: "1m", startPeriod: "500ms" } }, c.opts);
            const p = find(c.resources, CONTAINER).props;
            assert.equal(p.cpus, "1.0");
            assert.deepEqual([p.healthcheck.interval, p.healthcheck.timeout, p.healthcheck.startPeriod], ["1m30s", "1m0s", "500ms"]);
            assert.equal(p.memorySwap, 512);
        });

        it("refuses at construction a cpu count the provider would read back as another number", () => {
            assert.throws(() => new Service("badcpu", { ...base, cpus: 0.05 }, {}), /"0\.1"/);
        });

        it("replaces an application container create-first, overriding pulumi-docker's delete-first request", () => {
            // pulumi-docker answers every container replacement with DeleteBeforeReplace; the
            // engine takes an explicit resource option over it, so false must be set, not left out.
            const c = capture();
            new Service("cbd", base, c.opts);
            const container = find(c.resources, CONTAINER);
            assert.equal(container.opts.deleteBeforeReplace, false);
            assert.equal(container.props.name, undefined, "auto-named, so the new one can start beside the old one");
        });

        it("keeps the fixed name of a data service and replaces it delete-first; a healthcheck change replaces any container", () => {
            const c = capture();
            new Service("fixed", { ...base, fixedName: true }, c.opts);
            const container = find(c.resources, CONTAINER);
            assert.equal(container.name, "fixed-container");
            assert.equal(container.opts.deleteBeforeReplace, true);
            assert.deepEqual(container.opts.replaceOnChanges, ["healthcheck", "init", "tmpfs"]);
        });

        it("pulls the pinned image with RemoteImage, kept locally for rollbacks", async () => {
            const c = capture();
            new Service("img", base, c.opts);
            const image = find(c.resources, "docker:index/remoteImage:RemoteImage");
            assert.equal(image.props.name, "ghcr.io/acme/api:1.2.3");
            assert.equal(image.props.keepLocally, true);
            assert.match(await unwrap(find(c.resources, CONTAINER).props.image), /^sha256:[0-9a-f]{64}$/);
        });

        it("keeps secret env vars secret, one entry each, and plain ones readable", async () => {
            const c = capture();
            new Service("env", { ...base, env: { LOG_LEVEL: "info" }, secretEnv: { DB_PASSWORD: pulumi.secret("hunter2hunter2") } }, c.opts);
            const envs = find(c.resources, CONTAINER).props.envs as pulumi.Output<string>[];
            assert.equal(await unwrap(envs[0]), "LOG_LEVEL=info");
            assert.equal(await isSecret(envs[0]), false);
            assert.equal(await unwrap(envs[1]), "DB_PASSWORD=hunter2hunter2");
            assert.equal(await isSecret(envs[1]), true);
        });

        it("routes through the proxy by labels, with ownership labels, and publishes no port", async () => {
            const c = capture();
            new Service("r", { ...base, route: { hosts: ["api.example.com", "www.api.example.com"], port: 8080, network: "shop-staging-edge" } }, c.opts);
            const p = find(c.resources, CONTAINER).props;
            const labels = labelsOf(p);
            assert.equal(labels["vps.environment"], "staging");
            assert.equal(labels["vps.role"], "backend");
            assert.equal(labels["traefik.enable"], "true");
            assert.equal(labels["traefik.http.routers.shop-staging-backend.rule"], "Host(`api.example.com`) || Host(`www.api.example.com`)");
            assert.equal(labels["traefik.http.services.shop-staging-backend.loadbalancer.server.port"], "8080");
            assert.equal(p.ports, undefined);
        });

        it("lets a replacement start beside the old container unless the name is fixed", () => {
            const free = capture();
            new Service("free", base, free.opts);
            const freeContainer = find(free.resources, CONTAINER);
            assert.equal(freeContainer.props.name, undefined);
            assert.equal(freeContainer.opts.deleteBeforeReplace, false);

            const fixed = capture();
            new Service("fixed", { ...base, fixedName: true }, fixed.opts);
            const fixedContainer = find(fixed.resources, CONTAINER);
            assert.equal(fixedContainer.props.name, "shop-staging-backend");
            assert.equal(fixedContainer.opts.deleteBeforeReplace, true);
        });

        it("refuses a healthcheck without a command", () => {
            assert.throws(() => new Service("bad", { ...base, healthcheck: { ...base.healthcheck, test: ["CMD"] } }), /healthcheck\.test/);
        });
    });

    describe("PostgresService and RedisService", () => {
        it("puts PostgreSQL on the internal network only, with pg_isready and a retained volume", async () => {
            const c = capture();
            new PostgresService(
                "pg",
                { ...owner, image: "postgres:16.6-alpine", database: "shop", user: "shop", password: pulumi.secret("x".repeat(20)), internalNetwork: "shop-staging-internal", memoryMb: 512, cpus: 1, protectData: false },
                c.opts,
            );
            const p = find(c.resources, CONTAINER).props;
            assert.deepEqual(p.networksAdvanced.map((n: any) => n.name), ["shop-staging-internal"]);
            assert.deepEqual(p.networksAdvanced[0].aliases, ["postgres"]);
            assert.match(p.healthcheck.tests.join(" "), /pg_isready -U shop -d shop/);
            assert.equal(p.volumes[0].containerPath, "/var/lib/postgresql/data");
            assert.equal(await unwrap(find(c.resources, VOLUME).props.name), "shop-staging-postgres-data");
            assert.equal(find(c.resources, VOLUME).opts.retainOnDelete, true);
        });

        it("puts Redis on the internal network only, with redis-cli ping and maxmemory under the limit", () => {
            const c = capture();
            new RedisService("rd", { ...owner, image: "redis:7.4.2-alpine", internalNetwork: "shop-staging-internal", memoryMb: 200, cpus: 0.5, protectData: true }, c.opts);
            const p = find(c.resources, CONTAINER).props;
            assert.deepEqual(p.networksAdvanced.map((n: any) => n.name), ["shop-staging-internal"]);
            assert.deepEqual(p.healthcheck.tests, ["CMD", "redis-cli", "ping"]);
            assert.ok(p.command.includes("160mb"));
            assert.equal(find(c.resources, VOLUME).opts.protect, true);
        });
    });

    describe("ReverseProxy", () => {
        it("alone publishes 80 and 443 on its address, mounts the Docker socket read-only and routes only its environment", async () => {
            const c = capture();
            new ReverseProxy(
                "px",
                { ...owner, image: "traefik:v3.7.13", publicAddress: "203.0.113.11", acmeEmail: "ops@example.com", acmeCaServer: "https://acme.example/dir", edgeNetwork: "shop-staging-edge", memoryMb: 128, cpus: 0.5, protectData: false },
                c.opts,
            );
            const p = find(c.resources, CONTAINER).props;
            assert.deepEqual(p.ports.map((x: any) => [x.external, x.ip]), [[80, "203.0.113.11"], [443, "203.0.113.11"]]);
            assert.deepEqual(p.volumes.find((v: any) => v.hostPath), { hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: true });
            assert.ok(p.command.includes("--entrypoints.web.http.redirections.entrypoint.scheme=https"));
            assert.ok(p.command.includes("--providers.docker.exposedbydefault=false"));
            assert.ok(p.command.includes("--certificatesresolvers.letsencrypt.acme.httpchallenge.entrypoint=web"), "HTTP-01 by default: it works behind a proxying CDN");
            assert.ok(p.command.includes("--providers.docker.constraints=Label(`vps.environment`,`staging`)"));
            assert.deepEqual(p.capabilities.adds, ["NET_BIND_SERVICE"]);
            assert.equal(await unwrap(find(c.resources, VOLUME).props.name), "shop-staging-acme");
            assert.equal(labelsOf(p)["vps.role"], "reverse-proxy");
        });
    });

    describe("VpsHost", () => {
        it("reaches Docker over ssh and runs a preflight with the deploy directory, key kept secret", async () => {
            const c = capture();
            const host = new VpsHost(
                "h",
                { sshAddress: "vps1.example.com", sshPort: 2222, user: "deploy", sshPrivateKey: pulumi.secret("KEY"), deployDir: "/srv/shop/staging", requiredCommands: ["docker", "aws"], hostKey: EXAMPLE_HOST_KEY },
                c.opts,
            );
            const provider = find(c.resources, "pulumi:providers:docker");
            assert.equal(provider.props.host, "ssh://deploy@vps1.example.com:2222");
            const preflight = find(c.resources, "command:remote:Command", "-preflight");
            assert.equal(preflight.props.create, "DEPLOY_DIR='/srv/shop/staging' REQUIRED_COMMANDS='docker aws' REQUIRE_SUDO=0 bash -s");
            assert.match(preflight.props.stdin, /preflight failed/);
            assert.equal(await isSecret(host.connection), true);
            assert.equal((await unwrap(host.connection)).port, 2222);
            assert.equal((await unwrap(host.connection)).hostKey, EXAMPLE_HOST_KEY, "remote commands verify the server");
            assert.equal(await unwrap(provider.props.registryAuth), undefined, "no registry credentials unless given");
        });

        it("gives the Docker provider the registry credentials, the password kept secret", async () => {
            const c = capture();
            new VpsHost(
                "reg",
                {
                    sshAddress: "vps1.example.com", user: "deploy", sshPrivateKey: pulumi.secret("KEY"), deployDir: "/srv/shop/staging", hostKey: EXAMPLE_HOST_KEY,
                    registryAuth: [{ address: "ghcr.io", username: "acme-bot", password: pulumi.secret("ghp_token") }],
                },
                c.opts,
            );
            const registryAuth = find(c.resources, "pulumi:providers:docker").props.registryAuth;
            // A provider's nested inputs travel as JSON text (the SDK serialises provider config so).
            const auth = JSON.parse(await unwrap<string>(registryAuth));
            assert.deepEqual(auth, [{ address: "ghcr.io", username: "acme-bot", password: "ghp_token" }]);
            assert.equal(await isSecret(registryAuth), true, "the provider input holding the password is secret");
        });
    });
});
