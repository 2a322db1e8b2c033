import * as pulumi from "@pulumi/pulumi";
import { DataServiceArgs, DataVolume } from "../docker/data-volume";
import { dockerName } from "../naming";
import { Service } from "../docker/service";

/** Arguments of {@link PostgresService}. */
export interface PostgresServiceArgs extends DataServiceArgs {
    /** Database created at first start. */
    readonly database: string;
    /** Owner role of the database. */
    readonly user: string;
    /** Password of `user`; a secret Output. */
    readonly password: pulumi.Input<string>;
}

/**
 * PostgreSQL on the environment's internal network only, answering to the DNS name
 * `postgres` there, with its data on a retained `<app>-<env>-postgres-data` volume and
 * a `pg_isready` healthcheck. The container has the fixed name `<app>-<env>-postgres`
 * (the backup job `docker exec`s into it) and is replaced by deleting first, so two
 * servers never share one data directory.
 */
export class PostgresService extends pulumi.ComponentResource {
    readonly data: DataVolume;
    readonly service: Service;
    /** Fixed container name, `<app>-<env>-postgres`. */
    readonly containerName: string;

    constructor(name: string, args: PostgresServiceArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("vps:index:PostgresService", name, { database: args.database }, opts);
        this.data = new DataVolume(
            `${name}-data`,
            { app: args.app, environment: args.environment, role: "postgres-data", protect: args.protectData },
            { parent: this },
        );
        this.containerName = dockerName({ ...args, role: "postgres" });
        this.service = new Service(
            `${name}-server`,
            {
                app: args.app,
                environment: args.environment,
                role: "postgres",
                image: args.image,
                env: { POSTGRES_DB: args.database, POSTGRES_USER: args.user, PGDATA: "/var/lib/postgresql/data/pgdata" },
                secretEnv: { POSTGRES_PASSWORD: args.password },
                healthcheck: {
                    test: ["CMD-SHELL", `pg_isready -U ${args.user} -d ${args.database}`],
                    interval: "10s",
                    timeout: "5s",
                    retries: 5,
                    startPeriod: "30s",
                },
                healthTimeoutSeconds: args.healthTimeoutSeconds,
                memoryMb: args.memoryMb,
                cpus: args.cpus,
                logs: args.logs,
                // The entrypoint chowns the data directory and drops to the postgres user.
                capAdd: ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"],
                networks: [{ name: args.internalNetwork, aliases: ["postgres"] }],
                volumes: [{ volumeName: this.data.volume.name, containerPath: "/var/lib/postgresql/data" }],
                fixedName: true,
            },
            { parent: this },
        );
        this.registerOutputs({ volumeName: this.data.volumeName });
    }
}
