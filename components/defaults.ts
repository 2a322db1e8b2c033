/**
 * Every default of the program in one place: the config schema fills its defaults from here
 * (config/), and the components fall back to the same values when a caller leaves an argument
 * out, so the two can never disagree. The README's configuration reference documents each.
 *
 * It imports naming.ts only, so that the config layer can import it without loading a
 * provider SDK.
 */
import { LETS_ENCRYPT_DIRECTORY } from "./naming";

// ---------------------------------------------------------------------------------------
// Containers
// ---------------------------------------------------------------------------------------

/** json-file log rotation of every container: 10 MB per file, 3 files (Docker's default is unlimited, which fills disks). */
export const LOG_ROTATION = { maxSize: "10m", maxFile: 3 } as const;

/** Docker restart policy of a container: it comes back after a crash or a reboot unless someone stopped it. */
export const CONTAINER_RESTART = "unless-stopped";

/** Seconds `pulumi up` waits for a new container to report healthy before it fails. */
export const HEALTH_TIMEOUT_SECONDS = 120;

/** Healthcheck timing of an application service whose config sets only the test. */
export const SERVICE_HEALTHCHECK = { interval: "10s", timeout: "5s", retries: 3, startPeriod: "15s" } as const;

/** CPU limit of an application service, in CPUs. */
export const SERVICE_CPUS = 0.5;

/** CPU limit of PostgreSQL and Redis, in CPUs. */
export const DATA_SERVICE_CPUS = 1;

/** Memory (MiB) and CPU limits of the reverse proxy. */
export const PROXY_LIMITS = { memoryMb: 256, cpus: 0.5 } as const;

// ---------------------------------------------------------------------------------------
// Host, proxy, DNS
// ---------------------------------------------------------------------------------------

/** SSH port of the VPS. */
export const SSH_PORT = 22;

/** ACME directory of the proxy's certificates: Let's Encrypt production. */
export const ACME_CA_SERVER = LETS_ENCRYPT_DIRECTORY;

/** ACME challenge: HTTP-01 on port 80, which also works behind Cloudflare's proxy. */
export const ACME_CHALLENGE = "http";

/** TTL of a DNS-only record, in seconds: five minutes, so a moved VPS is reachable again soon. */
export const DNS_TTL = 300;

// ---------------------------------------------------------------------------------------
// Backups
// ---------------------------------------------------------------------------------------

/** Lifecycle of the backup bucket, in days: 30 daily, 12 weeks weekly, 12 months monthly. */
export const BACKUP_RETENTION = {
    dailyDays: 30,
    weeklyDays: 84,
    monthlyDays: 365,
    noncurrentVersionDays: 30,
    abortIncompleteUploadDays: 7,
} as const;

/**
 * When the backup jobs run: the backup daily at 03:00 UTC (as the setups it replaces), the
 * restore check on Sundays two hours later, and the freshness check daily three hours after
 * the backup, so a backup timer that stopped is noticed within a day (the weekly restore
 * check alone would notice it up to a week late).
 */
export const BACKUP_SCHEDULES = {
    schedule: "*-*-* 03:00:00 UTC",
    restoreCheckSchedule: "Sun *-*-* 05:00:00 UTC",
    freshnessCheckSchedule: "*-*-* 06:00:00 UTC",
} as const;

/** Hours of slack the default backup age limit adds to the longest gap between two backups (a slow run, a late timer). */
export const BACKUP_AGE_SLACK_HOURS = 2;

/** Alert threshold for the newest complete backup with the default (daily) schedule: 24 h plus the slack. */
export const MAX_BACKUP_AGE_HOURS = 24 + BACKUP_AGE_SLACK_HOURS;

// ---------------------------------------------------------------------------------------
// Health check and alerts
// ---------------------------------------------------------------------------------------

/**
 * The health check: every minute (detection within a minute, mean 30 s; the 15 minutes of the
 * CI-cron setups it replaces is the upper bound), 30 s for restarted containers to pass again
 * (as the replaced setups waited), at most 3 restarts per container in any sliding hour (no
 * restart storms), certificates verified.
 */
export const HEALTH_CHECK = {
    schedule: "*-*-* *:*:00",
    restartWaitSeconds: 30,
    restartBudgetPerHour: 3,
    insecureTls: false,
} as const;

