import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { HEALTH_CHECK, HEALTH_CHECK_RESTART_POLICY, HEALTH_CHECK_TIMEOUT_SECONDS } from "../defaults";
import { isContainerName, jobUnitName, validateUnitNameParts } from "../naming";
import { readScripts } from "../scripts";
import { alertEnvVars, JobAlerts, validateAlerts } from "./alerts";
import { metricsEnvVars } from "./metrics";
import { JobComponent, ScheduledJobSpec } from "./scheduled-job";
import { jobPaths } from "./systemd";

/** Arguments of {@link HealthCheckJob}. */
export interface HealthCheckJobArgs {
    /** SSH connection to the VPS (VpsHost.connection); see ScheduledJobArgs.connection. */
    readonly connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /** Install with `sudo -n` because the SSH user is not root (see ScheduledJobArgs.sudo). Default false. */
    readonly sudo?: boolean;
    /** Application name, `[a-z0-9][a-z0-9-]*`, e.g. "shop"; the unit is <app>-<environment>-health-check. */
    readonly app: string;
    /** Environment name, `[a-z0-9][a-z0-9-]*`, e.g. "staging". */
    readonly environment: string;
    /** systemd OnCalendar= expression. Default {@link HEALTH_CHECK}.schedule ("*-*-* *:*:00", every minute). */
    readonly onCalendar?: string;
    /** Public URLs to probe from the VPS, each with the HTTP status it must answer and the container that serves it (restarted when it fails). */
    readonly urls: { url: string; expectStatus: number; container: pulumi.Input<string> }[];
    /** Containers whose Docker health must be "healthy" (restarted when not). */
    readonly containers: pulumi.Input<string>[];
    /** `pg_isready -U <user>` run with `docker exec` in this container; it is restarted when not ready. */
    readonly postgres?: { container: string; user: string };
    /** `redis-cli ping` run with `docker exec` in this container (with its password, when it has one); it is restarted when the answer is not PONG. */
    readonly redis?: { container: string; password?: pulumi.Input<string> };
    /** Seconds restarted containers get to pass again before the alert. Default {@link HEALTH_CHECK}.restartWaitSeconds (30). */
    readonly restartWaitSeconds?: number;
    /** Restarts per container in any sliding hour; when spent, the job only alerts. Default {@link HEALTH_CHECK}.restartBudgetPerHour (3). */
    readonly restartBudgetPerHour?: number;
    /** Probe URLs without verifying certificates (a staging ACME CA). Default false. */
    readonly insecureTls?: boolean;
    /** Where alerts go: the webhook URL (a secret), its body format and the reminder interval of a check that stays broken. */
    readonly alerts: JobAlerts;
    /** The host's node-exporter textfile directory, where each run writes its outcome and the containers' restarts and health. Default none. */
    readonly metricsDir?: pulumi.Input<string>;
    /** Resources the install must wait for (the containers it checks). */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** The script files the job installs: the health check and the alert client, job and metrics helpers it sources. */
export function healthCheckFiles(): Record<string, string> {
    return readScripts("health-check.sh", "job.sh", "notify.sh", "metrics.sh");
}

/** Throws with a sentence naming the argument when the arguments cannot make a working job. */
export function validateHealthCheckJobArgs(args: Omit<HealthCheckJobArgs, "connection" | "alerts" | "dependsOn"> & { alerts?: Pick<JobAlerts, "format" | "reminderMinutes"> }): void {
    validateUnitNameParts("HealthCheckJob", args);
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
        if (typeof c === "string" && !isContainerName(c)) throw new Error(`${where}: ${field} "${c}" is not a Docker container name`);
    }
    if (args.postgres && !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(args.postgres.user)) {
        throw new Error(`${where}: postgres.user "${args.postgres.user}" must be a plain role name`);
    }
    for (const [field, v] of [["restartWaitSeconds", args.restartWaitSeconds], ["restartBudgetPerHour", args.restartBudgetPerHour]] as const) {
        if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw new Error(`${where}: ${field} must be a whole number >= 0, got ${v}`);
    }
    if (args.alerts) validateAlerts(where, args.alerts);
}

/** The job's env vars, as health-check.sh reads them (values may be secret Outputs). */
export function healthCheckEnvVars(args: HealthCheckJobArgs): Record<string, pulumi.Input<string>> {
    const env: Record<string, pulumi.Input<string>> = {
        HC_URLS: pulumi.all(args.urls.map((u) => pulumi.interpolate`${u.url}|${u.expectStatus}|${u.container}`)).apply((l) => l.join(" ")),
        HC_CONTAINERS: pulumi.all(args.containers).apply((l) => l.join(" ")),
        HC_RESTART_WAIT_SECONDS: String(args.restartWaitSeconds ?? HEALTH_CHECK.restartWaitSeconds),
        HC_RESTART_BUDGET_PER_HOUR: String(args.restartBudgetPerHour ?? HEALTH_CHECK.restartBudgetPerHour),
        HC_INSECURE_TLS: args.insecureTls ? "1" : "0",
        HC_STATE_DIR: jobPaths(jobUnitName(args, "health-check")).stateDir,
        ...alertEnvVars(args, args.alerts),
        ...metricsEnvVars(args, "health-check", args.metricsDir),
    };
    if (args.postgres) {
        env.HC_POSTGRES_CONTAINER = args.postgres.container;
        env.HC_POSTGRES_USER = args.postgres.user;
    }
    if (args.redis) env.HC_REDIS_CONTAINER = args.redis.container;
    // REDISCLI_AUTH through the environment (health-check.sh), never a command line.
    if (args.redis?.password !== undefined) env.HC_REDIS_PASSWORD = args.redis.password;
    return env;
}

/**
 * The ScheduledJob a HealthCheckJob installs: unit `<app>-<env>-health-check` running
 * health-check.sh, with its own timeout and restart policy.
 */
export function healthCheckSpec(args: HealthCheckJobArgs): ScheduledJobSpec {
    validateHealthCheckJobArgs(args);
    return {
        unitName: jobUnitName(args, "health-check"),
        description: `Health check with auto-heal for ${args.app} ${args.environment}`,
        onCalendar: args.onCalendar ?? HEALTH_CHECK.schedule,
        files: healthCheckFiles(),
        entrypoint: "health-check.sh",
        envVars: healthCheckEnvVars(args),
        timeoutSeconds: HEALTH_CHECK_TIMEOUT_SECONDS,
        restart: HEALTH_CHECK_RESTART_POLICY,
    };
}

/**
 * The environment's health check with auto-heal: a ScheduledJob running health-check.sh on the
 * VPS (every minute by default). See components/scripts/health-check.sh for what one run does.
 */
export class HealthCheckJob extends JobComponent {
    constructor(name: string, args: HealthCheckJobArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("vps:index:HealthCheckJob", name, { environment: args.environment }, healthCheckSpec(args), args, opts);
        this.registerOutputs({ environment: args.environment, unitName: this.unitName, timerName: this.timerName });
    }
}
