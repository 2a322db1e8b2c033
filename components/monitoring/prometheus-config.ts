/**
 * Prometheus' configuration (`prometheus.yml`), rendered without Pulumi. Targets are not listed
 * here: the environments publish them as file-based service discovery files in `targets/`
 * (components/monitoring/targets.ts), which Prometheus re-reads by itself. Every path is
 * relative to the file, so the same tree works mounted at /etc/prometheus in the container and
 * written to a temporary directory by the tests.
 *
 * Only what Prometheus 2.42 (Debian's, which the tests run) and 3.x both accept is generated:
 * no `scrape_protocols`, no retention in the file (flags instead), `api_version: v2`, every
 * target `host:port`, no `$` in label values (3.x expands environment variables).
 */
import { stringify } from "yaml";
import { MONITORING_PATHS } from "../naming";

/** Where Prometheus reaches each part of the monitoring, as `host:port`. */
export interface MonitoringAddresses {
    prometheus: string;
    alertmanager: string;
    nodeExporter: string;
    blackboxExporter: string;
}

/** What prometheus.yml is made of. */
export interface PrometheusSettings {
    /** The host stack's name: the `vps` label of every series and alert (alerts are grouped and inhibited by it). */
    readonly vps: string;
    /** Prometheus duration between two scrapes, e.g. "15s". */
    readonly scrapeInterval: string;
    /** Prometheus duration between two rule evaluations, e.g. "15s". */
    readonly evaluationInterval: string;
    readonly addresses: MonitoringAddresses;
}

/** The blackbox module of a probe target unless its file says otherwise (`__param_module`): GET answered 2xx. */
export const PROBE_MODULE = "http_2xx";

/**
 * The blackbox module a URL is probed with: 2xx, or 401 behind the proxy's basic auth (which
 * proves the router and a healthy server are there, as the health check takes it), with or
 * without verifying the certificate.
 */
export function probeModule(t: { behindAuth?: boolean; insecureTls?: boolean }): string {
    return `http_${t.behindAuth ? "401" : "2xx"}${t.insecureTls ? "_insecure" : ""}`;
}

/** The scrape jobs, by name: alerts and dashboards select series by `job`. */
export const JOBS = {
    prometheus: "prometheus",
    alertmanager: "alertmanager",
    node: "node",
    blackboxExporter: "blackbox-exporter",
    probe: "probe",
    services: "services",
} as const;

/** The file_sd glob of each kind of target, relative to prometheus.yml. */
export function targetsGlob(kind: "probe" | "scrape"): string {
    const dir = MONITORING_PATHS.targets.slice(MONITORING_PATHS.prometheusConfig.lastIndexOf("/") + 1);
    return `${dir}/*-${kind}.json`;
}

/** prometheus.yml. */
export function renderPrometheusConfig(s: PrometheusSettings): string {
    const rulesDir = MONITORING_PATHS.rules.slice(MONITORING_PATHS.prometheusConfig.lastIndexOf("/") + 1, MONITORING_PATHS.rules.lastIndexOf("/"));
    const fixed = (job: string, address: string) => ({ job_name: job, static_configs: [{ targets: [address] }] });
    const config = {
        global: {
            scrape_interval: s.scrapeInterval,
            evaluation_interval: s.evaluationInterval,
            external_labels: { vps: s.vps },
        },
        rule_files: [`${rulesDir}/*.yml`],
        alerting: { alertmanagers: [{ api_version: "v2", static_configs: [{ targets: [s.addresses.alertmanager] }] }] },
        scrape_configs: [
            fixed(JOBS.prometheus, s.addresses.prometheus),
            fixed(JOBS.alertmanager, s.addresses.alertmanager),
            fixed(JOBS.node, s.addresses.nodeExporter),
            fixed(JOBS.blackboxExporter, s.addresses.blackboxExporter),
            {
                // Each target is a URL; blackbox-exporter probes it. A target may choose its
                // module with the label __param_module (the insecure one).
                job_name: JOBS.probe,
                metrics_path: "/probe",
                params: { module: [PROBE_MODULE] },
                file_sd_configs: [{ files: [targetsGlob("probe")] }],
                relabel_configs: [
                    { source_labels: ["__address__"], target_label: "__param_target" },
                    { source_labels: ["__param_target"], target_label: "instance" },
                    { target_label: "__address__", replacement: s.addresses.blackboxExporter },
                ],
            },
            // Services' own metrics, at the container name and port the file names
            // (reached over the host's edge network); the file may set __metrics_path__.
            { job_name: JOBS.services, file_sd_configs: [{ files: [targetsGlob("scrape")] }] },
        ],
    };
    return stringify(config, { lineWidth: 0 });
}
