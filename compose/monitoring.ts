/**
 * Composition of the monitoring: the host stack's one {@link Monitoring} (built from its
 * `monitoring` section), and what an environment attached to that host stack publishes for it
 * ({@link MonitoringTargets}: its probe and scrape targets, its dashboard and its backup age
 * limit, under the host's monitoring directory).
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ALERT_GROUPING } from "../components/defaults";
import { Service } from "../components/docker/service";
import { alertThresholds } from "../components/monitoring/alert-rules";
import { Monitoring, MonitoringOwner } from "../components/monitoring/monitoring";
import { MonitoringTargets, ScrapedService } from "../components/monitoring/monitoring-targets";
import { ProbeTarget } from "../components/monitoring/target-files";
import { monitoringDir, namePrefix } from "../components/naming";
import { MonitoringConfig } from "../config/monitoring";
import { publicHealthUrls } from "../config/routes";
import { EnvironmentConfig } from "../config/types";

/** Where the host stack's monitoring runs. */
export interface MonitoringHost {
    /** The host stack, as its components take an owner, and its name (the `vps` label of every series, and the `vps.edge` its proxy routes Grafana by). */
    readonly owner: MonitoringOwner;
    readonly vps: string;
    readonly connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    readonly sudo: boolean;
    /** The host stack's deploy directory: the monitoring's is `<deployDir>/monitoring`. */
    readonly deployDir: string;
    /** The shared edge network, where the proxy routes Grafana and Prometheus scrapes the services. */
    readonly edgeNetwork: pulumi.Input<string>;
    readonly protectData: boolean;
    /** The host stack's alerts and their webhook (Alertmanager's receiver). */
    readonly alerts: { format: "discord" | "slack"; reminderMinutes: number; webhookUrl?: pulumi.Input<string> };
    /** The proxy's entrypoint and certificate resolver, which Grafana's router names. */
    readonly entrypoint?: string;
    readonly certResolver?: string;
}

/** The host stack's monitoring from its `monitoring` section: undefined when the section is absent or off. */
export function buildMonitoring(name: string, m: MonitoringConfig | undefined, host: MonitoringHost, opts: pulumi.ComponentResourceOptions = {}): Monitoring | undefined {
    if (m === undefined || !m.enabled) return undefined;
    const container = (c: { image: string; memory: number; cpus: number; logs: { maxSize: string; maxFile: number } }) => ({ image: c.image, memoryMb: c.memory, cpus: c.cpus, logs: c.logs });
    return new Monitoring(
        name,
        {
            owner: host.owner,
            vps: host.vps,
            connection: host.connection,
            sudo: host.sudo,
            monitoringDir: monitoringDir(host.deployDir),
            edgeNetwork: host.edgeNetwork,
            protectData: host.protectData,
            prometheus: {
                ...container(m.prometheus),
                scrapeInterval: m.prometheus.scrapeInterval,
                evaluationInterval: m.prometheus.evaluationInterval,
                retentionTime: m.prometheus.retentionTime,
                retentionSize: m.prometheus.retentionSize,
            },
            alertmanager: container(m.alertmanager),
            nodeExporter: container(m.nodeExporter),
            blackboxExporter: container(m.blackboxExporter),
            grafana: {
                ...container(m.grafana),
                host: m.grafana.host,
                adminUser: m.grafana.adminUser,
                adminPassword: m.grafanaAdminPassword,
                basicAuthUsers: m.basicAuthUsers,
                entrypoint: host.entrypoint,
                certResolver: host.certResolver,
                edge: host.vps,
            },
            thresholds: alertThresholds(m.thresholds, m.errorRate),
            alerts: host.alerts,
            grouping: { ...ALERT_GROUPING },
        },
        opts,
    );
}

/**
 * The public URLs of an environment that blackbox-exporter probes: the ones its health-check
 * job checks (each host entry of a service with `healthPath`, at that path), with the same
 * expectation (401 behind the proxy's basic auth) and certificate check. A routed service
 * without `healthPath` is not probed: what its root answers is not known to mean "up".
 */
export function environmentProbes(cfg: Pick<EnvironmentConfig, "services" | "healthCheck">): ProbeTarget[] {
    return publicHealthUrls(cfg.services).map((u) => ({
        url: u.url,
        service: u.service,
        ...(u.expectStatus === 401 && { behindAuth: true }),
        ...(cfg.healthCheck.insecureTls && { insecureTls: true }),
    }));
}

/** Every replica of each service with `metrics`, at its metrics port (default its `port`) and path. */
export function environmentScrapes(cfg: Pick<EnvironmentConfig, "services">, services: Record<string, Pick<Service, "containerNames">>): ScrapedService[] {
    return Object.entries(cfg.services).flatMap(([name, svc]) => {
        if (svc.metrics === undefined) return [];
        const port = svc.metrics.port ?? svc.port;
        if (port === undefined) throw new Error(`services.${name}.metrics: a service without a port needs metrics.port`);
        return services[name].containerNames.map((container) => ({ service: name, container, port, path: svc.metrics!.path }));
    });
}

/** What an attached environment publishes on its host's monitoring: its MonitoringTargets. */
export function publishMonitoringTargets(
    cfg: Pick<EnvironmentConfig, "app" | "environment" | "services" | "healthCheck" | "backup">,
    t: {
        connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
        sudo: boolean;
        /** The host stack's monitoring directory (its output). */
        monitoringDir: pulumi.Input<string>;
        services: Record<string, Service>;
        /** Whether the environment has a backup job (then BackupTooOld holds it to its backup.maxAgeHours). */
        backups: boolean;
    },
    opts: pulumi.ComponentResourceOptions = {},
): MonitoringTargets {
    return new MonitoringTargets(
        `${namePrefix(cfg)}-monitoring-targets`,
        {
            app: cfg.app,
            environment: cfg.environment,
            connection: t.connection,
            sudo: t.sudo,
            monitoringDir: t.monitoringDir,
            probes: environmentProbes(cfg),
            scrapes: environmentScrapes(cfg, t.services),
            backupMaxAgeHours: t.backups ? cfg.backup.maxAgeHours : undefined,
            dependsOn: Object.values(t.services).flatMap((s) => s.containers),
        },
        opts,
    );
}
