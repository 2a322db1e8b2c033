import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { cpusInput, dockerDuration } from "./docker-forms";
import { CONTAINER_RESTART, HEALTH_TIMEOUT_SECONDS, LOG_ROTATION } from "../defaults";
import { dockerName, TRAEFIK_NAMES } from "../naming";
import { LABEL, Owner, ownershipLabels } from "./labels";

/** A Docker healthcheck (the `HEALTHCHECK` instruction's fields). */
export interface HealthcheckArgs {
    /** `["CMD", ...]` or `["CMD-SHELL", "..."]`. Required: a container without one is never reported healthy. */
    readonly test: string[];
    /** Time between checks, Docker duration ("10s"). */
    readonly interval: string;
    /** Time one check may take ("5s"). */
    readonly timeout: string;
    /** Consecutive failures before "unhealthy". */
    readonly retries: number;
    /** Grace period after start during which failures do not count ("15s"). */
    readonly startPeriod: string;
}

/** A network the container joins, with the DNS aliases it answers to there. */
export interface ServiceNetwork {
    readonly name: pulumi.Input<string>;
    readonly aliases?: string[];
}

/** How the reverse proxy routes to the service (Traefik labels). */
export interface ProxyRoute {
    /** Host names routed to the container. */
    readonly hosts: string[];
    /** Container port the proxy sends traffic to. */
    readonly port: number;
    /** Docker network the proxy reaches the container on (the environment's edge network, or its host stack's). */
    readonly network: pulumi.Input<string>;
    /** Traefik entrypoint with TLS. Default {@link TRAEFIK_NAMES}.entrypoint ("websecure"). */
    readonly entrypoint?: pulumi.Input<string>;
    /** Traefik certificate resolver. Default {@link TRAEFIK_NAMES}.certResolver ("letsencrypt"). */
    readonly certResolver?: pulumi.Input<string>;
    /** The host stack whose proxy routes the container (the `vps.edge` label); unset for an environment's own proxy. */
    readonly edge?: pulumi.Input<string>;
}

/** Arguments of {@link Service}: who owns it (an environment or a host stack) and {@link ServiceSettings}. */
export type ServiceArgs = Owner & ServiceSettings;

/** What a {@link Service} runs and how. */
export interface ServiceSettings {
    /** Pinned image reference (tag other than latest, or digest); the config schema enforces it. */
    readonly image: string;
    readonly healthcheck: HealthcheckArgs;
    /** Seconds `pulumi up` waits for the container to report healthy before failing. Default {@link HEALTH_TIMEOUT_SECONDS} (120). */
    readonly healthTimeoutSeconds?: number;
    /** Plain environment variables. */
    readonly env?: Record<string, pulumi.Input<string>>;
    /** Environment variables holding secrets; they stay secret in the state and the synth. */
    readonly secretEnv?: Record<string, pulumi.Input<string>>;
    /** Memory limit in MiB (Docker provider `memory`); also the memory + swap limit, so no swap. */
    readonly memoryMb: number;
    /**
     * CPU limit in CPUs (Docker `--cpus`), e.g. 0.5. Must survive the provider's read-back
     * (see docker-forms.ts `cpusProblem`: 0.05 does not).
     * @throws Error at construction when it does not
     */
    readonly cpus: number;
    /** Restart policy. Default {@link CONTAINER_RESTART} ("unless-stopped"). */
    readonly restart?: "unless-stopped" | "always" | "on-failure";
    /** json-file log rotation. Default {@link LOG_ROTATION} (10m x 3). */
    readonly logs?: { maxSize: string; maxFile: number };
    /** Capabilities kept; every other one is dropped. Default none. */
    readonly capAdd?: string[];
    readonly command?: string[];
    /** Networks to join (at least one); the container joins no other, not even Docker's default bridge. */
    readonly networks: ServiceNetwork[];
    /** Volumes to mount. */
    readonly volumes?: { volumeName: pulumi.Input<string>; containerPath: string; readOnly?: boolean }[];
    /** Proxy routing; omitted for data services. */
    readonly route?: ProxyRoute;
    /** Mount the root filesystem read-only. Default false. */
    readonly readOnlyRootFilesystem?: boolean;
    /**
     * Give the container the fixed name `<app>-<env>-<role>` and replace it by deleting
     * first. For data services, whose volume two instances must never share, and for
     * the proxy, whose host ports two instances cannot both bind. Default false: the
     * name gets a random suffix and a replacement starts beside the old container.
     */
    readonly fixedName?: boolean;
    /** Resources that must exist first (e.g. the containers of the services it depends on). */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
    /** Extra Docker labels, e.g. the proxy's own configuration. */
    readonly extraLabels?: { label: string; value: pulumi.Input<string> }[];
    /** Host ports to publish. Only the reverse proxy may: the policy pack enforces it. */
    readonly ports?: { internal: number; external: number; ip?: string }[];
    /** Host paths to bind-mount, e.g. the Docker socket (read only) for the proxy. */
    readonly hostMounts?: { hostPath: string; containerPath: string; readOnly: boolean }[];
}

