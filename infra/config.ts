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
import { calendarExpressionProblem } from "./calendar";

/** The Pulumi project name, which is also the config namespace (`vps-stacks:app`). */
export const PROJECT = "vps-stacks";

/** Config keys that must hold Pulumi secrets (`pulumi config set --secret`). */
export const SECRET_KEYS = ["sshPrivateKey", "databasePassword", "alertWebhookUrl"] as const;

/** Environment variable names that look like credentials; their values must come from `secretEnv`. */
export const SECRET_LOOKING_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|(^|_)KEY($|_)|PRIVATE|CREDENTIAL|API_?KEY|DSN)/i;

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

const cpus = z.number().positive("cpus must be greater than 0").max(256, "cpus must be at most 256");

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

const rawSchema = z.strictObject({
    /** Application name, first part of every Docker name (`<app>-<env>-<role>`). */
    app: dockerName("app"),
    /** Environment name, second part of every Docker name; usually the stack name. */
    environment: dockerName("environment"),
    /** Adds `protect: true` to data volumes and the backup bucket (production). */
    protectData: z.boolean().default(false),
    /** Reject images that are not pinned by digest (production). */
    requireImageDigest: z.boolean().default(false),
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
    }),
    proxy: z.strictObject({
        image,
        /** Address the proxy binds ports 80/443 on, and the address the DNS records point at. */
        publicAddress: ipv4,
        /** Account e-mail for Let's Encrypt. */
        acmeEmail: z.email("acmeEmail must be an e-mail address"),
        /** ACME directory; Let's Encrypt production by default. */
        acmeCaServer: z.url().default("https://acme-v02.api.letsencrypt.org/directory"),
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
        })
        .default({ format: "discord" }),
    backup: z
        .strictObject({
            /** When the backup runs (systemd OnCalendar). */
            schedule: calendar.default("*-*-* 03:00:00 UTC"),
            /** When the restore check runs. */
            restoreCheckSchedule: calendar.default("Sun *-*-* 05:00:00 UTC"),
            /** Alert when the newest complete backup is older than this. */
            maxAgeHours: z.number().int().min(1).max(24 * 31).default(26),
        })
        .default({ schedule: "*-*-* 03:00:00 UTC", restoreCheckSchedule: "Sun *-*-* 05:00:00 UTC", maxAgeHours: 26 }),
    healthCheck: z
        .strictObject({
            schedule: calendar.default("*-*-* *:*:00"),
            restartWaitSeconds: z.number().int().min(1).max(600).default(30),
            restartBudgetPerHour: z.number().int().min(0).max(60).default(3),
        })
        .default({ schedule: "*-*-* *:*:00", restartWaitSeconds: 30, restartBudgetPerHour: 3 }),
    // Secrets: accepted here only to report a plain-text value as an error.
    sshPrivateKey: z.string(),
    databasePassword: z.string().optional(),
    alertWebhookUrl: z.string().optional(),
});

type RawConfig = z.output<typeof rawSchema>;

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
    proxy: RawConfig["proxy"];
    services: Record<string, ServiceConfig>;
    postgres?: NonNullable<RawConfig["postgres"]> & { password: pulumi.Output<string> };
    redis?: NonNullable<RawConfig["redis"]>;
    alerts: RawConfig["alerts"] & { webhookUrl?: pulumi.Output<string> };
    backup: RawConfig["backup"];
    healthCheck: RawConfig["healthCheck"];
}

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

const STRING_KEYS = new Set(["app", "environment", "sshPrivateKey", "databasePassword", "alertWebhookUrl"]);

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
    return path
        .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
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
            if (SECRET_LOOKING_NAME.test(envName) && typeof value === "string" && value !== "") {
                issues.push({
                    path: `${at}.env.${envName}`,
                    message: 'looks like a secret given in plain text: move it to secretEnv and set the value with "pulumi config set --secret <key>"',
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

    const cycle = dependencyCycle(services);
    if (cycle) {
        issues.push({ path: `services.${cycle[0]}.dependsOn`, message: `dependency cycle ${cycle.join(" -> ")}` });
    }

    for (const key of SECRET_KEYS) {
        if (values[key] !== undefined && !secretKeys.has(key)) {
            issues.push({ path: key, message: `is a password or credential given in plain text: set it with "pulumi config set --secret ${key}"` });
        }
    }
    if (values.postgres !== undefined && values.databasePassword === undefined) {
        issues.push({ path: "databasePassword", message: "is required when postgres is configured (pulumi config set --secret databasePassword ...)" });
    }
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

    // secretEnv may name any secret key, so those keys are not "unknown".
    const referenced = new Set<string>();
    const services = decoded.services;
    if (services && typeof services === "object") {
        for (const svc of Object.values(services as Record<string, any>)) {
            if (svc && typeof svc.secretEnv === "object" && svc.secretEnv) {
                for (const key of Object.values(svc.secretEnv)) if (typeof key === "string") referenced.add(key);
            }
        }
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
        backup: cfg.backup,
        healthCheck: cfg.healthCheck,
    };
}
