/**
 * What the config layer hands out: the typed, defaulted {@link EnvironmentConfig} that
 * compose/ builds an environment from, and the {@link ConfigError} listing every problem of a
 * stack file with its key path.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { BackupStorageSection } from "./backup-storage";
import type { DnsSection } from "./dns";
import type { EdgeSection } from "./edge";
import type { HostSection } from "./host";
import type { AlertsSection, BackupSection, HealthCheckSection } from "./jobs";
import type { PitrSection } from "./pitr";
import type { ProxySection } from "./proxy";
import type { PostgresSection, RedisSection, ResolvedService } from "./services";

/** json-file log rotation of a container (Docker `--log-opt max-size/max-file`). */
export interface LogRotation {
    /** json-file max-size, e.g. "10m". */
    maxSize: string;
    /** json-file max-file. */
    maxFile: number;
}

/** One application service, with its secret env vars and secret files as Pulumi secrets. */
export type ServiceConfig = ResolvedService;

/** The backup storage section with the credential of an S3-compatible store as secrets. */
export type BackupStorageConfig = BackupStorageSection & {
    /** From backupAccessKeyId / backupSecretAccessKey (s3-compatible only; AWS gets its own IAM user). */
    credentials?: { accessKeyId: pulumi.Output<string>; secretAccessKey: pulumi.Output<string> };
};

/** The whole environment, typed and defaulted. Built by `parseEnvironmentConfig` (parse.ts). */
export interface EnvironmentConfig {
    app: string;
    environment: string;
    protectData: boolean;
    requireImageDigest: boolean;
    host: HostSection & { sshPrivateKey: pulumi.Output<string> };
    /** Registry credentials for the Docker provider; `address` is the host the provider looks them up by. */
    registries: { address: string; username: string; password: pulumi.Output<string> }[];
    /** The host stack whose proxy routes this environment (exclusive with proxy). */
    edge?: EdgeSection;
    /** The environment's own proxy (exclusive with edge). */
    proxy?: ProxySection;
    services: Record<string, ServiceConfig>;
    /** PostgreSQL; with `pitr`, its repository's encryption passphrase as a secret. */
    postgres?: Omit<PostgresSection, "pitr"> & { password: pulumi.Output<string>; pitr?: PitrSection & { passphrase: pulumi.Output<string> } };
    /** Redis; `password` from the secret key redisPassword turns on authentication. */
    redis?: RedisSection & { password?: pulumi.Output<string> };
    alerts: AlertsSection & { webhookUrl?: pulumi.Output<string> };
    /** The backup schedules, with maxAgeHours resolved (see `backupMaxAgeHours` in jobs.ts). */
    backup: BackupSection & { maxAgeHours: number };
    healthCheck: HealthCheckSection;
    /** Absent: this stack manages no DNS records. */
    dns?: DnsSection;
    /** Absent: no backup storage (and no backup target) for this environment. */
    backupStorage?: BackupStorageConfig;
}

/** One problem in the configuration: where and why. */
export interface ConfigIssue {
    /** Key path as `pulumi config set --path` takes it, e.g. `services.backend.port`. */
    path: string;
    message: string;
}

/** The stack configuration is invalid; `issues` lists every problem found. */
export class ConfigError extends Error {
    constructor(readonly stack: string, readonly issues: ConfigIssue[]) {
        super(
            `Invalid configuration for stack "${stack}" (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n` +
                issues.map((i) => `  - ${i.path}: ${i.message}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

/** What the parser reads: the project's config values and which of them are secrets. */
export interface RawStackConfig {
    /** Stack name, used in messages only. */
    stack: string;
    /**
     * Values of the `vps-stacks:` keys without the namespace. Objects may be given
     * parsed or as the JSON text Pulumi passes to programs.
     */
    values: Record<string, unknown>;
    /** Keys (without namespace) whose values are Pulumi secrets. */
    secretKeys: ReadonlySet<string>;
}

/**
 * A key path as `pulumi config set --path` takes it: `services.backend.port`, `registries[0]`,
 * and a key with a dot (a host name under dns.records) quoted, `dns.records["a.example.com"]`.
 */
export function keyPath(path: readonly PropertyKey[]): string {
    return path
        .map((p, i) =>
            typeof p === "number" ? `[${p}]` : /[.\[\]"]/.test(String(p)) ? `["${String(p)}"]` : i === 0 ? String(p) : `.${String(p)}`,
        )
        .join("");
}
