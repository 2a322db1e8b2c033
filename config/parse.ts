/**
 * The stack configuration: one zod schema for every `vps-stacks:*` key of
 * `Pulumi.<stack>.yaml`, and one parser that turns the raw values into a typed
 * {@link EnvironmentConfig} with defaults, or throws one {@link ConfigError} that lists
 * every problem with its key path.
 *
 * Key paths are written as `pulumi config set --path` takes them
 * (`services.backend.port`), so a message says exactly what to fix.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { ALERTS } from "../components/defaults";
import { cpusProblem } from "../components/docker/docker-forms";
import { credentialInUrl, looksLikeSecretName } from "../policies/secret-names";
import { calendarExpressionProblem, longestGapHours } from "./calendar";

/** The Pulumi project name, which is also the config namespace (`vps-stacks:app`). */
export const PROJECT = "vps-stacks";

/** Config keys that must hold Pulumi secrets (`pulumi config set --secret`). */
export const SECRET_KEYS = ["sshPrivateKey", "databasePassword", "alertWebhookUrl", "backupAccessKeyId", "backupSecretAccessKey"] as const;


// ---------------------------------------------------------------------------------------
// Reusable value schemas
// ---------------------------------------------------------------------------------------

const NAME = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;
const dockerName = (what: string) =>
    z.string().regex(NAME, `${what} must be 2–32 characters of a-z, 0-9 and "-", starting with a letter`);

/**
 * A container image reference that names one build: `repo:tag` with a tag other than
 * `latest`, or `repo@sha256:<64 hex>` (optionally with a tag before the digest).
 */
export function imageReferenceProblem(ref: string, requireDigest: boolean): string | undefined {
    const m = /^((?:[a-z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._\/-][a-z0-9]+)*)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(
        ref,
    );
    if (!m) return `"${ref}" is not an image reference (registry/repository:tag or @sha256:digest)`;
    const [, , tag, digest] = m;
    if (requireDigest && !digest) {
        return `"${ref}" must be pinned by digest (@sha256:...) because requireImageDigest is true`;
    }
    if (!tag && !digest) return `"${ref}" has no tag: pin a version tag or a digest`;
    if (tag === "latest" && !digest) return `"${ref}" uses the moving tag "latest": pin a version tag or a digest`;
    return undefined;
}

const image = z.string();

const HOST_KEY_TYPES = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"];

/**
 * Why a text is not an SSH public key line (`<type> <base64 blob> [comment]`) as
 * `ssh.ParseAuthorizedKey` (used by pulumi-command for `hostKey`) reads it, or undefined.
 * The blob must start with its own type name, as the SSH wire format has it.
 */
export function sshPublicKeyProblem(text: string): string | undefined {
    const [type, blob] = text.trim().split(/\s+/);
    if (!HOST_KEY_TYPES.includes(type)) {
        return `hostKey must start with the key type (${HOST_KEY_TYPES.join(", ")}), as \`ssh-keyscan -t ed25519 <host>\` prints it after the host name`;
    }
    const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(blob ?? "") ? Buffer.from(blob, "base64") : Buffer.alloc(0);
    const nameLength = bytes.length >= 4 ? bytes.readUInt32BE(0) : -1;
    if (nameLength !== type.length || bytes.subarray(4, 4 + nameLength).toString("latin1") !== type) {
        return `hostKey's key data is not a base64 ${type} public key (copy the whole line ssh-keyscan prints)`;
    }
    return undefined;
}

/**
 * Why a webhook URL cannot take alerts, or undefined: it must be https with a host, and hold
 * no whitespace, control character, quote or backslash (components/scripts/notify.sh refuses
 * the same, so a bad value fails at preview instead of silencing every alert on the VPS).
 * The value is a secret: the message never repeats it.
 */
export function webhookUrlProblem(url: string): string | undefined {
    if (/[\s\x00-\x1f\x7f"\\]/.test(url)) return "holds whitespace, a control character, a quote or a backslash: paste the webhook URL alone";
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        return "is not a URL: set the Discord or Slack incoming-webhook URL (https://...)";
    }
    if (parsed.protocol !== "https:") return `must be an https URL (it is ${parsed.protocol.replace(/:$/, "")}): alerts carry operational details and go over TLS only`;
    if (parsed.hostname === "") return "has no host";
    return undefined;
}

/** The first Traefik release that negotiates the Docker API version (traefik/traefik#12253). */
export const MIN_TRAEFIK_VERSION = [3, 6, 1] as const;

/**
 * Why a reverse-proxy image cannot route on a current Docker engine, or undefined. Traefik
 * before v3.6.1 speaks Docker API 1.24, which Docker Engine 29 refuses (minimum 1.44); its
 * `--ping` healthcheck still passes, so `pulumi up` succeeds and no route is served. Tags
 * that are not a version (a digest alone, a custom build) are not judged.
 */
export function traefikVersionProblem(ref: string): string | undefined {
    const m = /^(?:.*\/)?traefik:v?(\d+)\.(\d+)(?:\.(\d+))?(?:[@-].*)?$/.exec(ref);
    if (!m) return undefined;
    const version = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
    for (let i = 0; i < 3; i++) {
        if (version[i] > MIN_TRAEFIK_VERSION[i]) return undefined;
        if (version[i] < MIN_TRAEFIK_VERSION[i]) {
            return `Traefik ${version.join(".")} speaks Docker API 1.24, which Docker Engine 29 refuses: it would start healthy and route nothing. Use v${MIN_TRAEFIK_VERSION.join(".")} or newer (traefik/traefik#12253)`;
        }
    }
    return undefined;
}

/** Let's Encrypt's staging directory: its certificates chain to a root no client trusts. */
export const LETS_ENCRYPT_STAGING = /^https:\/\/acme-staging-v02\.api\.letsencrypt\.org\//;

/**
 * Parses a memory size as Docker accepts it (`512m`, `1g`, `256MiB`, `1.5GB`) to whole
 * mebibytes, the unit of the Docker provider's `memory` argument. Returns undefined
 * when unparsable.
 */
export function parseMemoryMb(value: string): number | undefined {
    const m = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)$/i.exec(value.trim());
    if (!m) return undefined;
    const factor: Record<string, number> = { b: 1 / 1048576, k: 1 / 1024, m: 1, g: 1024 };
    const mb = Number(m[1]) * factor[m[2].toLowerCase()[0]];
    return Math.floor(mb);
}