/** Alerts: Discord's body format, and a problem that lasts reminded every 4 hours (Alertmanager's repeat_interval default). */
export const ALERTS = { format: "discord", reminderMinutes: 240 } as const;

// ---------------------------------------------------------------------------------------
// Monitoring (a host stack's `monitoring` section)
// ---------------------------------------------------------------------------------------

/**
 * Prometheus: scrape and evaluate every 15 s (a probe failure is seen within 30 s, well inside
 * the 2-minute ServerDown window), keep 30 days of samples but never more than 4 GB (a small
 * VPS disk; the disk alert fires at 80 %), 512 MiB and half a CPU.
 */
export const PROMETHEUS = { scrapeInterval: "15s", evaluationInterval: "15s", retentionTime: "30d", retentionSize: "4GB", memoryMb: 512, cpus: 0.5 } as const;

/** Memory (MiB) and CPU limits of the other monitoring containers: measured idle use times about four. */
export const MONITORING_LIMITS = {
    alertmanager: { memoryMb: 64, cpus: 0.25 },
    grafana: { memoryMb: 256, cpus: 0.5 },
    nodeExporter: { memoryMb: 64, cpus: 0.25 },
    blackboxExporter: { memoryMb: 64, cpus: 0.25 },
} as const;

/**
 * Alert thresholds, the ones the setups this product replaces use: a public URL down for 2
 * minutes (ServerDown, and ServerUp when it answers again), more than 5 % of a service's
 * requests answered 5xx for 5 minutes, a file system over 80 % full for 5 minutes, less than
 * 10 % memory available for 5 minutes, a container restarted more than 3 times in 15 minutes,
 * the health-check job failing for 3 minutes or silent for 10, the host's node exporter
 * unreachable for 2 minutes (HostDown, which silences the alerts of the services on it).
 */
export const MONITORING_THRESHOLDS = {
    serverDownMinutes: 2,
    errorRatePercent: 5,
    errorRateMinutes: 5,
    diskUsedPercent: 80,
    diskMinutes: 5,
    memoryAvailablePercent: 10,
    memoryMinutes: 5,
    containerRestarts: 3,
    containerRestartWindowMinutes: 15,
    healthCheckFailingMinutes: 3,
    healthCheckStaleMinutes: 10,
    hostDownMinutes: 2,
} as const;

/** The request counter the 5xx ratio is computed from, and its status-code label (Prometheus client libraries' convention). */
export const ERROR_RATE_METRIC = { metric: "http_requests_total", statusLabel: "code" } as const;

/**
 * Alertmanager grouping: wait 30 s for related alerts before the first notification, then at
 * most one update per group every 5 minutes; a firing group is re-sent every
 * `alerts.reminderMinutes` ({@link ALERTS}), like the jobs' reminders.
 */
export const ALERT_GROUPING = { groupWaitSeconds: 30, groupIntervalMinutes: 5 } as const;

/** Grafana's admin user, and the path a scraped service answers metrics on by default. */
export const GRAFANA_ADMIN_USER = "admin";
export const METRICS_PATH = "/metrics";

// ---------------------------------------------------------------------------------------
// Scheduled jobs (systemd)
// ---------------------------------------------------------------------------------------

/** TimeoutStartSec= of a job that sets none: one hour. */
export const JOB_TIMEOUT_SECONDS = 3600;

/** TimeoutStartSec= of one health-check run: probes (10 s per URL, 20 s per docker call) plus the restart wait, with room. */
export const HEALTH_CHECK_TIMEOUT_SECONDS = 300;

/** TimeoutStartSec= of the freshness check: it only lists the bucket, once per source; an hour would hide a hung store. */
export const FRESHNESS_CHECK_TIMEOUT_SECONDS = 600;

/**
 * The restart policy of a daily or weekly job: one retry 5 minutes after a failure and a
 * second one after that, at most 3 starts in 12 hours; exits 2 (bad configuration), 3
 * (another run holds the lock) and 4 (done, but the webhook did not take the report) are
 * not retried. The job scripts use these codes (components/scripts/*.sh).
 */
export const JOB_RESTART_POLICY = { delaySeconds: 300, burst: 3, intervalSeconds: 12 * 3600, preventExitStatuses: [2, 3, 4] } as const;

