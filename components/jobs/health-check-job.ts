import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { JOBS_STATE_ROOT, RestartPolicy, ScheduledJob } from "./scheduled-job";
import { alertEnvironment, BackupAlerts, validateAlerts } from "./backup-job";

/** Every minute: detection within a minute (mean 30 s); the 15 minutes of the CI-cron setups this replaces is the upper bound. */
export const DEFAULT_HEALTH_CHECK_CALENDAR = "*-*-* *:*:00";
/** Seconds restarted containers get to pass again before the alert (the replaced setups waited 30 s). */
export const DEFAULT_RESTART_WAIT_SECONDS = 30;
/** Restarts per container in any sliding hour before the job only alerts (prevents restart storms). */
export const DEFAULT_RESTART_BUDGET_PER_HOUR = 3;
/** TimeoutStartSec= of one run: probes (10 s per URL, 20 s per docker call) plus the restart wait, with room. */
export const HEALTH_CHECK_TIMEOUT_SECONDS = 300;
/**
 * The health check's restart policy: a run is retried only when it died (killed, timed out),
 * not when checks fail (exit 1: the alert is its answer) or it was not run (2, 3); the
 * per-minute timer itself makes 5 starts in the 300-s window.
 */
export const HEALTH_CHECK_RESTART_POLICY: RestartPolicy = { delaySeconds: 10, burst: 10, intervalSeconds: 300, preventExitStatuses: [1, 2, 3, 4] };

