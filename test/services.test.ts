/**
 * The Service component's new shapes (issue 11) under Pulumi's mocks: replicas chained one
 * after another, a service's own volumes (delete-first unless shared), files and the label that
 * replaces the containers when they change, the release command every replica waits for, the
 * routes' Traefik labels, and Redis with a password.
 */
import { strict as assert } from "assert";
import * as bcrypt from "bcryptjs";
import { filesHash, filesPayload, hostFilePath } from "../components/docker/service-files";
import { renderReleaseScript } from "../components/docker/release-command";
import { DENY_SOURCE_RANGE, hashBasicAuthUsers, PRIVATE_ROUTER_PRIORITY } from "../components/docker/routes";
import { FILES_LABEL, Service, serviceRouteLabels } from "../components/docker/service";
import { RedisService, REDIS_CONFIG_FILE } from "../components/services/redis-service";
import { capture, find, isSecret, unwrap, useMocks } from "./helpers/pulumi";

const CONTAINER = "docker:index/container:Container";
const COMMAND = "command:remote:Command";
const owner = { app: "saas", environment: "staging" };
const host = { connection: { host: "vps", user: "deploy", privateKey: "k" }, deployDir: "/srv/saas/staging" };
const base = {
    ...owner,
    role: "api",
    image: "ghcr.io/acme/api:1.2.3",
    healthcheck: { test: ["CMD", "true"], interval: "10s", timeout: "3s", retries: 3, startPeriod: "5s" },
    memoryMb: 256,
    cpus: 0.5,
    networks: [{ name: "saas-staging-edge", aliases: ["api"] }, { name: "saas-staging-internal", aliases: ["api"] }],
};
const labelMap = async (props: any) => Object.fromEntries(await Promise.all((props.labels as { label: string; value: any }[]).map(async (l) => [l.label, await unwrap(l.value)])));