/**
 * The health check's restart policy: a run is retried only when it died (killed, timed out),
 * not when checks fail (exit 1: the alert is its answer) or it was not run (2, 3); the
 * per-minute timer itself makes 5 starts in the 300-s window.
 */
export const HEALTH_CHECK_RESTART_POLICY = { delaySeconds: 10, burst: 10, intervalSeconds: 300, preventExitStatuses: [1, 2, 3, 4] } as const;

// ---------------------------------------------------------------------------------------
// Host stack jobs
// ---------------------------------------------------------------------------------------

/**
 * The host's daily image prune: at 04:30 UTC (after the environments' 03:00 backups), keeping
 * every image a container uses (running or stopped) and the 3 most recent of each repository,
 * so a rollback to either of the last two releases needs no pull.
 */
export const IMAGE_PRUNE = { schedule: "*-*-* 04:30:00 UTC", keepPerRepository: 3 } as const;

/**
 * The host's disk-usage check: every 15 minutes, alerting when a file system is fuller than
 * 80 % (the alert the setups this product replaces use), for the root file system and Docker's.
 */
export const DISK_USAGE = { schedule: "*-*-* *:00/15:00", thresholdPercent: 80, paths: ["/", "/var/lib/docker"] } as const;

/**
 * The host's edge check: every 5 minutes, that the proxy is healthy and that no host name is
 * routed by two environments (a deploy is what changes either, and 5 minutes is well inside
 * the reminder interval).
 */
export const EDGE_CHECK = { schedule: "*-*-* *:00/05:00" } as const;

/** TimeoutStartSec= of the disk-usage and edge checks: a few `df` and `docker inspect` calls. */
export const HOST_CHECK_TIMEOUT_SECONDS = 300;

// ---------------------------------------------------------------------------------------
// Services: replicas, stop, release
// ---------------------------------------------------------------------------------------

/** Seconds between a container's stop signal and SIGKILL (`stop_timeout`, `destroy_grace_seconds`). */
export const STOP_GRACE_SECONDS = 30;

/** Seconds a release command may run before it is stopped and `pulumi up` fails: 30 minutes, for a long migration. */
export const RELEASE_TIMEOUT_SECONDS = 1800;

/** Lines of a release command's output shown when it fails (in the `pulumi up` error). */
export const RELEASE_LOG_LINES = 40;

// ---------------------------------------------------------------------------------------
// Point-in-time recovery (postgres.pitr)
// ---------------------------------------------------------------------------------------

/**
 * Point-in-time recovery: an RPO target of 5 minutes (archive_timeout is half of it); a full
 * backup on Sundays and a differential one the other nights, both before the dump of the
 * nightly backup at 03:00; the archive-lag check every minute; a marker every 2 minutes
 * (a commit that keeps WAL flowing and gives the restore check its points in time); the
 * weekly PITR restore check on Sundays after the full; full backups kept 14 days (any
 * point in the last two weeks can be restored); at most 4 GiB of WAL waiting in pg_wal before
 * pgBackRest drops it (alerted; size it well below the data volume's free space).
 */
export const PITR = {
    enabled: true,
    rpoMinutes: 5,
    fullSchedule: "Sun *-*-* 01:00:00 UTC",
    diffSchedule: "Mon..Sat *-*-* 01:00:00 UTC",
    lagCheckSchedule: "*-*-* *:*:00",
    markerSchedule: "*-*-* *:00/2:00",
    restoreCheckSchedule: "Sun *-*-* 04:00:00 UTC",
    retentionDays: 14,
    queueMax: "4GiB",
    passphraseKey: "pitrPassphrase",
} as const;

/** The oldest pgBackRest the PITR jobs work with (annotate 2.41, the restore's refusal without a set 2.37; tested on 2.45). */
export const PGBACKREST_MIN_VERSION = "2.45";

/** TimeoutStartSec= of one run of the archive-lag check and of the marker job: each asks the cluster a few questions. */
export const PITR_QUICK_JOB_TIMEOUT_SECONDS = 120;

/** TimeoutStartSec= of the PITR backups and the weekly restore check: the pgBackRest calls inside have their own limits, within it. */
export const PITR_JOB_TIMEOUT_SECONDS = 7200;
