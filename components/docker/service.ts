import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { cpusInput, dockerDuration } from "./docker-forms";
import { CONTAINER_RESTART, HEALTH_TIMEOUT_SECONDS, LOG_ROTATION, STOP_GRACE_SECONDS } from "../defaults";
import { dockerName, TRAEFIK_NAMES } from "../naming";
import { DataVolume } from "./data-volume";
import { isHostOwned, LABEL, Owner, ownerOf, ownershipLabels } from "./labels";
import { ReleaseCommand, ReleaseContainer } from "./release-command";
import { mainRouterLabels, RouteMiddlewares, routeLabels } from "./routes";
import { ServiceFiles, ServiceHost } from "./service-files";

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
    /** Middlewares and private paths of every router of the service (routes.ts). */
    readonly middlewares?: RouteMiddlewares;
}

/** Arguments of {@link Service}: who owns it (an environment or a host stack) and {@link ServiceSettings}. */
export type ServiceArgs = Owner & ServiceSettings;

/** What a {@link Service} runs and how. */
export interface ServiceSettings {
    /** Pinned image reference (tag other than latest, or digest); the config schema enforces it. */
    readonly image: string;
    /**
     * An image already on the host that the container runs instead of `image`, e.g. the id of
     * one built from it (PostgreSQL with pgBackRest). `image` is still pulled: it is the
     * build's base, and what the image policies judge. Default: `image` itself.
     */
    readonly imageId?: pulumi.Input<string>;
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
    /** Entrypoint override. */
    readonly entrypoint?: string[];
    /** User (and group) the process runs as. */
    readonly user?: string;
    /** Working directory (absolute, clean). */
    readonly workingDir?: string;
    /** Run an init process as PID 1. Unset: the daemon's default (not sent, so existing containers stay as they are). */
    readonly init?: boolean;
    /** Stop signal, e.g. "SIGQUIT". Unset: the image's. */
    readonly stopSignal?: string;
    /** Seconds between the stop signal and SIGKILL, on a stop and on a delete. Default {@link STOP_GRACE_SECONDS} (30). */
    readonly stopGraceSeconds?: number;
    /** Size of /dev/shm in MiB. Unset: Docker's 64. */
    readonly shmSizeMb?: number;
    /** tmpfs mounts: container path -> mount options. */
    readonly tmpfs?: Record<string, string>;
    /** Resource limits by name. */
    readonly ulimits?: Record<string, { soft: number; hard: number }>;
    /**
     * Containers of the service (default 1): `<name>-container`, `<name>-container-2`, ..., each
     * with its own healthcheck, on the same networks and aliases, one Traefik service with a
     * server each. Each replica depends on the one before it, so an update replaces them one at
     * a time, each new one healthy (`wait`) before the next starts; the old ones are deleted
     * after (create-before-delete), so the service never has zero healthy containers.
     */
    readonly replicas?: number;
    /**
     * Retained volumes of the service: role -> container path, each a DataVolume
     * `<app>-<env>-<role>-<volume role>` (protected with `protectVolumes`). Unless
     * `sharedVolumes`, the container gets a fixed name and is replaced delete-first, as two
     * containers must not write one volume.
     */
    readonly serviceVolumes?: Record<string, string>;
    /** The service's volumes may be written by two containers at once. Default false. */
    readonly sharedVolumes?: boolean;
    /** `protect` the service's volumes (production). Default false. */
    readonly protectVolumes?: boolean;
    /** Files written on the VPS and mounted read-only: container path -> content (see ServiceFiles). Needs `remote`. */
    readonly files?: Record<string, pulumi.Input<string>>;
    /**
     * Release command run in a one-shot container of the new image before the new version starts
     * (see ReleaseCommand). Needs `remote`; an environment's service only (its ownership labels).
     */
    readonly release?: string[];
    /**
     * The VPS's SSH connection and deploy directory, for `files` and `release`. Not `host`: that
     * key names a host stack's owner ({@link Owner}), and its presence is what makes one.
     */
    readonly remote?: ServiceHost;
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
    /** The first container (every replica is in `containers`). */
    readonly container: docker.Container;
    /** Every replica's container, in order. */
    readonly containers: docker.Container[];
    /** The first container's name (with a random suffix unless fixed). */
    readonly containerName: pulumi.Output<string>;
    /** Every replica's container name. */
    readonly containerNames: pulumi.Output<string>[];
    /** The service's own data volumes. */
    readonly volumes: DataVolume[];
    /** The release command, when the service has one. */
    readonly release?: ReleaseCommand;

