/**
 * The alert rules (`rules/vps-stacks.yml`), generated from the thresholds, rendered without
 * Pulumi. Every alert carries `severity` (critical or warning) and two annotations, `summary`
 * (what is wrong, for the firing notification) and `resolved` (for the notification when it
 * ends: "ServerUp" for ServerDown, as the setups this product replaces name it).
 *
 * The series they read: `probe_success` (blackbox-exporter, labels app, environment, service
 * from the environment's probe file), node-exporter's filesystem and memory series, and what
 * the jobs write to node-exporter's textfile directory (`vps_*`, labels app and environment;
 * components/scripts/metrics.sh). Only PromQL that Prometheus 2.42 and 3.x evaluate alike.
 */
import { stringify } from "yaml";
import { JOBS } from "./prometheus-config";

/** What each alert fires on; durations are Prometheus durations ("2m"). */
export interface AlertThresholds {
    /** A probe failing this long: ServerDown. */
    readonly serverDownFor: string;
    /** 5xx share in percent, over `window`, for `for`: HighErrorRate. */
    readonly errorRate: { readonly percent: number; readonly window: string; readonly for: string; readonly metric: string; readonly statusLabel: string };
    /** Used space in percent, for `for`: DiskFull. */
    readonly disk: { readonly usedPercent: number; readonly for: string };
    /** Available memory in percent, for `for`: MemoryPressure. */
    readonly memory: { readonly availablePercent: number; readonly for: string };
    /** More than `count` restarts of one container within `window`: ContainerRestarting. */
    readonly containerRestarts: { readonly count: number; readonly window: string };
    /** The health-check job failing for `failingFor`, or silent for `silentSeconds`. */
    readonly healthCheck: { readonly failingFor: string; readonly silentSeconds: number };
    /** The node exporter unreachable this long: HostDown. */
    readonly hostDownFor: string;
}

/** Minutes as a Prometheus duration. */
export function minutesDuration(minutes: number): string {
    return `${minutes}m`;
}

/** The thresholds of the config (`monitoring.thresholds`, `monitoring.errorRate`, all in minutes and percent) as the rules take them. */
export function alertThresholds(t: {
    serverDownMinutes: number;
    errorRatePercent: number;
    errorRateMinutes: number;
    diskUsedPercent: number;
    diskMinutes: number;
    memoryAvailablePercent: number;
    memoryMinutes: number;
    containerRestarts: number;
    containerRestartWindowMinutes: number;
    healthCheckFailingMinutes: number;
    healthCheckStaleMinutes: number;
    hostDownMinutes: number;
}, errorRate: { metric: string; statusLabel: string }): AlertThresholds {
    const m = minutesDuration;
    return {
        serverDownFor: m(t.serverDownMinutes),
        errorRate: { percent: t.errorRatePercent, window: m(t.errorRateMinutes), for: m(t.errorRateMinutes), ...errorRate },
        disk: { usedPercent: t.diskUsedPercent, for: m(t.diskMinutes) },
        memory: { availablePercent: t.memoryAvailablePercent, for: m(t.memoryMinutes) },
        containerRestarts: { count: t.containerRestarts, window: m(t.containerRestartWindowMinutes) },
        healthCheck: { failingFor: m(t.healthCheckFailingMinutes), silentSeconds: t.healthCheckStaleMinutes * 60 },
        hostDownFor: m(t.hostDownMinutes),
    };
}

/** File systems that are not disks: tmpfs, overlay layers, container and kernel mounts. */
const NOT_DISKS = 'fstype!~"tmpfs|ramfs|devtmpfs|overlay|squashfs|nsfs|proc|sysfs|fuse.*",mountpoint!~"/(run|dev|proc|sys)($|/).*"';

/** The environment in a summary: "shop/staging". */
const ENV = "{{ $labels.app }}/{{ $labels.environment }}";

export interface AlertRule {
    alert: string;
    expr: string;
    for?: string;
    labels: { severity: "critical" | "warning" };
    annotations: { summary: string; resolved: string };
}

