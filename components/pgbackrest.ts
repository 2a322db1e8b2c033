/**
 * pgBackRest as the PostgreSQL container runs it: the options of the environment's PITR
 * repository, given as `PGBACKREST_*` variables of the container (pgBackRest reads every
 * option from its environment), the server arguments that archive WAL with it, and the list
 * of options this program may use at all.
 *
 * Everything runs from the container's environment: `archive_command` inherits the
 * postmaster's, and the jobs' `docker exec -u postgres <container> pgbackrest ...` inherits
 * the container's, so the jobs hold no repository setting or secret of their own and run
 * exactly what archiving runs. The integration suite starts its scratch cluster with the
 * same variables (test/integration/helpers/pitr-lab.ts), so these options are proven on
 * pgBackRest 2.45.
 *
 * Pure and dependency-free (a fact of the bottom layer): PostgresService renders the container
 * from it, the PITR jobs their limits, and the config checks an endpoint against it.
 */

/**
 * Every pgBackRest option this program sets, each one present with the same meaning in
 * 2.45 (Debian 12's package, what the integration suite runs) and in 2.59.1 (the newest
 * release): compared in `src/build/config/config.yaml` of both tags. Options added since
 * 2.45 (`allow-root`, `archive-push-batch-size`, `repo-storage-tag`, `repo-s3-requester-pays`,
 * ...) must not appear: a 2.45 image refuses an unknown `PGBACKREST_*` option.
 */
export const PGBACKREST_OPTIONS = [
    "config",
    "stanza",
    "pg1-path",
    "pg1-port",
    "pg1-socket-path",
    "pg1-user",
    "repo1-type",
    "repo1-path",
    "repo1-s3-bucket",
    "repo1-s3-endpoint",
    "repo1-s3-region",
    "repo1-s3-uri-style",
    "repo1-s3-key",
    "repo1-s3-key-secret",
    "repo1-storage-port",
    "repo1-storage-ca-file",
    "repo1-cipher-type",
    "repo1-cipher-pass",
    "repo1-retention-full-type",
    "repo1-retention-full",
    "archive-async",
    "archive-push-queue-max",
    "archive-timeout",
    "spool-path",
    "log-path",
    "lock-path",
    "log-level-console",
    "log-level-file",
    "log-level-stderr",
    "start-fast",
] as const;

/** A pgBackRest option name this program uses. */
export type PgbackrestOption = (typeof PGBACKREST_OPTIONS)[number];

/** The options that hold secrets: Pulumi secrets in the container's environment, never plain. */
export const PGBACKREST_SECRET_OPTIONS: readonly PgbackrestOption[] = ["repo1-cipher-pass", "repo1-s3-key", "repo1-s3-key-secret"];

/** Where the image keeps pgBackRest's spool and log, on the retained `<app>-<env>-pgbackrest` volume. */
export const PGBACKREST_VOLUME_PATH = "/var/lib/pgbackrest";

/** An empty config file the image carries: pgBackRest would otherwise fall back to Debian's `/etc/pgbackrest.conf`. */
export const PGBACKREST_CONFIG_FILE = "/etc/pgbackrest/pgbackrest.conf";

/** PGDATA of the PostgreSQL containers (see PostgresService). */
export const POSTGRES_PGDATA = "/var/lib/postgresql/data/pgdata";

/** Where the official images put the server's Unix socket. */
export const POSTGRES_SOCKET_DIR = "/var/run/postgresql";

/** The PITR repository inside the environment's backup bucket. */
export interface PgbackrestRepository<S = string> {
    /** Bucket name. */
    readonly bucket: S;
    /** Repository path in the bucket, absolute, e.g. "/shop/staging/pitr" (naming.ts pitrRepositoryPath). */
    readonly path: string;
    /** Region of the bucket (AWS), or the store's own name ("auto" for R2). */
    readonly region: string;
    /**
     * Endpoint URL of an S3-compatible store: https with a DNS name (pgBackRest 2.45 speaks only
     * HTTPS to S3, and matches no IP address in a certificate); undefined for AWS.
     */
    readonly endpoint?: string;
}

/** What the options of one environment's repository are made of. */
export interface PgbackrestSettings<S = string> {
    /** Stanza name, e.g. "shop-staging". */
    readonly stanza: string;
    /** The role pgBackRest connects to the cluster as (a superuser: the image's POSTGRES_USER). */
    readonly pgUser: string;
    readonly repository: PgbackrestRepository<S>;
    /** Full backups (and the WAL they need) are kept this many days (`repo1-retention-full-type=time`). */
    readonly retentionDays: number;
    /** `archive-push-queue-max`, in pgBackRest's size syntax ("4GiB"): past it, WAL is dropped (and the lag check alerts). */
    readonly queueMax: string;
}