const memory = z.string().transform((value, ctx) => {
    const mb = parseMemoryMb(value);
    if (mb === undefined) {
        ctx.addIssue({ code: "custom", message: `memory limit "${value}" is unparsable: use a number with a unit, e.g. 512m or 1g` });
        return z.NEVER;
    }
    // Docker refuses limits under 6 MiB (`Minimum memory limit allowed is 6MB`).
    if (mb < 6) {
        ctx.addIssue({ code: "custom", message: `memory limit "${value}" is below Docker's minimum of 6m` });
        return z.NEVER;
    }
    return mb;
});

const port = z.number().int("port must be a whole number").min(1, "port must be 1–65535").max(65535, "port must be 1–65535");

const duration = z
    .string()
    .regex(/^(\d+(ms|s|m|h))+$/, 'duration must look like "10s", "1m30s" or "500ms"');

const calendar = z.string().superRefine((value, ctx) => {
    const problem = calendarExpressionProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: `bad systemd calendar expression "${value}": ${problem}` });
});

const hostname = z
    .string()
    .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "must be a lower-case DNS host name such as app.example.com");

const ipv4 = z.string().regex(/^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)$/, "must be an IPv4 address");

// ---------------------------------------------------------------------------------------
// DNS (Cloudflare) and backup storage (AWS S3 or an S3-compatible store)
// ---------------------------------------------------------------------------------------

/** Loose IPv6 check (hex groups and "::"); Cloudflare validates the address itself. */
const IPV6 = /^(?=.*:)[0-9a-fA-F:]{2,39}$/;

/** Cloudflare's TTL range for DNS-only records; 1 means "automatic" and is what proxied records get. */
const dnsTtl = z.number().int("ttl must be a whole number of seconds").min(60, "ttl must be 60–86400 seconds").max(86400, "ttl must be 60–86400 seconds");

const dnsRecordOverride = z
    .strictObject({
        /** A (IPv4, default proxy.publicAddress), AAAA (IPv6) or CNAME (a host name). */
        type: z.enum(["A", "AAAA", "CNAME"]),
        /** What the record points at: an IPv4 (A), IPv6 (AAAA) address or a host name (CNAME). */
        target: z.string().optional(),
        /** Overrides dns.proxied for this host. */
        proxied: z.boolean().optional(),
        /** Overrides dns.ttl for this host (DNS-only records). */
        ttl: dnsTtl.optional(),
    })
    .superRefine((r, ctx) => {
        const t = r.target;
        if (r.type === "A" && t !== undefined && !ipv4.safeParse(t).success) {
            ctx.addIssue({ code: "custom", path: ["target"], message: `"${t}" is not an IPv4 address (an A record's target)` });
        } else if (r.type === "AAAA" && (t === undefined || !IPV6.test(t))) {
            ctx.addIssue({ code: "custom", path: ["target"], message: t === undefined ? "is required for an AAAA record (an IPv6 address)" : `"${t}" is not an IPv6 address` });
        } else if (r.type === "CNAME" && (t === undefined || !hostname.safeParse(t).success)) {
            ctx.addIssue({ code: "custom", path: ["target"], message: t === undefined ? "is required for a CNAME record (a host name)" : `"${t}" is not a host name (a CNAME's target)` });
        }
    });

const dnsSchema = z.strictObject({
    /** Zone (domain) name, e.g. example.com; every host under services.<name>.hosts must be inside it. */
    zone: hostname,
    /** Zone id (32 hex); when set, the program uses it instead of looking the zone up by name. */
    zoneId: z.string().regex(/^[0-9a-f]{32}$/, "zoneId must be the 32 hex characters of a Cloudflare zone id").optional(),
    /** Route every host through Cloudflare's proxy (TTL automatic). Default false: DNS only. */
    proxied: z.boolean().default(false),
    /** TTL in seconds of DNS-only records (60–86400); default 300. Not allowed when proxied. */
    ttl: dnsTtl.optional(),
    /** Add a CAA record per host allowing only the proxy's ACME issuer. Default true. */
    caa: z.boolean().default(true),
    /** CAA issuer domain; derived from proxy.acmeCaServer for Let's Encrypt, required otherwise. */
    caaIssuer: hostname.optional(),
    /** Per-host overrides (type, target, proxied, ttl), keyed by a host under services.<name>.hosts. */
    records: z.record(z.string(), dnsRecordOverride).default({}),
});

/** Lifecycle defaults of the backup bucket: 30 days daily, 12 weeks weekly, 12 months monthly. */
export const DEFAULT_RETENTION = {
    dailyDays: 30,
    weeklyDays: 84,
    monthlyDays: 365,
    noncurrentVersionDays: 30,
    abortIncompleteUploadDays: 7,
} as const;

const days = (what: string, max = 36500) =>
    z.number().int(`${what} must be a whole number of days`).min(1, `${what} must be at least 1 day`).max(max, `${what} must be at most ${max} days`);

