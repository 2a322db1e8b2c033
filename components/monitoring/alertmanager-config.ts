/**
 * Alertmanager's configuration (`alertmanager.yml`), rendered without Pulumi: one receiver,
 * the Discord or Slack incoming webhook of the alert webhook secret (Alertmanager 0.25's
 * native `discord_configs` or `slack_configs`), grouping by alert and environment, the host
 * being down silencing every other alert of it, and resolved notifications. A resolved
 * ServerDown is titled ServerUp, as the setups this product replaces name it.
 *
 * Only what Alertmanager 0.25 (Debian's, which the tests run) and current releases both
 * accept: the webhook URL inline (no `webhook_url_file`, 0.27), `matchers` with quoted values,
 * no `content`/`username` (0.28). The file holds the webhook URL: it is written mode 0600.
 */
import { stringify } from "yaml";

/** Where notifications go. */
export interface AlertReceiver {
    /** Body format of the webhook. */
    readonly format: "discord" | "slack";
    /** The incoming-webhook URL (a secret). Undefined: no notifications, the alerts are only shown in Alertmanager and Grafana. */
    readonly webhookUrl?: string;
}

/** Grouping and repetition, as Alertmanager durations ("30s", "5m", "4h"). */
export interface AlertTiming {
    /** Wait for related alerts before the first notification of a group. */
    readonly groupWait: string;
    /** Least time between two notifications of one group (also what a resolved notification waits). */
    readonly groupInterval: string;
    /** A group still firing is notified again after this long. */
    readonly repeatInterval: string;
}

/** The receiver's name in the routing tree. */
export const RECEIVER = "chat";

/** The labels that make a group: one notification per alert name and environment of a host. */
export const GROUP_BY = ["alertname", "vps", "app", "environment"];

/** The title of a notification: the alert's name (ServerUp for a resolved ServerDown), host and environment. */
export const TITLE_TEMPLATE =
    '{{ if eq .Status "resolved" }}{{ if eq .CommonLabels.alertname "ServerDown" }}ServerUp{{ else }}RESOLVED {{ .CommonLabels.alertname }}{{ end }}' +
    "{{ else }}{{ .CommonLabels.alertname }}{{ end }} [{{ .CommonLabels.vps }}{{ if .CommonLabels.app }} {{ .CommonLabels.app }}/{{ .CommonLabels.environment }}{{ end }}]";

/** The body: one line per alert, its `resolved` annotation once it has ended, its `summary` while it fires. */
export const MESSAGE_TEMPLATE = '{{ range .Alerts }}{{ if eq .Status "resolved" }}{{ .Annotations.resolved }}{{ else }}{{ .Annotations.summary }}{{ end }}\n{{ end }}';

/** The receiver with its integration, or none without a webhook. */
function receiver(r: AlertReceiver): Record<string, unknown> {
    if (r.webhookUrl === undefined) return { name: RECEIVER };
    if (r.format === "discord") {
        return { name: RECEIVER, discord_configs: [{ webhook_url: r.webhookUrl, send_resolved: true, title: TITLE_TEMPLATE, message: MESSAGE_TEMPLATE }] };
    }
    // Slack's send_resolved defaults to false: explicit.
    return { name: RECEIVER, slack_configs: [{ api_url: r.webhookUrl, send_resolved: true, title: TITLE_TEMPLATE, text: MESSAGE_TEMPLATE }] };
}

/** alertmanager.yml. */
export function renderAlertmanagerConfig(receiverSettings: AlertReceiver, timing: AlertTiming): string {
    const config = {
        route: {
            receiver: RECEIVER,
            group_by: GROUP_BY,
            group_wait: timing.groupWait,
            group_interval: timing.groupInterval,
            repeat_interval: timing.repeatInterval,
        },
        // The host down: the alerts of everything on it say nothing more.
        inhibit_rules: [{ source_matchers: ['alertname="HostDown"'], target_matchers: ['alertname!="HostDown"'], equal: ["vps"] }],
        receivers: [receiver(receiverSettings)],
    };
    return stringify(config, { lineWidth: 0 });
}
