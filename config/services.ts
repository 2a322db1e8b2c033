/**
 * The containers of an environment: the application services (`services.<name>`) and the data
 * services PostgreSQL (`postgres`) and Redis (`redis`).
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { CONTAINER_RESTART, DATA_SERVICE_CPUS, HEALTH_TIMEOUT_SECONDS, SERVICE_CPUS, SERVICE_HEALTHCHECK } from "../components/defaults";
import { durationNanos } from "../components/docker/docker-forms";
import { credentialInUrl, looksLikeSecretName } from "../policies/secret-names";
import { dependencyOrder } from "./dependency-order";
import { metricsSchema } from "./monitoring";
import { dataVolumeSchema, keptVolumesSchema, pitrSchema } from "./pitr";
import { parseReferences, referencedKeys, resolveReferences } from "./references";
import { splitHostEntry } from "../components/naming";
import { basicAuthProblem, hostEntry, RoutesSection, routesSchema } from "./routes";
import type { ConfigIssue } from "./types";
import { cpus, CrossFieldCheck, duration, image, imageIssues, list, logRotation, memory, port, record, resourceName } from "./values";

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

/** An absolute path inside a container, in clean form (what Docker stores: no "//", no trailing "/", no "." or ".."). */
const containerPath = z.string().superRefine((value, ctx) => {
    if (!value.startsWith("/") || value !== cleanPath(value) || value === "/") {
        ctx.addIssue({ code: "custom", message: `"${value}" must be an absolute path in clean form, e.g. /var/lib/app (no trailing "/", "//", "." or "..")` });
    }
});

/** A path as Go's `path.Clean` writes it. */
export function cleanPath(p: string): string {
    const out: string[] = [];
    for (const seg of p.split("/")) {
        if (seg === "" || seg === ".") continue;
        if (seg === "..") out.pop();
        else out.push(seg);
    }
    return (p.startsWith("/") ? "/" : "") + out.join("/");
}

/** A size in whole MiB (`64m`, `1g`), or undefined: the Docker provider takes `shm_size` in MB. */
export function wholeMib(value: string): number | undefined {
    const m = /^(\d+(?:\.\d+)?)(m|mb|mib|g|gb|gib)$/i.exec(value.trim());
    if (!m) return undefined;
    const mb = Number(m[1]) * (m[2].toLowerCase().startsWith("g") ? 1024 : 1);
    return Number.isInteger(mb) && mb >= 1 ? mb : undefined;
}

/** Signals a container may be stopped with (`docker stop`), by their canonical name. */
export const STOP_SIGNALS = ["SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGWINCH"] as const;

/** Resource limits Docker accepts (`--ulimit`), by the lower-case name it stores. */
export const ULIMITS = ["core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"] as const;

/** One ulimit: a number (soft = hard) or {soft, hard}. */
const ulimit = z.union([
    z.number().int().min(0).transform((n) => ({ soft: n, hard: n })),
    z.strictObject({ soft: z.number().int().min(0), hard: z.number().int().min(0) }).refine((u) => u.soft <= u.hard, "soft must not exceed hard"),
]);