const backupStorageSchema = z.strictObject({
    /** "aws": this stack creates the S3 bucket and an IAM credential; "s3-compatible": both come from config. */
    store: z.enum(["aws", "s3-compatible"]).default("aws"),
    /** Region of the bucket (AWS, e.g. eu-central-1) or the store's own region name (e.g. "auto" for R2). */
    region: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'region must look like "eu-central-1" (or the store\'s own, e.g. "auto")'),
    /** Endpoint URL of an S3-compatible store (B2, Wasabi, R2, Spaces); s3-compatible only. */
    endpoint: z.url({ protocol: /^https?$/, error: "endpoint must be an http(s) URL" }).optional(),
    /** Exact bucket name; AWS default: a generated name starting "<app>-<env>-backups-". Required for s3-compatible. */
    bucketName: z
        .string()
        .regex(/^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "bucketName must be 3–63 characters of a-z, 0-9, \".\" and \"-\" (S3 bucket naming rules)")
        .optional(),
    /**
     * Adopt (import) the existing bucket named bucketName instead of creating it (AWS). A
     * destroyed stack retains its bucket, and S3 refuses to create it again
     * (BucketAlreadyOwnedByYou); with this on, the next `pulumi up` re-attaches it. Harmless
     * once the bucket is in the stack. Requires bucketName; default false.
     */
    adoptExisting: z.boolean().default(false),
    /** KMS key ARN for SSE-KMS (AWS); default SSE-S3 (AES256). */
    kmsKeyArn: z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, "kmsKeyArn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias").optional(),
    /** Lifecycle (AWS): days objects under <prefix>daily/, weekly/, monthly/ are kept, noncurrent versions, incomplete uploads. */
    retention: z
        .strictObject({
            dailyDays: days("dailyDays").default(DEFAULT_RETENTION.dailyDays),
            weeklyDays: days("weeklyDays").default(DEFAULT_RETENTION.weeklyDays),
            monthlyDays: days("monthlyDays").default(DEFAULT_RETENTION.monthlyDays),
            noncurrentVersionDays: days("noncurrentVersionDays").default(DEFAULT_RETENTION.noncurrentVersionDays),
            abortIncompleteUploadDays: days("abortIncompleteUploadDays", 365).default(DEFAULT_RETENTION.abortIncompleteUploadDays),
        })
        .default({ ...DEFAULT_RETENTION }),
    /** S3 Object Lock default retention (AWS, production): GOVERNANCE mode only. */
    objectLock: z
        .strictObject({
            mode: z.literal("GOVERNANCE", { error: 'mode must be "GOVERNANCE" (a COMPLIANCE lock cannot be lifted, not even by the account root)' }),
            days: days("objectLock.days", 3650),
        })
        .optional(),
});

const cpus = z
    .number()
    .positive("cpus must be greater than 0")
    .max(256, "cpus must be at most 256")
    .superRefine((value, ctx) => {
        // The Docker provider forces a replacement on any cpus difference and reads some
        // values back as other numbers (0.05 as "0.1"): those would replace every update.
        const problem = cpusProblem(value);
        if (problem) ctx.addIssue({ code: "custom", message: `cpus ${problem}` });
    });

const healthcheck = z.strictObject({
    /** Docker HEALTHCHECK test, e.g. ["CMD", "wget", "-qO-", "http://127.0.0.1:8080/health"]. */
    test: z.array(z.string()).min(2, 'test needs a form and a command, e.g. ["CMD", "pg_isready"]').refine(
        (t) => ["CMD", "CMD-SHELL"].includes(t[0]),
        'test must start with "CMD" or "CMD-SHELL"',
    ),
    interval: duration.default("10s"),
    timeout: duration.default("5s"),
    retries: z.number().int().min(1).max(100).default(3),
    startPeriod: duration.default("15s"),
});

const logRotation = z
    .strictObject({
        /** json-file `max-size`; Docker's default is unlimited, which fills disks. */
        maxSize: z.string().regex(/^\d+[kmg]$/, 'maxSize must look like "10m"').default("10m"),
        maxFile: z.number().int().min(1).max(100).default(3),
    })
    .default({ maxSize: "10m", maxFile: 3 });

const envVars = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "is not a valid environment variable name"), z.string());

const serviceSchema = z.strictObject({
    image,
    /** Port the container listens on; the proxy routes to it. No host port is ever published. */
    port,
    /** Public host names the proxy routes to this service. */
    hosts: z.array(hostname).default([]),
    /** HTTP path the health-check job probes through the proxy, e.g. /health. */
    healthPath: z.string().regex(/^\//, "healthPath must start with /").optional(),
    healthcheck,
    env: envVars.default({}),
    /** Environment variable name -> name of a secret config key. */
    secretEnv: z.record(z.string(), z.string()).default({}),
    memory,
    cpus: cpus.default(0.5),
    restart: z.enum(["unless-stopped", "always", "on-failure"]).default("unless-stopped"),
    /** Linux capabilities to keep; all others are dropped. */
    capAdd: z.array(z.string().regex(/^[A-Z_]+$/, "capability names are upper case, e.g. NET_BIND_SERVICE")).default([]),
    command: z.array(z.string()).optional(),
    /** Other services this one needs first: names of services, or postgres / redis. */
    dependsOn: z.array(z.string()).default([]),
    /** Seconds `pulumi up` waits for the container to become healthy. */
    healthTimeoutSeconds: z.number().int().min(5).max(3600).default(120),
    logs: logRotation,
    readOnlyRootFilesystem: z.boolean().default(false),
});

const dataServiceBase = {
    image,
    memory,
    cpus: cpus.default(1),
    logs: logRotation,
    healthTimeoutSeconds: z.number().int().min(5).max(3600).default(120),
};

/**
 * The registry host the Docker provider looks credentials up by when it pulls an image:
 * kreuzwerker v4.5 keys `registry_auth` by the address's host name and, for an image
 * without a registry part, looks up "registry-1.docker.io" (resource_docker_image_funcs.go
 * pullImage/parseImageOptions). So Docker Hub's other names map to that one.
 */
export function registryLookupHost(address: string): string {
    const host = address.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
    return ["docker.io", "index.docker.io", "registry.hub.docker.com"].includes(host) ? "registry-1.docker.io" : host;
}

const registrySchema = z.strictObject({
    /** Registry host (and port), e.g. ghcr.io, registry.example.com:5000, docker.io. No scheme, no path. */
    address: z
        .string()
        .regex(/^(localhost|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+)(:\d{1,5})?$/, "address must be a registry host name such as ghcr.io or registry.example.com:5000 (no https://, no path)"),
    /** Login user of the registry (a robot or bot account; a read-only token is enough). */
    username: z.string().min(1, "username is required"),
    /** Name of the secret config key holding the password or token (pulumi config set --secret <key>). */
    passwordKey: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, "passwordKey must name a config key, e.g. registryPassword"),
});

