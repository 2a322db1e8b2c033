/**
 * Grafana's provisioning, rendered without Pulumi: the Prometheus data source (uid
 * {@link DATASOURCE_UID}, which every panel of the dashboards names) and a file provider for
 * the dashboards, which are JSON files in this repository (`dashboards/`: host, containers,
 * probes, backups, and one environment at a time). Grafana re-reads the dashboard files by
 * itself, so a changed dashboard needs no restart; the provider refuses edits in the UI, so
 * the repository stays the one truth.
 */
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";

/** The data source every dashboard panel names. */
export const DATASOURCE_UID = "prometheus";

/** Where the container reads its provisioning and the dashboards (both mounted read-only). */
export const GRAFANA_PATHS = { provisioning: "/etc/grafana/provisioning", dashboards: "/etc/grafana/dashboards" } as const;

/** The dashboards' folder in this repository. */
export const DASHBOARDS_DIR = path.join(__dirname, "dashboards");

/** Each dashboard of the repository: file name → JSON text. */
export function dashboards(): Record<string, string> {
    return Object.fromEntries(
        fs
            .readdirSync(DASHBOARDS_DIR)
            .filter((f) => f.endsWith(".json"))
            .sort()
            .map((f) => [f, fs.readFileSync(path.join(DASHBOARDS_DIR, f), "utf8")]),
    );
}

/** provisioning/datasources/prometheus.yml: the one data source, not editable in the UI. */
export function renderGrafanaDatasources(prometheusUrl: string): string {
    return stringify({
        apiVersion: 1,
        datasources: [{ name: "Prometheus", type: "prometheus", uid: DATASOURCE_UID, access: "proxy", url: prometheusUrl, isDefault: true, editable: false }],
    });
}

/** provisioning/dashboards/vps-stacks.yml: the dashboards of {@link GRAFANA_PATHS}.dashboards, re-read every 30 s. */
export function renderGrafanaDashboardProvider(): string {
    return stringify({
        apiVersion: 1,
        providers: [
            {
                name: "vps-stacks",
                type: "file",
                folder: "vps-stacks",
                disableDeletion: true,
                allowUiUpdates: false,
                updateIntervalSeconds: 30,
                options: { path: GRAFANA_PATHS.dashboards },
            },
        ],
    });
}