describe("services as applications under mocks (issue 11)", () => {
    before(() => useMocks());

    it("runs every replica as its own container, each depending on the one before, so an update rolls one at a time create-first", () => {
        const c = capture();
        const s = new Service("api", { ...base, replicas: 3 }, c.opts);
        const containers = c.resources.filter((r) => r.type === CONTAINER);
        assert.deepEqual(containers.map((r) => r.name), ["api-container", "api-container-2", "api-container-3"]);
        assert.equal(s.containers.length, 3);
        assert.ok(containers.every((r) => r.opts.deleteBeforeReplace === false && r.props.name === undefined && r.props.healthcheck.tests[0] === "CMD"));
        assert.ok(!(containers[0].opts.dependsOn as unknown[] | undefined)?.length);
        assert.ok((containers[1].opts.dependsOn as unknown[]).includes(s.containers[0]));
        assert.ok((containers[2].opts.dependsOn as unknown[]).includes(s.containers[1]));
        assert.deepEqual(containers[2].props.networksAdvanced, containers[0].props.networksAdvanced, "the same networks and aliases");
    });

    it("gives a service with volumes retained DataVolumes and a fixed name replaced delete-first; sharedVolumes keeps create-first", async () => {
        const c = capture();
        const s = new Service("store", { ...base, role: "storage", serviceVolumes: { data: "/data" }, protectVolumes: true }, c.opts);
        const container = find(c.resources, CONTAINER);
        assert.equal(await unwrap(container.props.name), "saas-staging-storage");
        assert.equal(container.opts.deleteBeforeReplace, true);
        assert.equal(s.volumes[0].volumeName, "saas-staging-storage-data");
        const vol = find(c.resources, "docker:index/volume:Volume");
        assert.equal(vol.opts.retainOnDelete, true);
        assert.equal(vol.opts.protect, true);
        const shared = capture();
        new Service("shared", { ...base, serviceVolumes: { data: "/data" }, sharedVolumes: true, replicas: 2 }, shared.opts);
        assert.ok(shared.resources.filter((r) => r.type === CONTAINER).every((r) => r.opts.deleteBeforeReplace === false));
        assert.throws(() => new Service("bad", { ...base, serviceVolumes: { data: "/data" }, replicas: 2 }, capture().opts), /cannot share one fixed container name/);
    });

    it("writes files on the VPS from stdin, mounts them read-only and labels the containers with their hash (secret when a file is)", async () => {
        const c = capture();
        const files = { "/etc/app/config.yaml": "listen: 8080\n" };
        new Service("api", { ...base, files, remote: host }, c.opts);
        const write = find(c.resources, COMMAND, "-files-write");
        assert.equal(await unwrap(write.props.stdin), filesPayload(files));
        assert.doesNotMatch(await unwrap(write.props.create), /listen: 8080/);
        const container = find(c.resources, CONTAINER);
        assert.deepEqual(container.props.volumes, [{ hostPath: hostFilePath(host.deployDir, "api", "/etc/app/config.yaml"), containerPath: "/etc/app/config.yaml", readOnly: true }]);
        const labels = await labelMap(container.props);
        assert.equal(labels[FILES_LABEL], filesHash(files));
        // `remote` (where files are written) is not `host`, which would make the service a host stack's.
        assert.equal(labels["vps.app"], "saas");
        assert.equal(labels["vps.host"], undefined);
        assert.ok((container.opts.dependsOn as unknown[]).includes(write.resource));
        assert.notEqual(filesHash({ "/etc/app/config.yaml": "listen: 8081\n" }), filesHash(files), "a changed file changes the label, which replaces the container");
    });

    it("refuses a release for a host stack's service, which has no app or environment to label its container with", () => {
        const { app: _app, environment: _environment, ...settings } = base;
        const hostOwned = { ...settings, host: "vps1", role: "tool", release: ["migrate"], remote: host };
        assert.throws(() => new Service("tool", hostOwned, capture().opts), /Service tool: release is an environment's/);
    });

    it("runs the release before every replica, with the env on stdin as a secret and triggers on image and command only", async () => {
        const c = capture();
        const s = new Service("api", { ...base, replicas: 2, release: ["npm", "run", "migrate"], env: { NODE_ENV: "production" }, secretEnv: { DB_PASSWORD: "pw-0123456789" }, remote: host }, c.opts);
        const run = find(c.resources, COMMAND, "-release-run");
        assert.equal(await isSecret(run.props.stdin), true);
        assert.equal(await unwrap(run.props.stdin), "NODE_ENV=production\nDB_PASSWORD=pw-0123456789\n");
        assert.doesNotMatch(await unwrap(run.props.create), /pw-0123456789/);
        assert.equal(run.props.update, "true");
        assert.equal(run.props.addPreviousOutputInEnv, false);
        for (const out of ["stdout", "stderr"]) assert.ok((run.opts.additionalSecretOutputs as string[]).includes(out), `${out} is a secret output`);
        for (const container of s.containers) {
            const captured = c.resources.find((r) => r.resource === container)!;
            assert.ok((captured.opts.dependsOn as unknown[]).includes(s.release!.command), `${captured.name} waits for the release`);
        }
        const script = await unwrap(run.props.create);
        for (const flag of ["--cap-drop", "--security-opt", "no-new-privileges:true", "--memory-swap", "--log-opt", "max-size=10m"]) assert.ok(script.includes(flag), flag);
        assert.ok(script.includes("docker network connect '\\''saas-staging-internal'\\''"), "the release joins every network of the service");
    });

    it("renders release scripts that pass the entrypoint's first word to --entrypoint and the rest before the command", () => {
        const script = renderReleaseScript({
            name: "x",
            image: "img",
            command: ["migrate"],
            timeoutSeconds: 60,
            container: { memory: 64, memorySwap: 64, cpus: "0.5", privileged: false, capabilities: { drops: ["ALL"], adds: [] }, securityOpts: [], logDriver: "json-file", logOpts: {}, readOnly: false, entrypoint: ["node", "--enable-source-maps"], volumes: [], networks: ["n"], labels: [] },
        });
        assert.match(script, /'--entrypoint' 'node' .*'img' '--enable-source-maps' 'migrate'/);
    });

    it("routes path prefixes and refuses private paths on every host, with the middlewares on every router", async () => {
        const labels = serviceRouteLabels("saas-staging-api", {
            hosts: ["app.example.com", "app.example.com/api", "api.example.com/v1"],
            port: 8080,
            network: "edge",
            middlewares: { ipAllowList: ["10.0.0.0/8"], rateLimit: { average: 10 }, stripPrefix: true, privatePaths: ["/metrics"] },
        });
        const l = Object.fromEntries(labels.map((x) => [x.label, x.value]));
        const r = "traefik.http.routers.saas-staging-api";
        assert.equal(l[`${r}.rule`], "Host(`app.example.com`)");
        assert.equal(l[`${r}-path-1.rule`], "Host(`app.example.com`) && (Path(`/api`) || PathPrefix(`/api/`))");
        assert.equal(l[`${r}-path-2.rule`], "Host(`api.example.com`) && (Path(`/v1`) || PathPrefix(`/v1/`))");
        assert.equal(l[`${r}.middlewares`], "saas-staging-api-allow,saas-staging-api-ratelimit", "no strip on the whole-host router");
        assert.equal(l[`${r}-path-1.middlewares`], "saas-staging-api-allow,saas-staging-api-ratelimit,saas-staging-api-strip");
        assert.equal(l["traefik.http.middlewares.saas-staging-api-strip.stripprefix.prefixes"], "/api,/v1");
        assert.equal(l[`${r}-private.rule`], "(Host(`app.example.com`) || Host(`api.example.com`)) && (Path(`/metrics`) || PathPrefix(`/metrics/`))");
        assert.equal(l[`${r}-private.priority`], String(PRIVATE_ROUTER_PRIORITY));
        assert.equal(l["traefik.http.middlewares.saas-staging-api-deny.ipallowlist.sourcerange"], DENY_SOURCE_RANGE);
        for (const router of [`${r}-path-1`, `${r}-path-2`, `${r}-private`]) {
            for (const key of ["entrypoints", "tls.certresolver", "service"]) assert.equal(l[`${router}.${key}`], l[`${r}.${key}`], `${router}.${key}`);
        }
        assert.ok(Number(l[`${r}-path-1.priority`]) > 1000 && Number(l[`${r}-path-1.priority`]) < PRIVATE_ROUTER_PRIORITY);
    });

    it("hashes basic-auth users with bcrypt, the same on every run (no replacement), and keeps the label secret", async () => {
        const hashed = hashBasicAuthUsers("alice:correct-horse-battery\nbob:staple-staple-staple", "saas-staging-admin");
        assert.equal(hashed, hashBasicAuthUsers("alice:correct-horse-battery\nbob:staple-staple-staple", "saas-staging-admin"));
        const [alice, bob] = hashed.split(",").map((e) => e.split(/:(.*)/s));
        assert.equal(alice[0], "alice");
        assert.ok(bcrypt.compareSync("correct-horse-battery", alice[1]));
        assert.ok(!bcrypt.compareSync("wrong-password-x", alice[1]));
        assert.ok(bcrypt.compareSync("staple-staple-staple", bob[1]));
        assert.notEqual(hashBasicAuthUsers("alice:correct-horse-battery", "saas-production-admin"), hashBasicAuthUsers("alice:correct-horse-battery", "saas-staging-admin"), "another salt per environment");
        const labels = serviceRouteLabels("saas-staging-admin", { hosts: ["admin.example.com"], port: 3000, network: "edge", middlewares: { basicAuthUsers: "alice:correct-horse-battery" } });
        const users = labels.find((x) => x.label.endsWith(".basicauth.users"))!.value;
        assert.equal(await isSecret(users), true);
    });

    it("protects Redis with a password from a mounted config file and REDISCLI_AUTH, never on the command line", async () => {
        const c = capture();
        new RedisService("r", { ...owner, image: "redis:7.4.2-alpine", internalNetwork: "i", memoryMb: 128, cpus: 0.25, protectData: false, password: "redis-password-0123456789", remote: host }, c.opts);
        const container = find(c.resources, CONTAINER);
        assert.deepEqual(container.props.command.slice(0, 2), ["redis-server", REDIS_CONFIG_FILE]);
        assert.ok(!JSON.stringify(container.props.command).includes("redis-password"));
        assert.ok(container.props.volumes.some((v: any) => v.containerPath === REDIS_CONFIG_FILE && v.readOnly === true));
        const envs = await Promise.all((container.props.envs as unknown[]).map(async (e) => ({ text: await unwrap(e as string), secret: await isSecret(e) })));
        assert.deepEqual(envs, [{ text: "REDISCLI_AUTH=redis-password-0123456789", secret: true }]);
        const write = find(c.resources, COMMAND, "-files-write");
        assert.equal(await isSecret(write.props.stdin), true);
        const plain = capture();
        new RedisService("p", { ...owner, image: "redis:7.4.2-alpine", internalNetwork: "i", memoryMb: 128, cpus: 0.25, protectData: false }, plain.opts);
        assert.equal(find(plain.resources, CONTAINER).props.command[1], "--appendonly", "without a password the command is as before");
    });
});