/** The backup job's schedules when `backup` does not set them. */
export const BACKUP_DEFAULTS = {
    schedule: "*-*-* 03:00:00 UTC",
    restoreCheckSchedule: "Sun *-*-* 05:00:00 UTC",
    freshnessCheckSchedule: "*-*-* 06:00:00 UTC",
} as const;

/** Hours of slack the default backup.maxAgeHours adds to the longest gap between two backups (a slow run, a late timer). */
export const BACKUP_AGE_SLACK_HOURS = 2;

/**
 * The age, in hours, past which the newest backup counts as stale: `maxAgeHours` when set,
 * otherwise the longest gap between two runs of `schedule` plus {@link BACKUP_AGE_SLACK_HOURS}.
 */
export function backupMaxAgeHours(schedule: string, maxAgeHours: number | undefined): number {
    return maxAgeHours ?? Math.ceil(longestGapHours(schedule)) + BACKUP_AGE_SLACK_HOURS;
}

const rawSchema = z.strictObject({
    /** Application name, first part of every Docker name (`<app>-<env>-<role>`). */
    app: dockerName("app"),
    /** Environment name, second part of every Docker name; usually the stack name. */
    environment: dockerName("environment"),
    /** Adds `protect: true` to data volumes and the backup bucket (production). */
    protectData: z.boolean().default(false),
    /** Reject images that are not pinned by digest (production). */
    requireImageDigest: z.boolean().default(false),
    /** Credentials the Docker provider sends when it pulls images from private registries. */
    registries: z.array(registrySchema).default([]),
    host: z.strictObject({
        /** Address `ssh` connects to. */
        sshAddress: z.string().min(1, "sshAddress is required"),
        sshPort: port.default(22),
        /** Login user; must be in the `docker` group. */
        user: z.string().regex(/^[a-z_][a-z0-9_-]*$/, "user must be a Unix user name"),
        /** Directory the environment's files go to; must be writable by user. */
        deployDir: z.string().regex(/^\/[^\s]*$/, "deployDir must be an absolute path without spaces"),
        /** Extra `ssh` options for the Docker provider, e.g. ["-o", "StrictHostKeyChecking=yes"]. */
        sshOptions: z.array(z.string()).default([]),
        /**
         * The VPS's SSH host key as `ssh-keyscan` prints it without the host name
         * (`ssh-ed25519 AAAA...`). The remote commands verify the server with it; without one,
         * pulumi-command would accept any server and send it the jobs' secrets.
         */
        hostKey: z
            .string()
            .trim()
            .superRefine((key, ctx) => {
                const problem = sshPublicKeyProblem(key);
                if (problem) ctx.addIssue({ code: "custom", message: problem });
            }),
    }),
    proxy: z.strictObject({
        image,
        /** Address the proxy binds ports 80/443 on, and the address the DNS records point at. */
        publicAddress: ipv4,
        /** Account e-mail for Let's Encrypt. */
        acmeEmail: z.email("acmeEmail must be an e-mail address"),
        /** ACME directory; Let's Encrypt production by default. */
        acmeCaServer: z.url().default("https://acme-v02.api.letsencrypt.org/directory"),
        /**
         * ACME challenge: "http" (HTTP-01 on port 80; works behind Cloudflare's proxy) or
         * "tls" (TLS-ALPN-01 on port 443; needs DNS-only records). Default "http".
         */
        acmeChallenge: z.enum(["http", "tls"]).default("http"),
        memory: memory.default(256),
        cpus: cpus.default(0.5),
        logs: logRotation,
    }),
    services: z.record(dockerName("service name"), serviceSchema).refine((s) => Object.keys(s).length > 0, "at least one service is required"),
    postgres: z
        .strictObject({
            ...dataServiceBase,
            database: z.string().regex(/^[a-z_][a-z0-9_]*$/, "database must be a lower-case SQL identifier"),
            user: z.string().regex(/^[a-z_][a-z0-9_]*$/, "user must be a lower-case SQL identifier"),
        })
        .optional(),
    redis: z.strictObject({ ...dataServiceBase }).optional(),
    alerts: z
        .strictObject({
            /** Body format of the webhook in alertWebhookUrl. */
            format: z.enum(["discord", "slack"]).default("discord"),
            /** Minutes after which a problem that lasts is alerted again (health and freshness checks); 1–10080. */
            reminderMinutes: z
                .number()
                .int("reminderMinutes must be a whole number of minutes")
                .min(1, "reminderMinutes must be 1–10080 (a week)")
                .max(10080, "reminderMinutes must be 1–10080 (a week)")
                .default(ALERTS.reminderMinutes),
        })
        .default({ format: "discord", reminderMinutes: ALERTS.reminderMinutes }),
    backup: z
        .strictObject({
            /** When the backup runs (systemd OnCalendar). */
            schedule: calendar.default(BACKUP_DEFAULTS.schedule),
            /** When the restore check runs. */
            restoreCheckSchedule: calendar.default(BACKUP_DEFAULTS.restoreCheckSchedule),
            /** When the backup freshness check runs (daily: a stopped backup timer is noticed within a day). */
            freshnessCheckSchedule: calendar.default(BACKUP_DEFAULTS.freshnessCheckSchedule),
            /**
             * Alert when the newest complete backup is older than this, in hours. Default: the
             * longest gap between two runs of `schedule` plus 2 hours of slack (26 for a daily one).
             */
            maxAgeHours: z.number().int().min(1).max(24 * 400).optional(),
        })
        .default({ ...BACKUP_DEFAULTS }),
    healthCheck: z
        .strictObject({
            schedule: calendar.default("*-*-* *:*:00"),
            restartWaitSeconds: z.number().int().min(1).max(600).default(30),
            restartBudgetPerHour: z.number().int().min(0).max(60).default(3),
            /**
             * Probe the public URLs without verifying their certificates (curl --insecure). Only
             * for a proxy whose ACME CA no client trusts (Let's Encrypt's staging CA); default false.
             */
            insecureTls: z.boolean().default(false),
        })
        .default({ schedule: "*-*-* *:*:00", restartWaitSeconds: 30, restartBudgetPerHour: 3, insecureTls: false }),
    /** Cloudflare DNS records of the hosts under services.<name>.hosts. */
    dns: dnsSchema.optional(),
    /** Where the backup job uploads: an AWS S3 bucket this stack creates, or an S3-compatible store. */
    backupStorage: backupStorageSchema.optional(),
    // Secrets: accepted here only to report a plain-text value as an error.
    sshPrivateKey: z.string(),
    databasePassword: z.string().optional(),
    alertWebhookUrl: z.string().optional(),
    backupAccessKeyId: z.string().optional(),
    backupSecretAccessKey: z.string().optional(),
});

