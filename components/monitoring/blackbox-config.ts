/**
 * blackbox-exporter's modules (`blackbox.yml`): an HTTP GET that must answer 2xx (or 401, for
 * a URL behind the proxy's basic auth), following redirects, over IPv4 first; each also
 * without verifying the certificate, for an environment whose proxy uses an ACME CA no client
 * trusts (its `healthCheck.insecureTls`).
 * Valid for blackbox-exporter 0.23 (Debian's, which the tests run) and current releases.
 */
import { stringify } from "yaml";
import { probeModule } from "./prometheus-config";

/** Seconds one probe may take (blackbox also stays under Prometheus' scrape timeout). */
export const PROBE_TIMEOUT = "10s";

/** blackbox.yml. */
export function renderBlackboxConfig(): string {
    const modules: Record<string, unknown> = {};
    for (const behindAuth of [false, true]) {
        for (const insecureTls of [false, true]) {
            const http: Record<string, unknown> = { preferred_ip_protocol: "ip4", follow_redirects: true };
            if (behindAuth) http.valid_status_codes = [401];
            if (insecureTls) http.tls_config = { insecure_skip_verify: true };
            modules[probeModule({ behindAuth, insecureTls })] = { prober: "http", timeout: PROBE_TIMEOUT, http };
        }
    }
    return stringify({ modules });
}
