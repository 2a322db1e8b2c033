/**
 * Happy-path resources for the policy tests, in the synth's JSON shape: one environment of the
 * shop app that passes every policy. Each spec changes one field of a fresh copy.
 */
import type { SynthResource } from "../../policies/synth-check";

export const DIGEST = "sha256:" + "a".repeat(64);
const IMAGE_ID = "sha256:" + "b".repeat(64);

const urn = (env: string, type: string, name: string) => `urn:pulumi:${env}::vps-stacks::${type}::${name}`;

function labels(env: string, role: string) {
    return [
        { label: "vps.app", value: "shop" },
        { label: "vps.environment", value: env },
        { label: "vps.role", value: role },
    ];
}

export type Env = "staging" | "production";

/** Options of a data resource as the design wants them in `env`. */
function dataOptions(env: Env) {
    return { protect: env === "production", retainOnDelete: true, dependsOn: [] as string[] };
}

const plainOptions = () => ({ protect: false, retainOnDelete: false, dependsOn: [] as string[] });

function volume(env: Env, role: string): SynthResource {
    const name = `shop-${env}-${role}`;
    return { urn: urn(env, "docker:index/volume:Volume", name), type: "docker:index/volume:Volume", name, parent: null, props: { name, labels: labels(env, role) }, options: dataOptions(env) };
}

function container(env: Env, role: string, extra: Record<string, unknown> = {}): SynthResource {
    const name = `shop-${env}-${role}`;
    return {
        urn: urn(env, "docker:index/container:Container", name),
        type: "docker:index/container:Container",
        name,
        parent: null,
        props: {
            name,
            image: IMAGE_ID,
            healthcheck: { tests: ["CMD", "wget", "-qO-", "http://127.0.0.1:8080/health"], interval: "30s", timeout: "5s", retries: 3, startPeriod: "20s" },
            wait: true,
            waitTimeout: 120,
            restart: "unless-stopped",
            logDriver: "json-file",
            logOpts: { "max-size": "10m", "max-file": "3" },
            memory: 512,
            cpus: "1.0",
            privileged: false,
            capabilities: { adds: [], drops: ["ALL"] },
            securityOpts: ["no-new-privileges:true"],
            envs: ["NODE_ENV=production", "DATABASE_PASSWORD=[secret]", "SESSION_SECRET=[secret]", "AWS_ACCESS_KEY_ID=AKIAEXAMPLE"],
            labels: labels(env, role),
            ...extra,
        },
        options: plainOptions(),
    };
}

const BUCKET = (env: Env) => `shop-${env}-backups`;

/** The point-in-time-recovery jobs' unit kinds (components/naming.ts PITR_JOB_KINDS). */
const PITR_KINDS = ["pitr-full", "pitr-diff", "pitr-lag-check", "pitr-marker", "pitr-restore-check"];

function bucketPart(env: Env, type: string, suffix: string, props: Record<string, unknown>): SynthResource {
    const name = `shop-${env}-backups-${suffix}`;
    return { urn: urn(env, type, name), type, name, parent: null, props: { bucket: BUCKET(env), ...props }, options: plainOptions() };
}

/** A service of issue 11: a Service with two replicas (its containers), its own volume and a release command. */
function apiService(env: Env): SynthResource[] {
    const svcName = `shop-${env}-api`;
    const svcUrn = urn(env, "vps:index:Service", svcName);
    const replica = (name: string): SynthResource => ({ ...container(env, "api"), name, urn: urn(env, "docker:index/container:Container", name), parent: svcUrn });
    return [
        { urn: svcUrn, type: "vps:index:Service", name: svcName, parent: null, props: { role: "api", image: "ghcr.io/acme/shop-api:1.4.2", replicas: 2, volumes: [`shop-${env}-api-uploads`] }, options: plainOptions() },
        replica(`shop-${env}-api-container`),
        replica(`shop-${env}-api-container-2`),
        volume(env, "api-uploads"),
        {
            urn: urn(env, "vps:index:ReleaseCommand", `shop-${env}-api-release`),
            type: "vps:index:ReleaseCommand",
            name: `shop-${env}-api-release`,
            parent: svcUrn,
            props: {
                environment: env,
                service: "api",
                command: ["node", "migrate.js"],
                container: {
                    memory: 512, memorySwap: 512, cpus: "0.5", privileged: false,
                    capabilities: { drops: ["ALL"], adds: [] }, securityOpts: ["no-new-privileges:true"],
                    logDriver: "json-file", logOpts: { "max-size": "10m", "max-file": "3" }, readOnly: false,
                    volumes: [{ volumeName: `shop-${env}-api-uploads`, containerPath: "/uploads", readOnly: false }],
                    networks: [`shop-${env}-edge`, `shop-${env}-internal`], labels: labels(env, "api-release"),
                },
            },
            options: plainOptions(),
        },
    ];
}