type RawConfig = z.output<typeof rawSchema>;

/** Every top-level key of the `vps-stacks:` namespace the schema accepts (the README documents each). */
export const CONFIG_KEYS: readonly string[] = Object.keys(rawSchema.shape);

// ---------------------------------------------------------------------------------------
// Typed result
// ---------------------------------------------------------------------------------------

/** json-file log rotation of a container (Docker `--log-opt max-size/max-file`). */
export interface LogRotation {
    /** json-file max-size, e.g. "10m". */
    maxSize: string;
    /** json-file max-file. */
    maxFile: number;
}

export type ServiceConfig = Omit<RawConfig["services"][string], "secretEnv"> & {
    /** Environment variables whose values are Pulumi secrets. */
    secretEnv: Record<string, pulumi.Output<string>>;
};

/** The whole environment, typed and defaulted. Built by {@link parseEnvironmentConfig}. */
export interface EnvironmentConfig {
    app: string;
    environment: string;
    protectData: boolean;
    requireImageDigest: boolean;
    host: RawConfig["host"] & { sshPrivateKey: pulumi.Output<string> };
    /** Registry credentials for the Docker provider; `address` is the host the provider looks them up by. */
    registries: { address: string; username: string; password: pulumi.Output<string> }[];
    proxy: RawConfig["proxy"];
    services: Record<string, ServiceConfig>;
    postgres?: NonNullable<RawConfig["postgres"]> & { password: pulumi.Output<string> };
    redis?: NonNullable<RawConfig["redis"]>;
    alerts: RawConfig["alerts"] & { webhookUrl?: pulumi.Output<string> };
    /** The backup schedules, with maxAgeHours resolved (see {@link backupMaxAgeHours}). */
    backup: RawConfig["backup"] & { maxAgeHours: number };
    healthCheck: RawConfig["healthCheck"];
    /** Absent: this stack manages no DNS records. */
    dns?: NonNullable<RawConfig["dns"]>;
    /** Absent: no backup storage (and no backup target) for this environment. */
    backupStorage?: BackupStorageConfig;
}

/** The backup storage section with the credential of an S3-compatible store as secrets. */
export type BackupStorageConfig = NonNullable<RawConfig["backupStorage"]> & {
    /** From backupAccessKeyId / backupSecretAccessKey (s3-compatible only; AWS gets its own IAM user). */
    credentials?: { accessKeyId: pulumi.Output<string>; secretAccessKey: pulumi.Output<string> };
};

/** One problem in the configuration: where and why. */
export interface ConfigIssue {
    /** Key path as `pulumi config set --path` takes it, e.g. `services.backend.port`. */
    path: string;
    message: string;
}

/** The stack configuration is invalid; `issues` lists every problem found. */
export class ConfigError extends Error {
    constructor(readonly stack: string, readonly issues: ConfigIssue[]) {
        super(
            `Invalid configuration for stack "${stack}" (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n` +
                issues.map((i) => `  - ${i.path}: ${i.message}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

/** What the parser reads: the project's config values and which of them are secrets. */
export interface RawStackConfig {
    /** Stack name, used in messages only. */
    stack: string;
    /**
     * Values of the `vps-stacks:` keys without the namespace. Objects may be given
     * parsed or as the JSON text Pulumi passes to programs.
     */
    values: Record<string, unknown>;
    /** Keys (without namespace) whose values are Pulumi secrets. */
    secretKeys: ReadonlySet<string>;
}

const STRING_KEYS = new Set(["app", "environment", "sshPrivateKey", "databasePassword", "alertWebhookUrl", "backupAccessKeyId", "backupSecretAccessKey"]);

function decode(key: string, value: unknown): unknown {
    if (typeof value !== "string" || STRING_KEYS.has(key)) return value;
    try {
        return JSON.parse(value);
    } catch {
        return value; // a plain string: the schema reports the wrong type with its path
    }
}

/** Keeps the first issue per (path, message): the schema and the cross-field pass may both see one. */
function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
    const seen = new Set<string>();
    return issues.filter((i) => {
        const key = `${i.path}\u0000${i.message}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
    });
}

function formatPath(path: PropertyKey[]): string {
    // A key with a dot (a host name under dns.records) is quoted, as `pulumi config set --path` takes it.
    return path
        .map((p, i) =>
            typeof p === "number" ? `[${p}]` : /[.\[\]"]/.test(String(p)) ? `["${String(p)}"]` : i === 0 ? String(p) : `.${String(p)}`,
        )
        .join("");
}

function zodIssues(error: z.ZodError): ConfigIssue[] {
    return error.issues.map((issue) => {
        let message = issue.message;
        if (issue.code === "invalid_type" && issue.input === undefined) {
            message = `is required (${issue.expected})`;
        } else if (issue.code === "unrecognized_keys") {
            return { path: formatPath(issue.path) || "(top level)", message: `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}` };
        }
        return { path: formatPath(issue.path) || "(top level)", message };
    });
}

type Loose = Record<string, any>;
const asRecord = (v: unknown): Loose => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Loose) : {});
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The first cycle in the services' dependsOn graph, as a path of names, or undefined. */
function dependencyCycle(services: Loose): string[] | undefined {
    const state = new Map<string, "visiting" | "done">();
    const visit = (name: string, chain: string[]): string[] | undefined => {
        if (state.get(name) === "done" || !(name in services)) return undefined;
        if (state.get(name) === "visiting") return [...chain.slice(chain.indexOf(name)), name];
        state.set(name, "visiting");
        for (const dep of asArray(asRecord(services[name]).dependsOn)) {
            if (typeof dep !== "string" || dep === name) continue; // self-dependency is reported on its own
            const cycle = visit(dep, [...chain, name]);
            if (cycle) return cycle;
        }
        state.set(name, "done");
        return undefined;
    };
    for (const name of Object.keys(services).sort()) {
        const cycle = visit(name, []);
        if (cycle) return cycle;
    }
    return undefined;
}

