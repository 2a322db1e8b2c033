import * as pulumi from "@pulumi/pulumi";
import { ServiceHost } from "../docker/service-files";
import { DataService, DataServiceArgs } from "./data-service";

/** Where Redis reads the config file that holds its password (written by the stack, mounted read-only). */
export const REDIS_CONFIG_FILE = "/usr/local/etc/redis/redis.conf";

/**
 * Arguments of {@link RedisService}. `memoryMb` also sets Redis' maxmemory, to 80 % of
 * the limit, so Redis evicts before the kernel OOM-kills it.
 */
export interface RedisServiceArgs extends DataServiceArgs {
    /**
     * Turns on authentication (`requirepass`), from the secret key redisPassword. The password
     * goes into a config file the stack writes under the deploy directory (ServiceFiles) and
     * mounts read-only, never into the command (which the state and `ps` show), and into the
     * container's secret `REDISCLI_AUTH`, which `redis-cli` (the healthcheck, the jobs' `docker
     * exec`) reads. Needs `remote`.
     */
    readonly password?: pulumi.Input<string>;
    /** The VPS's SSH connection and deploy directory, where the config file is written (ServiceSettings' `remote`). */
    readonly remote?: ServiceHost;
}

/** The redis.conf of a password-protected Redis: only requirepass; the rest stays on the command line. */
export function redisAuthConfig(password: string): string {
    if (/[\s"]/.test(password)) throw new Error("the Redis password must hold no whitespace or double quote");
    return `requirepass "${password}"\n`;
}

/**
 * Redis on the environment's internal network only (DNS name `redis`), persisting
 * AOF and RDB snapshots to a retained `<app>-<env>-redis-data` volume, with a
 * `redis-cli ping` healthcheck. Fixed container name `<app>-<env>-redis`, replaced by
 * deleting first (see DataService).
 */
export class RedisService extends DataService {
    constructor(name: string, args: RedisServiceArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const maxMemoryMb = Math.max(1, Math.floor(args.memoryMb * 0.8));
        if (args.password !== undefined && !args.remote) throw new Error(`RedisService ${name}: a password needs remote (the config file is written on the VPS)`);
        const auth = args.password !== undefined;
        const options = ["--appendonly", "yes", "--save", "900 1 300 10 60 10000", "--maxmemory", `${maxMemoryMb}mb`];
        super(
            "vps:index:RedisService",
            name,
            {},
            "redis",
            args,
            {
                // A config file as the first argument, then the options: redis-server reads both.
                command: auth ? ["redis-server", REDIS_CONFIG_FILE, ...options] : ["redis-server", ...options],
                files: auth ? { [REDIS_CONFIG_FILE]: pulumi.secret(pulumi.output(args.password!).apply(redisAuthConfig)) } : undefined,
                secretEnv: auth ? { REDISCLI_AUTH: args.password! } : undefined,
                remote: args.remote,
                healthcheck: { test: ["CMD", "redis-cli", "ping"], interval: "10s", timeout: "3s", retries: 5, startPeriod: "10s" },
                // The entrypoint chowns /data and drops to the redis user.
                capAdd: ["CHOWN", "SETGID", "SETUID"],
                dataPath: "/data",
            },
            opts,
        );
    }
}