/** Docker `--log-opt` values of json-file rotation. */
export function logOptions(logs: { maxSize: string; maxFile: number }): Record<string, string> {
    return { "max-size": logs.maxSize, "max-file": String(logs.maxFile) };
}

/**
 * Traefik router labels for a route; the router is named after the container's Docker name
 * (`<app>-<env>-<role>`), unique across the environments one proxy routes. With `edge`, the
 * `vps.edge` label that a host stack's proxy routes by.
 */
export function traefikLabels(routerName: string, route: ProxyRoute): { label: string; value: pulumi.Input<string> }[] {
    const rule = route.hosts.map((h) => `Host(\`${h}\`)`).join(" || ");
    const r = `traefik.http.routers.${routerName}`;
    return [
        ...(route.edge !== undefined ? [{ label: LABEL.edge, value: route.edge }] : []),
        { label: "traefik.enable", value: "true" },
        { label: "traefik.docker.network", value: route.network },
        { label: `${r}.rule`, value: rule },
        { label: `${r}.entrypoints`, value: route.entrypoint ?? TRAEFIK_NAMES.entrypoint },
        { label: `${r}.tls.certresolver`, value: route.certResolver ?? TRAEFIK_NAMES.certResolver },
        { label: `${r}.service`, value: routerName },
        { label: `traefik.http.services.${routerName}.loadbalancer.server.port`, value: String(route.port) },
    ];
}

/**
 * One container of an environment, with the deploy-safety settings every container
 * gets: a pinned image pulled with `RemoteImage` (kept locally so a rollback does not
 * pull), a required healthcheck, `wait: true` so `pulumi up` fails when the new
 * version does not become healthy within `healthTimeoutSeconds`, a restart policy,
 * json-file log rotation, memory and CPU limits, `no-new-privileges`, all capabilities
 * dropped except `capAdd`, never privileged, never the host network, and no host ports
 * (the proxy routes by labels; only the reverse proxy passes `ports`).
 */
export class Service extends pulumi.ComponentResource {
    readonly image: docker.RemoteImage;
    readonly container: docker.Container;
    /** The container's name (with a random suffix unless fixedName). */
    readonly containerName: pulumi.Output<string>;