/** `services.<name>`: one application container (and its replicas). */
const serviceSchema = z.strictObject({
    image,
    /** Port the container listens on; the proxy routes to it. No host port is ever published. Absent: a worker, never routed. */
    port: port.optional(),
    /** Public host names (optionally with a path prefix, `api.example.com/v1`) the proxy routes to this service. */
    hosts: z.array(hostEntry).default([]),
    /** HTTP path the health-check job probes through the proxy on each host entry, e.g. /health. */
    healthPath: z.string().regex(/^\//, "healthPath must start with /").optional(),
    healthcheck,
    /** Plain variables; a value may reference config keys (`${databasePassword}`), and is secret when one of them is. */
    env: envVars.default({}),
    /** Environment variable name -> name of a secret config key. */
    secretEnv: z.record(z.string(), z.string()).default({}),
    /** Files the stack writes on the VPS and mounts read-only: container path -> content (may reference config keys). */
    files: z.record(containerPath, z.string()).default({}),
    /** Retained data volumes of the service: role -> container path; each is `<app>-<env>-<name>-<role>`, backed up. */
    volumes: z.record(z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, "a volume role is 1-31 of a-z, 0-9 and \"-\", starting with a letter"), containerPath).default({}),
    /** The volumes may be written by two containers at once (replicas, a replacement beside the old one). Default false: delete-first. */
    sharedVolumes: z.boolean().default(false),
    /** Containers of the service behind one load balancer, replaced one at a time. */
    replicas: z.number().int().min(1, "replicas must be at least 1").max(20, "replicas must be at most 20").default(1),
    /** Command run once per deploy in a one-shot container of the new image, before the new version starts. */
    release: z.array(z.string().min(1, "release arguments must not be empty")).min(1, "release needs a command").optional(),
    memory,
    cpus: cpus.default(SERVICE_CPUS),
    restart: z.enum(["unless-stopped", "always", "on-failure"]).default(CONTAINER_RESTART),
    /** Linux capabilities to keep; all others are dropped. */
    capAdd: z.array(z.string().regex(/^[A-Z_]+$/, "capability names are upper case, e.g. NET_BIND_SERVICE")).default([]),
    command: z.array(z.string()).optional(),
    /** Entrypoint override. */
    entrypoint: z.array(z.string().min(1, "entrypoint arguments must not be empty")).min(1, "entrypoint needs a program").optional(),
    /** User (and group) the process runs as: `name`, `uid`, `name:group` or `uid:gid`. */
    user: z.string().regex(/^([a-z_][a-z0-9_-]{0,31}|\d{1,10})(:([a-z_][a-z0-9_-]{0,31}|\d{1,10}))?$/, 'user must be "name", "uid", "name:group" or "uid:gid"').optional(),
    /** Working directory of the process. */
    workingDir: containerPath.optional(),
    /** Run an init process (tini) as PID 1 that reaps zombies and forwards signals. */
    init: z.boolean().optional(),
    /** Signal that stops the container. */
    stopSignal: z.enum(STOP_SIGNALS, { error: `stopSignal must be one of ${STOP_SIGNALS.join(", ")}` }).optional(),
    /** Time between the stop signal and SIGKILL (whole seconds, 1s to 1h). */
    stopGracePeriod: duration
        .refine((d) => {
            const n = durationNanos(d);
            return n !== undefined && n % 1_000_000_000n === 0n && n >= 1_000_000_000n && n <= 3_600_000_000_000n;
        }, "stopGracePeriod must be whole seconds between 1s and 1h")
        .optional(),
    /** Size of /dev/shm (`64m`, `1g`) in whole MiB, which the Docker provider takes; Docker's default is 64m. */
    shmSize: z
        .string()
        .transform((value, ctx) => {
            const mb = wholeMib(value);
            if (mb === undefined) {
                ctx.addIssue({ code: "custom", message: `shmSize "${value}" must be a whole number of MiB or GiB, e.g. 64m or 1g` });
                return z.NEVER;
            }
            return mb;
        })
        .optional(),
    /** tmpfs mounts: container path -> mount options ("size=64m,mode=1777", or "" for the defaults). */
    tmpfs: z.record(containerPath, z.string().regex(/^[a-z0-9=,_.-]*$/, "tmpfs options look like size=64m,mode=1777")).default({}),
    /** Resource limits: name -> number or {soft, hard}. */
    ulimits: z.partialRecord(z.enum(ULIMITS, { error: `ulimit names are ${ULIMITS.join(", ")}` }), ulimit).default({}),
    /** Middlewares of the service's routes, and paths the proxy refuses. */
    routes: routesSchema.optional(),
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

/** One service as the components get it: references resolved, secrets as secret Outputs. */
export type ResolvedService = Omit<ServiceSection, "env" | "secretEnv" | "files" | "routes"> & {
    /** Plain variables (references to plain keys resolved). */
    env: Record<string, string>;
    /** Variables whose values are secrets: from secretEnv, and env values that reference a secret key. */
    secretEnv: Record<string, pulumi.Output<string>>;
    /** Container path -> content; secret when the content references a secret key. */
    files: Record<string, pulumi.Input<string>>;
    /** The routes, with the basic-auth users (one user:password per line) as a secret. */
    routes?: Omit<RoutesSection, "basicAuth"> & { basicAuthUsers?: pulumi.Output<string> };
};

/**
 * The services with every `${key}` reference resolved: an env value referencing a secret key
 * becomes a secret env var, a file referencing one a secret file.
 *
 * @param values the decoded raw config values
 * @param secret the secret Output of a secret config key
 */
export function resolveServices(
    services: Record<string, ServiceSection>,
    values: Readonly<Record<string, unknown>>,
    secretKeys: ReadonlySet<string>,
    secret: (key: string) => pulumi.Output<string>,
): Record<string, ResolvedService> {
    const valueOf = (key: string) => (secretKeys.has(key) ? secret(key) : String(values[key]));
    const isSecretText = (text: string) => referencedKeys(text).some((k) => secretKeys.has(k));
    return Object.fromEntries(
        Object.entries(services).map(([name, svc]) => {
            const env: Record<string, string> = {};
            const secretEnv: Record<string, pulumi.Output<string>> = Object.fromEntries(Object.entries(svc.secretEnv).map(([k, key]) => [k, secret(key)]));
            for (const [k, v] of Object.entries(svc.env)) {
                const resolved = resolveReferences(v, valueOf);
                if (isSecretText(v)) secretEnv[k] = pulumi.secret(resolved);
                else env[k] = resolved as string;
            }
            const files = Object.fromEntries(
                Object.entries(svc.files).map(([path, text]) => [path, isSecretText(text) ? pulumi.secret(resolveReferences(text, valueOf)) : resolveReferences(text, valueOf)]),
            );
            const { basicAuth, ...routes } = svc.routes ?? ({} as RoutesSection);
            const resolved: ResolvedService = {
                ...svc,
                env,
                secretEnv,
                files,
                routes: svc.routes ? { ...routes, basicAuthUsers: basicAuth ? secret(basicAuth.usersKey) : undefined } : undefined,
            };
            return [name, resolved];
        }),
    );
}

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
    /** Point-in-time recovery (config/pitr.ts). */
    pitr: pitrSchema.optional(),
    /** The data volume the server mounts; a PITR promote sets it to a recovered one (config/pitr.ts). */
    dataVolume: dataVolumeSchema,
    /** Earlier data volumes kept in the stack but not mounted (config/pitr.ts). */
    keptVolumes: keptVolumesSchema,
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
 * `services.<name>`: a pinned image, no reserved name, each host entry routed to one service
 * only, dependencies that exist, no secret in a plain env var (by its name, or a URL with a
 * password), secretEnv naming secret config keys that are set, and the rules of workers,
 * volumes, replicas, files, references and routes ({@link serviceShapeIssues}).
 */
export const serviceChecks: CrossFieldCheck = (raw, secretKeys) => {
    const issues: ConfigIssue[] = [];
    const services = record(raw.services);
    const known = new Set([...Object.keys(services), ...(raw.postgres ? ["postgres"] : []), ...(raw.redis ? ["redis"] : [])]);
    const hostOwner = new Map<string, string>();
    const volumeOwner = new Map<string, string>();
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
        for (const role of Object.keys(record(svc.volumes))) {
            // <app>-<env>-<service>-<role>: "a-b" + "c" and "a" + "b-c" would share one volume.
            const volume = `${name}-${role}`;
            const owner = volumeOwner.get(volume);
            if (owner) issues.push({ path: `${at}.volumes.${role}`, message: `names the volume <app>-<env>-${volume}, which ${owner} names too` });
            else volumeOwner.set(volume, `${at}.volumes`);
        }
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
            const where = `${at}.env.${envName}`;
            const refs = referenceIssues(where, value, raw, secretKeys);
            issues.push(...refs.issues);
            if (refs.issues.length > 0) continue;
            if (looksLikeSecretName(envName) && !refs.secret) {
                issues.push({
                    path: where,
                    message: `looks like a secret given in plain text: reference a secret config key in it ("\${myKey}") or move it to ${at}.secretEnv, and set the value with "pulumi config set --secret <key>"`,
                });
            } else if (credentialInUrl(value) !== undefined && !passwordIsSecretReference(value, secretKeys)) {
                issues.push({
                    path: where,
                    message: `holds a URL with a password in plain text (user "${credentialInUrl(value)}"): write the password as a reference to a secret config key ("postgres://user:\${databasePassword}@host/db"), or put the whole URL in a secret key and reference it from ${at}.secretEnv.${envName}`,
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
        for (const [file, content] of Object.entries(record(svc.files))) {
            if (typeof content === "string") issues.push(...referenceIssues(keyPathOf(`${at}.files`, file), content, raw, secretKeys).issues);
        }
        issues.push(...serviceShapeIssues(at, svc, raw, secretKeys));
    }
    return issues;
};

/** `<at>["<key>"]`: a key with a "/" or "." (a container path) quoted, as `pulumi config set --path` takes it. */
function keyPathOf(at: string, key: string): string {
    return /[.\[\]"/]/.test(key) ? `${at}["${key}"]` : `${at}.${key}`;
}

/** Whether a URL's password is exactly one reference to a secret config key (`://user:${key}@`). */
function passwordIsSecretReference(value: string, secretKeys: ReadonlySet<string>): boolean {
    const m = /^[a-z][a-z0-9+.-]*:\/\/[^\s/:@]*:\$\{([A-Za-z][A-Za-z0-9_-]*)\}@/i.exec(value.trim());
    return m !== null && secretKeys.has(m[1]);
}

/**
 * The problems of the `${key}` references in a text at `path` (syntax, a key that is not set,
 * a key that is not text), and whether any referenced key is secret (the value then is).
 */
function referenceIssues(path: string, value: string, raw: Readonly<Record<string, unknown>>, secretKeys: ReadonlySet<string>): { issues: ConfigIssue[]; secret: boolean } {
    const { problem } = parseReferences(value);
    if (problem) return { issues: [{ path, message: problem }], secret: false };
    const issues: ConfigIssue[] = [];
    let secret = false;
    for (const key of referencedKeys(value)) {
        const v = raw[key];
        if (v === undefined) {
            issues.push({ path, message: `references config key "${key}", which is not set (pulumi config set [--secret] ${key} ...)` });
        } else if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
            issues.push({ path, message: `references config key "${key}", which is not text (only a key holding a single value can be referenced)` });
        } else if (secretKeys.has(key)) {
            secret = true;
        }
    }
    return { issues, secret };
}

/**
 * The rules of a service's shape: a worker (no port) has no hosts, healthPath or routes;
 * replicas that share volumes say so (`sharedVolumes`); a file, volume and tmpfs never share a
 * path; routes need a routed host; basic-auth users come from a secret key holding valid lines;
 * the health path is not a private path.
 */
function serviceShapeIssues(at: string, svc: Readonly<Record<string, unknown>>, raw: Readonly<Record<string, unknown>>, secretKeys: ReadonlySet<string>): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    const hosts = list(svc.hosts).filter((h): h is string => typeof h === "string");
    const routes = svc.routes === undefined ? undefined : record(svc.routes);
    if (svc.port === undefined) {
        const why = "is set but the service has no port: a worker is never routed (set port, or remove it)";
        if (hosts.length > 0) issues.push({ path: `${at}.hosts`, message: why });
        if (svc.healthPath !== undefined) issues.push({ path: `${at}.healthPath`, message: why });
        if (routes !== undefined) issues.push({ path: `${at}.routes`, message: why });
    } else if (routes !== undefined && hosts.length === 0) {
        issues.push({ path: `${at}.routes`, message: "is set but the service has no hosts: routes apply to the service's host entries" });
    }
    const volumes = record(svc.volumes);
    const replicas = typeof svc.replicas === "number" ? svc.replicas : 1;
    if (Object.keys(volumes).length > 0 && replicas > 1 && svc.sharedVolumes !== true) {
        issues.push({
            path: `${at}.replicas`,
            message: `is ${replicas} but the service has volumes: two containers must not write one volume; set sharedVolumes: true if the service is built for it, or keep one replica`,
        });
    }
    const mounted = new Map<string, string>();
    const mount = (path: unknown, where: string) => {
        if (typeof path !== "string") return;
        const other = mounted.get(path);
        if (other) issues.push({ path: where, message: `mounts "${path}", which ${other} mounts too` });
        else mounted.set(path, where);
    };
    for (const [role, path] of Object.entries(volumes)) mount(path, `${at}.volumes.${role}`);
    for (const path of Object.keys(record(svc.files))) mount(path, keyPathOf(`${at}.files`, path));
    for (const path of Object.keys(record(svc.tmpfs))) mount(path, keyPathOf(`${at}.tmpfs`, path));
    if (routes === undefined) return issues;
    const auth = record(routes.basicAuth);
    if (typeof auth.usersKey === "string") {
        const key = auth.usersKey;
        const where = `${at}.routes.basicAuth.usersKey`;
        const value = raw[key];
        if (value === undefined) {
            issues.push({ path: where, message: `references config key "${key}", which is not set (pulumi config set --secret ${key} "$(printf 'alice:<password>')")` });
        } else if (!secretKeys.has(key)) {
            issues.push({ path: key, message: `holds basic-auth passwords for ${where} but is stored in plain text: set it with "pulumi config set --secret ${key}"` });
        } else if (typeof value !== "string") {
            issues.push({ path: key, message: "must hold text: one user:password per line" });
        } else {
            const problem = basicAuthProblem(value);
            if (problem) issues.push({ path: key, message: problem });
        }
    }
    const privatePaths = list(routes.privatePaths).filter((p): p is string => typeof p === "string");
    const health = typeof svc.healthPath === "string" ? svc.healthPath : undefined;
    if (health !== undefined) {
        for (const host of hosts) {
            const url = splitHostEntry(host).path + health;
            const hit = privatePaths.find((p) => url === p || url.startsWith(`${p}/`));
            if (hit) issues.push({ path: `${at}.healthPath`, message: `${url} on ${splitHostEntry(host).host} is under the private path ${hit}, which the proxy refuses: the health check would always fail` });
        }
    }
    if (routes.stripPrefix === true && !hosts.some((h) => splitHostEntry(h).path !== "")) {
        issues.push({ path: `${at}.routes.stripPrefix`, message: "is true but no host entry has a path prefix to strip (e.g. api.example.com/v1)" });
    }
    return issues;
}

/** The config keys the services reference (`${key}` in env and files, secretEnv, basic-auth users): not unknown keys. */
export function serviceReferencedKeys(services: unknown): string[] {
    const keys: string[] = [];
    for (const svcValue of Object.values(record(services))) {
        const svc = record(svcValue);
        for (const key of Object.values(record(svc.secretEnv))) if (typeof key === "string") keys.push(key);
        for (const value of [...Object.values(record(svc.env)), ...Object.values(record(svc.files))]) {
            if (typeof value === "string") keys.push(...referencedKeys(value));
        }
        const usersKey = record(record(svc.routes).basicAuth).usersKey;
        if (typeof usersKey === "string") keys.push(usersKey);
    }
    return keys;
}

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

/** `redisPassword`: only with redis, and long enough to be a generated one. */
export const redisPasswordChecks: CrossFieldCheck = (raw) => {
    const issues: ConfigIssue[] = [];
    if (raw.redisPassword === undefined) return issues;
    if (raw.redis === undefined) {
        issues.push({ path: "redisPassword", message: "is set but redis is not configured: remove it, or add a redis section" });
    }
    if (typeof raw.redisPassword === "string" && raw.redisPassword.length < 16) {
        issues.push({ path: "redisPassword", message: "is shorter than 16 characters: use a generated one (openssl rand -hex 32)" });
    } else if (typeof raw.redisPassword === "string" && /\s|"/.test(raw.redisPassword)) {
        issues.push({ path: "redisPassword", message: "holds whitespace or a double quote, which a Redis config file cannot carry: use a generated one (openssl rand -hex 32)" });
    }
    return issues;
};
