/**
 * The configuration of a host stack (`kind: host`): one per VPS, long-lived, owning the shared
 * edge (the edge network, the one proxy on the public address, its certificates) and the
 * host-level jobs. Its own zod schema and parser; config/stack.ts picks it by `kind`.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { DISK_USAGE, EDGE_CHECK, IMAGE_PRUNE } from "../components/defaults";
import { alertsSchema, alertWebhookChecks, AlertsSection } from "./jobs";
import { decode, dedupe, secretKeyChecks, zodIssues } from "./parse";
import { proxyChecks, proxySchema, ProxySection } from "./proxy";
import { HostSection, hostSchema, registryChecks, registryLookupHost, registrySchema } from "./host";
import { GRAFANA_PASSWORD_KEY, MonitoringConfig, monitoringChecks, monitoringConfig, monitoringSchema } from "./monitoring";
import { ConfigError, RawStackConfig } from "./types";
import { calendar, CrossFieldCheck, list, record, resourceName } from "./values";

/** `jobs`: the host's own scheduled jobs, each with its schedule and thresholds. */
const hostJobsSchema = z
    .strictObject({
        /** Daily `docker image prune` that keeps what containers use and the newest per repository. */
        imagePrune: z
            .strictObject({
                schedule: calendar.default(IMAGE_PRUNE.schedule),
                /** Images kept per repository besides those a container uses (rollbacks stay local); 1–50. */
                keepPerRepository: z.number().int().min(1, "keepPerRepository must be 1–50").max(50, "keepPerRepository must be 1–50").default(IMAGE_PRUNE.keepPerRepository),
            })
            .default({ ...IMAGE_PRUNE }),
        /** Alerts when a file system is fuller than thresholdPercent. */
        diskUsage: z
            .strictObject({
                schedule: calendar.default(DISK_USAGE.schedule),
                /** Used space, in percent, above which the check alerts; 1–99. */
                thresholdPercent: z.number().int().min(1, "thresholdPercent must be 1–99").max(99, "thresholdPercent must be 1–99").default(DISK_USAGE.thresholdPercent),
                /** Paths whose file systems are checked (absolute; one alert per file system). */
                paths: z.array(z.string().regex(/^\/[^\s]*$/, "paths must be absolute paths without spaces")).min(1).default([...DISK_USAGE.paths]),
            })
            .default({ ...DISK_USAGE, paths: [...DISK_USAGE.paths] }),
        /** The proxy's health and host names routed by two environments. */
        edgeCheck: z.strictObject({ schedule: calendar.default(EDGE_CHECK.schedule) }).default({ ...EDGE_CHECK }),
    })
    .default({
        imagePrune: { ...IMAGE_PRUNE },
        diskUsage: { ...DISK_USAGE, paths: [...DISK_USAGE.paths] },
        edgeCheck: { ...EDGE_CHECK },
    });

/** The `jobs` section of a host stack, parsed. */
export type HostJobsSection = z.output<typeof hostJobsSchema>;

const hostStackSchema = z.strictObject({
    kind: z.literal("host"),
    /** The host stack's name: first part of its Docker and unit names (`<name>-edge`), and the `vps.edge` label value environments route by. */
    name: resourceName("name"),
    /** Adds `protect: true` to the ACME volume and a destroy guard (a host stack is never destroyed by the workflows). */
    protectData: z.boolean().default(false),
    /** Reject a proxy image that is not pinned by digest. */
    requireImageDigest: z.boolean().default(false),
    registries: z.array(registrySchema).default([]),
    host: hostSchema,
    proxy: proxySchema,
    alerts: alertsSchema,
    jobs: hostJobsSchema,
    /** Prometheus, Alertmanager, Grafana and the exporters for every environment on the VPS (config/monitoring.ts). Absent: none. */
    monitoring: monitoringSchema.optional(),
    sshPrivateKey: z.string(),
    alertWebhookUrl: z.string().optional(),
    [GRAFANA_PASSWORD_KEY]: z.string().optional(),
});

/** Every top-level key of a host stack. */
export const HOST_CONFIG_KEYS: readonly string[] = Object.keys(hostStackSchema.shape);

/** A proxy of a host stack: its Let's Encrypt staging CA check needs an environment's healthCheck, which a host has not. */
const hostProxyChecks: CrossFieldCheck = (raw, secretKeys) =>
    proxyChecks({ ...raw, healthCheck: { insecureTls: true } }, secretKeys);

const CROSS_FIELD_CHECKS: readonly CrossFieldCheck[] = [hostProxyChecks, registryChecks, secretKeyChecks, alertWebhookChecks, monitoringChecks];

/** The whole host stack, typed and defaulted. */
export interface HostStackConfig {
    /** The host stack's name, e.g. "vps1". */
    name: string;
    protectData: boolean;
    requireImageDigest: boolean;
    host: HostSection & { sshPrivateKey: pulumi.Output<string> };
    registries: { address: string; username: string; password: pulumi.Output<string> }[];
    proxy: ProxySection;
    alerts: AlertsSection & { webhookUrl?: pulumi.Output<string> };
    jobs: HostJobsSection;
    /** The monitoring section with its secrets; absent without the section or with it switched off. */
    monitoring?: MonitoringConfig;
}

/**
 * Parses and validates a host stack's configuration.
 *
 * @throws ConfigError listing every problem with its key path.
 */
export function parseHostConfig(raw: RawStackConfig): HostStackConfig {
    const decoded: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(raw.values)) decoded[key] = decode(key, value);
    // registries[].passwordKey and monitoring.grafana.basicAuth.usersKey may name any secret key, so that key is not "unknown".
    const referenced = new Set(
        [...list(decoded.registries).map((r) => record(r).passwordKey), record(record(record(decoded.monitoring).grafana).basicAuth).usersKey].filter(
            (k): k is string => typeof k === "string",
        ),
    );
    const forSchema = Object.fromEntries(Object.entries(decoded).filter(([key]) => key in hostStackSchema.shape || !referenced.has(key)));

    const result = hostStackSchema.safeParse(forSchema, { reportInput: true });
    const issues = [...(result.success ? [] : zodIssues(result.error)), ...CROSS_FIELD_CHECKS.flatMap((check) => check(decoded, raw.secretKeys))];
    if (!result.success || issues.length > 0) throw new ConfigError(raw.stack, dedupe(issues));

    const cfg = result.data;
    const secret = (key: string) => pulumi.secret(String(decoded[key]));
    return {
        name: cfg.name,
        protectData: cfg.protectData,
        requireImageDigest: cfg.requireImageDigest,
        host: { ...cfg.host, sshPrivateKey: secret("sshPrivateKey") },
        registries: cfg.registries.map((r) => ({ address: registryLookupHost(r.address), username: r.username, password: secret(r.passwordKey) })),
        proxy: cfg.proxy,
        alerts: { ...cfg.alerts, webhookUrl: cfg.alertWebhookUrl !== undefined ? secret("alertWebhookUrl") : undefined },
        jobs: cfg.jobs,
        // Switched off, it is as if absent (its checks, and its secrets, are skipped too).
        monitoring: cfg.monitoring?.enabled ? monitoringConfig(cfg.monitoring, secret) : undefined,
    };
}
