/**
 * The containers of an environment: the application services (`services.<name>`) and the data
 * services PostgreSQL (`postgres`) and Redis (`redis`).
 */
import { z } from "zod";
import { CONTAINER_RESTART, DATA_SERVICE_CPUS, HEALTH_TIMEOUT_SECONDS, SERVICE_CPUS, SERVICE_HEALTHCHECK } from "../components/defaults";
import { credentialInUrl, looksLikeSecretName } from "../policies/secret-names";
import { dependencyOrder } from "./dependency-order";
import { metricsSchema } from "./monitoring";
import type { ConfigIssue } from "./types";
import { cpus, CrossFieldCheck, duration, hostname, image, imageIssues, list, logRotation, memory, port, record, resourceName } from "./values";

/** A Docker healthcheck; the test is required, the timing defaults to {@link SERVICE_HEALTHCHECK}. */
const healthcheck = z.strictObject({
    /** Docker HEALTHCHECK test, e.g. ["CMD", "wget", "-qO-", "http://127.0.0.1:8080/health"]. */
    test: z.array(z.string()).min(2, 'test needs a form and a command, e.g. ["CMD", "pg_isready"]').refine(
        (t) => ["CMD", "CMD-SHELL"].includes(t[0]),
        'test must start with "CMD" or "CMD-SHELL"',
    ),
    interval: duration.default(SERVICE_HEALTHCHECK.interval),
    timeout: duration.default(SERVICE_HEALTHCHECK.timeout),
    retries: z.number().int().min(1).max(100).default(SERVICE_HEALTHCHECK.retries),
    startPeriod: duration.default(SERVICE_HEALTHCHECK.startPeriod),
});

/** Seconds `pulumi up` waits for a container to become healthy. */
const healthTimeoutSeconds = z.number().int().min(5).max(3600).default(HEALTH_TIMEOUT_SECONDS);

const envVars = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "is not a valid environment variable name"), z.string());

/** `services.<name>`: one application container. */
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
    cpus: cpus.default(SERVICE_CPUS),
    restart: z.enum(["unless-stopped", "always", "on-failure"]).default(CONTAINER_RESTART),
    /** Linux capabilities to keep; all others are dropped. */
    capAdd: z.array(z.string().regex(/^[A-Z_]+$/, "capability names are upper case, e.g. NET_BIND_SERVICE")).default([]),
    command: z.array(z.string()).optional(),
    /** Other services this one needs first: names of services, or postgres / redis. */
    dependsOn: z.array(z.string()).default([]),
    /** Seconds `pulumi up` waits for the container to become healthy. */
    healthTimeoutSeconds,
    logs: logRotation,
    readOnlyRootFilesystem: z.boolean().default(false),
    /** Prometheus metrics the service answers, which the host's monitoring scrapes (config/monitoring.ts). */
    metrics: metricsSchema.optional(),
});

/** One `services.<name>` entry, parsed. */
export type ServiceSection = z.output<typeof serviceSchema>;

/** `services`: the application containers by name (at least one). */
export const servicesSchema = z
    .record(resourceName("service name"), serviceSchema)
    .refine((s) => Object.keys(s).length > 0, "at least one service is required");

const dataServiceBase = {
    image,
    memory,
    cpus: cpus.default(DATA_SERVICE_CPUS),
    logs: logRotation,
    healthTimeoutSeconds,
};

/** `postgres`: PostgreSQL with the database it creates at first start and its owner. */
export const postgresSchema = z.strictObject({
    ...dataServiceBase,
    database: z.string().regex(/^[a-z_][a-z0-9_]*$/, "database must be a lower-case SQL identifier"),
    user: z.string().regex(/^[a-z_][a-z0-9_]*$/, "user must be a lower-case SQL identifier"),
});

/** `redis`: Redis. */
export const redisSchema = z.strictObject({ ...dataServiceBase });

/** The `postgres` and `redis` sections, parsed. */
export type PostgresSection = z.output<typeof postgresSchema>;
export type RedisSection = z.output<typeof redisSchema>;

/** The names of the built-in containers, which a service cannot take. */
const RESERVED_NAMES = ["postgres", "redis", "proxy"];