/** Whether `host` is the zone apex or a name inside the zone (as components/cloud/dns-records.ts). */
function isInZone(host: string, zone: string): boolean {
    return host === zone || host.endsWith(`.${zone}`);
}

/**
 * DNS rules: services.<name>.hosts is the one list of public hosts, so every routed host
 * must get a record (be inside dns.zone) and every explicit record must belong to a
 * routed host; a proxied record has automatic TTL, so a TTL set on one is a mistake.
 */
function dnsIssues(values: Loose): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    const routed = new Map<string, string>(); // host -> path of its hosts[] entry
    for (const [name, svc] of Object.entries(asRecord(values.services))) {
        asArray(asRecord(svc).hosts).forEach((host, i) => {
            if (typeof host === "string" && !routed.has(host)) routed.set(host, `services.${name}.hosts[${i}]`);
        });
    }
    if (values.dns === undefined) return issues; // DNS of these hosts is managed outside this stack
    const dns = asRecord(values.dns);
    const zone = typeof dns.zone === "string" ? dns.zone : undefined;
    if (zone !== undefined) {
        for (const [host, at] of routed) {
            if (!isInZone(host, zone)) {
                issues.push({ path: at, message: `host "${host}" is routed by the proxy but gets no DNS record: it is outside the DNS zone "${zone}" (dns.zone)` });
            }
        }
    }
    const proxied = dns.proxied === true;
    if (proxied && dns.ttl !== undefined) {
        issues.push({ path: "dns.ttl", message: "is set but dns.proxied is true: a proxied record's TTL is automatic (1); remove ttl or set proxied: false" });
    }
    for (const [host, recValue] of Object.entries(asRecord(dns.records))) {
        const rec = asRecord(recValue);
        const at = formatPath(["dns", "records", host]);
        if (!routed.has(host)) {
            issues.push({ path: at, message: `no service routes "${host}": every DNS record must belong to a host under services.<name>.hosts` });
        }
        const recProxied = typeof rec.proxied === "boolean" ? rec.proxied : proxied;
        if (recProxied && rec.ttl !== undefined) {
            issues.push({ path: `${at}.ttl`, message: "is set on a proxied record: its TTL is automatic (1); remove ttl or set proxied: false" });
        }
        if (rec.type === "CNAME" && rec.target === host) {
            issues.push({ path: `${at}.target`, message: "a CNAME cannot point at itself" });
        }
    }
    const acmeCaServer = asRecord(values.proxy).acmeCaServer;
    const letsEncrypt = acmeCaServer === undefined || (typeof acmeCaServer === "string" && /^https:\/\/acme(-staging)?-v02\.api\.letsencrypt\.org\//.test(acmeCaServer));
    if (dns.caa !== false && dns.caaIssuer === undefined && !letsEncrypt) {
        issues.push({ path: "dns.caaIssuer", message: `is required when dns.caa is on and proxy.acmeCaServer is not Let's Encrypt: set the CAA issuer domain of ${String(acmeCaServer)}` });
    }
    return issues;
}

/** The prefix AWS gives a generated bucket name; AWS allows at most 37 characters. */
export function defaultBucketPrefix(app: string, environment: string): string {
    return `${app}-${environment}-backups-`;
}

/**
 * Backup storage rules: weekly backups outlive daily ones and monthly outlive weekly; an
 * S3-compatible store needs an endpoint, a bucket name and a secret credential, and takes
 * none of the settings only this stack's AWS resources apply (lifecycle, KMS, Object Lock).
 */
function backupStorageIssues(values: Loose): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    const credentialKeys = ["backupAccessKeyId", "backupSecretAccessKey"] as const;
    if (values.backupStorage === undefined) {
        for (const key of credentialKeys) {
            if (values[key] !== undefined) issues.push({ path: key, message: "is set but backupStorage is not configured" });
        }
        return issues;
    }
    const storage = asRecord(values.backupStorage);
    const retention = asRecord(storage.retention);
    const dayValue = (key: keyof typeof DEFAULT_RETENTION): number | undefined => {
        const v = retention[key] ?? DEFAULT_RETENTION[key];
        return typeof v === "number" ? v : undefined;
    };
    const [daily, weekly, monthly] = [dayValue("dailyDays"), dayValue("weeklyDays"), dayValue("monthlyDays")];
    if (daily !== undefined && weekly !== undefined && weekly <= daily) {
        issues.push({ path: "backupStorage.retention.weeklyDays", message: `weekly backups (${weekly} days) must be kept longer than daily ones (dailyDays ${daily})` });
    }
    if (weekly !== undefined && monthly !== undefined && monthly <= weekly) {
        issues.push({ path: "backupStorage.retention.monthlyDays", message: `monthly backups (${monthly} days) must be kept longer than weekly ones (weeklyDays ${weekly})` });
    }

    if (storage.store === "s3-compatible") {
        if (storage.endpoint === undefined) issues.push({ path: "backupStorage.endpoint", message: "is required for an s3-compatible store (its S3 API URL)" });
        if (storage.bucketName === undefined) issues.push({ path: "backupStorage.bucketName", message: "is required for an s3-compatible store (create the bucket in the store first)" });
        for (const key of ["retention", "kmsKeyArn", "objectLock", "adoptExisting"]) {
            if (storage[key] !== undefined) {
                issues.push({ path: `backupStorage.${key}`, message: "applies to AWS only: this stack creates no resources in an s3-compatible store; set it in the store itself (docs/backup-targets.md)" });
            }
        }
        for (const key of credentialKeys) {
            // A plain-text value is reported by the SECRET_KEYS check.
            if (values[key] === undefined) {
                issues.push({ path: key, message: `is required for an s3-compatible store: pulumi config set --secret ${key} ...` });
            }
        }
    } else {
        if (storage.endpoint !== undefined) {
            issues.push({ path: "backupStorage.endpoint", message: 'is only for an s3-compatible store: set store: "s3-compatible", or remove it to use AWS S3' });
        }
        for (const key of credentialKeys) {
            if (values[key] !== undefined) {
                issues.push({ path: key, message: "is only for an s3-compatible store: with AWS this stack creates its own least-privilege IAM credential" });
            }
        }
        const app = typeof values.app === "string" ? values.app : "";
        const env = typeof values.environment === "string" ? values.environment : "";
        const prefix = defaultBucketPrefix(app, env);
        if (storage.adoptExisting === true && storage.bucketName === undefined) {
            issues.push({ path: "backupStorage.adoptExisting", message: "needs backupStorage.bucketName: only a bucket with an exact name can be adopted" });
        }
        if (storage.bucketName === undefined && prefix.length > 37) {
            issues.push({ path: "backupStorage.bucketName", message: `is required because the generated prefix "${prefix}" is longer than the 37 characters AWS allows` });
        }
    }
    return issues;
}

