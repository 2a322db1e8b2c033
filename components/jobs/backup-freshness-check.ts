import * as pulumi from "@pulumi/pulumi";
import { BACKUP_SCHEDULES, FRESHNESS_CHECK_TIMEOUT_SECONDS } from "../defaults";
import { jobUnitName } from "../naming";
import { backupCheckEnvVars, BackupCheckArgs, backupCheckFiles, backupCheckProps, validateBackupCheckArgs } from "./restore-check";
import { ScheduledJob, ScheduledJobArgs } from "./scheduled-job";

/** Arguments of {@link BackupFreshnessCheck}. */
export interface BackupFreshnessCheckArgs extends BackupCheckArgs {
    /** systemd OnCalendar= of the check. Default {@link BACKUP_SCHEDULES}.freshnessCheckSchedule ("*-*-* 06:00:00 UTC"). */
    readonly onCalendar?: string;
    /**
     * Former URNs of the check's ScheduledJob, so that a stack that installed the job under
     * another name or parent keeps it instead of removing and reinstalling it (until issue 14
     * the RestoreCheck installed it as `<restore check>-freshness-job`: compose/jobs.ts passes
     * that). Default none.
     */
    readonly jobAliases?: pulumi.Input<pulumi.URN | pulumi.Alias>[];
}

/**
 * The ScheduledJob a BackupFreshnessCheck installs, minus the connection and dependsOn: unit
 * `<app>-<env>-backup-freshness` running restore-check.sh with RESTORE_CHECK_MODE=freshness:
 * it lists the bucket and alerts when the newest complete backup of a database or Redis
 * instance is missing or older than `maxBackupAgeHours`; it downloads and restores nothing,
 * and a pass goes to the journal only.
 */
export function freshnessCheckSpec(args: Omit<BackupFreshnessCheckArgs, "connection">): Omit<ScheduledJobArgs, "connection" | "dependsOn"> {
    validateBackupCheckArgs("BackupFreshnessCheck", args);
    const covered = [...args.postgres.map((p) => `PostgreSQL ${p.database}`), ...(args.redis ?? []).map((r) => `Redis ${r.container}`)];
    return {
        unitName: jobUnitName(args, "backup-freshness"),
        description: `${args.app} ${args.environment} freshness check of the newest backup of ${covered.join(", ")}`,
        onCalendar: args.onCalendar ?? BACKUP_SCHEDULES.freshnessCheckSchedule,
        files: backupCheckFiles(),
        entrypoint: "restore-check.sh",
        timeoutSeconds: FRESHNESS_CHECK_TIMEOUT_SECONDS,
        envVars: { RESTORE_CHECK_MODE: "freshness", ...backupCheckEnvVars(args) },
    };
}

/**
 * The daily check that an environment's backups are fresh: a systemd timer
 * `<app>-<env>-backup-freshness` that alerts when the newest complete backup of a database or
 * Redis instance is missing, older than `maxBackupAgeHours` or stamped in the future, so a
 * backup timer that stopped is noticed within a day instead of at the next weekly
 * RestoreCheck. See components/scripts/restore-check.sh (freshness mode).
 */
export class BackupFreshnessCheck extends pulumi.ComponentResource {
    /** The systemd unit base name, `<app>-<env>-backup-freshness`. */
    readonly unitName: string;
    /** `<unitName>.timer`. */
    readonly timerName: string;

    constructor(name: string, args: BackupFreshnessCheckArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const spec = freshnessCheckSpec(args);
        super("vps:index:BackupFreshnessCheck", name, backupCheckProps(args), opts);
        const job = new ScheduledJob(
            `${name}-job`,
            { ...spec, connection: args.connection, sudo: args.sudo, dependsOn: args.dependsOn },
            { parent: this, aliases: args.jobAliases },
        );
        this.unitName = job.unitName;
        this.timerName = job.timerName;
        this.registerOutputs({ environment: args.environment, unitName: this.unitName, timerName: this.timerName });
    }
}
