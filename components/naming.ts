/**
 * Every name this program gives something outside itself, in one place: Docker volumes,
 * networks and fixed containers, systemd units, the backup bucket, its key prefix and IAM
 * user, and the rules those names must follow. The config schema, the components and the
 * job scripts' callers all derive names here, so a name cannot drift between them.
 *
 * Dependency-free, so that the config layer can import it without loading a provider SDK.
 */

/** What an environment's names are made of: `<app>-<env>`. */
export interface EnvironmentName {
    /** Application name, e.g. "shop". */
    readonly app: string;
    /** Environment name, e.g. "staging". */
    readonly environment: string;
}

/**
 * `<app>-<env>`: the start of every Docker name, unit name and IAM user of an environment,
 * and of the logical name of each of its components.
 */
export function namePrefix(env: EnvironmentName): string {
    return `${env.app}-${env.environment}`;
}

/** What a host stack's names are made of: its `name` key, e.g. "vps1". */
export interface HostName {
    /** The host stack's name, e.g. "vps1". */
    readonly host: string;
}

/**
 * The deterministic Docker name of a volume, a network or a fixed-name container:
 * `<app>-<env>-<role>` for an environment's, `<host>-<role>` for a host stack's (`vps1-acme`).
 * An environment (or host) destroyed and brought up again finds its data by this name.
 */
export function dockerName(owner: (EnvironmentName | HostName) & { readonly role: string }): string {
    return "host" in owner ? `${owner.host}-${owner.role}` : `${namePrefix(owner)}-${owner.role}`;
}

/** The shared edge network of a host stack, `<host>-edge`: its proxy and every attached environment's services. */
export function edgeNetworkName(host: HostName): string {
    return dockerName({ ...host, role: "edge" });
}

/**
 * The stack a `<org>/<project>/<stack>` reference names, when it is of `project` (the host
 * stack an environment's `edge.stack` names; the offline synth reads `Pulumi.<stack>.yaml`).
 */
export function stackOfReference(reference: string, project: string): string | undefined {
    const m = /^([^/\s]+)\/([^/\s]+)\/([^/\s]+)$/.exec(reference);
    return m && m[2] === project ? m[3] : undefined;
}

/** A fully qualified stack name, `<org>/<project>/<stack>` (a file backend's org is "organization"). */
export const STACK_REFERENCE = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

/**
 * The Docker networks of an environment: `<app>-<env>-edge`, `<app>-<env>-internal`, and with
 * point-in-time recovery `<app>-<env>-pitr`, the one route PostgreSQL has to the store.
 */
export function networkName(env: EnvironmentName, network: "edge" | "internal" | "pitr"): string {
    return dockerName({ ...env, role: network });
}

/**
 * The names of the proxy's TLS entrypoint and certificate resolver, which routers name in their
 * labels: a host stack publishes them as outputs, so attached environments use its names.
 */
export const TRAEFIK_NAMES = { entrypoint: "websecure", certResolver: "letsencrypt" } as const;

/** Docker's own rule for container names. */
export const CONTAINER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Whether Docker accepts `name` as a container name. */
export function isContainerName(name: string): boolean {
    return CONTAINER_NAME.test(name);
}

// ---------------------------------------------------------------------------------------
// systemd units of the scheduled jobs
// ---------------------------------------------------------------------------------------

/** A systemd unit base name, and each part (`app`, `environment`) it is built from: `[a-z0-9][a-z0-9-]*`. */
export const UNIT_NAME = /^[a-z0-9][a-z0-9-]*$/;

/** The scheduled jobs of an environment, each one systemd service + timer. */
export type JobKind = "backup" | "restore-check" | "backup-freshness" | "health-check" | PitrJobKind;

/** The point-in-time-recovery jobs of an environment (PointInTimeRecovery). */
export const PITR_JOB_KINDS = ["pitr-full", "pitr-diff", "pitr-lag-check", "pitr-marker", "pitr-restore-check"] as const;
export type PitrJobKind = (typeof PITR_JOB_KINDS)[number];