/**
 * The freshness check alerts when the newest backup is older than backup.maxAgeHours, so a
 * value shorter than the longest gap between two backups would alert between runs.
 */
function backupScheduleIssues(values: Loose): ConfigIssue[] {
    const backup = asRecord(values.backup);
    const schedule = typeof backup.schedule === "string" ? backup.schedule : BACKUP_DEFAULTS.schedule;
    if (calendarExpressionProblem(schedule)) return []; // reported by the schema
    const gap = longestGapHours(schedule);
    if (gap === Infinity) {
        return [{ path: "backup.schedule", message: `"${schedule}" does not repeat (a fixed date): backups need a recurring schedule such as "*-*-* 03:00:00 UTC"` }];
    }
    const maxAge = backup.maxAgeHours;
    if (typeof maxAge === "number" && maxAge <= gap) {
        return [
            {
                path: "backup.maxAgeHours",
                message:
                    `${maxAge} is not longer than the longest gap between two backups of backup.schedule "${schedule}" (${gap} h): ` +
                    `the freshness check would alert between runs. Raise it above ${gap} or leave it unset (default ${Math.ceil(gap) + BACKUP_AGE_SLACK_HOURS})`,
            },
        ];
    }
    return [];
}

/**
 * Cross-field rules the per-field schema cannot see. They read the decoded raw values
 * defensively (a value of the wrong type is the schema's to report), so that one run
 * reports schema and cross-field problems together.
 */
function crossFieldIssues(values: Loose, secretKeys: ReadonlySet<string>): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    const requireDigest = values.requireImageDigest === true;
    const checkImage = (path: string, ref: unknown) => {
        if (typeof ref !== "string") return;
        const problem = imageReferenceProblem(ref, requireDigest);
        if (problem) issues.push({ path, message: problem });
    };
    checkImage("proxy.image", asRecord(values.proxy).image);
    const proxyImage = asRecord(values.proxy).image;
    const traefikProblem = typeof proxyImage === "string" ? traefikVersionProblem(proxyImage) : undefined;
    if (traefikProblem) issues.push({ path: "proxy.image", message: traefikProblem });
    const acmeCaServer = asRecord(values.proxy).acmeCaServer;
    if (typeof acmeCaServer === "string" && LETS_ENCRYPT_STAGING.test(acmeCaServer) && asRecord(values.healthCheck).insecureTls !== true) {
        issues.push({
            path: "proxy.acmeCaServer",
            message:
                "is Let's Encrypt's staging CA, whose certificates no client trusts: the deploy's smoke check and the per-minute health check " +
                "would fail on every run and restart the services. Remove it to use the production directory (its rate limits are ample for a few host names), " +
                "or set healthCheck.insecureTls: true to probe without verifying certificates (the workflows' smoke check still verifies them)",
        });
    }
    checkImage("postgres.image", asRecord(values.postgres).image);
    checkImage("redis.image", asRecord(values.redis).image);

    const services = asRecord(values.services);
    const known = new Set([...Object.keys(services), ...(values.postgres ? ["postgres"] : []), ...(values.redis ? ["redis"] : [])]);
    const hostOwner = new Map<string, string>();
    for (const [name, svcValue] of Object.entries(services)) {
        const svc = asRecord(svcValue);
        const at = `services.${name}`;
        checkImage(`${at}.image`, svc.image);
        if (name === "postgres" || name === "redis" || name === "proxy") {
            issues.push({ path: at, message: `"${name}" is reserved for the built-in ${name} container; choose another service name` });
        }
        asArray(svc.hosts).forEach((host, i) => {
            if (typeof host !== "string") return;
            const owner = hostOwner.get(host);
            if (owner) issues.push({ path: `${at}.hosts[${i}]`, message: `duplicate host name "${host}", already routed to ${owner}` });
            else hostOwner.set(host, at);
        });
        asArray(svc.dependsOn).forEach((dep, i) => {
            if (typeof dep !== "string") return;
            if (!known.has(dep)) {
                issues.push({ path: `${at}.dependsOn[${i}]`, message: `unknown service "${dep}" (known: ${[...known].join(", ")})` });
            } else if (dep === name) {
                issues.push({ path: `${at}.dependsOn[${i}]`, message: "a service cannot depend on itself" });
            }
        });
        const env = asRecord(svc.env);
        for (const [envName, value] of Object.entries(env)) {
            if (typeof value !== "string" || value === "") continue;
            if (looksLikeSecretName(envName)) {
                issues.push({
                    path: `${at}.env.${envName}`,
                    message: `looks like a secret given in plain text: move it to ${at}.secretEnv and set the value with "pulumi config set --secret <key>"`,
                });
            } else if (credentialInUrl(value) !== undefined) {
                issues.push({
                    path: `${at}.env.${envName}`,
                    message: `holds a URL with a password in plain text (user "${credentialInUrl(value)}"): put the whole URL in a secret config key and reference it from ${at}.secretEnv.${envName}`,
                });
            }
        }
        for (const [envName, key] of Object.entries(asRecord(svc.secretEnv))) {
            if (typeof key !== "string") {
                issues.push({ path: `${at}.secretEnv.${envName}`, message: "must name a secret config key (a string)" });
            } else if (envName in env) {
                issues.push({ path: `${at}.secretEnv.${envName}`, message: "is also set in env; set it in one place" });
            } else if (values[key] === undefined) {
                issues.push({ path: `${at}.secretEnv.${envName}`, message: `references config key "${key}", which is not set (pulumi config set --secret ${key} ...)` });
            } else if (!secretKeys.has(key)) {
                issues.push({ path: key, message: `is used as a secret by ${at}.secretEnv.${envName} but is stored in plain text: set it with "pulumi config set --secret ${key}"` });
            }
        }
    }

    const registryHosts = new Map<string, string>();
    asArray(values.registries).forEach((entry, i) => {
        const reg = asRecord(entry);
        const at = `registries[${i}]`;
        if (typeof reg.address === "string") {
            const host = registryLookupHost(reg.address);
            const first = registryHosts.get(host);
            if (first) issues.push({ path: `${at}.address`, message: `"${reg.address}" is the same registry as ${first} (the provider keys credentials by host)` });
            else registryHosts.set(host, `${at}.address`);
        }
        if (typeof reg.passwordKey === "string") {
            const key = reg.passwordKey;
            if (values[key] === undefined) {
                issues.push({ path: `${at}.passwordKey`, message: `references config key "${key}", which is not set (pulumi config set --secret ${key} ...)` });
            } else if (!secretKeys.has(key)) {
                issues.push({ path: key, message: `is used as a registry password by ${at}.passwordKey but is stored in plain text: set it with "pulumi config set --secret ${key}"` });
            }
        }
    });

    const cycle = dependencyCycle(services);
    if (cycle) {
        issues.push({ path: `services.${cycle[0]}.dependsOn`, message: `dependency cycle ${cycle.join(" -> ")}` });
    }

    for (const key of SECRET_KEYS) {
        if (values[key] !== undefined && !secretKeys.has(key)) {
            issues.push({ path: key, message: `is a password or credential given in plain text: set it with "pulumi config set --secret ${key}"` });
        }
    }
    if (typeof values.alertWebhookUrl === "string") {
        const problem = webhookUrlProblem(values.alertWebhookUrl);
        if (problem) issues.push({ path: "alertWebhookUrl", message: problem });
    }
    if (typeof values.databasePassword === "string" && values.databasePassword.length < 16) {
        issues.push({ path: "databasePassword", message: "is shorter than 16 characters: use a generated one (openssl rand -base64 32)" });
    }
    if (values.postgres !== undefined && values.databasePassword === undefined) {
        issues.push({ path: "databasePassword", message: "is required when postgres is configured (pulumi config set --secret databasePassword ...)" });
    }
    issues.push(...dnsIssues(values), ...backupStorageIssues(values), ...backupScheduleIssues(values));
    return issues;
}