/** Why an S3-compatible endpoint cannot be a pgBackRest 2.45 repository, or undefined. */
export function pgbackrestEndpointProblem(endpoint: string): string | undefined {
    let url: URL;
    try {
        url = new URL(endpoint);
    } catch {
        return "is not a URL";
    }
    if (url.protocol !== "https:") return "must be https for point-in-time recovery: pgBackRest 2.45 (the oldest version the image may install) speaks only HTTPS to S3";
    if (/^\d+\.\d+\.\d+\.\d+$/.test(url.hostname) || url.hostname.startsWith("[")) {
        return "must name the store by a DNS name, not an IP address: pgBackRest before 2.53 matches no IP address in a certificate";
    }
    if (url.pathname !== "/" && url.pathname !== "") return "must be the store's root URL (no path): pgBackRest takes a host and a port";
    return undefined;
}

/**
 * The repository's options, secrets excluded (see {@link PGBACKREST_SECRET_OPTIONS}). AWS is
 * reached at `s3.<region>.amazonaws.com` with host-style URLs (path style for a bucket name
 * with a dot, whose host name the wildcard certificate does not cover); an S3-compatible
 * store at its endpoint's host and port, path style.
 *
 * @throws Error naming the endpoint when it cannot work (see {@link pgbackrestEndpointProblem})
 */
export function pgbackrestOptions<S>(s: PgbackrestSettings<S>): Partial<Record<PgbackrestOption, S | string>> {
    const repo = s.repository;
    const store: Partial<Record<PgbackrestOption, S | string>> = {};
    if (repo.endpoint === undefined) {
        store["repo1-s3-endpoint"] = `s3.${repo.region}.amazonaws.com`;
        if (typeof repo.bucket === "string" && repo.bucket.includes(".")) store["repo1-s3-uri-style"] = "path";
    } else {
        const problem = pgbackrestEndpointProblem(repo.endpoint);
        if (problem) throw new Error(`pgBackRest repository endpoint "${repo.endpoint}" ${problem}`);
        const url = new URL(repo.endpoint);
        store["repo1-s3-endpoint"] = url.hostname;
        if (url.port !== "") store["repo1-storage-port"] = url.port;
        store["repo1-s3-uri-style"] = "path";
    }
    return {
        config: PGBACKREST_CONFIG_FILE,
        stanza: s.stanza,
        "pg1-path": POSTGRES_PGDATA,
        "pg1-port": "5432",
        "pg1-socket-path": POSTGRES_SOCKET_DIR,
        "pg1-user": s.pgUser,
        "repo1-type": "s3",
        "repo1-path": repo.path,
        "repo1-s3-bucket": repo.bucket,
        "repo1-s3-region": repo.region,
        ...store,
        "repo1-cipher-type": "aes-256-cbc",
        "repo1-retention-full-type": "time",
        "repo1-retention-full": String(s.retentionDays),
        "archive-async": "y",
        "archive-push-queue-max": s.queueMax,
        "spool-path": `${PGBACKREST_VOLUME_PATH}/spool`,
        "log-path": `${PGBACKREST_VOLUME_PATH}/log`,
        "lock-path": "/tmp/pgbackrest",
        // archive_command's console output lands in the PostgreSQL log: two INFO lines per
        // segment at the default. The jobs ask for info on their own command lines.
        "log-level-console": "warn",
        "log-level-file": "info",
        // Its default changed from warn (2.45) to off (2.53): set, so both behave alike.
        "log-level-stderr": "off",
        "start-fast": "y",
    };
}

/** `repo1-s3-key` → `PGBACKREST_REPO1_S3_KEY`: the variable pgBackRest reads an option from. */
export function pgbackrestEnvName(option: string): string {
    return `PGBACKREST_${option.toUpperCase().replace(/-/g, "_")}`;
}

/** Options as the container's environment variables. */
export function pgbackrestEnv<V>(options: Partial<Record<string, V>>): Record<string, V> {
    const env: Record<string, V> = {};
    for (const [option, value] of Object.entries(options)) {
        if (value !== undefined) env[pgbackrestEnvName(option)] = value;
    }
    return env;
}

/** `archive_timeout` for an RPO target: half of it, so a quiet database's WAL reaches the store with room to spare. */
export function archiveTimeoutSeconds(rpoMinutes: number): number {
    return rpoMinutes * 30;
}

/**
 * The age of the oldest WAL segment not yet archived that means the RPO is being missed: the
 * RPO minus archive_timeout (a segment waits up to archive_timeout to be closed, then must
 * reach the store in what remains).
 */
export function archiveLagLimitSeconds(rpoMinutes: number): number {
    return rpoMinutes * 60 - archiveTimeoutSeconds(rpoMinutes);
}

/** The command archive_command runs: every option comes from the environment. */
export const ARCHIVE_COMMAND = "pgbackrest archive-push %p";

/**
 * The server's command line with WAL archiving: the image's entrypoint passes these to
 * `postgres`, and command-line settings override postgresql.conf and postgresql.auto.conf
 * (so a cluster restored with archive_mode=off archives again once it is the live one).
 */
export function archivingCommand(rpoMinutes: number): string[] {
    return [
        "postgres",
        "-c", "wal_level=replica",
        "-c", "archive_mode=on",
        "-c", `archive_command=${ARCHIVE_COMMAND}`,
        "-c", `archive_timeout=${archiveTimeoutSeconds(rpoMinutes)}`,
    ];
}
