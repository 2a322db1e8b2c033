/**
 * The stack configuration: one zod schema for every `vps-stacks:*` key of
 * `Pulumi.<stack>.yaml`, assembled from the concept files beside this one, and one parser
 * that turns the raw values into a typed {@link EnvironmentConfig} with defaults, or throws
 * one {@link ConfigError} that lists every problem (schema and cross-field) with its key path.
 *
 * Key paths are written as `pulumi config set --path` takes them
 * (`services.backend.port`), so a message says exactly what to fix.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { PITR } from "../components/defaults";
import { backupStorageChecks, backupStorageSchema } from "./backup-storage";
import { dnsChecks, dnsSchema } from "./dns";
import { edgeChecks, edgeSchema } from "./edge";
import { hostSchema, registryChecks, registryLookupHost, registrySchema } from "./host";
import { alertsSchema, alertWebhookChecks, backupMaxAgeHours, backupScheduleChecks, backupSchema, healthCheckSchema } from "./jobs";
import { pitrChecks, postgresVolumeChecks } from "./pitr";
import { proxyChecks, proxySchema } from "./proxy";
import {
    databasePasswordChecks,
    dataServiceChecks,
    postgresSchema,
    redisPasswordChecks,
    redisSchema,
    resolveServices,
    serviceChecks,
    serviceDependencyChecks,
    serviceReferencedKeys,
    servicesSchema,
} from "./services";
import { ConfigError, ConfigIssue, EnvironmentConfig, keyPath, RawStackConfig } from "./types";
import { CrossFieldCheck, list, record, resourceName } from "./values";

/** The Pulumi project name, which is also the config namespace (`vps-stacks:app`). */
export const PROJECT = "vps-stacks";

/** Config keys that must hold Pulumi secrets (`pulumi config set --secret`). */
export const SECRET_KEYS = ["sshPrivateKey", "databasePassword", "redisPassword", "alertWebhookUrl", "backupAccessKeyId", "backupSecretAccessKey"] as const;

const rawSchema = z.strictObject({
    /** What the stack is: an environment (this schema) or a host stack (config/host-stack.ts). */
    kind: z.literal("environment", 'kind must be "environment" or "host"').default("environment"),
    /** Application name, first part of every Docker name (`<app>-<env>-<role>`). */
    app: resourceName("app"),
    /** Environment name, second part of every Docker name; usually the stack name. */
    environment: resourceName("environment"),
    /** Adds `protect: true` to data volumes and the backup bucket (production). */
    protectData: z.boolean().default(false),
    /** Reject images that are not pinned by digest (production). */
    requireImageDigest: z.boolean().default(false),
    /** Credentials the Docker provider sends when it pulls images from private registries. */
    registries: z.array(registrySchema).default([]),
    host: hostSchema,
    /** The host stack whose proxy routes this environment; exclusive with proxy. */
    edge: edgeSchema.optional(),
    /** A proxy of the environment's own (a VPS or a public address per environment); exclusive with edge. */
    proxy: proxySchema.optional(),
    services: servicesSchema,
    postgres: postgresSchema.optional(),
    redis: redisSchema.optional(),
    alerts: alertsSchema,
    backup: backupSchema,
    healthCheck: healthCheckSchema,
    /** Cloudflare DNS records of the hosts under services.<name>.hosts. */
    dns: dnsSchema.optional(),
    /** Where the backup job uploads: an AWS S3 bucket this stack creates, or an S3-compatible store. */
    backupStorage: backupStorageSchema.optional(),
    // Secrets: accepted here only to report a plain-text value as an error.
    sshPrivateKey: z.string(),
    databasePassword: z.string().optional(),
    redisPassword: z.string().optional(),
    alertWebhookUrl: z.string().optional(),
    backupAccessKeyId: z.string().optional(),
    backupSecretAccessKey: z.string().optional(),
});

/** Every top-level key of the `vps-stacks:` namespace the schema accepts (the README documents each). */
export const CONFIG_KEYS: readonly string[] = Object.keys(rawSchema.shape);

/** {@link SECRET_KEYS}: a password or credential is never accepted in plain text. */
export const secretKeyChecks: CrossFieldCheck = (raw, secretKeys) =>
    SECRET_KEYS.filter((key) => raw[key] !== undefined && !secretKeys.has(key)).map((key) => ({
        path: key,
        message: `is a password or credential given in plain text: set it with "pulumi config set --secret ${key}"`,
    }));

