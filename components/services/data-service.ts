import * as pulumi from "@pulumi/pulumi";
import { HEALTH_TIMEOUT_SECONDS, LOG_ROTATION } from "../defaults";
import { DataVolume } from "../docker/data-volume";
import { Service, ServiceArgs } from "../docker/service";
import { dockerName } from "../naming";

/** Arguments every data service (PostgreSQL, Redis) takes: where it runs, its limits and its volume's protection. */
export interface DataServiceArgs {
    readonly app: string;
    readonly environment: string;
    /** Pinned image reference. */
    readonly image: string;
    /** Name of the environment's internal network; the only network the service joins. */
    readonly internalNetwork: pulumi.Input<string>;
    /** Memory limit in MiB. */
    readonly memoryMb: number;
    /** CPU limit in CPUs. */
    readonly cpus: number;
    /** `protect` the data volume (production). */
    readonly protectData: boolean;
    /** json-file log rotation. Default {@link LOG_ROTATION} (10m x 3). */
    readonly logs?: { maxSize: string; maxFile: number };
    /** Seconds `pulumi up` waits for healthy. Default {@link HEALTH_TIMEOUT_SECONDS} (120). */
    readonly healthTimeoutSeconds?: number;
    /**
     * The Docker volume the server mounts when it is not `<app>-<env>-<role>-data`: one
     * restore.sh pitr recovered and a promote switched to. The default volume stays in the stack.
     */
    readonly dataVolumeName?: string;
    /** Earlier data volumes the stack keeps (retained, protected with protectData) but does not mount. Default none. */
    readonly keptVolumeNames?: string[];
}

/** What runs in a data service's container, and where its data lives in it. */
export type DataServer = Pick<ServiceArgs, "env" | "secretEnv" | "command" | "healthcheck" | "capAdd" | "files" | "remote" | "imageId"> & {
    /** The directory of the container the data volume is mounted on. */
    readonly dataPath: string;
    /** Networks the server joins besides the internal one (PostgreSQL's route to its PITR store). */
    readonly extraNetworks?: ServiceArgs["networks"];
    /** Volumes mounted besides the data volume. */
    readonly extraVolumes?: NonNullable<ServiceArgs["volumes"]>;
};

/**
 * What PostgreSQL and Redis are made of alike: a retained data volume `<name>-data`
 * (`<app>-<env>-<role>-data`, protected with `protectData`) and a server `<name>-server`, a
 * Service on the environment's internal network only, answering to `<role>` there, with the
 * volume mounted, the fixed container name `<app>-<env>-<role>` (the jobs `docker exec` into
 * it) and delete-first replacement, so two servers never share one data directory. A subclass
 * says what runs in the container.
 */
export abstract class DataService extends pulumi.ComponentResource {
    /** The data volume the server mounts. */
    readonly data: DataVolume;
    /** Every data volume of the service in the stack: the mounted one and those kept. */
    readonly dataVolumes: DataVolume[];
    readonly service: Service;
    /** Fixed container name, `<app>-<env>-<role>`. */
    readonly containerName: string;

    protected constructor(
        type: string,
        name: string,
        props: pulumi.Inputs,
        role: "postgres" | "redis",
        args: DataServiceArgs,
        server: DataServer | ((parent: DataService) => DataServer),
        opts: pulumi.ComponentResourceOptions,
    ) {
        super(type, name, props, opts);
        // A function when the server needs children of its own (an image built for it, a network).
        const { dataPath, extraNetworks, extraVolumes, ...container } = typeof server === "function" ? server(this) : server;
        const standard = dockerName({ ...args, role: `${role}-data` });
        const mounted = args.dataVolumeName ?? standard;
        // The default volume is always in the stack (its URN never changes); another one is
        // `<name>-data-<what its name adds>`, the same resource whether mounted or kept, so a
        // later promote moves it between the two without replacing it. A kept volume's role
        // says so: it holds no live data, and no backup job covers it.
        const volume = (volumeName: string) =>
            new DataVolume(
                volumeName === standard ? `${name}-data` : `${name}-data${volumeName.slice(standard.length)}`,
                {
                    app: args.app,
                    environment: args.environment,
                    role: volumeName === mounted ? `${role}-data` : `${role}-data-kept`,
                    protect: args.protectData,
                    name: volumeName,
                },
                { parent: this },
            );
        const names = [...new Set([standard, mounted, ...(args.keptVolumeNames ?? [])])];
        this.dataVolumes = names.map(volume);
        this.data = this.dataVolumes[names.indexOf(mounted)];
        this.containerName = dockerName({ ...args, role });
        this.service = new Service(
            `${name}-server`,
            {
                ...container,
                app: args.app,
                environment: args.environment,
                role,
                image: args.image,
                healthTimeoutSeconds: args.healthTimeoutSeconds,
                memoryMb: args.memoryMb,
                cpus: args.cpus,
                logs: args.logs,
                networks: [{ name: args.internalNetwork, aliases: [role] }, ...(extraNetworks ?? [])],
                volumes: [{ volumeName: this.data.volume.name, containerPath: dataPath }, ...(extraVolumes ?? [])],
                fixedName: true,
            },
            { parent: this },
        );
        this.registerOutputs({ volumeName: this.data.volumeName });
    }
}
