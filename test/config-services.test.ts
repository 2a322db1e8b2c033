/**
 * The services as real applications need them (issue 11): workers, replicas, volumes, release
 * commands, files, `${key}` references, routes with middlewares, the container options and
 * the Redis password; each bad input is reported with its key path.
 */
import { strict as assert } from "assert";
import { parseReferences } from "../config/references";
import { splitHostEntry } from "../components/naming";
import { basicAuthProblem } from "../config/routes";
import { assertIssue, parse } from "./helpers/config";
import { validValues, VALID_SECRET_KEYS } from "./fixtures/config";
import { isSecret, unwrap } from "./helpers/pulumi";

const SECRETS = [...VALID_SECRET_KEYS, "redisPassword", "adminUsers", "openaiKey"];
const ADMIN_USERS = "alice:correct-horse-battery\nbob:staple-staple-staple";

/** validValues plus the secrets the new features reference. */
function values(): Record<string, any> {
    const v = validValues();
    v.redisPassword = "redis-password-0123456789";
    // Keys no service references are unknown keys: these three are referenced below.
    v.adminUsers = ADMIN_USERS;
    v.openaiKey = "sk-test-0123456789abcdef";
    v.apiHost = "api-staging.example.com";
    v.services.frontend.routes = { basicAuth: { usersKey: "adminUsers" } };
    v.services.backend.env.OPENAI_API_KEY = "${openaiKey}";
    v.services.backend.env.PUBLIC_API = "https://${apiHost}/v1";
    return v;
}