const NAME = /^[a-z0-9][a-z0-9-]*$/;
// Docker's own rule for container names.
const CONTAINER = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export interface HealthCheckJobArgs {
    /** SSH connection to the VPS (VpsHost.connection); the user must be root. */
    readonly connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /** Install with `sudo -n` because the SSH user is not root (see ScheduledJobArgs.sudo). Default false. */
    readonly sudo?: boolean;
    /** Application name, `[a-z0-9][a-z0-9-]*`, e.g. "shop"; the unit is <app>-<environment>-health-check. */
    readonly app: string;
    /** Environment name, `[a-z0-9][a-z0-9-]*`, e.g. "staging". */
    readonly environment: string;
    /** systemd OnCalendar= expression; default "*-*-* *:*:00" (every minute). */
    readonly onCalendar?: string;
    /** Public URLs to probe from the VPS, each with the HTTP status it must answer and the container that serves it (restarted when it fails). */
    readonly urls: { url: string; expectStatus: number; container: pulumi.Input<string> }[];
    /** Containers whose Docker health must be "healthy" (restarted when not). */
    readonly containers: pulumi.Input<string>[];
    /** `pg_isready -U <user>` run with `docker exec` in this container; it is restarted when not ready. */
    readonly postgres?: { container: string; user: string };
    /** `redis-cli ping` run with `docker exec` in this container; it is restarted when the answer is not PONG. */
    readonly redis?: { container: string };
    /** Seconds restarted containers get to pass again before the alert; default 30. */
    readonly restartWaitSeconds?: number;
    /** Restarts per container in any sliding hour; default 3. When spent, the job only alerts. */
    readonly restartBudgetPerHour?: number;
    /** Probe URLs without verifying certificates (a staging ACME CA). Default false. */
    readonly insecureTls?: boolean;
    /** Where alerts go: the webhook URL (a secret), its body format and the reminder interval of a check that stays broken. */
    readonly alerts: BackupAlerts;
    /** Resources the install must wait for (the containers it checks). */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** The script files the job installs: the health check and the alert client and job helpers it sources. */
export function healthCheckFiles(): Record<string, string> {
    const dir = path.join(__dirname, "..", "scripts");
    return {
        "health-check.sh": fs.readFileSync(path.join(dir, "health-check.sh"), "utf8"),
        "job.sh": fs.readFileSync(path.join(dir, "job.sh"), "utf8"),
        "notify.sh": fs.readFileSync(path.join(dir, "notify.sh"), "utf8"),
    };
}

/** `<app>-<environment>-health-check`. */
export function healthCheckUnitName(app: string, environment: string): string {
    return `${app}-${environment}-health-check`;
}

/** Throws with a sentence naming the argument when the arguments cannot make a working job. */
export function validateHealthCheckJobArgs(args: Omit<HealthCheckJobArgs, "connection" | "alerts" | "dependsOn"> & { alerts?: Pick<BackupAlerts, "format" | "reminderMinutes"> }): void {
    if (!NAME.test(args.app)) throw new Error(`HealthCheckJob app "${args.app}" must match [a-z0-9][a-z0-9-]*`);
    if (!NAME.test(args.environment)) throw new Error(`HealthCheckJob environment "${args.environment}" must match [a-z0-9][a-z0-9-]*`);
    const where = `HealthCheckJob ${args.app}/${args.environment}`;
    if (args.urls.length === 0 && args.containers.length === 0 && !args.postgres && !args.redis) {
        throw new Error(`${where}: nothing to check (urls, containers, postgres and redis are all empty)`);
    }
    for (const u of args.urls) {
        if (!/^https?:\/\/\S+$/.test(u.url) || u.url.includes("|")) {
            throw new Error(`${where}: urls entry "${u.url}" must be an http(s) URL without spaces or "|"`);
        }
        if (!Number.isInteger(u.expectStatus) || u.expectStatus < 100 || u.expectStatus > 599) {
            throw new Error(`${where}: urls entry "${u.url}" expectStatus must be an HTTP status (100-599), got ${u.expectStatus}`);
        }
    }
    const containers = [
        ...args.urls.map((u) => ["urls[].container", u.container]),
        ...args.containers.map((c) => ["containers[]", c]),
        ...(args.postgres ? [["postgres.container", args.postgres.container]] : []),
        ...(args.redis ? [["redis.container", args.redis.container]] : []),
    ];
    for (const [field, c] of containers) {
        // Names Pulumi generates (Outputs) are valid Docker names by construction.
        if (typeof c === "string" && !CONTAINER.test(c)) throw new Error(`${where}: ${field} "${c}" is not a Docker container name`);
    }
    if (args.postgres && !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(args.postgres.user)) {
        throw new Error(`${where}: postgres.user "${args.postgres.user}" must be a plain role name`);
    }
    for (const [field, v] of [["restartWaitSeconds", args.restartWaitSeconds], ["restartBudgetPerHour", args.restartBudgetPerHour]] as const) {
        if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw new Error(`${where}: ${field} must be a whole number >= 0, got ${v}`);
    }
    if (args.alerts) validateAlerts(where, args.alerts);
}

/** The job's env file, as health-check.sh reads it (values may be secret Outputs). */
export function healthCheckEnvironment(args: HealthCheckJobArgs): Record<string, pulumi.Input<string>> {
    const unitName = healthCheckUnitName(args.app, args.environment);
    const env: Record<string, pulumi.Input<string>> = {
        HC_URLS: pulumi.all(args.urls.map((u) => pulumi.interpolate`${u.url}|${u.expectStatus}|${u.container}`)).apply((l) => l.join(" ")),
        HC_CONTAINERS: pulumi.all(args.containers).apply((l) => l.join(" ")),
        HC_RESTART_WAIT_SECONDS: String(args.restartWaitSeconds ?? DEFAULT_RESTART_WAIT_SECONDS),
        HC_RESTART_BUDGET_PER_HOUR: String(args.restartBudgetPerHour ?? DEFAULT_RESTART_BUDGET_PER_HOUR),
        HC_INSECURE_TLS: args.insecureTls ? "1" : "0",
        HC_STATE_DIR: `${JOBS_STATE_ROOT}/${unitName}`,
        ...alertEnvironment(args.app, args.environment, args.alerts),
    };
    if (args.postgres) {
        env.HC_POSTGRES_CONTAINER = args.postgres.container;
        env.HC_POSTGRES_USER = args.postgres.user;
    }
    if (args.redis) env.HC_REDIS_CONTAINER = args.redis.container;
    return env;
}

/**
 * The environment's health check with auto-heal: a ScheduledJob running health-check.sh on the
 * VPS (every minute by default). See components/scripts/health-check.sh for what one run does.
 */
export class HealthCheckJob extends pulumi.ComponentResource {
    /** `<app>-<environment>-health-check`. */
    readonly unitName: string;
    /** `<unitName>.timer`. */
    readonly timerName: string;

    constructor(name: string, args: HealthCheckJobArgs, opts: pulumi.ComponentResourceOptions = {}) {
        validateHealthCheckJobArgs(args);
        super("vps:index:HealthCheckJob", name, { environment: args.environment }, opts);
        this.unitName = healthCheckUnitName(args.app, args.environment);

        const job = new ScheduledJob(
            `${name}-job`,
            {
                connection: args.connection,
                sudo: args.sudo,
                unitName: this.unitName,
                description: `Health check with auto-heal for ${args.app} ${args.environment}`,
                onCalendar: args.onCalendar ?? DEFAULT_HEALTH_CHECK_CALENDAR,
                files: healthCheckFiles(),
                entrypoint: "health-check.sh",
                environment: healthCheckEnvironment(args),
                timeoutSeconds: HEALTH_CHECK_TIMEOUT_SECONDS,
                restart: HEALTH_CHECK_RESTART_POLICY,
                dependsOn: args.dependsOn,
            },
            { parent: this },
        );
        this.timerName = job.timerName;

        this.registerOutputs({ environment: args.environment, unitName: this.unitName, timerName: this.timerName });
    }
}