/** `<app>-<env>-<job>`: the unit base name of one of an environment's jobs. */
export function jobUnitName(env: EnvironmentName, job: JobKind): string {
    return `${namePrefix(env)}-${job}`;
}

/** The scheduled jobs of a host stack, each one systemd service + timer. */
export type HostJobKind = "image-prune" | "disk-usage" | "edge-check";

/** `<host>-<job>`: the unit base name of one of a host stack's jobs, e.g. "vps1-image-prune". */
export function hostJobUnitName(host: HostName, job: HostJobKind): string {
    return `${host.host}-${job}`;
}

/**
 * Throws with a sentence naming the argument when `app` or `environment` cannot be part of a
 * systemd unit name. `owner` starts the message (e.g. "BackupJob").
 */
export function validateUnitNameParts(owner: string, env: EnvironmentName): void {
    if (!UNIT_NAME.test(env.app)) {
        throw new Error(`${owner}: app "${env.app}" must match [a-z0-9][a-z0-9-]*`);
    }
    if (!UNIT_NAME.test(env.environment)) {
        throw new Error(`${owner}: environment "${env.environment}" must match [a-z0-9][a-z0-9-]*`);
    }
}

// ---------------------------------------------------------------------------------------
// Backup bucket, key prefix and credential
// ---------------------------------------------------------------------------------------

/** Backup tiers the backup job writes, each under `<prefix><tier>/` (backup.sh picks them by date). */
export const BACKUP_TIERS = ["daily", "weekly", "monthly"] as const;

/** The key prefix of an environment inside its bucket, `<app>/<env>/`; backups go under `<prefix><tier>/`. */
export function bucketKeyPrefix(env: EnvironmentName): string {
    return `${env.app}/${env.environment}/`;
}

/** The PITR repository's path in the bucket (pgBackRest's `repo1-path`), `/<app>/<env>/pitr`: its own prefix beside the dumps' tiers. */
export function pitrRepositoryPath(env: EnvironmentName): string {
    return `/${bucketKeyPrefix(env)}pitr`;
}

/** The key prefix of the PITR repository, `<app>/<env>/pitr/` (what its credential may touch). */
export function pitrKeyPrefix(env: EnvironmentName): string {
    return `${bucketKeyPrefix(env)}pitr/`;
}

/** The IAM user pgBackRest uses, `<app>-<env>-pitr`: it lives in the database container, so it may touch the PITR prefix only. */
export function pitrWriterName(env: EnvironmentName): string {
    return `${namePrefix(env)}-pitr`;
}

/** The pgBackRest stanza of an environment, `<app>-<env>`. */
export function pitrStanza(env: EnvironmentName): string {
    return namePrefix(env);
}

/** The PostgreSQL data volume, `<app>-<env>-postgres-data`; a recovered one is `<that>-<YYYYmmdd>t<HHMMSS>` (restore.sh pitr). */
export function postgresDataVolumeName(env: EnvironmentName): string {
    return dockerName({ ...env, role: "postgres-data" });
}

/** Whether `name` is the environment's PostgreSQL data volume or one restore.sh pitr recovered (the only ones the server may mount). */
export function isPostgresDataVolumeName(env: EnvironmentName, name: string): boolean {
    const base = postgresDataVolumeName(env);
    return name === base || new RegExp(`^${base.replace(/[.-]/g, "\\$&")}-\\d{8}t\\d{6}$`).test(name);
}

/** The prefix AWS gives a generated bucket name, `<app>-<env>-backups-`. */
export function bucketNamePrefix(env: EnvironmentName): string {
    return `${namePrefix(env)}-backups-`;
}

/** AWS appends 26 characters to a bucket name prefix, and a bucket name has at most 63. */
export const MAX_BUCKET_NAME_PREFIX = 37;

/** S3's bucket naming rules, as s3.sh checks them (a "/" would address another bucket). */
export function isBucketName(b: string): boolean {
    return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(b) && !b.includes("..") && !/^\d+\.\d+\.\d+\.\d+$/.test(b);
}