    constructor(name: string, args: ServiceArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const replicas = args.replicas ?? 1;
        // The names of its own volumes are props the policy pack reads (they must be backed up).
        const owner = ownerOf(args);
        const ownVolumes = Object.keys(args.serviceVolumes ?? {}).map((role) => dockerName({ ...owner, role: `${args.role}-${role}` }));
        super("vps:index:Service", name, { role: args.role, image: args.image, replicas, ...(ownVolumes.length > 0 ? { volumes: ownVolumes } : {}) }, opts);
        validateServiceArgs(name, args);
        const logs = args.logs ?? LOG_ROTATION;
        const stopGrace = args.stopGraceSeconds ?? STOP_GRACE_SECONDS;
        const volumeRoles = Object.keys(args.serviceVolumes ?? {});
        // Two containers must not write one volume: a service with volumes is replaced delete-first, as a data service is.
        const fixedName = args.fixedName ?? (volumeRoles.length > 0 && !args.sharedVolumes);

        this.image = new docker.RemoteImage(`${name}-image`, { name: args.image, keepLocally: true }, { parent: this });
        this.volumes = volumeRoles.map(
            (role) =>
                new DataVolume(
                    `${name}-${role}`,
                    { ...owner, role: `${args.role}-${role}`, protect: args.protectVolumes ?? false },
                    { parent: this },
                ),
        );
        const files =
            args.files && Object.keys(args.files).length > 0
                ? new ServiceFiles(`${name}-files`, { ...args.remote!, role: args.role, files: args.files, dependsOn: args.dependsOn }, { parent: this })
                : undefined;

        // One entry per variable, so a secret variable stays secret on its own and the
        // rest stay readable in previews and in the synth.
        const envs: pulumi.Input<string>[] = [
            ...Object.entries(args.env ?? {}).map(([k, v]) => pulumi.interpolate`${k}=${v}`),
            ...Object.entries(args.secretEnv ?? {}).map(([k, v]) => pulumi.secret(pulumi.interpolate`${k}=${v}`)),
        ];
        const base = dockerName(owner);
        const labels = [
            ...ownershipLabels(args),
            ...(args.route ? serviceRouteLabels(base, args.route) : []),
            ...(args.extraLabels ?? []),
            // A changed file must reach the container: the provider never restarts one for a
            // bind-mounted file, and labels force a replacement.
            ...(files ? [{ label: FILES_LABEL, value: files.hash }] : []),
        ];
        const volumes: { volumeName?: pulumi.Input<string>; hostPath?: string; containerPath: string; readOnly: boolean }[] = [
            ...(args.volumes ?? []).map((v) => ({ volumeName: v.volumeName, containerPath: v.containerPath, readOnly: v.readOnly ?? false })),
            ...this.volumes.map((v, i) => ({ volumeName: v.volume.name, containerPath: args.serviceVolumes![volumeRoles[i]], readOnly: false })),
            ...(args.hostMounts ?? []).map((m) => ({ hostPath: m.hostPath, containerPath: m.containerPath, readOnly: m.readOnly })),
            ...(files?.mounts ?? []).map((m) => ({ hostPath: m.hostPath, containerPath: m.containerPath, readOnly: true })),
        ];
        const ulimits = Object.entries(args.ulimits ?? {})
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([ulimitName, u]) => ({ name: ulimitName, soft: u.soft, hard: u.hard }));

        // validateServiceArgs refused a release of a host stack's service.
        if (args.release && !isHostOwned(args)) {
            const release: pulumi.Input<Omit<ReleaseContainer, "labels">> = pulumi
                .all([pulumi.all(args.networks.map((n) => n.name)), pulumi.all(volumes.map((v) => pulumi.output(v.volumeName)))])
                .apply(([networks, volumeNames]) => ({
                    memory: args.memoryMb,
                    memorySwap: args.memoryMb,
                    cpus: cpusInput(args.cpus),
                    privileged: false as const,
                    capabilities: { drops: ["ALL"], adds: args.capAdd ?? [] },
                    securityOpts: ["no-new-privileges:true"],
                    logDriver: "json-file",
                    logOpts: logOptions(logs),
                    readOnly: args.readOnlyRootFilesystem ?? false,
                    user: args.user,
                    workingDir: args.workingDir,
                    entrypoint: args.entrypoint,
                    init: args.init,
                    shmSize: args.shmSizeMb,
                    tmpfs: args.tmpfs,
                    ulimits,
                    volumes: volumes.map((v, i) => ({ volumeName: volumeNames[i], hostPath: v.hostPath, containerPath: v.containerPath, readOnly: v.readOnly })),
                    networks,
                }));
            this.release = new ReleaseCommand(
                `${name}-release`,
                {
                    app: args.app,
                    environment: args.environment,
                    role: args.role,
                    connection: args.remote!.connection,
                    image: args.imageId ?? this.image.imageId,
                    command: args.release,
                    env: args.env,
                    secretEnv: args.secretEnv,
                    container: release,
                    dependsOn: [...(args.dependsOn ?? []), ...(files ? [files.command] : []), ...this.volumes.map((v) => v.volume)],
                },
                { parent: this },
            );
        }