/** A whole environment that passes every policy. */
export function happyStack(env: Env = "production"): SynthResource[] {
    const bucket = BUCKET(env);
    return [
        ...apiService(env),
        volume(env, "postgres-data"),
        volume(env, "redis-data"),
        volume(env, "acme"),
        {
            urn: urn(env, "docker:index/remoteImage:RemoteImage", `shop-${env}-backend-image`),
            type: "docker:index/remoteImage:RemoteImage",
            name: `shop-${env}-backend-image`,
            parent: null,
            props: { name: `ghcr.io/acme/shop-api:1.4.2@${DIGEST}`, keepLocally: true },
            options: plainOptions(),
        },
        container(env, "backend"),
        // PostgreSQL archiving WAL with pgBackRest (point-in-time recovery), with its jobs and volumes.
        container(env, "postgres", {
            envs: ["POSTGRES_USER=shop", "POSTGRES_PASSWORD=[secret]", `PGBACKREST_STANZA=shop-${env}`, "PGBACKREST_REPO1_CIPHER_PASS=[secret]"],
            command: ["postgres", "-c", "archive_mode=on", "-c", "archive_command=pgbackrest archive-push %p"],
            volumes: [
                { volumeName: `shop-${env}-postgres-data`, containerPath: "/var/lib/postgresql/data", readOnly: false },
                { volumeName: `shop-${env}-pgbackrest`, containerPath: "/var/lib/pgbackrest", readOnly: false },
            ],
            memory: 1024,
        }),
        volume(env, "pgbackrest"),
        {
            urn: urn(env, "vps:index:PointInTimeRecovery", `shop-${env}-pitr`),
            type: "vps:index:PointInTimeRecovery",
            name: `shop-${env}-pitr`,
            parent: null,
            props: { environment: env, container: `shop-${env}-postgres`, volumes: [`shop-${env}-postgres-data`, `shop-${env}-pgbackrest`], units: PITR_KINDS.map((k) => `shop-${env}-${k}`) },
            options: plainOptions(),
        },
        ...PITR_KINDS.map((k) => ({
            urn: urn(env, "vps:index:ScheduledJob", `shop-${env}-${k}`),
            type: "vps:index:ScheduledJob",
            name: `shop-${env}-${k}`,
            parent: null,
            props: { unitName: `shop-${env}-${k}`, onCalendar: "*-*-* *:*:00", timerName: `shop-${env}-${k}.timer` },
            options: plainOptions(),
        })),
        container(env, "reverse-proxy", {
            envs: [],
            ports: [
                { internal: 80, external: 80, ip: "203.0.113.10", protocol: "tcp" },
                { internal: 443, external: 443, ip: "203.0.113.10", protocol: "tcp" },
            ],
            volumes: [
                { hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: true },
                { volumeName: `shop-${env}-acme`, containerPath: "/acme", readOnly: false },
            ],
            capabilities: { adds: ["NET_BIND_SERVICE"], drops: ["ALL"] },
        }),
        { urn: urn(env, "aws:s3/bucket:Bucket", bucket), type: "aws:s3/bucket:Bucket", name: bucket, parent: null, props: { bucket, forceDestroy: false }, options: dataOptions(env) },
        bucketPart(env, "aws:s3/bucketVersioning:BucketVersioning", "versioning", { versioningConfiguration: { status: "Enabled" } }),
        bucketPart(env, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "sse", {
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
        }),
        bucketPart(env, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "public-access", {
            blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
        }),
        bucketPart(env, "aws:s3/bucketPolicy:BucketPolicy", "tls-only", {
            policy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{
                    Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*",
                    Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
                    Condition: { Bool: { "aws:SecureTransport": "false" } },
                }],
            }),
        }),
        bucketPart(env, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "lifecycle", {
            rules: [{ id: "expire-old-backups", status: "Enabled", expiration: { days: 30 }, noncurrentVersionExpiration: { noncurrentDays: 30 } }],
        }),
        {
            urn: urn(env, "cloudflare:index/dnsRecord:DnsRecord", `shop-${env}-www`),
            type: "cloudflare:index/dnsRecord:DnsRecord",
            name: `shop-${env}-www`,
            parent: null,
            props: { name: env === "production" ? "shop.example.com" : "staging.shop.example.com", type: "A", content: "203.0.113.10", proxied: true, ttl: 1, zoneId: "zone" },
            options: plainOptions(),
        },
        { urn: urn(env, "vps:index:BackupJob", `shop-${env}-backup`), type: "vps:index:BackupJob", name: `shop-${env}-backup`, parent: null, props: { environment: env, volumes: [`shop-${env}-postgres-data`, `shop-${env}-redis-data`, `shop-${env}-api-uploads`] }, options: plainOptions() },
        { urn: urn(env, "vps:index:HealthCheckJob", `shop-${env}-health`), type: "vps:index:HealthCheckJob", name: `shop-${env}-health`, parent: null, props: { environment: env }, options: plainOptions() },
    ];
}

/** The resource of `stack` with this logical name (throws so a typo cannot make a test vacuous). */
export function find(stack: SynthResource[], name: string): SynthResource {
    const r = stack.find((x) => x.name === name);
    if (!r) throw new Error(`fixture has no resource named ${name}`);
    return r;
}

/** Sets `path` (dotted; `undefined` deletes) on a copy of the resource named `name` in a fresh happy stack. */
export function changed(env: Env, name: string, path: string, value: unknown): SynthResource[] {
    const stack = happyStack(env);
    const r = find(stack, name) as unknown as Record<string, unknown>;
    const keys = path.split(".");
    let target = r;
    for (const k of keys.slice(0, -1)) target = target[k] as Record<string, unknown>;
    const last = keys[keys.length - 1];
    if (value === undefined) delete target[last];
    else target[last] = value;
    return stack;
}

/** A fresh happy stack without the resource named `name`. */
export function without(env: Env, name: string): SynthResource[] {
    const stack = happyStack(env);
    find(stack, name);
    return stack.filter((r) => r.name !== name);
}