    constructor(name: string, args: ServiceArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("vps:index:Service", name, { role: args.role, image: args.image }, opts);
        if (args.networks.length === 0) {
            throw new Error(`Service ${name}: networks must name at least one network`);
        }
        if (args.healthcheck.test.length < 2) {
            throw new Error(`Service ${name}: healthcheck.test needs a form and a command, e.g. ["CMD", "pg_isready"]`);
        }
        const logs = args.logs ?? LOG_ROTATION;

        this.image = new docker.RemoteImage(`${name}-image`, { name: args.image, keepLocally: true }, { parent: this });

        // One entry per variable, so a secret variable stays secret on its own and the
        // rest stay readable in previews and in the synth.
        const envs: pulumi.Input<string>[] = [
            ...Object.entries(args.env ?? {}).map(([k, v]) => pulumi.interpolate`${k}=${v}`),
            ...Object.entries(args.secretEnv ?? {}).map(([k, v]) => pulumi.secret(pulumi.interpolate`${k}=${v}`)),
        ];
        const labels = [
            ...ownershipLabels(args),
            ...(args.route ? traefikLabels(dockerName(args), args.route) : []),
            ...(args.extraLabels ?? []),
        ];

        this.container = new docker.Container(
            `${name}-container`,
            {
                name: args.fixedName ? dockerName(args) : undefined,
                image: this.image.imageId,
                envs,
                command: args.command,
                // Durations in the form the provider reads back (Go's Duration.String(): "90s" is
                // stored as "1m30s"), so a refresh finds no difference.
                healthcheck: {
                    tests: args.healthcheck.test,
                    interval: dockerDuration(args.healthcheck.interval),
                    timeout: dockerDuration(args.healthcheck.timeout),
                    retries: args.healthcheck.retries,
                    startPeriod: dockerDuration(args.healthcheck.startPeriod),
                },
                wait: true,
                waitTimeout: args.healthTimeoutSeconds ?? HEALTH_TIMEOUT_SECONDS,
                restart: args.restart ?? CONTAINER_RESTART,
                mustRun: true,
                logDriver: "json-file",
                logOpts: logOptions(logs),
                memory: args.memoryMb,
                // No swap: memory + swap equals memory. Unset, dockerd stores twice the memory
                // limit and the provider reads that back into this optional, non-computed field:
                // a diff on every refresh. Swapping also ruins a database's latency.
                memorySwap: args.memoryMb,
                // `cpus` forces a replacement and is read back as "1.0" for 1: send that form.
                cpus: cpusInput(args.cpus),
                privileged: false,
                securityOpts: ["no-new-privileges:true"],
                capabilities: { drops: ["ALL"], adds: args.capAdd ?? [] },
                readOnly: args.readOnlyRootFilesystem ?? false,
                // Only networksAdvanced: the provider then disconnects the default bridge, so
                // the container is on its environment's networks alone. Setting networkMode to
                // one of them as well would connect it twice.
                networksAdvanced: args.networks.map((n) => ({ name: n.name, aliases: n.aliases ?? [] })),
                volumes: [
                    ...(args.volumes ?? []).map((v) => ({ volumeName: v.volumeName, containerPath: v.containerPath, readOnly: v.readOnly ?? false })),
                    ...(args.hostMounts ?? []).map((m) => ({ hostPath: m.hostPath, containerPath: m.containerPath, readOnly: m.readOnly })),
                ],
                ports: args.ports?.map((p) => ({ internal: p.internal, external: p.external, ip: p.ip ?? "0.0.0.0", protocol: "tcp" })),
                labels,
                stopTimeout: 30,
                destroyGraceSeconds: 30,
            },
            {
                parent: this,
                dependsOn: args.dependsOn,
                // Explicit either way: pulumi-docker asks the engine to replace every container
                // delete-first (provider/resources.go, docker_container DeleteBeforeReplace: true),
                // and the engine lets an explicit option override the provider
                // (pkg/resource/deploy/step_generator.go). An auto-named container therefore
                // starts beside the old one, which is deleted once the new one is healthy; a
                // fixed-name one (data service, proxy) cannot, and is deleted first.
                deleteBeforeReplace: args.fixedName ?? false,
                // The provider's update ignores the healthcheck, so a changed one would never reach
                // the container: replace it instead.
                replaceOnChanges: ["healthcheck"],
            },
        );
        this.containerName = this.container.name;
        this.registerOutputs({ containerName: this.containerName });
    }
}
