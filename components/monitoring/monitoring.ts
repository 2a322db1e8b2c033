import * as command from "@pulumi/command";
import * as crypto from "crypto";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { DataVolume } from "../docker/data-volume";
import { ownershipLabels } from "../docker/labels";
import { HealthcheckArgs, Service } from "../docker/service";
import { dockerName, MONITORING_PATHS } from "../naming";
import { AlertThresholds } from "./alert-rules";
import { fileSetCommand } from "./file-set";
import { GRAFANA_INI, MonitoringConfigSettings, monitoringConfigFiles, NOBODY_UID } from "./files";
import { alertmanagerFlags, blackboxFlags, nodeExporterFlags, prometheusFlags } from "./flags";
import { GRAFANA_PATHS, renderGrafanaIni } from "./grafana";
import { MonitoringAddresses } from "./prometheus-config";

/**
 * Who the monitoring's Docker objects belong to: an owner as the Service and DataVolume
 * components take it, without its role (the host stack, `{ host }`).
 */
export type MonitoringOwner = Parameters<typeof ownershipLabels>[0] extends infer O ? (O extends unknown ? Omit<O, "role"> : never) : never;

/** What every monitoring container is given: its pinned image and limits. */
export interface MonitoringContainer {
    /** Pinned image (the config schema enforces it). */
    readonly image: string;
    /** Memory limit, MiB. */
    readonly memoryMb: number;
    /** CPU limit, CPUs. */
    readonly cpus: number;
    /** json-file log rotation. Default 10m x 3. */
    readonly logs?: { maxSize: string; maxFile: number };
}

/** Arguments of {@link Monitoring}. */
export interface MonitoringArgs {
    /** The host stack the monitoring belongs to. */
    readonly owner: MonitoringOwner;
    /** The host's name: the `vps` label of every series and alert, which groups and inhibits them. */
    readonly vps: string;
    /** SSH connection to the VPS (VpsHost.connection), for the configuration files. */
    readonly connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /** Write the files with `sudo -n` (the SSH user is not root). Default false. */
    readonly sudo?: boolean;
    /** The monitoring directory on the VPS (absolute), `<deployDir>/monitoring`. */
    readonly monitoringDir: string;
    /** The host's edge network: Prometheus scrapes the environments' services on it, and the proxy routes Grafana on it. */
    readonly edgeNetwork: pulumi.Input<string>;
    /** `protect: true` on the data volumes (Prometheus, Alertmanager, Grafana). Default false; they are retained either way. */
    readonly protectData?: boolean;
    readonly prometheus: MonitoringContainer & {
        /** Prometheus durations ("15s"). */
        readonly scrapeInterval: string;
        readonly evaluationInterval: string;
        /** `--storage.tsdb.retention.time` ("30d") and `.size` ("4GB"). */
        readonly retentionTime: string;
        readonly retentionSize: string;
    };
    readonly alertmanager: MonitoringContainer;
    readonly nodeExporter: MonitoringContainer;
    readonly blackboxExporter: MonitoringContainer;
    readonly grafana: MonitoringContainer & {
        /** Its host name, routed by the proxy. */
        readonly host: string;
        readonly adminUser: string;
        /** The admin password (a secret); Grafana sets it when it creates its database. */
        readonly adminPassword: pulumi.Input<string>;
        /** The proxy's basic-auth users in front of it, one `user:password` per line (a secret; only bcrypt hashes reach the proxy). */
        readonly basicAuthUsers: pulumi.Input<string>;
        /** The proxy's TLS entrypoint and certificate resolver (the host's proxy's names). */
        readonly entrypoint?: string;
        readonly certResolver?: string;
        /** The host stack whose proxy routes Grafana (its `vps.edge` label). */
        readonly edge?: string;
    };
    readonly thresholds: AlertThresholds;
    /** Where notifications go, and after how long a firing group is notified again. */
    readonly alerts: { readonly format: "discord" | "slack"; readonly webhookUrl?: pulumi.Input<string>; readonly reminderMinutes: number };
    /** Alertmanager grouping: wait before a group's first notification, and between two. */
    readonly grouping: { readonly groupWaitSeconds: number; readonly groupIntervalMinutes: number };
}

/** The label that carries a hash of Grafana's settings file: a change replaces the container, which reads the file only when it starts. */
export const GRAFANA_CONFIG_LABEL = "vps.config-hash";

/** The ports the programs listen on inside their containers (their defaults), and their network aliases. */
export const MONITORING_PORTS = { prometheus: 9090, alertmanager: 9093, nodeExporter: 9100, blackboxExporter: 9115, grafana: 3000 } as const;
const ALIASES = { prometheus: "prometheus", alertmanager: "alertmanager", nodeExporter: "node-exporter", blackboxExporter: "blackbox-exporter", grafana: "grafana" } as const;

