/**
 * Composition of an environment's scheduled jobs: the backup, its weekly restore
 * check and daily freshness check, and the health check, each a systemd timer on the
 * VPS that comes and goes with the environment.
 */
import * as pulumi from "@pulumi/pulumi";
import { BackupFreshnessCheck } from "../components/jobs/backup-freshness-check";
import { BackupJob, BackupTarget } from "../components/jobs/backup-job";
import { HealthCheckJob } from "../components/jobs/health-check-job";
import { PointInTimeRecovery } from "../components/jobs/point-in-time-recovery";
import { PostgresService } from "../components/services/postgres-service";
import { RedisService } from "../components/services/redis-service";
import { RestoreCheck } from "../components/jobs/restore-check";
import { Service } from "../components/docker/service";
import { VpsHost } from "../components/docker/vps-host";
import { namePrefix } from "../components/naming";
import { publicHealthUrls } from "../config/routes";
import { EnvironmentConfig } from "../config/types";

/** What the jobs act on. */
export interface JobTargets {
    host: VpsHost;
    postgres?: PostgresService;
    redis?: RedisService;
    /** The environment's own proxy (none when attached to a host stack, whose edge check watches its proxy). */
    proxy?: Service;
    services: Record<string, Service>;
    /** Where backups go; without one the environment gets no backup job (and the policy pack says so). */
    backupTarget?: BackupTarget;
    /** The host's monitoring's textfile directory, where the backup and health-check jobs report how they went; none: they report nothing. */
    metricsDir?: pulumi.Input<string>;
}

/** The jobs of one environment. */
export interface EnvironmentJobs {
    backup?: BackupJob;
    restoreCheck?: RestoreCheck;
    freshnessCheck?: BackupFreshnessCheck;
    healthCheck: HealthCheckJob;
    /** With postgres.pitr (enabled) and backup storage: the point-in-time-recovery jobs. */
    pitr?: PointInTimeRecovery;
}

/**
 * Builds the backup, restore-check, freshness-check and health-check jobs of an environment.
 * Wherever there is a backup job there is a RestoreCheck, whose weekly job restores every
 * PostgreSQL backup and load-tests every Redis snapshot, and a BackupFreshnessCheck, whose
 * daily job ages both. Alerts of every job go to the one webhook; a problem that lasts is
 * reminded every alerts.reminderMinutes.
 */
export function buildJobs(cfg: EnvironmentConfig, t: JobTargets): EnvironmentJobs {
    const { app, environment } = cfg;
    const prefix = namePrefix(cfg);
    const common = {
        connection: t.host.connection,
        sudo: t.host.sudo,
        app,
        environment,
        alerts: { webhookUrl: cfg.alerts.webhookUrl ?? "", format: cfg.alerts.format, reminderMinutes: cfg.alerts.reminderMinutes },
    };
    const opts: pulumi.ComponentResourceOptions = { dependsOn: [t.host.preflight] };
    const dataContainers = [t.postgres?.service.container, t.redis?.service.container].filter((c): c is NonNullable<typeof c> => c !== undefined);
    // The services' own volumes: archived by the backup job, extracted by the restore check, aged by the freshness check.
    const serviceVolumes = Object.values(t.services).flatMap((s) => s.volumes.map((v) => ({ volume: v.volumeName })));
    const volumeWriters = Object.values(t.services).filter((s) => s.volumes.length > 0).flatMap((s) => s.containers);

    let backup: BackupJob | undefined;
    let restoreCheck: RestoreCheck | undefined;
    let freshnessCheck: BackupFreshnessCheck | undefined;
    if (t.backupTarget && (t.postgres || t.redis || serviceVolumes.length > 0)) {
        const pg = t.postgres && cfg.postgres
            ? [{ container: t.postgres.containerName, database: cfg.postgres.database, user: cfg.postgres.user, volume: t.postgres.data.volumeName }]
            : [];
        backup = new BackupJob(
            `${prefix}-backup`,
            {
                ...common,
                onCalendar: cfg.backup.schedule,
                postgres: pg,
                redis: t.redis ? [{ container: t.redis.containerName, volume: t.redis.data.volumeName }] : [],
                volumes: serviceVolumes,
                redisPassword: cfg.redis?.password,
                target: t.backupTarget,
                metricsDir: t.metricsDir,
                dependsOn: [...dataContainers, ...volumeWriters],
            },
            opts,
        );
        const checked = {
            ...common,
            postgres: pg.map(({ container, database, user }) => ({ container, database, user })),
            redis: t.redis ? [{ container: t.redis.containerName }] : [],
            volumes: serviceVolumes,
            target: t.backupTarget,
            maxBackupAgeHours: cfg.backup.maxAgeHours,
            dependsOn: [...dataContainers, ...volumeWriters],
        };
        const restoreCheckName = `${prefix}-restore-check`;
        restoreCheck = new RestoreCheck(restoreCheckName, { ...checked, onCalendar: cfg.backup.restoreCheckSchedule }, opts);
        freshnessCheck = new BackupFreshnessCheck(
            `${prefix}-backup-freshness`,
            {
                ...checked,
                onCalendar: cfg.backup.freshnessCheckSchedule,
                // Until issue 14 the RestoreCheck installed this job as its child `<name>-freshness-job`.
                jobAliases: [{ name: `${restoreCheckName}-freshness-job`, parent: restoreCheck }],
            },
            opts,
        );
    }

    // Every replica's Docker health; a URL's failure restarts the first replica (the others
    // are judged, and restarted, by their own health).
    const appContainers = Object.values(t.services).flatMap((s) => s.containerNames);
    const urls = publicHealthUrls(cfg.services).map((u) => ({ url: u.url, expectStatus: u.expectStatus, container: t.services[u.service].containerName }));
    const healthCheck = new HealthCheckJob(
        `${prefix}-health-check`,
        {
            ...common,
            onCalendar: cfg.healthCheck.schedule,
            urls,
            containers: [...appContainers, ...(t.proxy ? [t.proxy.containerName] : [])],
            postgres: t.postgres && cfg.postgres ? { container: t.postgres.containerName, user: cfg.postgres.user } : undefined,
            redis: t.redis ? { container: t.redis.containerName, password: cfg.redis?.password } : undefined,
            restartWaitSeconds: cfg.healthCheck.restartWaitSeconds,
            restartBudgetPerHour: cfg.healthCheck.restartBudgetPerHour,
            insecureTls: cfg.healthCheck.insecureTls,
            metricsDir: t.metricsDir,
            dependsOn: [...dataContainers, ...Object.values(t.services).flatMap((s) => s.containers), ...(t.proxy ? [t.proxy.container] : [])],
        },
        opts,
    );

    // The PITR jobs, where PostgreSQL archives WAL (postgres.pitr, which needs backupStorage).
    const pitr =
        t.postgres?.pgbackrestVolume && cfg.postgres?.pitr?.enabled
            ? new PointInTimeRecovery(
                  `${prefix}-pitr`,
                  {
                      ...common,
                      container: t.postgres.containerName,
                      pgUser: cfg.postgres.user,
                      rpoMinutes: cfg.postgres.pitr.rpoMinutes,
                      memoryMb: cfg.postgres.memory,
                      schedules: cfg.postgres.pitr,
                      dataVolume: t.postgres.data.volumeName,
                      volumes: [...t.postgres.dataVolumes.map((v) => v.volumeName), t.postgres.pgbackrestVolume.volumeName],
                      dependsOn: [t.postgres.service.container],
                  },
                  opts,
              )
            : undefined;
    return { backup, restoreCheck, freshnessCheck, healthCheck, pitr };
}