/**
 * Parses and validates a stack's configuration.
 *
 * @returns the typed environment with every default filled in; secret values are
 *   `pulumi.secret` Outputs.
 * @throws ConfigError listing every problem (wrong type, missing or unknown key,
 *   unknown service referenced, duplicate host name, bad calendar expression, unpinned
 *   image, secret in plain text, port out of range, unparsable memory limit), each with
 *   its key path.
 */
export function parseEnvironmentConfig(raw: RawStackConfig): EnvironmentConfig {
    const decoded: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(raw.values)) decoded[key] = decode(key, value);

    // secretEnv and registries[].passwordKey may name any secret key, so those keys are not "unknown".
    const referenced = new Set<string>();
    for (const svc of Object.values(asRecord(decoded.services))) {
        for (const key of Object.values(asRecord(asRecord(svc).secretEnv))) if (typeof key === "string") referenced.add(key);
    }
    for (const reg of asArray(decoded.registries)) {
        const key = asRecord(reg).passwordKey;
        if (typeof key === "string") referenced.add(key);
    }
    const declared = new Set(Object.keys(rawSchema.shape));
    const forSchema: Record<string, unknown> = {};
    const extra: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(decoded)) {
        if (!declared.has(key) && referenced.has(key)) extra[key] = value;
        else forSchema[key] = value;
    }

    const result = rawSchema.safeParse(forSchema, { reportInput: true });
    const issues = [...(result.success ? [] : zodIssues(result.error)), ...crossFieldIssues(decoded, raw.secretKeys)];
    if (!result.success || issues.length > 0) throw new ConfigError(raw.stack, dedupe(issues));

    const cfg = result.data;
    const secret = (key: string) => pulumi.secret(String(decoded[key]));
    return {
        app: cfg.app,
        environment: cfg.environment,
        protectData: cfg.protectData,
        requireImageDigest: cfg.requireImageDigest,
        host: { ...cfg.host, sshPrivateKey: secret("sshPrivateKey") },
        registries: cfg.registries.map((r) => ({ address: registryLookupHost(r.address), username: r.username, password: secret(r.passwordKey) })),
        proxy: cfg.proxy,
        services: Object.fromEntries(
            Object.entries(cfg.services).map(([name, svc]) => [
                name,
                { ...svc, secretEnv: Object.fromEntries(Object.entries(svc.secretEnv).map(([env, key]) => [env, secret(key)])) },
            ]),
        ),
        postgres: cfg.postgres ? { ...cfg.postgres, password: secret("databasePassword") } : undefined,
        redis: cfg.redis,
        alerts: { ...cfg.alerts, webhookUrl: cfg.alertWebhookUrl !== undefined ? secret("alertWebhookUrl") : undefined },
        backup: { ...cfg.backup, maxAgeHours: backupMaxAgeHours(cfg.backup.schedule, cfg.backup.maxAgeHours) },
        healthCheck: cfg.healthCheck,
        dns: cfg.dns,
        backupStorage: cfg.backupStorage && {
            ...cfg.backupStorage,
            credentials:
                cfg.backupStorage.store === "s3-compatible"
                    ? { accessKeyId: secret("backupAccessKeyId"), secretAccessKey: secret("backupSecretAccessKey") }
                    : undefined,
        },
    };
}
