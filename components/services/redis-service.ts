import * as pulumi from "@pulumi/pulumi";
import { DataService, DataServiceArgs } from "./data-service";

/**
 * Arguments of {@link RedisService}. `memoryMb` also sets Redis' maxmemory, to 80 % of
 * the limit, so Redis evicts before the kernel OOM-kills it.
 */
export type RedisServiceArgs = DataServiceArgs;

/**
 * Redis on the environment's internal network only (DNS name `redis`), persisting
 * AOF and RDB snapshots to a retained `<app>-<env>-redis-data` volume, with a
 * `redis-cli ping` healthcheck. Fixed container name `<app>-<env>-redis`, replaced by
 * deleting first (see DataService).
 */
export class RedisService extends DataService {
    constructor(name: string, args: RedisServiceArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const maxMemoryMb = Math.max(1, Math.floor(args.memoryMb * 0.8));
        super(
            "vps:index:RedisService",
            name,
            {},
            "redis",
            args,
            {
                command: ["redis-server", "--appendonly", "yes", "--save", "900 1 300 10 60 10000", "--maxmemory", `${maxMemoryMb}mb`],
                healthcheck: { test: ["CMD", "redis-cli", "ping"], interval: "10s", timeout: "3s", retries: 5, startPeriod: "10s" },
                // The entrypoint chowns /data and drops to the redis user.
                capAdd: ["CHOWN", "SETGID", "SETUID"],
                dataPath: "/data",
            },
            opts,
        );
    }
}
