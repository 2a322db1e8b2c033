/**
 * Where every job reports: the alert webhook (Discord or Slack), its body format and how often
 * a problem that lasts is reminded. notify.sh reads these as ALERT_* env vars.
 */
import * as pulumi from "@pulumi/pulumi";
import { ALERTS } from "../defaults";
import { EnvironmentName, HostName } from "../naming";

/** Where a job reports success and failure. */
export interface JobAlerts {
    /** Incoming-webhook URL (Discord or Slack, https only); a secret Output. */
    readonly webhookUrl: pulumi.Input<string>;
    /** Body format of the webhook: "discord" ({content}) or "slack" ({text}). */
    readonly format: "discord" | "slack";
    /**
     * Minutes between reminders of a problem that lasts (the health check alerts a broken check
     * once, then every this many minutes, then a RESOLVED notice). Whole number, 1-10080.
     * Default {@link ALERTS}.reminderMinutes (240).
     */
    readonly reminderMinutes?: number;
}

/** Throws with a sentence naming the field when the alert settings are unusable. */
export function validateAlerts(owner: string, alerts: Pick<JobAlerts, "format" | "reminderMinutes">): void {
    if (alerts.format !== "discord" && alerts.format !== "slack") {
        throw new Error(`${owner}: alerts.format must be "discord" or "slack", got "${alerts.format}"`);
    }
    const m = alerts.reminderMinutes;
    if (m !== undefined && (!Number.isInteger(m) || m < 1 || m > 10080)) {
        throw new Error(`${owner}: alerts.reminderMinutes must be a whole number of minutes from 1 to 10080 (a week), got ${m}`);
    }
}

/** The ALERT_* env vars of notify.sh; messages are prefixed "[<app>/<environment>]", or "[<host>]" for a host stack's jobs. */
export function alertEnvVars(owner: EnvironmentName | HostName, alerts: JobAlerts): Record<string, pulumi.Input<string>> {
    return {
        ALERT_WEBHOOK_URL: alerts.webhookUrl,
        ALERT_WEBHOOK_FORMAT: alerts.format,
        ALERT_PREFIX: "host" in owner ? `[${owner.host}]` : `[${owner.app}/${owner.environment}]`,
        ALERT_REMINDER_MINUTES: String(alerts.reminderMinutes ?? ALERTS.reminderMinutes),
    };
}
