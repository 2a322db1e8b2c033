/**
 * Grafana's provisioning, rendered without Pulumi: the Prometheus data source (uid
 * {@link DATASOURCE_UID}, which every panel of the dashboards names) and a file provider for
 * the dashboards, which are JSON files in this repository (`dashboards/`: host, containers,
 * probes, backups, and one environment at a time), and one dashboard per environment, which
 * each environment publishes with its targets ({@link environmentDashboard}). Grafana re-reads
 * the dashboard files by itself, so a changed dashboard needs no restart, and deletes the
 * dashboard of a file that is gone (a destroyed environment's); the provider refuses edits in
 * the UI, so the repository stays the one truth.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { EnvironmentName, namePrefix } from "../naming";

/** The data source every dashboard panel names. */
export const DATASOURCE_UID = "prometheus";

/** Where the container reads its settings, provisioning and dashboards (each mounted read-only). */
export const GRAFANA_PATHS = { config: "/etc/grafana/vps-stacks", provisioning: "/etc/grafana/provisioning", dashboards: "/etc/grafana/dashboards" } as const;

/** Grafana's settings: who it is (behind the proxy, on its own host name) and what it never does. */
export interface GrafanaSettings {
    /** The host name the proxy routes to it, e.g. grafana.example.com. */
    readonly host: string;
    /** The admin user (its password is the container's GF_SECURITY_ADMIN_PASSWORD, a secret). */
    readonly adminUser: string;
}

/**
 * grafana.ini: the public URL behind the proxy, secure cookies, no anonymous access, no sign-up,
 * nothing sent home. In a file rather than GF_* variables, whose names (GF_AUTH_..., ..._COOKIE_...)
 * would look like secrets to the policy pack; the container reads it through GF_PATHS_CONFIG.
 * Grafana reads it when it starts: the container carries its hash, so a change replaces it.
 */
export function renderGrafanaIni(g: GrafanaSettings): string {
    return [
        "[server]",
        `domain = ${g.host}`,
        `root_url = https://${g.host}/`,
        "",
        "[security]",
        `admin_user = ${g.adminUser}`,
        "cookie_secure = true",
        "disable_gravatar = true",
        "",
        "[auth.anonymous]",
        "enabled = false",
        "",
        // The proxy's basic auth is in front; Grafana's own login is its form and session.
        "[auth.basic]",
        "enabled = false",
        "",
        "[users]",
        "allow_sign_up = false",
        "",
        "[analytics]",
        "reporting_enabled = false",
        "check_for_updates = false",
        "check_for_plugin_updates = false",
        "",
        "[paths]",
        `provisioning = ${GRAFANA_PATHS.provisioning}`,
        "",
    ].join("\n");
}

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

/** provisioning/dashboards/vps-stacks.yml: the dashboards of {@link GRAFANA_PATHS}.dashboards and below, re-read every 30 s. */
export function renderGrafanaDashboardProvider(): string {
    return stringify({
        apiVersion: 1,
        providers: [
            {
                name: "vps-stacks",
                type: "file",
                folder: "vps-stacks",
                // A file that is gone (a destroyed environment's dashboard) takes its dashboard
                // with it; with true, Grafana would keep it, unprovisioned.
                disableDeletion: false,
                allowUiUpdates: false,
                updateIntervalSeconds: 30,
                options: { path: GRAFANA_PATHS.dashboards },
            },
        ],
    });
}

/** The repository's dashboard each environment's own is made from. */
export const ENVIRONMENT_DASHBOARD = "environment.json";

/** Grafana's longest dashboard uid. */
const UID_MAX = 40;

/**
 * One environment's own dashboard: the repository's environment dashboard with its `app` and
 * `environment` fixed (hidden constants instead of choices), its own uid and title. Published
 * by the environment with its targets, so it comes and goes with the environment.
 */
export function environmentDashboard(env: EnvironmentName): string {
    const d = JSON.parse(dashboards()[ENVIRONMENT_DASHBOARD]);
    const prefix = namePrefix(env);
    const uid = `vps-env-${prefix}`;
    d.uid = uid.length <= UID_MAX ? uid : `${uid.slice(0, UID_MAX - 9)}-${crypto.createHash("sha256").update(prefix).digest("hex").slice(0, 8)}`;
    d.title = `Environment ${env.app}/${env.environment}`;
    d.description = `${env.app}/${env.environment}: its public URLs, error rate, containers, backups and health check.`;
    const fixed: Record<string, string> = { app: env.app, environment: env.environment };
    d.templating.list = d.templating.list.map((v: { name: string; label?: string }) =>
        v.name in fixed ? { name: v.name, label: v.label, type: "constant", query: fixed[v.name], hide: 2 } : v,
    );
    return `${JSON.stringify(d, null, 2)}\n`;
}
