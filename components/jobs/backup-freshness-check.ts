import * as pulumi from "@pulumi/pulumi";
import { BACKUP_SCHEDULES } from "../defaults";
import { BackupCheckArgs, backupCheckProps, backupCheckSpec } from "./restore-check";
import { JobComponent, ScheduledJobSpec } from "./scheduled-job";

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
 * The ScheduledJob a BackupFreshnessCheck installs: restore-check.sh with
 * RESTORE_CHECK_MODE=freshness, which lists the bucket and alerts when the newest complete
 * backup of a database or Redis instance is missing or older than `maxBackupAgeHours`; it
 * downloads and restores nothing, and a pass goes to the journal only.
 */
export function freshnessCheckSpec(args: Omit<BackupFreshnessCheckArgs, "connection">): ScheduledJobSpec {
    return backupCheckSpec("freshness", args);
}

/**
 * The daily check that an environment's backups are fresh: a systemd timer
 * `<app>-<env>-backup-freshness` that alerts when the newest complete backup of a database or
 * Redis instance is missing, older than `maxBackupAgeHours` or stamped in the future, so a
 * backup timer that stopped is noticed within a day instead of at the next weekly
 * RestoreCheck. See components/scripts/restore-check.sh (freshness mode).
 */
export class BackupFreshnessCheck extends JobComponent {
    constructor(name: string, args: BackupFreshnessCheckArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("vps:index:BackupFreshnessCheck", name, backupCheckProps(args), freshnessCheckSpec(args), args, opts, { aliases: args.jobAliases });
        this.registerOutputs({ environment: args.environment, unitName: this.unitName, timerName: this.timerName });
    }
}
