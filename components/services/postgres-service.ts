import * as pulumi from "@pulumi/pulumi";
import { DataService, DataServiceArgs } from "./data-service";

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
 * servers never share one data directory (see DataService).
 */
export class PostgresService extends DataService {
    constructor(name: string, args: PostgresServiceArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super(
            "vps:index:PostgresService",
            name,
            { database: args.database },
            "postgres",
            args,
            {
                env: { POSTGRES_DB: args.database, POSTGRES_USER: args.user, PGDATA: "/var/lib/postgresql/data/pgdata" },
                secretEnv: { POSTGRES_PASSWORD: args.password },
                healthcheck: {
                    test: ["CMD-SHELL", `pg_isready -U ${args.user} -d ${args.database}`],
                    interval: "10s",
                    timeout: "5s",
                    retries: 5,
                    startPeriod: "30s",
                },
                // The entrypoint chowns the data directory and drops to the postgres user.
                capAdd: ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"],
                dataPath: "/var/lib/postgresql/data",
            },
            opts,
        );
    }
}