describe("config: services as applications (issue 11)", () => {
    describe("accepts", () => {
        it("a worker without a port, with replicas, volumes shared by design, a release command and every container option", () => {
            const v = values();
            v.services.worker = {
                image: "ghcr.io/acme/shop-api:sha-3f2c1e7",
                healthcheck: { test: ["CMD-SHELL", "test -f /tmp/alive"] },
                memory: "256m",
                replicas: 2,
                volumes: { uploads: "/var/lib/uploads" },
                sharedVolumes: true,
                release: ["node", "migrate.js"],
                entrypoint: ["node"],
                user: "1000:1000",
                workingDir: "/app",
                init: true,
                stopSignal: "SIGQUIT",
                stopGracePeriod: "1m30s",
                shmSize: "1g",
                tmpfs: { "/tmp": "size=64m" },
                ulimits: { nofile: 65536, nproc: { soft: 512, hard: 1024 } },
            };
            const w = parse(v, SECRETS).services.worker;
            assert.equal(w.port, undefined);
            assert.equal(w.replicas, 2);
            assert.equal(w.shmSize, 1024);
            assert.deepEqual(w.ulimits, { nofile: { soft: 65536, hard: 65536 }, nproc: { soft: 512, hard: 1024 } });
            assert.deepEqual(w.volumes, { uploads: "/var/lib/uploads" });
        });

        it("turns an env value that references a secret key into a secret env var, and one that references a plain key into plain text", async () => {
            const v = values();
            v.services.backend.env.DATABASE_URL = "postgres://shop:${databasePassword}@postgres:5432/shop";
            v.services.backend.env.LITERAL = "costs $${price}";
            const b = parse(v, SECRETS).services.backend;
            assert.equal(b.env.PUBLIC_API, "https://api-staging.example.com/v1");
            assert.equal(b.env.LITERAL, "costs ${price}");
            assert.ok(!("DATABASE_URL" in b.env));
            assert.equal(await isSecret(b.secretEnv.DATABASE_URL), true);
            assert.equal(await unwrap(b.secretEnv.DATABASE_URL), "postgres://shop:correct-horse-battery-staple@postgres:5432/shop");
            assert.equal(await unwrap(b.secretEnv.OPENAI_API_KEY), "sk-test-0123456789abcdef");
        });

        it("resolves files, secret when a content references a secret key", async () => {
            const v = values();
            v.services.backend.files = { "/etc/app/plain.conf": "host=${apiHost}\n", "/etc/app/secret.conf": "password=${databasePassword}\n" };
            const files = parse(v, SECRETS).services.backend.files;
            assert.equal(files["/etc/app/plain.conf"], "host=api-staging.example.com\n");
            assert.equal(await isSecret(files["/etc/app/secret.conf"]), true);
            assert.equal(await unwrap(files["/etc/app/secret.conf"]), "password=correct-horse-battery-staple\n");
        });

        it("hands the Redis password and the basic-auth users over as secrets", async () => {
            const v = values();
            v.services.frontend.routes.privatePaths = ["/metrics"];
            const cfg = parse(v, SECRETS);
            assert.equal(await isSecret(cfg.redis!.password), true);
            assert.equal(await unwrap(cfg.services.frontend.routes!.basicAuthUsers!), ADMIN_USERS);
            assert.deepEqual(cfg.services.frontend.routes!.privatePaths, ["/metrics"]);
        });

        it("lets two services share a host under different path prefixes", () => {
            const v = values();
            v.services.frontend.hosts = ["api-staging.example.com/app"];
            assert.deepEqual(parse(v, SECRETS).services.frontend.hosts, ["api-staging.example.com/app"]);
            assert.deepEqual(splitHostEntry("a.example.com/v1/x"), { host: "a.example.com", path: "/v1/x" });
        });
    });

    describe("rejects, naming the key path", () => {
        const cases: [string, (v: Record<string, any>) => void, string, RegExp][] = [
            ["hosts on a worker", (v) => delete v.services.frontend.port, "services.frontend.hosts", /no port: a worker is never routed/],
            ["a healthPath on a worker", (v) => delete v.services.backend.port, "services.backend.healthPath", /no port/],
            ["routes on a worker", (v) => ((v.services.w = { ...v.services.frontend, hosts: [], routes: { privatePaths: ["/x"] } }), delete v.services.w.port, (v.services.w.dependsOn = [])), "services.w.routes", /no port/],
            ["routes on a service without hosts", (v) => (v.services.w = { ...v.services.frontend, hosts: [], dependsOn: [], routes: { rateLimit: { average: 5 } } }), "services.w.routes", /no hosts/],
            ["zero replicas", (v) => (v.services.backend.replicas = 0), "services.backend.replicas", /at least 1/],
            ["replicas that write one volume", (v) => ((v.services.backend.replicas = 2), (v.services.backend.volumes = { data: "/data" })), "services.backend.replicas", /two containers must not write one volume/],
            ["a volume role with upper case", (v) => (v.services.backend.volumes = { Data: "/data" }), "services.backend.volumes.Data", /volume role/],
            ["a relative volume path", (v) => (v.services.backend.volumes = { data: "data" }), "services.backend.volumes.data", /absolute path/],
            ["two services naming one volume", (v) => ((v.services.backend.volumes = { "x-y": "/a" }), (v.services["backend-x"] = { ...v.services.frontend, hosts: [], volumes: { y: "/b" }, dependsOn: [] })), "services.backend-x.volumes.y", /names the volume <app>-<env>-backend-x-y/],
            ["a file and a volume on one path", (v) => ((v.services.backend.volumes = { data: "/data" }), (v.services.backend.files = { "/data": "x" })), 'services.backend.files["/data"]', /mounts "\/data", which services.backend.volumes.data mounts too/],
            ["an empty release command", (v) => (v.services.backend.release = []), "services.backend.release", /needs a command/],
            ["a reference to a key that is not set", (v) => (v.services.backend.env.DATABASE_URL = "postgres://shop:${dbPassword}@postgres/shop"), "services.backend.env.DATABASE_URL", /"dbPassword", which is not set/],
            ["a reference that references nothing", (v) => (v.services.backend.env.X = "a${}b"), "services.backend.env.X", /references nothing/],
            ["an unterminated reference", (v) => (v.services.backend.env.X = "a${databasePassword"), "services.backend.env.X", /without a closing/],
            ["a reference to a structured key", (v) => (v.services.backend.env.X = "${host}"), "services.backend.env.X", /not text/],
            ["a reference to a key that is not a name", (v) => (v.services.backend.env.X = "${two words}"), "services.backend.env.X", /not a config key name/],
            ["a file referencing an unknown key", (v) => (v.services.backend.files = { "/etc/app.conf": "token=${nope}" }), 'services.backend.files["/etc/app.conf"]', /"nope", which is not set/],
            ["a password in a URL that mixes a literal with a plain reference", (v) => (v.services.backend.env.CACHE_URL = "redis://:hunter2-hunter2@redis:6379/${apiHost}"), "services.backend.env.CACHE_URL", /URL with a password in plain text/],
            ["a password in a URL from a plain key", (v) => (v.services.backend.env.DB_URL = "postgres://shop:${apiHost}@postgres/shop"), "services.backend.env.DB_URL", /URL with a password in plain text/],
            ["a secret-looking name with a plain reference", (v) => (v.services.backend.env.API_TOKEN = "${apiHost}"), "services.backend.env.API_TOKEN", /looks like a secret/],
            ["a host entry with a trailing slash", (v) => (v.services.frontend.hosts = ["app-staging.example.com/"]), "services.frontend.hosts[0]", /path prefix/],
            ["a host entry with a .. segment", (v) => (v.services.frontend.hosts = ["app-staging.example.com/a/../b"]), "services.frontend.hosts[0]", /"\.\." segment/],
            ["the same host and path twice", (v) => (v.services.frontend.hosts = ["api-staging.example.com"]), "services.frontend.hosts[0]", /duplicate host name/],
            ["basic-auth users from a key that is not set", (v) => (v.services.frontend.routes = { basicAuth: { usersKey: "opsUsers" } }), "services.frontend.routes.basicAuth.usersKey", /"opsUsers", which is not set/],
            ["basic-auth users in plain text", (v) => ((v.services.frontend.routes = { basicAuth: { usersKey: "opsUsers" } }), (v.opsUsers = "ops:long-enough-password")), "opsUsers", /plain text/],
            ["a basic-auth password that is too short", (v) => ((v.services.frontend.routes = { basicAuth: { usersKey: "adminUsers" } }), (v.adminUsers = "ops:short")), "adminUsers", /shorter than 12/],
            ["an IP allow-list entry that is not an address", (v) => (v.services.frontend.routes = { ipAllowList: ["office"] }), "services.frontend.routes.ipAllowList[0]", /IP address or CIDR/],
            ["a rate limit of zero", (v) => (v.services.frontend.routes = { rateLimit: { average: 0 } }), "services.frontend.routes.rateLimit.average", /at least 1/],
            ["a redirect regex that does not compile", (v) => (v.services.frontend.routes = { redirect: { regex: "(", replacement: "x" } }), "services.frontend.routes.redirect.regex", /not a regular expression/],
            ["stripPrefix without a path prefix", (v) => (v.services.frontend.routes = { stripPrefix: true }), "services.frontend.routes.stripPrefix", /no host entry has a path prefix/],
            ["a healthPath under a private path", (v) => (v.services.backend.routes = { privatePaths: ["/health"] }), "services.backend.healthPath", /private path \/health/],
            ["a private path that is not a path", (v) => (v.services.frontend.routes = { privatePaths: ["metrics"] }), "services.frontend.routes.privatePaths[0]", /not a path prefix/],
            ["an unknown route middleware", (v) => (v.services.frontend.routes = { forwardAuth: {} }), "services.frontend.routes", /unknown key\(s\) "forwardAuth"/],
            ["a user that is not a user", (v) => (v.services.backend.user = "root user"), "services.backend.user", /"name", "uid"/],
            ["a working directory that is not clean", (v) => (v.services.backend.workingDir = "/app/"), "services.backend.workingDir", /clean form/],
            ["an unknown stop signal", (v) => (v.services.backend.stopSignal = "SIGSTOP"), "services.backend.stopSignal", /stopSignal must be one of/],
            ["a stop grace period in milliseconds", (v) => (v.services.backend.stopGracePeriod = "1500ms"), "services.backend.stopGracePeriod", /whole seconds/],
            ["a shm size in KiB", (v) => (v.services.backend.shmSize = "512k"), "services.backend.shmSize", /whole number of MiB/],
            ["a tmpfs path that is not absolute", (v) => (v.services.backend.tmpfs = { tmp: "" }), "services.backend.tmpfs.tmp", /absolute path/],
            ["an unknown ulimit", (v) => (v.services.backend.ulimits = { files: 10 }), "services.backend.ulimits", /unknown key\(s\) "files"/],
            ["a soft ulimit above the hard one", (v) => (v.services.backend.ulimits = { nofile: { soft: 10, hard: 5 } }), "services.backend.ulimits.nofile", /soft must not exceed hard/],
            ["privileged mode (not an option)", (v) => (v.services.backend.privileged = true), "services.backend", /unknown key\(s\) "privileged"/],
            ["the host network (not an option)", (v) => (v.services.backend.networkMode = "host"), "services.backend", /unknown key\(s\) "networkMode"/],
            ["a Redis password without Redis", (v) => delete v.redis, "redisPassword", /redis is not configured/],
            ["a short Redis password", (v) => (v.redisPassword = "short"), "redisPassword", /shorter than 16/],
            ["a Redis password with a space", (v) => (v.redisPassword = "has a space in it 0123"), "redisPassword", /whitespace/],
        ];
        for (const [what, mutate, path, reason] of cases) {
            it(`${what} at ${path}`, () => {
                const v = values();
                mutate(v);
                assertIssue(v, path, reason, SECRETS);
            });
        }

        it("a Redis password in plain text", () => {
            assertIssue(values(), "redisPassword", /plain text/, SECRETS.filter((k) => k !== "redisPassword"));
        });

        it("has at least 25 cases", () => assert.ok(cases.length >= 25));
    });

    describe("value parsers", () => {
        it("splits references, with $${ as a literal", () => {
            assert.deepEqual(parseReferences("a${x}b$${y}").parts, [{ text: "a" }, { key: "x" }, { text: "b${y}" }]);
        });

        it("judges basic-auth secrets without repeating a password", () => {
            assert.equal(basicAuthProblem(ADMIN_USERS), undefined);
            assert.match(basicAuthProblem("alice:correct-horse-battery\nalice:correct-horse-battery")!, /twice/);
            assert.doesNotMatch(basicAuthProblem("alice:short")!, /short$/);
        });
    });
});
