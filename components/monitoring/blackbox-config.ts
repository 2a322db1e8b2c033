/**
 * blackbox-exporter's modules (`blackbox.yml`): an HTTP GET that must answer 2xx, following
 * redirects, over IPv4 first; and the same without verifying the certificate, for an
 * environment whose proxy uses an ACME CA no client trusts (its `healthCheck.insecureTls`).
 * Valid for blackbox-exporter 0.23 (Debian's, which the tests run) and current releases.
 */
import { stringify } from "yaml";
import { PROBE_MODULE, PROBE_MODULE_INSECURE } from "./prometheus-config";

/** Seconds one probe may take (blackbox also stays under Prometheus' scrape timeout). */
export const PROBE_TIMEOUT = "10s";

/** blackbox.yml. */
export function renderBlackboxConfig(): string {
    const http = { preferred_ip_protocol: "ip4", follow_redirects: true };
    return stringify({
        modules: {
            [PROBE_MODULE]: { prober: "http", timeout: PROBE_TIMEOUT, http },
            [PROBE_MODULE_INSECURE]: { prober: "http", timeout: PROBE_TIMEOUT, http: { ...http, tls_config: { insecure_skip_verify: true } } },
        },
    });
}