        this.containers = [];
        for (let i = 0; i < replicas; i++) {
            const previous = this.containers[i - 1];
            const dependsOn = [...(args.dependsOn ?? []), ...(files ? [files.command] : []), ...(this.release ? [this.release.command] : []), ...(previous ? [previous] : [])];
            this.containers.push(
                new docker.Container(
                    // The first replica keeps the name a service of one container always had.
                    i === 0 ? `${name}-container` : `${name}-container-${i + 1}`,
                    {
                        name: fixedName ? base : undefined,
                        image: args.imageId ?? this.image.imageId,
                        envs,
                        command: args.command,
                        entrypoints: args.entrypoint,
                        user: args.user,
                        workingDir: args.workingDir,
                        init: args.init,
                        stopSignal: args.stopSignal,
                        shmSize: args.shmSizeMb,
                        tmpfs: args.tmpfs,
                        ulimits: ulimits.length > 0 ? ulimits : undefined,
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
                        volumes,
                        ports: args.ports?.map((p) => ({ internal: p.internal, external: p.external, ip: p.ip ?? "0.0.0.0", protocol: "tcp" })),
                        labels,
                        stopTimeout: stopGrace,
                        destroyGraceSeconds: stopGrace,
                    },
                    {
                        parent: this,
                        dependsOn,
                        // Explicit either way: pulumi-docker asks the engine to replace every container
                        // delete-first (provider/resources.go, docker_container DeleteBeforeReplace: true),
                        // and the engine lets an explicit option override the provider
                        // (pkg/resource/deploy/step_generator.go). An auto-named container therefore
                        // starts beside the old one, which is deleted once the new one is healthy; a
                        // fixed-name one (data service, proxy, a service with its own volumes) cannot,
                        // and is deleted first.
                        deleteBeforeReplace: fixedName,
                        // The provider's update ignores these (resourceDockerContainerUpdate changes
                        // only restart and resources), so a change would never reach the container:
                        // replace it instead.
                        replaceOnChanges: [...REPLACE_ON_CHANGES],
                    },
                ),
            );
        }
        this.container = this.containers[0];
        this.containerNames = this.containers.map((c) => c.name);
        this.containerName = this.containerNames[0];
        this.registerOutputs({ containerName: this.containerName, containerNames: this.containerNames });
    }
}

/**
 * Inputs of a container whose change the provider's update silently drops (healthcheck,
 * init and tmpfs are neither ForceNew nor applied by resourceDockerContainerUpdate, kreuzwerker
 * v4.5.0): the program replaces the container on a change of any of them.
 */
export const REPLACE_ON_CHANGES = ["healthcheck", "init", "tmpfs"] as const;

/** The label holding the sha256 of a service's files (ServiceFiles): a changed file replaces the containers. */
export const FILES_LABEL = "vps.files";

/** The Traefik labels of a service's route: the main router (traefikLabels), path routers, middlewares, private paths. */
export function serviceRouteLabels(base: string, route: ProxyRoute): { label: string; value: pulumi.Input<string> }[] {
    const main = mainRouterLabels(base, route.hosts, (hosts) => traefikLabels(base, { ...route, hosts }));
    return [...main, ...routeLabels(base, route.hosts, route.middlewares ?? {}, main)];
}

/**
 * Throws with a sentence naming the argument when the service cannot be built: no network, a
 * healthcheck without a command, replicas that are not a whole number from 1, a fixed name
 * with replicas (two containers cannot share one name), files or a release without `remote`, a
 * release of a host stack's service.
 */
export function validateServiceArgs(name: string, args: ServiceArgs): void {
    if (args.networks.length === 0) {
        throw new Error(`Service ${name}: networks must name at least one network`);
    }
    if (args.healthcheck.test.length < 2) {
        throw new Error(`Service ${name}: healthcheck.test needs a form and a command, e.g. ["CMD", "pg_isready"]`);
    }
    const replicas = args.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 1) throw new Error(`Service ${name}: replicas must be a whole number from 1, got ${replicas}`);
    const fixed = args.fixedName ?? (Object.keys(args.serviceVolumes ?? {}).length > 0 && !args.sharedVolumes);
    if (fixed && replicas > 1) {
        throw new Error(`Service ${name}: ${replicas} replicas cannot share one fixed container name (a service with volumes needs sharedVolumes for replicas)`);
    }
    if ((args.files && Object.keys(args.files).length > 0) || args.release) {
        if (!args.remote) throw new Error(`Service ${name}: files and release need remote (the SSH connection and deploy directory)`);
    }
    if (args.release && isHostOwned(args)) {
        throw new Error(`Service ${name}: release is an environment's (a host stack's service ${args.host}-${args.role} has no app or environment to label it with)`);
    }
}
