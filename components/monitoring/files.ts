/**
 * The files the monitoring keeps on the VPS, as one list (path relative to the monitoring
 * directory, content, mode, owner), and the bundle in which a remote command receives them on
 * stdin (components/scripts/monitoring-files.sh writes it). The host's configuration and each
 * environment's targets are two such sets, each written and removed as a whole.
 */
import { MONITORING_PATHS } from "../naming";
import { AlertReceiver, AlertTiming, renderAlertmanagerConfig } from "./alertmanager-config";
import { AlertThresholds, renderAlertRules } from "./alert-rules";
import { renderBlackboxConfig } from "./blackbox-config";
import { dashboards, GrafanaSettings, renderGrafanaDashboardProvider, renderGrafanaDatasources, renderGrafanaIni } from "./grafana";
import { PrometheusSettings, renderPrometheusConfig } from "./prometheus-config";

/** The user the Prometheus, Alertmanager and exporter images run as (`nobody`). */
export const NOBODY_UID = 65534;

/** One file of a set. */
export interface MonitoringFile {
    /** Relative to the monitoring directory, e.g. "prometheus/prometheus.yml". */
    readonly path: string;
    readonly content: string;
    /** "0644" (readable by the containers' users), or "0600" for a file holding a secret. */
    readonly mode: "0644" | "0600";
    /** Owner uid; default root. A 0600 file is owned by the container user that reads it. */
    readonly uid?: number;
}

/** What the host's configuration files are made of. */
export interface MonitoringConfigSettings {
    readonly prometheus: PrometheusSettings;
    readonly thresholds: AlertThresholds;
    readonly receiver: AlertReceiver;
    readonly timing: AlertTiming;
    /** The URL Grafana reaches Prometheus at, e.g. http://prometheus:9090. */
    readonly grafanaPrometheusUrl: string;
    readonly grafana: GrafanaSettings;
}

/** Where Grafana's settings file is in the set (mounted at GRAFANA_PATHS.config). */
export const GRAFANA_INI = "grafana/config/grafana.ini";

/** What tells a person what the jobs' and the environments' directories are for (and makes them exist before a container mounts them). */
const README = {
    textfile:
        "node-exporter's textfile directory: the environments' jobs write <app>-<env>-<job>.prom here (metrics.sh),\n" +
        "and each environment its <app>-<env>-expectations.prom (MonitoringTargets). Written by Pulumi and the jobs.\n",
    targets:
        "Prometheus' file-based service discovery: each environment writes <app>-<env>-probe.json and\n" +
        "<app>-<env>-scrape.json here (MonitoringTargets); Prometheus re-reads them by itself. Written by Pulumi.\n",
};

/** Every configuration file of the host's monitoring. */
export function monitoringConfigFiles(s: MonitoringConfigSettings): MonitoringFile[] {
    const p = MONITORING_PATHS;
    return [
        { path: p.prometheusConfig, content: renderPrometheusConfig(s.prometheus), mode: "0644" },
        { path: p.rules, content: renderAlertRules(s.thresholds), mode: "0644" },
        // The webhook URL is in it: readable by Alertmanager's user only.
        { path: p.alertmanagerConfig, content: renderAlertmanagerConfig(s.receiver, s.timing), mode: "0600", uid: NOBODY_UID },
        { path: p.blackboxConfig, content: renderBlackboxConfig(), mode: "0644" },
        { path: `${p.targets}/README`, content: README.targets, mode: "0644" },
        { path: `${p.textfile}/README`, content: README.textfile, mode: "0644" },
        { path: GRAFANA_INI, content: renderGrafanaIni(s.grafana), mode: "0644" },
        { path: `${p.grafanaProvisioning}/datasources/prometheus.yml`, content: renderGrafanaDatasources(s.grafanaPrometheusUrl), mode: "0644" },
        { path: `${p.grafanaProvisioning}/dashboards/vps-stacks.yml`, content: renderGrafanaDashboardProvider(), mode: "0644" },
        ...Object.entries(dashboards()).map(([file, content]): MonitoringFile => ({ path: `${p.grafanaDashboards}/${file}`, content, mode: "0644" })),
    ];
}

/** Why a relative path cannot be a file of a set, or undefined: monitoring-files.sh refuses the same. */
export function filePathProblem(path: string): string | undefined {
    if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(path)) return `"${path}" must be a relative path of letters, digits, ".", "_", "-" and "/"`;
    if (path.split("/").some((part) => part === "." || part === ".." || part.startsWith(".")))
        return `"${path}" must not hold "." or ".." or a hidden name (the script keeps its own files there)`;
    return undefined;
}

/**
 * The stdin of monitoring-files.sh: one line per file, `<mode> <uid> <path> <base64 content>`.
 *
 * @throws Error naming the path when a path is not a plain relative path, or is listed twice
 */
export function renderFileBundle(files: readonly MonitoringFile[]): string {
    const seen = new Set<string>();
    return files
        .map((f) => {
            const problem = filePathProblem(f.path);
            if (problem) throw new Error(`monitoring file ${problem}`);
            if (seen.has(f.path)) throw new Error(`monitoring file "${f.path}" is listed twice`);
            seen.add(f.path);
            return `${f.mode} ${f.uid ?? 0} ${f.path} ${Buffer.from(f.content, "utf8").toString("base64")}\n`;
        })
        .join("");
}
