/**
 * Monitoring: a host stack's `monitoring` section (Prometheus, Alertmanager, Grafana,
 * node-exporter and blackbox-exporter on the VPS, watching every environment attached to it),
 * and an environment's `services.<name>.metrics` (what Prometheus scrapes of a service).
 *
 * Thresholds are keys with the defaults of components/defaults.ts; the backup age an alert
 * allows is each environment's own `backup.maxAgeHours`, which the environment publishes
 * beside its targets (components/monitoring/targets.ts), so the host stack need not know it.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { ERROR_RATE_METRIC, GRAFANA_ADMIN_USER, METRICS_PATH, MONITORING_LIMITS, MONITORING_THRESHOLDS, PROMETHEUS } from "../components/defaults";
import { basicAuthProblem } from "./routes";
import type { ConfigIssue } from "./types";
import { cpus, CrossFieldCheck, hostname, image, imageIssues, logRotation, memory, port, record, text } from "./values";

/** A Prometheus duration as both Prometheus 2.x and 3.x read it: `15s`, `1m30s`, `30d`. */
export const PROMETHEUS_DURATION = /^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$/;

/** A Prometheus duration, not empty. */
const promDuration = (what: string) =>
    z.string().regex(PROMETHEUS_DURATION, `${what} must be a Prometheus duration such as "15s", "1m" or "30d"`).refine((v) => v !== "", `${what} must not be empty`);

/** A metric or label name Prometheus 2.x accepts (3.x also takes UTF-8 names; 2.x does not). */
export const PROMETHEUS_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The limits and log rotation of one monitoring container, defaulted from `limits`. */
const container = (limits: { memoryMb: number; cpus: number }) => ({
    /** Pinned image: `repo:tag` or `repo@sha256:...` (with requireImageDigest, a digest). */
    image,
    memory: memory.default(limits.memoryMb),
    cpus: cpus.default(limits.cpus),
    logs: logRotation,
});

/** A whole number of minutes within [1, max]. */
const minutes = (key: string, fallback: number, max = 1440) =>
    z.number().int(`${key} must be a whole number`).min(1, `${key} must be 1–${max}`).max(max, `${key} must be 1–${max}`).default(fallback);

/** `monitoring.thresholds`: what each alert rule fires on. */
const thresholdsSchema = z
    .strictObject({
        /** A probed public URL failing this long fires ServerDown (and ServerUp when it answers again). */
        serverDownMinutes: minutes("serverDownMinutes", MONITORING_THRESHOLDS.serverDownMinutes),
        /** Share of a service's requests answered 5xx, in percent, above which HighErrorRate fires. */
        errorRatePercent: z.number().gt(0, "errorRatePercent must be above 0").max(100, "errorRatePercent must be at most 100").default(MONITORING_THRESHOLDS.errorRatePercent),
        /** How long (and over how long a window) the 5xx share must stay above errorRatePercent. */
        errorRateMinutes: minutes("errorRateMinutes", MONITORING_THRESHOLDS.errorRateMinutes),
        /** Used space of a file system, in percent, above which DiskFull fires. */
        diskUsedPercent: z.number().int().min(1, "diskUsedPercent must be 1–99").max(99, "diskUsedPercent must be 1–99").default(MONITORING_THRESHOLDS.diskUsedPercent),
        diskMinutes: minutes("diskMinutes", MONITORING_THRESHOLDS.diskMinutes),
        /** Available memory, in percent of the total, below which MemoryPressure fires. */
        memoryAvailablePercent: z.number().int().min(1, "memoryAvailablePercent must be 1–99").max(99, "memoryAvailablePercent must be 1–99").default(MONITORING_THRESHOLDS.memoryAvailablePercent),
        memoryMinutes: minutes("memoryMinutes", MONITORING_THRESHOLDS.memoryMinutes),
        /** Restarts of one container within containerRestartWindowMinutes above which ContainerRestarting fires. */
        containerRestarts: z.number().int().min(1, "containerRestarts must be 1–100").max(100, "containerRestarts must be 1–100").default(MONITORING_THRESHOLDS.containerRestarts),
        containerRestartWindowMinutes: minutes("containerRestartWindowMinutes", MONITORING_THRESHOLDS.containerRestartWindowMinutes),
        /** How long the health-check job must keep failing before HealthCheckJobFailing fires. */
        healthCheckFailingMinutes: minutes("healthCheckFailingMinutes", MONITORING_THRESHOLDS.healthCheckFailingMinutes),
        /** How long the health-check job may not report before HealthCheckJobSilent fires. */
        healthCheckStaleMinutes: minutes("healthCheckStaleMinutes", MONITORING_THRESHOLDS.healthCheckStaleMinutes),
        /** How long the host's node exporter may be unreachable before HostDown fires. */
        hostDownMinutes: minutes("hostDownMinutes", MONITORING_THRESHOLDS.hostDownMinutes),
    })
    .default({ ...MONITORING_THRESHOLDS });