/** The IAM user of an environment's backup jobs, `<app>-<env>-backup`, under {@link IAM_PATH}. */
export function backupWriterName(env: EnvironmentName): string {
    return `${namePrefix(env)}-backup`;
}

/** The IAM path of every user this program creates. */
export const IAM_PATH = "/vps-stacks/";

// ---------------------------------------------------------------------------------------
// DNS and certificate authorities
// ---------------------------------------------------------------------------------------

/**
 * A routed host entry (`services.<name>.hosts[]`) split into its host name and its path
 * prefix: `api.example.com/v1` → `{ host: "api.example.com", path: "/v1" }`; `path` is ""
 * when the entry has no "/". Validation is the config's (config/routes.ts).
 */
export function splitHostEntry(entry: string): { host: string; path: string } {
    const i = entry.indexOf("/");
    return i < 0 ? { host: entry, path: "" } : { host: entry.slice(0, i), path: entry.slice(i) };
}

/** Whether `host` is the zone apex or a name inside the zone. */
export function isInZone(host: string, zone: string): boolean {
    return host === zone || host.endsWith(`.${zone}`);
}

/** Let's Encrypt's production ACME directory. */
export const LETS_ENCRYPT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory";

/** The domain a CAA record names to let Let's Encrypt issue (its production and staging CAs both check it). */
export const LETS_ENCRYPT_CAA_ISSUER = "letsencrypt.org";

/** Which of Let's Encrypt's ACME directories a URL is, if any. */
export function letsEncryptDirectory(url: string): "production" | "staging" | undefined {
    const m = /^https:\/\/acme(-staging)?-v02\.api\.letsencrypt\.org\//.exec(url);
    if (!m) return undefined;
    return m[1] ? "staging" : "production";
}

// ---------------------------------------------------------------------------------------
// Monitoring files on the VPS
// ---------------------------------------------------------------------------------------

/**
 * Where the host stack's monitoring keeps its files on the VPS, relative to its directory
 * (`<host deployDir>/monitoring`): the configuration the Monitoring component writes, the
 * file-based service discovery files and the dashboard each environment writes, and
 * node-exporter's textfile directory, where the jobs write their metrics.
 */
export const MONITORING_PATHS = {
    prometheusConfig: "prometheus/prometheus.yml",
    rules: "prometheus/rules/vps-stacks.yml",
    targets: "prometheus/targets",
    alertmanagerConfig: "alertmanager/alertmanager.yml",
    blackboxConfig: "blackbox/blackbox.yml",
    grafanaProvisioning: "grafana/provisioning",
    grafanaDashboards: "grafana/dashboards",
    /** Each environment's own dashboard, under the provisioned dashboards (Grafana reads subfolders). */
    environmentDashboards: "grafana/dashboards/environments",
    textfile: "textfile",
} as const;

/** The host stack's monitoring directory on the VPS: `<deployDir>/monitoring`. */
export function monitoringDir(deployDir: string): string {
    return `${deployDir.replace(/\/+$/, "")}/monitoring`;
}

/** What an environment publishes for the host's Prometheus: probe targets (public URLs) and scrape targets (services' metrics). */
export type TargetKind = "probe" | "scrape";

/** `<app>-<env>-<kind>.json`: an environment's file-based service discovery file in the targets directory. */
export function targetsFileName(env: EnvironmentName, kind: TargetKind): string {
    return `${namePrefix(env)}-${kind}.json`;
}

/** `<app>-<env>.json`: an environment's own Grafana dashboard in the environments' dashboards directory. */
export function dashboardFileName(env: EnvironmentName): string {
    return `${namePrefix(env)}.json`;
}

/** What writes a metrics file into node-exporter's textfile directory. */
export type MetricsSource = "backup" | "health-check" | "expectations";

/** `<app>-<env>-<source>.prom`: an environment's metrics file in the textfile directory (node-exporter reads only `*.prom`). */
export function metricsFileName(env: EnvironmentName, source: MetricsSource): string {
    return `${namePrefix(env)}-${source}.prom`;
}
