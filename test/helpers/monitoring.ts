/**
 * Monitoring test helpers: the host's configuration files rendered with test settings, and a
 * file set written to a directory as monitoring-files.sh would lay it out (for promtool,
 * amtool and the loopback binaries).
 */
import * as fs from "fs";
import * as path from "path";
import { ALERTS, ALERT_GROUPING, ERROR_RATE_METRIC, MONITORING_THRESHOLDS, PROMETHEUS } from "../../components/defaults";
import { alertThresholds, AlertThresholds } from "../../components/monitoring/alert-rules";
import { AlertReceiver, AlertTiming } from "../../components/monitoring/alertmanager-config";
import { MonitoringConfigSettings, MonitoringFile, monitoringConfigFiles } from "../../components/monitoring/files";
import { MonitoringAddresses } from "../../components/monitoring/prometheus-config";
import { NOW_TOKEN } from "../../components/monitoring/target-files";

/** The addresses the containers reach each other at on the monitoring network. */
export const CONTAINER_ADDRESSES: MonitoringAddresses = {
    prometheus: "prometheus:9090",
    alertmanager: "alertmanager:9093",
    nodeExporter: "node-exporter:9100",
    blackboxExporter: "blackbox-exporter:9115",
};

/** The default thresholds as the rules take them. */
export const DEFAULT_THRESHOLDS: AlertThresholds = alertThresholds(MONITORING_THRESHOLDS, ERROR_RATE_METRIC);

/** The default grouping and repetition. */
export const DEFAULT_TIMING: AlertTiming = {
    groupWait: `${ALERT_GROUPING.groupWaitSeconds}s`,
    groupInterval: `${ALERT_GROUPING.groupIntervalMinutes}m`,
    repeatInterval: `${ALERTS.reminderMinutes}m`,
};

/** The host's configuration files with the defaults, overridable. */
export function configFiles(over: Partial<MonitoringConfigSettings> & { receiver?: AlertReceiver } = {}): MonitoringFile[] {
    return monitoringConfigFiles({
        prometheus: { vps: "vps1", scrapeInterval: PROMETHEUS.scrapeInterval, evaluationInterval: PROMETHEUS.evaluationInterval, addresses: CONTAINER_ADDRESSES },
        thresholds: DEFAULT_THRESHOLDS,
        receiver: { format: "discord", webhookUrl: "https://discord.com/api/webhooks/1/abc" },
        timing: DEFAULT_TIMING,
        grafanaPrometheusUrl: "http://prometheus:9090",
        grafana: { host: "grafana.example.com", adminUser: "admin" },
        ...over,
    });
}

/** Writes a file set under `dir` as monitoring-files.sh would (its @NOW@ token replaced by the current time). */
export function writeFiles(dir: string, files: readonly MonitoringFile[]): void {
    for (const f of files) {
        const file = path.join(dir, f.path);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, f.content.split(NOW_TOKEN).join(String(Math.floor(Date.now() / 1000))), { mode: parseInt(f.mode, 8) });
    }
}

/** The content of the file at `relative` in a set; throws when absent. */
export function fileOf(files: readonly MonitoringFile[], relative: string): MonitoringFile {
    const f = files.find((x) => x.path === relative);
    if (!f) throw new Error(`no file ${relative} in ${files.map((x) => x.path).join(", ")}`);
    return f;
}