/** `monitoring`: the monitoring of one VPS, on its host stack. */
export const monitoringSchema = z.strictObject({
    /** Off: the section stays in the file and nothing of it is deployed (and its volumes are kept). Default true. */
    enabled: z.boolean().default(true),
    prometheus: z.strictObject({
        ...container(PROMETHEUS),
        scrapeInterval: promDuration("scrapeInterval").default(PROMETHEUS.scrapeInterval),
        evaluationInterval: promDuration("evaluationInterval").default(PROMETHEUS.evaluationInterval),
        /** Samples older than this are deleted (`--storage.tsdb.retention.time`). */
        retentionTime: promDuration("retentionTime").default(PROMETHEUS.retentionTime),
        /** The TSDB is cut back to this size (`--storage.tsdb.retention.size`): 512MB, 4GB. */
        retentionSize: z
            .string()
            .regex(/^\d+(B|KB|MB|GB|TB|PB|EB)$/, 'retentionSize must be a size such as "512MB" or "4GB"')
            .default(PROMETHEUS.retentionSize),
    }),
    alertmanager: z.strictObject({ ...container(MONITORING_LIMITS.alertmanager) }),
    grafana: z.strictObject({
        ...container(MONITORING_LIMITS.grafana),
        /** The host name the proxy routes to Grafana (its own; point its DNS record at the VPS). */
        host: hostname,
        /** Grafana's admin user; the password is the secret `grafanaAdminPassword`. */
        adminUser: z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, "adminUser must be 1-64 of A-Z a-z 0-9 . _ @ -").default(GRAFANA_ADMIN_USER),
        /** The proxy's basic auth in front of Grafana: `usersKey` names a secret config key with one `user:password` per line. */
        basicAuth: z.strictObject({ usersKey: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, "usersKey must name a config key") }),
    }),
    nodeExporter: z.strictObject({ ...container(MONITORING_LIMITS.nodeExporter) }),
    blackboxExporter: z.strictObject({ ...container(MONITORING_LIMITS.blackboxExporter) }),
    thresholds: thresholdsSchema,
    /** The request counter the 5xx share is computed from (by service), and its status-code label. */
    errorRate: z
        .strictObject({
            metric: z.string().regex(PROMETHEUS_NAME, "metric must be a Prometheus metric name").default(ERROR_RATE_METRIC.metric),
            statusLabel: z.string().regex(PROMETHEUS_NAME, "statusLabel must be a Prometheus label name").default(ERROR_RATE_METRIC.statusLabel),
        })
        .default({ ...ERROR_RATE_METRIC }),
});

/** The `monitoring` section, parsed. */
export type MonitoringSection = z.output<typeof monitoringSchema>;

/** The `monitoring` section with its two secrets: Grafana's admin password and the proxy's users in front of it. */
export type MonitoringConfig = MonitoringSection & { grafanaAdminPassword: pulumi.Output<string>; basicAuthUsers: pulumi.Output<string> };

/** The parsed section with its secrets taken from the stack's keys (`secret(key)` makes a key's value a secret). */
export function monitoringConfig(section: MonitoringSection, secret: (key: string) => pulumi.Output<string>): MonitoringConfig {
    return { ...section, grafanaAdminPassword: secret(GRAFANA_PASSWORD_KEY), basicAuthUsers: secret(section.grafana.basicAuth.usersKey) };
}

/** The secret key that holds Grafana's admin password. */
export const GRAFANA_PASSWORD_KEY = "grafanaAdminPassword";

/**
 * `monitoring`: the five images pinned; Grafana's admin password and the proxy's users set
 * as secrets (the users usable); and with the section off, nothing else is checked.
 */
export const monitoringChecks: CrossFieldCheck = (raw, secretKeys) => {
    if (raw.monitoring === undefined) return [];
    const m = record(raw.monitoring);
    if (m.enabled === false) return [];
    const issues: ConfigIssue[] = [];
    for (const part of ["prometheus", "alertmanager", "grafana", "nodeExporter", "blackboxExporter"]) {
        issues.push(...imageIssues(`monitoring.${part}.image`, record(m[part]).image, raw));
    }
    if (raw[GRAFANA_PASSWORD_KEY] === undefined) {
        issues.push({ path: GRAFANA_PASSWORD_KEY, message: `is required with monitoring: set Grafana's admin password with "pulumi config set --secret ${GRAFANA_PASSWORD_KEY}"` });
    } else if (!secretKeys.has(GRAFANA_PASSWORD_KEY)) {
        issues.push({ path: GRAFANA_PASSWORD_KEY, message: `is a password given in plain text: set it with "pulumi config set --secret ${GRAFANA_PASSWORD_KEY}"` });
    } else if (typeof raw[GRAFANA_PASSWORD_KEY] === "string" && String(raw[GRAFANA_PASSWORD_KEY]).length < 12) {
        issues.push({ path: GRAFANA_PASSWORD_KEY, message: "is shorter than 12 characters" });
    }
    const usersKey = text(record(record(m.grafana).basicAuth).usersKey);
    if (usersKey !== undefined) {
        const where = "monitoring.grafana.basicAuth.usersKey";
        if (raw[usersKey] === undefined) {
            issues.push({ path: where, message: `names "${usersKey}", which is not set: pulumi config set --secret ${usersKey} "$(printf 'user:password')"` });
        } else if (!secretKeys.has(usersKey)) {
            issues.push({ path: usersKey, message: `holds passwords in plain text: set it with "pulumi config set --secret ${usersKey}"` });
        } else if (typeof raw[usersKey] === "string") {
            const problem = basicAuthProblem(String(raw[usersKey]));
            if (problem) issues.push({ path: usersKey, message: problem });
        }
    }
    return issues;
};

/** `services.<name>.metrics`: the service answers Prometheus metrics, which the host's Prometheus scrapes. */
export const metricsSchema = z.strictObject({
    /** HTTP path of the metrics. Default /metrics. */
    path: z.string().regex(/^\/[^\s?#]*$/, "path must start with / and hold no spaces, ? or #").default(METRICS_PATH),
    /** Container port of the metrics. Default the service's `port`. */
    port: port.optional(),
});

/** `services.<name>.metrics`, parsed. */
export type MetricsSection = z.output<typeof metricsSchema>;
