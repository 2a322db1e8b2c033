import * as pulumi from "@pulumi/pulumi";
import { DataServiceArgs, DataVolume } from "../docker/data-volume";
import { dockerName } from "../naming";
import { Service } from "../docker/service";

/**
 * Arguments of {@link RedisService}. `memoryMb` also sets Redis' maxmemory, to 80 % of
 * the limit, so Redis evicts before the kernel OOM-kills it.
 */
export type RedisServiceArgs = DataServiceArgs;

/**
 * Redis on the environment's internal network only (DNS name `redis`), persisting
 * AOF and RDB snapshots to a retained `<app>-<env>-redis-data` volume, with a
 * `redis-cli ping` healthcheck. Fixed container name `<app>-<env>-redis`, replaced by
 * deleting first.
 */
export class RedisService extends pulumi.ComponentResource {
    readonly data: DataVolume;
    readonly service: Service;
    readonly containerName: string;

    constructor(name: string, args: RedisServiceArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("vps:index:RedisService", name, {}, opts);
        this.data = new DataVolume(
            `${name}-data`,
            { app: args.app, environment: args.environment, role: "redis-data", protect: args.protectData },
            { parent: this },
        );
        this.containerName = dockerName({ ...args, role: "redis" });
        const maxMemoryMb = Math.max(1, Math.floor(args.memoryMb * 0.8));
        this.service = new Service(
            `${name}-server`,
            {
                app: args.app,
                environment: args.environment,
                role: "redis",
                image: args.image,
                command: ["redis-server", "--appendonly", "yes", "--save", "900 1 300 10 60 10000", "--maxmemory", `${maxMemoryMb}mb`],
                healthcheck: { test: ["CMD", "redis-cli", "ping"], interval: "10s", timeout: "3s", retries: 5, startPeriod: "10s" },
                healthTimeoutSeconds: args.healthTimeoutSeconds,
                memoryMb: args.memoryMb,
                cpus: args.cpus,
                logs: args.logs,
                // The entrypoint chowns /data and drops to the redis user.
                capAdd: ["CHOWN", "SETGID", "SETUID"],
                networks: [{ name: args.internalNetwork, aliases: ["redis"] }],
                volumes: [{ volumeName: this.data.volume.name, containerPath: "/data" }],
                fixedName: true,
            },
            { parent: this },
        );
        this.registerOutputs({ volumeName: this.data.volumeName });
    }
}