/** `postgres.image`, `redis.image`: pinned (by digest with requireImageDigest). */
export const dataServiceChecks: CrossFieldCheck = (raw) => [
    ...imageIssues("postgres.image", record(raw.postgres).image, raw),
    ...imageIssues("redis.image", record(raw.redis).image, raw),
];

/**
 * `services.<name>`: a pinned image, no reserved name, each host routed to one service only,
 * dependencies that exist, no secret in a plain env var (by its name, or a URL with a
 * password), and secretEnv naming secret config keys that are set.
 */
export const serviceChecks: CrossFieldCheck = (raw, secretKeys) => {
    const issues: ConfigIssue[] = [];
    const services = record(raw.services);
    const known = new Set([...Object.keys(services), ...(raw.postgres ? ["postgres"] : []), ...(raw.redis ? ["redis"] : [])]);
    const hostOwner = new Map<string, string>();
    for (const [name, svcValue] of Object.entries(services)) {
        const svc = record(svcValue);
        const at = `services.${name}`;
        issues.push(...imageIssues(`${at}.image`, svc.image, raw));
        if (RESERVED_NAMES.includes(name)) {
            issues.push({ path: at, message: `"${name}" is reserved for the built-in ${name} container; choose another service name` });
        }
        list(svc.hosts).forEach((host, i) => {
            if (typeof host !== "string") return;
            const owner = hostOwner.get(host);
            if (owner) issues.push({ path: `${at}.hosts[${i}]`, message: `duplicate host name "${host}", already routed to ${owner}` });
            else hostOwner.set(host, at);
        });
        list(svc.dependsOn).forEach((dep, i) => {
            if (typeof dep !== "string") return;
            if (!known.has(dep)) {
                issues.push({ path: `${at}.dependsOn[${i}]`, message: `unknown service "${dep}" (known: ${[...known].join(", ")})` });
            } else if (dep === name) {
                issues.push({ path: `${at}.dependsOn[${i}]`, message: "a service cannot depend on itself" });
            }
        });
        const env = record(svc.env);
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
        for (const [envName, key] of Object.entries(record(svc.secretEnv))) {
            if (typeof key !== "string") {
                issues.push({ path: `${at}.secretEnv.${envName}`, message: "must name a secret config key (a string)" });
            } else if (envName in env) {
                issues.push({ path: `${at}.secretEnv.${envName}`, message: "is also set in env; set it in one place" });
            } else if (raw[key] === undefined) {
                issues.push({ path: `${at}.secretEnv.${envName}`, message: `references config key "${key}", which is not set (pulumi config set --secret ${key} ...)` });
            } else if (!secretKeys.has(key)) {
                issues.push({ path: key, message: `is used as a secret by ${at}.secretEnv.${envName} but is stored in plain text: set it with "pulumi config set --secret ${key}"` });
            }
        }
    }
    return issues;
};

/** `services.<name>.dependsOn`: no cycle (a self-dependency is reported by {@link serviceChecks}). */
export const serviceDependencyChecks: CrossFieldCheck = (raw) => {
    const services = record(raw.services);
    const graph = Object.fromEntries(
        Object.entries(services).map(([name, svc]) => [name, list(record(svc).dependsOn).filter((d): d is string => typeof d === "string" && d !== name)]),
    );
    const { cycle } = dependencyOrder(graph);
    return cycle ? [{ path: `services.${cycle[0]}.dependsOn`, message: `dependency cycle ${cycle.join(" -> ")}` }] : [];
};

/** `databasePassword`: set when postgres is, and long enough to be a generated one. */
export const databasePasswordChecks: CrossFieldCheck = (raw) => {
    const issues: ConfigIssue[] = [];
    if (typeof raw.databasePassword === "string" && raw.databasePassword.length < 16) {
        issues.push({ path: "databasePassword", message: "is shorter than 16 characters: use a generated one (openssl rand -base64 32)" });
    }
    if (raw.postgres !== undefined && raw.databasePassword === undefined) {
        issues.push({ path: "databasePassword", message: "is required when postgres is configured (pulumi config set --secret databasePassword ...)" });
    }
    return issues;
};
