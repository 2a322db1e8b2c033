/**
 * The scheduled jobs' settings: where alerts go (`alerts`, `alertWebhookUrl`), when the backup
 * and its checks run and how old a backup may get (`backup`), and the health check
 * (`healthCheck`).
 */
import { z } from "zod";
import { ALERTS, BACKUP_AGE_SLACK_HOURS, BACKUP_SCHEDULES, HEALTH_CHECK } from "../components/defaults";
import { calendarExpressionProblem, longestGapHours } from "./calendar";
import { calendar, CrossFieldCheck, record } from "./values";

/**
 * Why a webhook URL cannot take alerts, or undefined: it must be https with a host, and hold
 * no whitespace, control character, quote or backslash (components/scripts/notify.sh refuses
 * the same, so a bad value fails at preview instead of silencing every alert on the VPS).
 * The value is a secret: the message never repeats it.
 */
export function webhookUrlProblem(url: string): string | undefined {
    if (/[\s\x00-\x1f\x7f"\\]/.test(url)) return "holds whitespace, a control character, a quote or a backslash: paste the webhook URL alone";
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        return "is not a URL: set the Discord or Slack incoming-webhook URL (https://...)";
    }
    if (parsed.protocol !== "https:") return `must be an https URL (it is ${parsed.protocol.replace(/:$/, "")}): alerts carry operational details and go over TLS only`;
    if (parsed.hostname === "") return "has no host";
    return undefined;
}

/** `alerts`: the webhook's body format and how often a lasting problem is reminded. */
export const alertsSchema = z
    .strictObject({
        /** Body format of the webhook in alertWebhookUrl. */
        format: z.enum(["discord", "slack"]).default(ALERTS.format),
        /** Minutes after which a problem that lasts is alerted again (health and freshness checks); 1–10080. */
        reminderMinutes: z
            .number()
            .int("reminderMinutes must be a whole number of minutes")
            .min(1, "reminderMinutes must be 1–10080 (a week)")
            .max(10080, "reminderMinutes must be 1–10080 (a week)")
            .default(ALERTS.reminderMinutes),
    })
    .default({ ...ALERTS });

/** `backup`: when the backup and its checks run, and the age past which a backup is stale. */
export const backupSchema = z
    .strictObject({
        /** When the backup runs (systemd OnCalendar). */
        schedule: calendar.default(BACKUP_SCHEDULES.schedule),
        /** When the restore check runs. */
        restoreCheckSchedule: calendar.default(BACKUP_SCHEDULES.restoreCheckSchedule),
        /** When the backup freshness check runs (daily: a stopped backup timer is noticed within a day). */
        freshnessCheckSchedule: calendar.default(BACKUP_SCHEDULES.freshnessCheckSchedule),
        /**
         * Alert when the newest complete backup is older than this, in hours. Default: the
         * longest gap between two runs of `schedule` plus 2 hours of slack (26 for a daily one).
         */
        maxAgeHours: z.number().int().min(1).max(24 * 400).optional(),
    })
    .default({ ...BACKUP_SCHEDULES });

/** `healthCheck`: the per-minute health check with auto-heal. */
export const healthCheckSchema = z
    .strictObject({
        schedule: calendar.default(HEALTH_CHECK.schedule),
        restartWaitSeconds: z.number().int().min(1).max(600).default(HEALTH_CHECK.restartWaitSeconds),
        restartBudgetPerHour: z.number().int().min(0).max(60).default(HEALTH_CHECK.restartBudgetPerHour),
        /**
         * Probe the public URLs without verifying their certificates (curl --insecure). Only
         * for a proxy whose ACME CA no client trusts (Let's Encrypt's staging CA); default false.
         */
        insecureTls: z.boolean().default(HEALTH_CHECK.insecureTls),
    })
    .default({ ...HEALTH_CHECK });

/** The `alerts`, `backup` and `healthCheck` sections, parsed. */
export type AlertsSection = z.output<typeof alertsSchema>;
export type BackupSection = z.output<typeof backupSchema>;
export type HealthCheckSection = z.output<typeof healthCheckSchema>;

/**
 * The age, in hours, past which the newest backup counts as stale: `maxAgeHours` when set,
 * otherwise the longest gap between two runs of `schedule` plus {@link BACKUP_AGE_SLACK_HOURS}.
 */
export function backupMaxAgeHours(schedule: string, maxAgeHours: number | undefined): number {
    return maxAgeHours ?? Math.ceil(longestGapHours(schedule)) + BACKUP_AGE_SLACK_HOURS;
}

/** `alertWebhookUrl`: a URL the alerts can go to (https, nothing notify.sh would refuse). */
export const alertWebhookChecks: CrossFieldCheck = (raw) => {
    if (typeof raw.alertWebhookUrl !== "string") return [];
    const problem = webhookUrlProblem(raw.alertWebhookUrl);
    return problem ? [{ path: "alertWebhookUrl", message: problem }] : [];
};

/**
 * `backup.schedule` repeats, and `backup.maxAgeHours` is longer than the longest gap between
 * two backups: the freshness check alerts when the newest backup is older than it, so a
 * shorter value would alert between runs.
 */
export const backupScheduleChecks: CrossFieldCheck = (raw) => {
    const backup = record(raw.backup);
    const schedule = typeof backup.schedule === "string" ? backup.schedule : BACKUP_SCHEDULES.schedule;
    if (calendarExpressionProblem(schedule)) return []; // reported by the schema
    const gap = longestGapHours(schedule);
    if (gap === Infinity) {
        return [{ path: "backup.schedule", message: `"${schedule}" does not repeat (a fixed date): backups need a recurring schedule such as "*-*-* 03:00:00 UTC"` }];
    }
    const maxAge = backup.maxAgeHours;
    if (typeof maxAge === "number" && maxAge <= gap) {
        return [
            {
                path: "backup.maxAgeHours",
                message:
                    `${maxAge} is not longer than the longest gap between two backups of backup.schedule "${schedule}" (${gap} h): ` +
                    `the freshness check would alert between runs. Raise it above ${gap} or leave it unset (default ${Math.ceil(gap) + BACKUP_AGE_SLACK_HOURS})`,
            },
        ];
    }
    return [];
};