/** Every alert rule, by group. */
export function alertRules(t: AlertThresholds): { name: string; rules: AlertRule[] }[] {
    const e = t.errorRate;
    const requests = (filter: string) => `sum by (app, environment, service) (rate(${e.metric}{${filter}}[${e.window}]))`;
    return [
        {
            name: "probes",
            rules: [
                {
                    alert: "ServerDown",
                    expr: `probe_success{job="${JOBS.probe}"} == 0`,
                    for: t.serverDownFor,
                    labels: { severity: "critical" },
                    annotations: {
                        summary: `{{ $labels.instance }} (${ENV}) is down: its probe has failed for ${t.serverDownFor}`,
                        resolved: `{{ $labels.instance }} (${ENV}) is up again`,
                    },
                },
            ],
        },
        {
            name: "services",
            rules: [
                {
                    alert: "HighErrorRate",
                    expr: `100 * ${requests(`${e.statusLabel}=~"5.."`)} / ${requests("")} > ${e.percent}`,
                    for: e.for,
                    labels: { severity: "warning" },
                    annotations: {
                        summary: `{{ $labels.service }} (${ENV}) answers {{ $value | printf "%.1f" }}% of its requests with 5xx (threshold ${e.percent}%)`,
                        resolved: `{{ $labels.service }} (${ENV}) answers under ${e.percent}% of its requests with 5xx again`,
                    },
                },
                {
                    alert: "MetricsUnreachable",
                    expr: `up{job="${JOBS.services}"} == 0`,
                    for: "5m",
                    labels: { severity: "warning" },
                    annotations: {
                        summary: `Prometheus cannot scrape the metrics of {{ $labels.service }} (${ENV}) at {{ $labels.instance }}`,
                        resolved: `Prometheus scrapes the metrics of {{ $labels.service }} (${ENV}) again`,
                    },
                },
            ],
        },
        {
            name: "host",
            rules: [
                {
                    alert: "HostDown",
                    expr: `up{job="${JOBS.node}"} == 0`,
                    for: t.hostDownFor,
                    labels: { severity: "critical" },
                    annotations: {
                        summary: `The host does not answer: its node exporter {{ $labels.instance }} has been unreachable for ${t.hostDownFor} (its other alerts are held back)`,
                        resolved: "The host answers again",
                    },
                },
                {
                    alert: "DiskFull",
                    expr: `100 * (1 - node_filesystem_avail_bytes{${NOT_DISKS}} / node_filesystem_size_bytes{${NOT_DISKS}}) > ${t.disk.usedPercent}`,
                    for: t.disk.for,
                    labels: { severity: "warning" },
                    annotations: {
                        summary: `Disk {{ $labels.mountpoint }} is {{ $value | printf "%.0f" }}% full (threshold ${t.disk.usedPercent}%)`,
                        resolved: `Disk {{ $labels.mountpoint }} is under ${t.disk.usedPercent}% full again`,
                    },
                },
                {
                    alert: "MemoryPressure",
                    expr: `100 * node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes < ${t.memory.availablePercent}`,
                    for: t.memory.for,
                    labels: { severity: "warning" },
                    annotations: {
                        summary: `Only {{ $value | printf "%.0f" }}% of the memory is available (threshold ${t.memory.availablePercent}%)`,
                        resolved: `More than ${t.memory.availablePercent}% of the memory is available again`,
                    },
                },
            ],
        },
        {
            name: "containers",
            rules: [
                {
                    alert: "ContainerRestarting",
                    expr: `increase(vps_container_restarts_total[${t.containerRestarts.window}]) > ${t.containerRestarts.count}`,
                    labels: { severity: "warning" },
                    annotations: {
                        summary: `{{ $labels.container }} (${ENV}) restarted {{ $value | printf "%.0f" }} times in ${t.containerRestarts.window}`,
                        resolved: `{{ $labels.container }} (${ENV}) stopped restarting`,
                    },
                },
            ],
        },
        {
            name: "jobs",
            rules: [
                {
                    // The limit is the environment's backup.maxAgeHours, which it publishes as
                    // vps_backup_max_age_seconds (components/monitoring/targets.ts).
                    alert: "BackupTooOld",
                    expr: "time() - vps_backup_last_success_timestamp_seconds > on (app, environment) vps_backup_max_age_seconds",
                    labels: { severity: "critical" },
                    annotations: {
                        summary: `The newest backup of ${ENV} is {{ $value | humanizeDuration }} old`,
                        resolved: `${ENV} has a fresh backup again`,
                    },
                },
                {
                    alert: "BackupMissing",
                    expr:
                        "(time() - vps_backup_expected_since_timestamp_seconds > on (app, environment) vps_backup_max_age_seconds)" +
                        " unless on (app, environment) vps_backup_last_success_timestamp_seconds",
                    labels: { severity: "critical" },
                    annotations: {
                        summary: `${ENV} has had no successful backup since its backups were set up {{ $value | humanizeDuration }} ago`,
                        resolved: `${ENV} has a backup`,
                    },
                },
                {
                    alert: "HealthCheckJobFailing",
                    expr: "vps_health_check_last_run_success == 0",
                    for: t.healthCheck.failingFor,
                    labels: { severity: "critical" },
                    annotations: {
                        summary: `The health-check job of ${ENV} has failed for ${t.healthCheck.failingFor} (its own alert says what)`,
                        resolved: `The health-check job of ${ENV} passes again`,
                    },
                },
                {
                    alert: "HealthCheckJobSilent",
                    expr: `time() - vps_health_check_last_run_timestamp_seconds > ${t.healthCheck.silentSeconds}`,
                    labels: { severity: "warning" },
                    annotations: {
                        summary: `The health-check job of ${ENV} has not run for {{ $value | humanizeDuration }}`,
                        resolved: `The health-check job of ${ENV} runs again`,
                    },
                },
                {
                    // node-exporter skips a whole .prom file it cannot parse, which would
                    // silence the backup and health-check alerts above.
                    alert: "MetricsFileUnreadable",
                    expr: "node_textfile_scrape_error == 1",
                    for: "5m",
                    labels: { severity: "warning" },
                    annotations: {
                        summary: "node-exporter cannot read a metrics file of the jobs (its log names it): backup and health-check alerts may be silent",
                        resolved: "node-exporter reads every metrics file of the jobs again",
                    },
                },
            ],
        },
    ];
}

/** The rules file. */
export function renderAlertRules(t: AlertThresholds): string {
    return stringify({ groups: alertRules(t) }, { lineWidth: 0 });
}
