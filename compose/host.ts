/**
 * Composition of a host stack: the shared edge of one VPS (its edge network, the one proxy on
 * the public address, the certificates) and the host's own jobs, which every environment
 * attached to it relies on. Long-lived: the workflows never destroy it, and destroying an
 * environment never touches it.
 */
import * as pulumi from "@pulumi/pulumi";
import { EdgeNetwork } from "../components/docker/edge-network";
import { DiskUsageCheck } from "../components/jobs/disk-usage-check";
import { EdgeCheck } from "../components/jobs/edge-check";
import { ImagePruneJob } from "../components/jobs/image-prune-job";
import { DestroyGuard } from "../components/lifecycle/destroy-guard";
import { monitoringDir, TRAEFIK_NAMES } from "../components/naming";
import { ReverseProxy } from "../components/services/reverse-proxy";
import { HostStackConfig } from "../config/host-stack";
import { EdgeOutputs } from "./edge";
import { buildMonitoring } from "./monitoring";
import { vpsHost } from "./vps-host";

/** What a person (and every attached environment, through `edge`) needs after `pulumi up` of a host stack. */
export interface HostOutputs {
    /** What attached environments read through their StackReference (compose/edge.ts). */
    edge: { [K in keyof EdgeOutputs]: pulumi.Input<string> };
    /** The retained volume of the proxy's certificates. */
    dataVolumeNames: string[];
    /** The proxy's container. */
    proxyContainer: pulumi.Output<string>;
    /** systemd timers of the host's jobs. */
    jobTimers: string[];
    /**
     * The host's monitoring directory, `<deployDir>/monitoring`, where attached environments
     * publish their targets and their jobs' metrics (with or without the monitoring section:
     * switching it on later needs no environment to be updated).
     */
    monitoringDir: string;
    /** Grafana's URL; undefined without monitoring. */
    grafanaUrl?: string;
}

/** Builds every resource of a host stack from its configuration. */
export function buildHost(cfg: HostStackConfig): HostOutputs {
    const { name } = cfg;
    // What the host jobs run (components/scripts/{image-prune,disk-usage,edge-check}.sh).
    const host = vpsHost(`${name}-host`, cfg, ["docker", "curl", "df", "flock", "systemctl"]);
    const onHost: pulumi.ComponentResourceOptions = { provider: host.provider, dependsOn: [host.preflight] };

    const edge = new EdgeNetwork(`${name}-edge`, { host: name }, onHost);
    const proxy = new ReverseProxy(
        `${name}-proxy`,
        {
            host: name,
            image: cfg.proxy.image,
            publicAddress: cfg.proxy.publicAddress,
            acmeEmail: cfg.proxy.acmeEmail,
            acmeCaServer: cfg.proxy.acmeCaServer,
            acmeChallenge: cfg.proxy.acmeChallenge,
            edgeNetwork: edge.network.name,
            memoryMb: cfg.proxy.memory,
            cpus: cfg.proxy.cpus,
            protectData: cfg.protectData,
            logs: cfg.proxy.logs,
        },
        onHost,
    );

    const common = {
        connection: host.connection,
        sudo: host.sudo,
        host: name,
        alerts: { webhookUrl: cfg.alerts.webhookUrl ?? "", format: cfg.alerts.format, reminderMinutes: cfg.alerts.reminderMinutes },
    };
    const jobOpts: pulumi.ComponentResourceOptions = { dependsOn: [host.preflight] };
    const { imagePrune, diskUsage, edgeCheck } = cfg.jobs;
    const jobs = [
        new ImagePruneJob(`${name}-image-prune`, { ...common, onCalendar: imagePrune.schedule, keepPerRepository: imagePrune.keepPerRepository }, jobOpts),
        new DiskUsageCheck(`${name}-disk-usage`, { ...common, onCalendar: diskUsage.schedule, thresholdPercent: diskUsage.thresholdPercent, paths: diskUsage.paths }, jobOpts),
        new EdgeCheck(
            `${name}-edge-check`,
            { ...common, onCalendar: edgeCheck.schedule, proxyContainer: proxy.containerName, dependsOn: [proxy.service.container] },
            jobOpts,
        ),
    ];

    // One monitoring per VPS, watching every environment attached to it: on its own network,
    // Prometheus and Grafana also on the edge (Grafana routed by this proxy, behind its basic auth).
    const monitoring = buildMonitoring(
        `${name}-monitoring`,
        cfg.monitoring,
        {
            owner: { host: name },
            vps: name,
            connection: host.connection,
            sudo: host.sudo,
            deployDir: cfg.host.deployDir,
            edgeNetwork: edge.network.name,
            protectData: cfg.protectData,
            alerts: { format: cfg.alerts.format, reminderMinutes: cfg.alerts.reminderMinutes, webhookUrl: cfg.alerts.webhookUrl },
            entrypoint: TRAEFIK_NAMES.entrypoint,
            certResolver: TRAEFIK_NAMES.certResolver,
        },
        onHost,
    );

    // A host stack with protectData is never destroyed by accident: see DestroyGuard.
    if (cfg.protectData) new DestroyGuard(`${name}-destroy-guard`, { covers: [host, edge, proxy, ...jobs, ...(monitoring ? [monitoring] : [])] });

    return {
        edge: {
            name,
            network: edge.network.name,
            entrypoint: TRAEFIK_NAMES.entrypoint,
            certResolver: TRAEFIK_NAMES.certResolver,
            publicAddress: cfg.proxy.publicAddress,
            acmeCaServer: cfg.proxy.acmeCaServer,
        },
        dataVolumeNames: [proxy.acme.volumeName, ...(monitoring?.volumes.map((v) => v.volumeName) ?? [])],
        proxyContainer: proxy.service.containerName,
        jobTimers: jobs.map((j) => j.timerName),
        monitoringDir: monitoringDir(cfg.host.deployDir),
        grafanaUrl: monitoring?.grafanaUrl,
    };
}
