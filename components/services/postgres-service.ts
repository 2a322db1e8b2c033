import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { DataVolume } from "../docker/data-volume";
import { ownershipLabels } from "../docker/labels";
import { dockerName, networkName, pitrStanza } from "../naming";
import {
    archivingCommand,
    PGBACKREST_VOLUME_PATH,
    pgbackrestEnv,
    pgbackrestEnvName,
    pgbackrestOptions,
    PgbackrestRepository,
} from "../pgbackrest";
import { DataServer, DataService, DataServiceArgs } from "./data-service";

/** The build context of the derived image (relative to the project root, where Pulumi runs the program and its providers). */
export const PGBACKREST_IMAGE_CONTEXT = "components/services/postgres-pgbackrest";

/** The Dockerfile's build arguments: the configured image it starts from and the pgBackRest version it installs. */
export function pgbackrestImageBuildArgs(baseImage: string, pgbackrestVersion: string): { BASE_IMAGE: string; PGBACKREST_VERSION: string } {
    return { BASE_IMAGE: baseImage, PGBACKREST_VERSION: pgbackrestVersion };
}

/** Point-in-time recovery of a PostgresService: WAL archived by pgBackRest into the environment's repository. */
export interface PostgresPitrArgs {
    /** The pgBackRest version the derived image installs from the base image's distribution, e.g. "2.54.0". */
    readonly pgbackrestVersion: string;
    /** The VPS's platform the image is built for, e.g. "linux/amd64" (`host.platform`). */
    readonly platform: string;
    /** RPO target in minutes; archive_timeout is half of it. */
    readonly rpoMinutes: number;
    /** Days of full backups kept. */
    readonly retentionDays: number;
    /** archive-push-queue-max, e.g. "4GiB". */
    readonly queueMax: string;
    /** The repository in the backup bucket (PitrRepository). */
    readonly repository: PgbackrestRepository<pulumi.Input<string>>;
    /** Its encryption passphrase (aes-256-cbc); a secret. */
    readonly passphrase: pulumi.Input<string>;
    /** The repository's credential (PitrRepository: its own IAM user on AWS); secrets. */
    readonly accessKeyId: pulumi.Input<string>;
    readonly secretAccessKey: pulumi.Input<string>;
}

/** Arguments of {@link PostgresService}. */
export interface PostgresServiceArgs extends DataServiceArgs {
    /** Database created at first start. */
    readonly database: string;
    /** Owner role of the database. */
    readonly user: string;
    /** Password of `user`; a secret Output. */
    readonly password: pulumi.Input<string>;
    /** Continuous WAL archiving for point-in-time recovery. Default none. */
    readonly pitr?: PostgresPitrArgs;
}

/**
 * PostgreSQL on the environment's internal network only, answering to the DNS name
 * `postgres` there, with its data on a retained `<app>-<env>-postgres-data` volume and
 * a `pg_isready` healthcheck. The container has the fixed name `<app>-<env>-postgres`
 * (the backup job `docker exec`s into it) and is replaced by deleting first, so two
 * servers never share one data directory (see DataService).
 *
 * With `pitr` the container runs a derived image (the configured one plus pgBackRest, built
 * on the VPS: `<name>-pitr-image`), archives every WAL segment with `pgbackrest archive-push`
 * (archive_timeout = half the RPO target), keeps pgBackRest's spool and log on a retained
 * `<app>-<env>-pgbackrest` volume, carries the repository's options as `PGBACKREST_*`
 * variables (the secrets as secrets), and also joins `<app>-<env>-pitr`, a bridge network
 * that is its route to the store (the internal network has none). The props say `pitr`.
 */
export class PostgresService extends DataService {
    /** The derived image (with `pitr`). */
    readonly pitrImage?: docker.Image;
    /** The network to the store (with `pitr`), also the network of the PITR restore check's throwaway servers. */
    readonly pitrNetwork?: docker.Network;
    /** The retained volume of pgBackRest's spool and log (with `pitr`). */
    readonly pgbackrestVolume?: DataVolume;

    constructor(name: string, args: PostgresServiceArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const pitr = args.pitr;
        let children: { image: docker.Image; network: docker.Network; volume: DataVolume } | undefined;
        super(
            "vps:index:PostgresService",
            name,
            { database: args.database, pitr: pitr !== undefined },
            "postgres",
            args,
            (self): DataServer => {
                const server: DataServer = {
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
                };
                if (!pitr) return server;
                children = pitrChildren(name, args, pitr, self);
                const options = pgbackrestOptions({
                    stanza: pitrStanza(args),
                    pgUser: args.user,
                    repository: pitr.repository,
                    retentionDays: pitr.retentionDays,
                    queueMax: pitr.queueMax,
                });
                return {
                    ...server,
                    imageId: children.image.repoDigest,
                    command: archivingCommand(pitr.rpoMinutes),
                    env: { ...server.env, ...pgbackrestEnv(options) },
                    secretEnv: {
                        ...server.secretEnv,
                        [pgbackrestEnvName("repo1-cipher-pass")]: pitr.passphrase,
                        [pgbackrestEnvName("repo1-s3-key")]: pitr.accessKeyId,
                        [pgbackrestEnvName("repo1-s3-key-secret")]: pitr.secretAccessKey,
                    },
                    extraNetworks: [{ name: children.network.name }],
                    extraVolumes: [{ volumeName: children.volume.volume.name, containerPath: PGBACKREST_VOLUME_PATH }],
                };
            },
            opts,
        );
        this.pitrImage = children?.image;
        this.pitrNetwork = children?.network;
        this.pgbackrestVolume = children?.volume;
    }
}

/** The derived image, the network to the store and the spool volume of a PostgresService with PITR. */
function pitrChildren(name: string, args: PostgresServiceArgs, pitr: PostgresPitrArgs, parent: pulumi.Resource) {
    const env = { app: args.app, environment: args.environment };
    const buildArgs = pgbackrestImageBuildArgs(args.image, pitr.pgbackrestVersion);
    // A tag per base and version, so `docker images` on the VPS says what each build is; the
    // provider rebuilds on any change of the build context (its contextDigest) or arguments.
    const tag = createHash("sha256").update(`${buildArgs.BASE_IMAGE}\0${buildArgs.PGBACKREST_VERSION}`).digest("hex").slice(0, 12);
    const image = new docker.Image(
        `${name}-pitr-image`,
        {
            imageName: `${dockerName({ ...env, role: "postgres-pgbackrest" })}:${tag}`,
            build: {
                context: PGBACKREST_IMAGE_CONTEXT,
                dockerfile: `${PGBACKREST_IMAGE_CONTEXT}/Dockerfile`,
                args: buildArgs,
                // Explicit: the provider's default is the architecture of the machine running Pulumi.
                platform: pitr.platform,
            },
            // Built by the VPS's own engine through the provider's connection and kept there:
            // no registry, no push (repoDigest is then the local image id).
            skipPush: true,
        },
        { parent },
    );
    const network = new docker.Network(
        `${name}-pitr-network`,
        { name: networkName(env, "pitr"), driver: "bridge", labels: ownershipLabels({ ...env, role: "pitr-network" }) },
        // Fixed name, as the AppNetwork's: replaced delete-first (see AppNetwork).
        { parent, deleteBeforeReplace: true },
    );
    const volume = new DataVolume(`${name}-pgbackrest`, { ...env, role: "pgbackrest", protect: args.protectData }, { parent });
    return { image, network, volume };
}
