import * as assert from "assert";
import { checkPackConfigNames, resolvePolicyConfig } from "../policies/adapters";
import { allPolicies } from "../policies/pack";
import { formatViolations, runPolicyPack, SynthResource } from "../policies/synth-check";
import { changed, DIGEST, Env, find, happyStack, without } from "./policies/fixtures";
import { policy, previewUnknownString, previewViolations, synthViolations } from "./policies/harness";

interface FailingCase {
    policy: string;
    title: string;
    stack: () => SynthResource[];
    /** Substring of the expected message. */
    message: string;
    /** Logical name of the resource the violation names; omitted for stack-wide violations. */
    resource?: string;
    /** Whether `pulumi preview` can see it too (false for synth-only data such as retainOnDelete). */
    preview?: boolean;
    config?: Record<string, unknown>;
}

const P = "production";
const S = "staging";
const backend = (env: Env) => `shop-${env}-backend`;
const proxy = (env: Env) => `shop-${env}-reverse-proxy`;
const pgVolume = (env: Env) => `shop-${env}-postgres-data`;
const bucket = (env: Env) => `shop-${env}-backups`;
const image = (env: Env) => `shop-${env}-backend-image`;

const failing: FailingCase[] = [
    // Storage and data safety
    { policy: "volume-explicit-name", title: "a volume without a name", stack: () => changed(S, pgVolume(S), "props.name", undefined), message: "has no explicit name", resource: pgVolume(S) },
    { policy: "volume-explicit-name", title: "a volume name outside the pattern", stack: () => changed(S, pgVolume(S), "props.name", "Shop Data"), message: "does not match", resource: pgVolume(S) },
    { policy: "production-data-protected", title: "an unprotected production data volume", stack: () => changed(P, pgVolume(P), "options.protect", false), message: "Production data volume", resource: pgVolume(P) },
    { policy: "production-data-protected", title: "an unprotected production backup bucket", stack: () => changed(P, bucket(P), "options.protect", false), message: "Production backup bucket", resource: bucket(P) },
    { policy: "data-retained-on-delete", title: "a staging data volume not retained on delete", stack: () => changed(S, pgVolume(S), "options.retainOnDelete", false), message: "retainOnDelete: true", resource: pgVolume(S), preview: false },
    { policy: "data-retained-on-delete", title: "a backup bucket not retained on delete", stack: () => changed(P, bucket(P), "options.retainOnDelete", undefined), message: "Backup bucket is not retained", resource: bucket(P), preview: false },
    { policy: "bucket-no-force-destroy", title: "a bucket with forceDestroy", stack: () => changed(S, bucket(S), "props.forceDestroy", true), message: "forceDestroy", resource: bucket(S) },
    { policy: "backup-bucket-versioning", title: "suspended versioning", stack: () => changed(S, `${bucket(S)}-versioning`, "props.versioningConfiguration.status", "Suspended"), message: "no versioning", resource: bucket(S) },
    { policy: "backup-bucket-versioning", title: "versioning configured for another bucket", stack: () => changed(S, `${bucket(S)}-versioning`, "props.bucket", "other-bucket"), message: "no versioning", resource: bucket(S) },
    { policy: "backup-bucket-encryption", title: "no encryption configuration", stack: () => without(S, `${bucket(S)}-sse`), message: "no server-side encryption", resource: bucket(S) },
    { policy: "backup-bucket-encryption", title: "an algorithm outside the allow-list", stack: () => changed(S, `${bucket(S)}-sse`, "props.rules", [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } }]), config: { "backup-bucket-encryption": { allowedAlgorithms: ["AES256"] } }, message: "AES256", resource: bucket(S) },
    { policy: "backup-bucket-public-access-blocked", title: "one public access block off", stack: () => changed(S, `${bucket(S)}-public-access`, "props.restrictPublicBuckets", false), message: "leaves restrictPublicBuckets off", resource: bucket(S) },
    { policy: "backup-bucket-public-access-blocked", title: "no public access block", stack: () => without(S, `${bucket(S)}-public-access`), message: "no public access block", resource: bucket(S) },
    { policy: "backup-bucket-tls-only", title: "a policy that does not deny insecure transport", stack: () => changed(S, `${bucket(S)}-tls-only`, "props.policy", JSON.stringify({ Statement: [{ Effect: "Deny", Principal: "*", Action: "s3:*", Condition: { Bool: { "aws:SecureTransport": "true" } } }] })), message: "without TLS", resource: bucket(S) },
    { policy: "backup-bucket-tls-only", title: "no bucket policy", stack: () => without(S, `${bucket(S)}-tls-only`), message: "without TLS", resource: bucket(S) },
    { policy: "backup-bucket-lifecycle", title: "a disabled lifecycle rule", stack: () => changed(S, `${bucket(S)}-lifecycle`, "props.rules", [{ id: "x", status: "Disabled", expiration: { days: 30 } }]), message: "no enabled lifecycle rule", resource: bucket(S) },
    { policy: "backup-bucket-lifecycle", title: "an expiration below the minimum retention", stack: () => changed(S, `${bucket(S)}-lifecycle`, "props.rules", [{ id: "short", status: "Enabled", expiration: { days: 1 }, noncurrentVersionExpiration: { noncurrentDays: 30 } }]), message: "sooner than 7 days in short (1 days)", resource: bucket(S) },
    { policy: "backup-bucket-lifecycle", title: "no noncurrent version expiration", stack: () => changed(S, `${bucket(S)}-lifecycle`, "props.rules", [{ id: "x", status: "Enabled", expiration: { days: 30 } }]), message: "never expires noncurrent versions", resource: bucket(S) },
    { policy: "data-volumes-backed-up", title: "a Redis volume left out of the backup job", stack: () => changed(S, `shop-${S}-backup`, "props.volumes", [pgVolume(S)]), message: "'shop-staging-redis-data' (redis-data) is not covered", resource: `shop-${S}-redis-data` },
    { policy: "data-volumes-backed-up", title: "a backup job of another environment", stack: () => changed(S, `shop-${S}-backup`, "props.environment", "production"), message: "of environment 'staging'", resource: pgVolume(S) },
    // Containers
    { policy: "image-pinned", title: "a latest tag", stack: () => changed(S, image(S), "props.name", "ghcr.io/acme/shop-api:latest"), message: "moving tag 'latest'", resource: image(S) },
    { policy: "image-pinned", title: "a missing tag behind a registry port", stack: () => changed(S, image(S), "props.name", "registry.local:5000/acme/shop-api"), message: "has no tag", resource: image(S) },
    { policy: "image-pinned", title: "a malformed digest", stack: () => changed(S, image(S), "props.name", "ghcr.io/acme/shop-api@sha256:abc"), message: "malformed digest", resource: image(S) },
    { policy: "image-pinned", title: "a container image reference without a tag", stack: () => changed(S, backend(S), "props.image", "nginx"), message: "'nginx' has no tag", resource: backend(S) },
    { policy: "image-digest-production", title: "a production image pinned by tag only", stack: () => changed(P, image(P), "props.name", "ghcr.io/acme/shop-api:1.4.2"), message: "not pinned by digest", resource: image(P) },
    { policy: "image-digest-non-production", title: "a staging image pinned by tag only", stack: () => changed(S, image(S), "props.name", "ghcr.io/acme/shop-api:sha-1a2b3c4"), message: "not pinned by digest", resource: image(S) },
    { policy: "container-healthcheck", title: "no healthcheck", stack: () => changed(S, backend(S), "props.healthcheck", undefined), message: "has no healthcheck", resource: backend(S) },
    { policy: "container-healthcheck", title: "a NONE healthcheck", stack: () => changed(S, backend(S), "props.healthcheck.tests", ["NONE"]), message: "has no healthcheck", resource: backend(S) },
    { policy: "container-healthcheck", title: "an interval above the threshold", stack: () => changed(S, backend(S), "props.healthcheck.interval", "10m"), message: "interval 10m exceeds 300s", resource: backend(S) },
    { policy: "container-wait", title: "wait off", stack: () => changed(S, backend(S), "props.wait", false), message: "wait: true", resource: backend(S) },
    { policy: "container-wait", title: "a wait timeout below the minimum", stack: () => changed(S, backend(S), "props.waitTimeout", 3), message: "waitTimeout` 3s", resource: backend(S) },
    { policy: "container-restart-policy", title: "no restart policy", stack: () => changed(S, backend(S), "props.restart", undefined), message: "restart policy is 'no'", resource: backend(S) },
    { policy: "container-log-rotation", title: "json-file without max-size", stack: () => changed(S, backend(S), "props.logOpts", {}), message: "without rotation", resource: backend(S) },
    { policy: "container-log-rotation", title: "a driver outside the allow-list", stack: () => changed(S, backend(S), "props.logDriver", "syslog"), message: "'syslog' is not allowed", resource: backend(S) },
    { policy: "container-log-rotation", title: "no log driver", stack: () => changed(S, backend(S), "props.logDriver", undefined), message: "sets no `logDriver`", resource: backend(S) },
    { policy: "container-log-rotation", title: "a max-size above the threshold", stack: () => changed(S, backend(S), "props.logOpts.max-size", "1g"), message: "exceeds 100 MB", resource: backend(S) },
    { policy: "container-memory-limit", title: "no memory limit", stack: () => changed(S, backend(S), "props.memory", undefined), message: "has no memory limit", resource: backend(S) },
    { policy: "container-memory-limit", title: "a limit above the configured maximum", stack: () => happyStack(S), config: { "container-memory-limit": { maxMemoryMb: 768 } }, message: "1024 MB exceeds 768 MB", resource: `shop-${S}-postgres` },
    { policy: "container-not-privileged", title: "a privileged container", stack: () => changed(S, backend(S), "props.privileged", true), message: "runs privileged", resource: backend(S) },
    { policy: "container-no-host-network", title: "host networking", stack: () => changed(S, backend(S), "props.networkMode", "host"), message: "networkMode", resource: backend(S) },
    { policy: "container-host-ports-proxy-only", title: "a published database port", stack: () => changed(S, `shop-${S}-postgres`, "props.ports", [{ internal: 5432, external: 5432 }]), message: "publishes host ports 5432->5432", resource: `shop-${S}-postgres` },
    { policy: "container-host-ports-proxy-only", title: "the proxy publishing a port off the allow-list", stack: () => changed(S, proxy(S), "props.ports", [{ internal: 8080, external: 8080, ip: "203.0.113.10" }]), message: "host port 8080", resource: proxy(S) },
    { policy: "container-host-ports-proxy-only", title: "the proxy binding every address", stack: () => changed(S, proxy(S), "props.ports", [{ internal: 443, external: 443 }]), message: "binds every address", resource: proxy(S) },
    { policy: "container-docker-socket", title: "an application container mounting the socket", stack: () => changed(S, backend(S), "props.volumes", [{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: true }]), message: "mounts the Docker socket", resource: backend(S) },
    { policy: "container-docker-socket", title: "a socket bind mount through `mounts`", stack: () => changed(S, backend(S), "props.mounts", [{ type: "bind", source: "/run/docker.sock", target: "/docker.sock" }]), message: "mounts the Docker socket", resource: backend(S) },
    { policy: "container-docker-socket", title: "the proxy mounting the socket writable", stack: () => changed(S, proxy(S), "props.volumes.0.readOnly", false), message: "readOnly: true", resource: proxy(S) },
    { policy: "container-host-paths", title: "an application container mounting the host's root read-only", stack: () => changed(S, backend(S), "props.volumes", [{ hostPath: "/", containerPath: "/host", readOnly: true }]), message: "role 'backend') mounts the host path /", resource: backend(S) },
    { policy: "container-host-paths", title: "a bind mount of /etc through `mounts`", stack: () => changed(S, backend(S), "props.mounts", [{ type: "bind", source: "/etc/", target: "/etc-host", readOnly: true }]), message: "mounts the host path /etc", resource: backend(S) },
    {
        policy: "container-host-paths", title: "node-exporter mounting /proc writable",
        stack: () => changed(S, backend(S), "props.labels", [{ label: "vps.role", value: "node-exporter" }, { label: "vps.environment", value: S }]).map((r) => (r.name === backend(S) ? { ...r, props: { ...r.props, volumes: [{ hostPath: "/proc", containerPath: "/host/proc", readOnly: false }] } } : r)),
        message: "mounts the host path /proc writable", resource: backend(S),
    },
    { policy: "container-no-host-pid", title: "a container in the host's process namespace", stack: () => changed(S, backend(S), "props.pidMode", "host"), message: "pidMode", resource: backend(S) },
    { policy: "container-capabilities", title: "an added SYS_ADMIN capability", stack: () => changed(S, backend(S), "props.capabilities.adds", ["CAP_SYS_ADMIN"]), message: "CAP_SYS_ADMIN", resource: backend(S) },
    // Services (issue 11)
    { policy: "service-replicas-healthy", title: "a replica without a healthcheck", stack: () => changed(S, `shop-${S}-api-container-2`, "props.healthcheck", undefined), message: "Replica 'shop-staging-api-container-2' of service 'shop-staging-api' has no healthcheck", resource: `shop-${S}-api-container-2` },
    { policy: "service-replicas-healthy", title: "a replica not waited for", stack: () => changed(S, `shop-${S}-api-container-2`, "props.wait", false), message: "is not created with `wait: true`", resource: `shop-${S}-api-container-2` },
    { policy: "service-replicas-healthy", title: "a replica missing", stack: () => without(S, `shop-${S}-api-container-2`), message: "declares 2 replica(s) but has 1 container(s)", resource: `shop-${S}-api` },
    { policy: "release-container-hardened", title: "a privileged release container", stack: () => changed(S, `shop-${S}-api-release`, "props.container.privileged", true), message: "Release container: Container runs privileged", resource: `shop-${S}-api-release` },
    { policy: "release-container-hardened", title: "a release container without a memory limit", stack: () => changed(S, `shop-${S}-api-release`, "props.container.memory", undefined), message: "has no memory limit", resource: `shop-${S}-api-release` },
    { policy: "release-container-hardened", title: "a release container on the host network", stack: () => changed(S, `shop-${S}-api-release`, "props.container.networks", ["host"]), message: "networkMode", resource: `shop-${S}-api-release` },
    { policy: "release-container-hardened", title: "a release container keeping its privileges", stack: () => changed(S, `shop-${S}-api-release`, "props.container.securityOpts", []), message: "lacks `no-new-privileges:true`", resource: `shop-${S}-api-release` },
    { policy: "service-volumes-backed-up", title: "a service volume left out of the backup job", stack: () => changed(S, `shop-${S}-backup`, "props.volumes", [pgVolume(S), `shop-${S}-redis-data`]), message: "Volume 'shop-staging-api-uploads' of service 'shop-staging-api' is not covered", resource: `shop-${S}-api` },
    { policy: "data-retained-on-delete", title: "a service volume not retained on delete", stack: () => changed(S, `shop-${S}-api-uploads`, "options.retainOnDelete", false), message: "retainOnDelete: true", resource: `shop-${S}-api-uploads`, preview: false },
    { policy: "production-data-protected", title: "an unprotected production service volume", stack: () => changed(P, `shop-${P}-api-uploads`, "options.protect", false), message: "Production data volume", resource: `shop-${P}-api-uploads` },
    // Secrets
    { policy: "no-plain-secret-env", title: "a plain password (synth)", stack: () => changed(S, backend(S), "props.envs", ["DATABASE_PASSWORD=hunter2-but-long-enough"]), message: "DATABASE_PASSWORD looks like a secret but holds a plain (non-secret) value", resource: backend(S), preview: false },
    { policy: "no-plain-secret-env", title: "a placeholder token", stack: () => changed(S, backend(S), "props.envs", ["API_TOKEN=changeme"]), message: "API_TOKEN looks like a secret but holds the placeholder 'changeme'", resource: backend(S) },
    { policy: "no-plain-secret-env", title: "an empty key", stack: () => changed(S, backend(S), "props.envs", ["STRIPE_KEY="]), message: "an empty value", resource: backend(S) },
    // DNS and jobs
    { policy: "production-dns-proxied", title: "an unproxied production A record", stack: () => changed(P, `shop-${P}-www`, "props.proxied", false), message: "'shop.example.com' is not proxied", resource: `shop-${P}-www` },
    { policy: "health-check-job-per-environment", title: "no health-check job", stack: () => without(S, `shop-${S}-health`), message: "'staging' has no health-check job" },
    {
        policy: "health-check-job-per-environment", title: "two health-check jobs",
        stack: () => { const s = happyStack(S); const h = find(s, `shop-${S}-health`); return [...s, { ...h, urn: h.urn + "-2", name: h.name + "-2" }]; },
        message: "has 2 health-check jobs",
        resource: `shop-${S}-health-2`,
    },
    // Point-in-time recovery
    { policy: "pitr-jobs-present", title: "archiving without the weekly PITR restore check", stack: () => without(S, `shop-${S}-pitr-restore-check`), message: "lacks the point-in-time-recovery job(s) shop-staging-pitr-restore-check", resource: `shop-${S}-postgres` },
    { policy: "pitr-jobs-present", title: "archiving with none of the PITR jobs", stack: () => happyStack(P).filter((r) => !r.name.startsWith(`shop-${P}-pitr`)), message: "shop-production-pitr-full, shop-production-pitr-diff, shop-production-pitr-lag-check, shop-production-pitr-marker, shop-production-pitr-restore-check", resource: `shop-${P}-postgres` },
    { policy: "pitr-volumes-retained", title: "pgBackRest's spool volume not retained", stack: () => changed(S, `shop-${S}-pgbackrest`, "options.retainOnDelete", false), message: "Volume 'shop-staging-pgbackrest' holds point-in-time-recovery data", resource: `shop-${S}-pgbackrest`, preview: false },
    { policy: "pitr-volumes-retained", title: "a kept data volume that is not in the stack", stack: () => changed(P, `shop-${P}-pitr`, "props.volumes", [`shop-${P}-postgres-data`, `shop-${P}-postgres-data-20261201t140500`]), message: "depends on volume 'shop-production-postgres-data-20261201t140500', which is not a volume of this stack", resource: `shop-${P}-pitr`, preview: false },
];

