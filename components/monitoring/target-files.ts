/**
 * What an environment publishes for the host's monitoring, rendered without Pulumi: its probe
 * targets (public URLs) and scrape targets (services' metrics) as Prometheus file-based
 * service discovery files, its own Grafana dashboard, and the expectations the alerts need
 * from it (its backup age limit) as a metrics file in node-exporter's textfile directory. Every series these lead to
 * carries the labels `app` and `environment`, which the alerts and dashboards group by.
 */
import { dashboardFileName, EnvironmentName, metricsFileName, MONITORING_PATHS, targetsFileName } from "../naming";
import { MonitoringFile } from "./files";
import { environmentDashboard } from "./grafana";
import { PROBE_MODULE, probeModule } from "./prometheus-config";

/** A public URL blackbox-exporter probes. */
export interface ProbeTarget {
    /** https URL, e.g. https://shop.example.com/health. */
    readonly url: string;
    /** The service behind it (label `service`). */
    readonly service: string;
    /** Probe without verifying the certificate (the environment's healthCheck.insecureTls). */
    readonly insecureTls?: boolean;
    /** The URL is behind the proxy's basic auth: it must answer 401. */
    readonly behindAuth?: boolean;
}

/** A service's metrics endpoint Prometheus scrapes over the host's edge network. */
export interface ScrapeTarget {
    /** `<container name>:<port>`. */
    readonly address: string;
    /** HTTP path, e.g. /metrics. */
    readonly path: string;
    /** The service (label `service`). */
    readonly service: string;
}

/** One file_sd group: targets that share labels. */
interface TargetGroup {
    targets: string[];
    labels: Record<string, string>;
}

/** The placeholder monitoring-files.sh replaces with the time it writes the file (Unix seconds). */
export const NOW_TOKEN = "@NOW@";

/** Why a target cannot be published, or undefined. */
export function targetProblem(t: { url: string } | { address: string; path: string }): string | undefined {
    if ("url" in t) return /^https?:\/\/[^\s"\\]+$/.test(t.url) ? undefined : `probe URL "${t.url}" must be an http(s) URL without spaces, quotes or backslashes`;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*:\d{1,5}$/.test(t.address)) return `scrape address "${t.address}" must be <container>:<port>`;
    return /^\/[^\s?#"\\]*$/.test(t.path) ? undefined : `metrics path "${t.path}" must start with / and hold no spaces, ?, # or quotes`;
}

/** The probe file: one group per service and module, URLs sorted, so the file is the same for the same targets. */
export function renderProbeTargets(env: EnvironmentName, targets: readonly ProbeTarget[]): string {
    const groups = new Map<string, TargetGroup>();
    for (const t of targets) {
        const module = probeModule(t);
        const key = `${t.service}\0${module}`;
        if (!groups.has(key)) {
            const labels: Record<string, string> = { app: env.app, environment: env.environment, service: t.service };
            if (module !== PROBE_MODULE) labels.__param_module = module;
            groups.set(key, { targets: [], labels });
        }
        groups.get(key)!.targets.push(t.url);
    }
    return fileSd(groups);
}

/** The scrape file: one group per service and path. */
export function renderScrapeTargets(env: EnvironmentName, targets: readonly ScrapeTarget[]): string {
    const groups = new Map<string, TargetGroup>();
    for (const t of targets) {
        const key = `${t.service}\0${t.path}`;
        if (!groups.has(key)) groups.set(key, { targets: [], labels: { app: env.app, environment: env.environment, service: t.service, __metrics_path__: t.path } });
        groups.get(key)!.targets.push(t.address);
    }
    return fileSd(groups);
}

function fileSd(groups: Map<string, TargetGroup>): string {
    const sorted = [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, g]) => ({ targets: [...g.targets].sort(), labels: g.labels }));
    return `${JSON.stringify(sorted, null, 2)}\n`;
}

/** A Prometheus label value in the text exposition format. */
function labelValue(v: string): string {
    return `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

/**
 * The environment's expectations, as node-exporter's textfile collector reads them: with
 * backups, the age past which the newest one is stale (its `backup.maxAgeHours`, the limit of
 * BackupTooOld) and since when backups are expected (the time the file is written, for
 * BackupMissing). Empty without backups.
 */
export function renderExpectations(env: EnvironmentName, e: { backupMaxAgeHours?: number }): string {
    if (e.backupMaxAgeHours === undefined) return "";
    const labels = `{app=${labelValue(env.app)},environment=${labelValue(env.environment)}}`;
    return [
        "# HELP vps_backup_max_age_seconds Age past which the newest backup of the environment is stale (its backup.maxAgeHours).",
        "# TYPE vps_backup_max_age_seconds gauge",
        `vps_backup_max_age_seconds${labels} ${e.backupMaxAgeHours * 3600}`,
        "# HELP vps_backup_expected_since_timestamp_seconds Unix time since which the environment's backups are expected (when its monitoring files were last written).",
        "# TYPE vps_backup_expected_since_timestamp_seconds gauge",
        `vps_backup_expected_since_timestamp_seconds${labels} ${NOW_TOKEN}`,
        "",
    ].join("\n");
}

/** What an environment publishes. */
export interface EnvironmentTargets {
    readonly probes: readonly ProbeTarget[];
    readonly scrapes: readonly ScrapeTarget[];
    /** The environment's backup.maxAgeHours; undefined without backups. */
    readonly backupMaxAgeHours?: number;
}

/**
 * The environment's files, relative to the host's monitoring directory: its probe and scrape
 * files (always both, possibly empty lists, so a target removed from the config leaves no
 * stale file), its dashboard and, with backups, its expectations.
 *
 * @throws Error naming the target that cannot be published
 */
export function environmentTargetFiles(env: EnvironmentName, t: EnvironmentTargets): MonitoringFile[] {
    for (const target of [...t.probes, ...t.scrapes]) {
        const problem = targetProblem(target);
        if (problem) throw new Error(`monitoring targets of ${env.app}/${env.environment}: ${problem}`);
    }
    const files: MonitoringFile[] = [
        { path: `${MONITORING_PATHS.targets}/${targetsFileName(env, "probe")}`, content: renderProbeTargets(env, t.probes), mode: "0644" },
        { path: `${MONITORING_PATHS.targets}/${targetsFileName(env, "scrape")}`, content: renderScrapeTargets(env, t.scrapes), mode: "0644" },
        { path: `${MONITORING_PATHS.environmentDashboards}/${dashboardFileName(env)}`, content: environmentDashboard(env), mode: "0644" },
    ];
    const expectations = renderExpectations(env, t);
    if (expectations !== "") files.push({ path: `${MONITORING_PATHS.textfile}/${metricsFileName(env, "expectations")}`, content: expectations, mode: "0644" });
    return files;
}