/** The cross-field checks of every concept, in the order their issues are listed. */
const CROSS_FIELD_CHECKS: readonly CrossFieldCheck[] = [
    edgeChecks,
    proxyChecks,
    dataServiceChecks,
    serviceChecks,
    registryChecks,
    serviceDependencyChecks,
    secretKeyChecks,
    alertWebhookChecks,
    databasePasswordChecks,
    redisPasswordChecks,
    dnsChecks,
    backupStorageChecks,
    backupScheduleChecks,
    pitrChecks,
    postgresVolumeChecks,
];

const STRING_KEYS = new Set(["kind", "name", "app", "environment", ...SECRET_KEYS]);

/** A raw config value as the schema reads it: objects arrive as JSON text from the Pulumi runtime. */
export function decode(key: string, value: unknown): unknown {
    if (typeof value !== "string" || STRING_KEYS.has(key)) return value;
    try {
        return JSON.parse(value);
    } catch {
        return value; // a plain string: the schema reports the wrong type with its path
    }
}

/** Keeps the first issue per (path, message): the schema and the cross-field checks may both see one. */
export function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
    const seen = new Set<string>();
    return issues.filter((i) => {
        const key = `${i.path}\u0000${i.message}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
    });
}

/** A zod error as config issues, each with its key path. */
export function zodIssues(error: z.ZodError): ConfigIssue[] {
    return error.issues.map((issue) => {
        let message = issue.message;
        if (issue.code === "invalid_type" && issue.input === undefined) {
            message = `is required (${issue.expected})`;
        } else if (issue.code === "invalid_key") {
            // A map key its schema refuses (a volume role, a container path): say why, not "Invalid key in record".
            message = issue.issues.map((i) => i.message).join("; ");
        } else if (issue.code === "unrecognized_keys") {
            return { path: keyPath(issue.path) || "(top level)", message: `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}` };
        }
        return { path: keyPath(issue.path) || "(top level)", message };
    });
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

    // The services (secretEnv, ${key} references, basic-auth users) and registries[].passwordKey
    // may name any key, so those keys are not "unknown".
    const referenced = new Set<string>(serviceReferencedKeys(decoded.services));
    for (const reg of list(decoded.registries)) {
        const key = record(reg).passwordKey;
        if (typeof key === "string") referenced.add(key);
    }
    const pitr = record(record(decoded.postgres).pitr);
    if (record(decoded.postgres).pitr !== undefined) referenced.add(typeof pitr.passphraseKey === "string" ? pitr.passphraseKey : PITR.passphraseKey);
    const declared = new Set(Object.keys(rawSchema.shape));
    const forSchema: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(decoded)) {
        if (declared.has(key) || !referenced.has(key)) forSchema[key] = value;
    }

    const result = rawSchema.safeParse(forSchema, { reportInput: true });
    const issues = [...(result.success ? [] : zodIssues(result.error)), ...CROSS_FIELD_CHECKS.flatMap((check) => check(decoded, raw.secretKeys))];
    if (!result.success || issues.length > 0) throw new ConfigError(raw.stack, dedupe(issues));

    const cfg = result.data;
    const secret = (key: string) => pulumi.secret(String(decoded[key]));
    return {
        app: cfg.app,
        environment: cfg.environment,
        protectData: cfg.protectData,
        requireImageDigest: cfg.requireImageDigest,
        host: { ...cfg.host, sshPrivateKey: secret("sshPrivateKey") },
        edge: cfg.edge,
        registries: cfg.registries.map((r) => ({ address: registryLookupHost(r.address), username: r.username, password: secret(r.passwordKey) })),
        proxy: cfg.proxy,
        services: resolveServices(cfg.services, decoded, raw.secretKeys, secret),
        postgres: cfg.postgres
            ? {
                  ...cfg.postgres,
                  password: secret("databasePassword"),
                  pitr: cfg.postgres.pitr && { ...cfg.postgres.pitr, passphrase: secret(cfg.postgres.pitr.passphraseKey) },
              }
            : undefined,
        redis: cfg.redis && { ...cfg.redis, password: cfg.redisPassword !== undefined ? secret("redisPassword") : undefined },
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
