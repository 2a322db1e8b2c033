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
}

/** What runs in a data service's container, and where its data lives in it. */
export type DataServer = Pick<ServiceArgs, "env" | "secretEnv" | "command" | "healthcheck" | "capAdd" | "files" | "remote"> & {
    /** The directory of the container the data volume is mounted on. */
    readonly dataPath: string;
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
    readonly data: DataVolume;
    readonly service: Service;
    /** Fixed container name, `<app>-<env>-<role>`. */
    readonly containerName: string;

    protected constructor(
        type: string,
        name: string,
        props: pulumi.Inputs,
        role: "postgres" | "redis",
        args: DataServiceArgs,
        server: DataServer,
        opts: pulumi.ComponentResourceOptions,
    ) {
        super(type, name, props, opts);
        const { dataPath, ...container } = server;
        this.data = new DataVolume(
            `${name}-data`,
            { app: args.app, environment: args.environment, role: `${role}-data`, protect: args.protectData },
            { parent: this },
        );
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
                networks: [{ name: args.internalNetwork, aliases: [role] }],
                volumes: [{ volumeName: this.data.volume.name, containerPath: dataPath }],
                fixedName: true,
            },
            { parent: this },
        );
        this.registerOutputs({ volumeName: this.data.volumeName });
    }
}