/** Where the programs reach each other on the monitoring network. */
export const CONTAINER_ADDRESSES: MonitoringAddresses = {
    prometheus: `${ALIASES.prometheus}:${MONITORING_PORTS.prometheus}`,
    alertmanager: `${ALIASES.alertmanager}:${MONITORING_PORTS.alertmanager}`,
    nodeExporter: `${ALIASES.nodeExporter}:${MONITORING_PORTS.nodeExporter}`,
    blackboxExporter: `${ALIASES.blackboxExporter}:${MONITORING_PORTS.blackboxExporter}`,
};

/** A healthcheck that GETs a local URL with the busybox wget every one of these images has. */
function httpHealthcheck(port: number, path: string): HealthcheckArgs {
    return { test: ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${port}${path}`], interval: "30s", timeout: "5s", retries: 3, startPeriod: "30s" };
}

/** Where node-exporter sees the host's /proc, /sys and / (read-only mounts). */
export const NODE_EXPORTER_HOST_PATHS = { procfs: "/host/proc", sysfs: "/host/sys", rootfs: "/rootfs" } as const;

/**
 * Throws with a sentence naming the argument when the monitoring cannot be deployed as given.
 */
export function validateMonitoringArgs(name: string, args: Pick<MonitoringArgs, "monitoringDir" | "grafana">): void {
    if (!/^\/[A-Za-z0-9._/-]*$/.test(args.monitoringDir) || args.monitoringDir.split("/").includes("..")) {
        throw new Error(`Monitoring ${name}: monitoringDir "${args.monitoringDir}" must be an absolute path of letters, digits, ".", "_", "-" and "/"`);
    }
    if (!/^[a-z0-9.-]+$/.test(args.grafana.host)) throw new Error(`Monitoring ${name}: grafana.host "${args.grafana.host}" must be a host name`);
}

/**
 * The monitoring of one VPS, on its host stack: Prometheus, Alertmanager, Grafana,
 * node-exporter and blackbox-exporter, each a {@link Service} (pinned image, healthcheck,
 * `wait`, limits, log rotation, no capabilities, `no-new-privileges`, no host ports) on the
 * monitoring network; Prometheus also on the host's edge network (it scrapes the environments'
 * services there) and Grafana there too (the proxy routes it, behind basic auth, on its own
 * host name). Prometheus, Alertmanager and Grafana keep their data in retained volumes
 * (protected with `protectData`). node-exporter reads the host's /proc, /sys and / through
 * read-only mounts: the one exception to the hardening policies (container-host-paths).
 *
 * The configuration is one file set under `monitoringDir` (components/monitoring/files.ts),
 * mounted read-only; a change is written by one remote command, which then makes Prometheus,
 * Alertmanager and blackbox-exporter re-read it (POST /-/reload): no container is recreated.
 * Grafana reads its dashboards again by itself; a change of its settings file replaces it.
 * Targets are not here: each environment writes its own (MonitoringTargets).
 */
export class Monitoring extends pulumi.ComponentResource {
    /** The monitoring network, `<host>-monitoring`. */
    readonly network: docker.Network;
    /** The retained data volumes. */
    readonly volumes: DataVolume[];
    /** The containers, by program. */
    readonly services: Record<"prometheus" | "alertmanager" | "nodeExporter" | "blackboxExporter" | "grafana", Service>;
    /** Where the environments write their targets and the jobs their metrics (absolute paths on the VPS). */
    readonly targetsDir: string;
    readonly textfileDir: string;
    /** Grafana's URL. */
    readonly grafanaUrl: string;

    constructor(name: string, args: MonitoringArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("vps:index:Monitoring", name, { monitoringDir: args.monitoringDir, grafanaHost: args.grafana.host }, opts);
        validateMonitoringArgs(name, args);
        const owner = args.owner;
        const role = (r: string) => ({ ...owner, role: r }) as Parameters<typeof ownershipLabels>[0];
        const dir = args.monitoringDir.replace(/\/+$/, "");
        this.targetsDir = `${dir}/${MONITORING_PATHS.targets}`;
        this.textfileDir = `${dir}/${MONITORING_PATHS.textfile}`;
        this.grafanaUrl = `https://${args.grafana.host}`;

        // Not internal: blackbox-exporter probes the public URLs and Alertmanager posts to the webhook.
        this.network = new docker.Network(
            `${name}-network`,
            { name: dockerName(role("monitoring")), driver: "bridge", labels: ownershipLabels(role("monitoring-network")) },
            { parent: this, deleteBeforeReplace: true },
        );
        const volume = (r: string) => new DataVolume(`${name}-${r}`, { ...role(r), protect: args.protectData ?? false }, { parent: this });
        const data = { prometheus: volume("prometheus-data"), alertmanager: volume("alertmanager-data"), grafana: volume("grafana-data") };
        this.volumes = [data.prometheus, data.alertmanager, data.grafana];

        // Fixed names: the config command reloads them by name, and a data volume has one writer.
        const containerName = { prometheus: dockerName(role("prometheus")), alertmanager: dockerName(role("alertmanager")), blackboxExporter: dockerName(role("blackbox-exporter")) };
        const settings = (webhookUrl: string | undefined): MonitoringConfigSettings => ({
            prometheus: { vps: args.vps, scrapeInterval: args.prometheus.scrapeInterval, evaluationInterval: args.prometheus.evaluationInterval, addresses: CONTAINER_ADDRESSES },
            thresholds: args.thresholds,
            receiver: { format: args.alerts.format, webhookUrl },
            timing: { groupWait: `${args.grouping.groupWaitSeconds}s`, groupInterval: `${args.grouping.groupIntervalMinutes}m`, repeatInterval: `${args.alerts.reminderMinutes}m` },
            grafanaPrometheusUrl: `http://${CONTAINER_ADDRESSES.prometheus}`,
            grafana: { host: args.grafana.host, adminUser: args.grafana.adminUser },
        });
        // The webhook URL is in alertmanager.yml: the whole set stays secret in the state.
        const files = args.alerts.webhookUrl === undefined
            ? pulumi.output(monitoringConfigFiles(settings(undefined)))
            : pulumi.secret(pulumi.output(args.alerts.webhookUrl).apply((url) => monitoringConfigFiles(settings(url))));
        const config = fileSetCommand(
            `${name}-config`,
            {
                connection: args.connection,
                sudo: args.sudo,
                monitoringDir: dir,
                set: "config",
                files,
                reload: [
                    `${containerName.prometheus}|${MONITORING_PORTS.prometheus}`,
                    `${containerName.alertmanager}|${MONITORING_PORTS.alertmanager}`,
                    `${containerName.blackboxExporter}|${MONITORING_PORTS.blackboxExporter}`,
                ],
            },
            { parent: this },
        );

        const common = (r: string, c: MonitoringContainer) => ({
            ...role(r),
            // The user the upstream images run as, said explicitly (it owns alertmanager.yml).
            ...(r !== "grafana" && { user: `${NOBODY_UID}:${NOBODY_UID}` }),
            image: c.image,
            memoryMb: c.memoryMb,
            cpus: c.cpus,
            logs: c.logs,
            dependsOn: [config],
        });
        const onMonitoring = (alias: string) => ({ name: this.network.name, aliases: [alias] });
        const mount = (relative: string, containerPath: string) => ({ hostPath: `${dir}/${relative}`, containerPath, readOnly: true });
        const child = { parent: this };

        const prometheus = new Service(
            `${name}-prometheus`,
            {
                ...common("prometheus", args.prometheus),
                command: prometheusFlags({
                    configFile: "/etc/prometheus/prometheus.yml",
                    storagePath: "/prometheus",
                    listen: `0.0.0.0:${MONITORING_PORTS.prometheus}`,
                    retentionTime: args.prometheus.retentionTime,
                    retentionSize: args.prometheus.retentionSize,
                }),
                healthcheck: httpHealthcheck(MONITORING_PORTS.prometheus, "/-/healthy"),
                // On the edge network without an alias: it reaches the environments' services by container name.
                networks: [onMonitoring(ALIASES.prometheus), { name: args.edgeNetwork }],
                volumes: [{ volumeName: data.prometheus.volumeName, containerPath: "/prometheus" }],
                hostMounts: [mount("prometheus", "/etc/prometheus")],
                readOnlyRootFilesystem: true,
                fixedName: true,
            },
            child,
        );
        const alertmanager = new Service(
            `${name}-alertmanager`,
            {
                ...common("alertmanager", args.alertmanager),
                command: alertmanagerFlags({ configFile: "/etc/alertmanager/alertmanager.yml", storagePath: "/alertmanager", listen: `0.0.0.0:${MONITORING_PORTS.alertmanager}` }),
                healthcheck: httpHealthcheck(MONITORING_PORTS.alertmanager, "/-/healthy"),
                networks: [onMonitoring(ALIASES.alertmanager)],
                volumes: [{ volumeName: data.alertmanager.volumeName, containerPath: "/alertmanager" }],
                hostMounts: [mount("alertmanager", "/etc/alertmanager")],
                readOnlyRootFilesystem: true,
                fixedName: true,
            },
            child,
        );
        const nodeExporter = new Service(
            `${name}-node-exporter`,
            {
                ...common("node-exporter", args.nodeExporter),
                command: nodeExporterFlags({ listen: `0.0.0.0:${MONITORING_PORTS.nodeExporter}`, textfileDir: "/textfile", host: NODE_EXPORTER_HOST_PATHS }),
                healthcheck: httpHealthcheck(MONITORING_PORTS.nodeExporter, "/"),
                networks: [onMonitoring(ALIASES.nodeExporter)],
                // The one exception to the hardening policies (container-host-paths): the host, read-only.
                hostMounts: [
                    { hostPath: "/proc", containerPath: NODE_EXPORTER_HOST_PATHS.procfs, readOnly: true },
                    { hostPath: "/sys", containerPath: NODE_EXPORTER_HOST_PATHS.sysfs, readOnly: true },
                    { hostPath: "/", containerPath: NODE_EXPORTER_HOST_PATHS.rootfs, readOnly: true },
                    mount(MONITORING_PATHS.textfile, "/textfile"),
                ],
                readOnlyRootFilesystem: true,
            },
            child,
        );
        const blackboxExporter = new Service(
            `${name}-blackbox-exporter`,
            {
                ...common("blackbox-exporter", args.blackboxExporter),
                command: blackboxFlags({ configFile: "/etc/blackbox/blackbox.yml", listen: `0.0.0.0:${MONITORING_PORTS.blackboxExporter}` }),
                healthcheck: httpHealthcheck(MONITORING_PORTS.blackboxExporter, "/-/healthy"),
                networks: [onMonitoring(ALIASES.blackboxExporter)],
                hostMounts: [mount("blackbox", "/etc/blackbox")],
                readOnlyRootFilesystem: true,
                fixedName: true,
            },
            child,
        );

        const router = dockerName(role("grafana"));
        const ini = renderGrafanaIni({ host: args.grafana.host, adminUser: args.grafana.adminUser });
        const grafana = new Service(
            `${name}-grafana`,
            {
                ...common("grafana", args.grafana),
                env: { GF_PATHS_CONFIG: `${GRAFANA_PATHS.config}/grafana.ini` },
                secretEnv: { GF_SECURITY_ADMIN_PASSWORD: args.grafana.adminPassword },
                healthcheck: httpHealthcheck(MONITORING_PORTS.grafana, "/api/health"),
                networks: [onMonitoring(ALIASES.grafana), { name: args.edgeNetwork }],
                volumes: [{ volumeName: data.grafana.volumeName, containerPath: "/var/lib/grafana" }],
                hostMounts: [
                    mount(GRAFANA_INI.slice(0, GRAFANA_INI.lastIndexOf("/")), GRAFANA_PATHS.config),
                    mount(MONITORING_PATHS.grafanaProvisioning, GRAFANA_PATHS.provisioning),
                    mount(MONITORING_PATHS.grafanaDashboards, GRAFANA_PATHS.dashboards),
                ],
                route: {
                    hosts: [args.grafana.host],
                    port: MONITORING_PORTS.grafana,
                    network: args.edgeNetwork,
                    ...(args.grafana.entrypoint !== undefined && { entrypoint: args.grafana.entrypoint }),
                    ...(args.grafana.certResolver !== undefined && { certResolver: args.grafana.certResolver }),
                    ...(args.grafana.edge !== undefined && { edge: args.grafana.edge }),
                    // The proxy asks for a password first (the services' basic-auth middleware, <router>-auth).
                    middlewares: { basicAuthUsers: args.grafana.basicAuthUsers },
                },
                extraLabels: [
                    // The header is dropped before Grafana, which would otherwise take it for a
                    // Grafana login and refuse it.
                    { label: `traefik.http.middlewares.${router}-auth.basicauth.removeheader`, value: "true" },
                    // Grafana reads grafana.ini when it starts: a changed file replaces the container.
                    { label: GRAFANA_CONFIG_LABEL, value: crypto.createHash("sha256").update(ini).digest("hex").slice(0, 16) },
                ],
                fixedName: true,
            },
            child,
        );
        this.services = { prometheus, alertmanager, nodeExporter, blackboxExporter, grafana };
        this.registerOutputs({ targetsDir: this.targetsDir, textfileDir: this.textfileDir, grafanaUrl: this.grafanaUrl });
    }
}