describe("policy pack", () => {
    describe("passes the happy-path environment", () => {
        for (const env of [S, P] as Env[]) {
            for (const r of allPolicies) {
                it(`${r.name} finds nothing in a correct ${env} stack (synth)`, () => {
                    assert.deepStrictEqual(synthViolations(happyStack(env), r.name), []);
                });
                if (r.synthOnly) continue;
                it(`${r.name} finds nothing in a correct ${env} stack (pulumi preview)`, async () => {
                    assert.deepStrictEqual(await previewViolations(happyStack(env), r.name), []);
                });
            }
        }
    });

    describe("reports each violation", () => {
        for (const c of failing) {
            const check = (found: { message: string; urn?: string }[], stack: SynthResource[]) => {
                const wantUrn = c.resource ? find(stack, c.resource).urn : undefined;
                const hit = found.find((v) => v.message.includes(c.message) && v.urn === wantUrn);
                assert.ok(hit, `expected '${c.message}' on ${wantUrn ?? "the stack"}, got ${JSON.stringify(found, null, 1)}`);
            };
            it(`${c.policy} rejects ${c.title} (synth)`, () => {
                const stack = c.stack();
                const found = synthViolations(stack, c.policy, c.config);
                check(found, stack);
                assert.ok(found.every((v) => v.enforcementLevel === policy(c.policy).enforcementLevel && v.policyName === c.policy));
            });
            if (c.preview === false || policy(c.policy).synthOnly) continue;
            it(`${c.policy} rejects ${c.title} (pulumi preview)`, async () => {
                const stack = c.stack();
                check(await previewViolations(stack, c.policy, (c.config?.[c.policy] ?? {}) as Record<string, unknown>), stack);
            });
        }
    });

    it("every policy has a failing case above", () => {
        const covered = new Set(failing.map((c) => c.policy));
        assert.deepStrictEqual(allPolicies.map((r) => r.name).filter((n) => !covered.has(n)), []);
    });

    describe("production is known from labels", () => {
        it("a staging stack needs no protect, a production one does", () => {
            const unprotected = (env: Env) => changed(env, pgVolume(env), "options.protect", false);
            assert.strictEqual(synthViolations(unprotected(S), "production-data-protected").length, 0);
            assert.strictEqual(synthViolations(unprotected(P), "production-data-protected").length, 1);
        });

        it("the label wins over a stack name that says production", () => {
            assert.strictEqual(synthViolations(happyStack(S), "production-dns-proxied", {}, "production").length, 0);
            const unproxied = changed(S, `shop-${S}-www`, "props.proxied", false);
            assert.strictEqual(synthViolations(unproxied, "production-dns-proxied", {}, "production").length, 0);
        });

        it("the stack name decides when no resource carries a label", () => {
            const bare = changed(P, `shop-${P}-www`, "props.proxied", false).filter((r) => r.type.startsWith("cloudflare:"));
            assert.strictEqual(synthViolations(bare, "production-dns-proxied", {}, "production").length, 1);
            assert.strictEqual(synthViolations(bare, "production-dns-proxied", {}, "staging").length, 0);
        });

        it("productionEnvironments config widens what counts as production", () => {
            // The happy staging stack protects nothing: as "production" its 5 volumes (pgBackRest's spool among them) and its bucket are reported.
            const config = { "production-data-protected": { productionEnvironments: ["production", "staging"] } };
            assert.strictEqual(synthViolations(happyStack(S), "production-data-protected", config).length, 6);
        });
    });

    describe("messages name the stack config key that fixes them", () => {
        const cases: [string, string, () => SynthResource[], RegExp][] = [
            ["restart", "container-restart-policy", () => changed(S, backend(S), "props.restart", "no"), /`services\.backend\.restart`/],
            ["a database's memory", "container-memory-limit", () => happyStack(S), /`postgres\.memory`/],
            ["log rotation", "container-log-rotation", () => changed(S, backend(S), "props.logOpts.max-size", "1g"), /`services\.backend\.logs\.maxSize`/],
            ["capabilities", "container-capabilities", () => changed(S, backend(S), "props.capabilities.adds", ["SYS_ADMIN"]), /`services\.backend\.capAdd`/],
            ["a moving image tag", "image-pinned", () => changed(S, backend(S), "props.image", "ghcr.io/acme/api:latest"), /pin `services\.backend\.image`/],
            ["a plain secret", "no-plain-secret-env", () => changed(S, backend(S), "props.envs", ["API_TOKEN=changeme"]), /`services\.backend\.secretEnv`/],
            ["unprotected production data", "production-data-protected", () => changed(P, pgVolume(P), "options.protect", false), /`protectData: true`/],
            ["an unproxied production record", "production-dns-proxied", () => changed(P, `shop-${P}-www`, "props.proxied", false), /`dns\.proxied: true`/],
        ];
        for (const [what, policy, stack, key] of cases) {
            it(`${what} (${policy})`, () => {
                const config = policy === "container-memory-limit" ? { "container-memory-limit": { maxMemoryMb: 768 } } : {};
                const messages = synthViolations(stack(), policy, config).map((v) => v.message);
                assert.ok(messages.some((m) => key.test(m)), messages.join("\n"));
            });
        }
    });

    describe("secrets", () => {
        it("accepts names that only point at secrets (_FILE, _ID) and values redacted by the synth", () => {
            const stack = changed(S, backend(S), "props.envs", ["DB_PASSWORD_FILE=/run/secrets/db", "AWS_ACCESS_KEY_ID=AKIAEXAMPLE", "JWT_SECRET=[secret]"]);
            assert.deepStrictEqual(synthViolations(stack, "no-plain-secret-env"), []);
        });

        it("under pulumi preview, where secrets arrive decrypted, accepts a long value but rejects a short one", async () => {
            const long = changed(S, backend(S), "props.envs", ["DATABASE_PASSWORD=Zr8q-3mVx-91Lk-pQ2w"]);
            assert.deepStrictEqual(await previewViolations(long, "no-plain-secret-env"), []);
            const short = changed(S, backend(S), "props.envs", ["DATABASE_PASSWORD=hunter2"]);
            const found = await previewViolations(short, "no-plain-secret-env");
            assert.match(found[0]?.message ?? "", /shorter than 12 characters/);
        });

        it("checks the environment of remote commands too", () => {
            const stack = happyStack(S);
            stack.push({ urn: "urn:cmd", type: "command:remote:Command", name: "install", parent: null, props: { create: "x", environment: { RCLONE_S3_SECRET_ACCESS_KEY: "plain" } }, options: {} });
            assert.match(synthViolations(stack, "no-plain-secret-env")[0]?.message ?? "", /RCLONE_S3_SECRET_ACCESS_KEY/);
        });
    });

    describe("values unknown during preview are not judged", () => {
        it("an unknown volume name or port list yields no violation and no error", async () => {
            const stack = changed(S, pgVolume(S), "props.name", previewUnknownString);
            assert.deepStrictEqual(await previewViolations(stack, "volume-explicit-name"), []);
            const ports = changed(S, backend(S), "props.ports", previewUnknownString);
            assert.deepStrictEqual(await previewViolations(ports, "container-host-ports-proxy-only"), []);
        });

        it("a bucket sub-resource whose bucket is unknown counts for the bucket under the same parent", async () => {
            const stack = happyStack(S).map((r) => (r.type.startsWith("aws:") ? { ...r, parent: "urn:component" } : r));
            const sse = find(stack, `${bucket(S)}-sse`);
            sse.props = { ...sse.props, bucket: previewUnknownString };
            assert.deepStrictEqual(await previewViolations(stack, "backup-bucket-encryption"), []);
        });
    });

    describe("jobs whose props do not repeat their environment (registered outputs under preview)", () => {
        it("a backup job without environment still covers the volumes it lists, and only those", async () => {
            const stack = changed(S, `shop-${S}-backup`, "props.environment", undefined);
            assert.deepStrictEqual(await previewViolations(stack, "data-volumes-backed-up"), []);
            const partial = changed(S, `shop-${S}-backup`, "props", { volumes: [pgVolume(S)] });
            assert.deepStrictEqual((await previewViolations(partial, "data-volumes-backed-up")).map((v) => v.urn), [find(partial, `shop-${S}-redis-data`).urn]);
        });

        it("a health-check job without environment counts for the stack's only environment", async () => {
            const stack = changed(S, `shop-${S}-health`, "props", {});
            assert.deepStrictEqual(await previewViolations(stack, "health-check-job-per-environment"), []);
        });
    });

    describe("config", () => {
        it("an enforcement level in the pack config overrides the default, 'all' applies to every policy", () => {
            const stack = changed(S, backend(S), "props.privileged", true);
            assert.strictEqual(synthViolations(stack, "container-not-privileged", { "container-not-privileged": "advisory" })[0].enforcementLevel, "advisory");
            assert.strictEqual(synthViolations(stack, "container-not-privileged", { all: { enforcementLevel: "advisory" } })[0].enforcementLevel, "advisory");
            assert.deepStrictEqual(synthViolations(stack, "container-not-privileged", { "container-not-privileged": { enforcementLevel: "disabled" } }), []);
        });

        it("an allow-list in the config lets a role through", () => {
            const stack = changed(S, backend(S), "props.privileged", true);
            assert.deepStrictEqual(synthViolations(stack, "container-not-privileged", { "container-not-privileged": { allowedRoles: ["backend"] } }), []);
        });

        it("rejects unknown policies, unknown keys and mistyped values, naming them", () => {
            assert.throws(() => checkPackConfigNames(allPolicies, { "container-memroy-limit": {} }), /container-memroy-limit/);
            assert.throws(() => resolvePolicyConfig(policy("container-memory-limit"), { "container-memory-limit": { maxMemory: 1 } }), /unknown key 'maxMemory'/);
            assert.throws(() => resolvePolicyConfig(policy("container-memory-limit"), { "container-memory-limit": { maxMemoryMb: "1g" } }), /maxMemoryMb/);
            assert.throws(() => resolvePolicyConfig(policy("container-memory-limit"), { "container-memory-limit": "warn" }), /Invalid enforcement level/);
        });

        it("every configSchema property has the policy's default and every default is in the schema", () => {
            for (const r of allPolicies) {
                assert.deepStrictEqual(Object.keys(r.configSchema.properties).sort(), Object.keys(r.defaults).sort(), r.name);
                for (const [k, schema] of Object.entries(r.configSchema.properties)) {
                    assert.deepStrictEqual(schema.default, (r.defaults as Record<string, unknown>)[k], `${r.name}.${k}`);
                    assert.ok(schema.description, `${r.name}.${k} has a description`);
                }
                assert.ok(Object.keys(r.configSchema.properties).length > 0, `${r.name} has something to tune`);
            }
        });
    });

    describe("runPolicyPack and formatViolations", () => {
        it("counts mandatory violations and prints policy, level, URN and fix", () => {
            const stack = changed(S, image(S), "props.name", "ghcr.io/acme/shop-api:latest");
            const result = runPolicyPack(stack);
            assert.strictEqual(result.mandatoryCount, 1);
            const text = formatViolations(result.violations);
            assert.match(text, /\[mandatory\] image-pinned\n {4}resource: urn:pulumi:staging::vps-stacks::docker:index\/remoteImage:RemoteImage::shop-staging-backend-image\n {4}Image 'ghcr.io\/acme\/shop-api:latest' uses the moving tag 'latest': pin it/);
            assert.match(text, /1 mandatory, \d+ advisory/);
        });

        it("a production image pinned by digest and a staging one pinned by digest give a clean run", () => {
            for (const env of [S, P] as Env[]) {
                assert.deepStrictEqual(runPolicyPack(happyStack(env)), { violations: [], mandatoryCount: 0 });
            }
            assert.ok(DIGEST.startsWith("sha256:"));
        });
    });
});
