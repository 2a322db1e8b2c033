/**
 * The reverse proxy (`proxy`): Traefik, the address it binds, its ACME account and limits.
 */
import { z } from "zod";
import { ACME_CA_SERVER, ACME_CHALLENGE, PROXY_LIMITS } from "../components/defaults";
import { letsEncryptDirectory } from "../components/naming";
import type { ConfigIssue } from "./types";
import { cpus, CrossFieldCheck, image, imageIssues, ipv4, logRotation, memory, record } from "./values";

/** The first Traefik release that negotiates the Docker API version (traefik/traefik#12253). */
export const MIN_TRAEFIK_VERSION = [3, 6, 1] as const;

/**
 * Why a reverse-proxy image cannot route on a current Docker engine, or undefined. Traefik
 * before v3.6.1 speaks Docker API 1.24, which Docker Engine 29 refuses (minimum 1.44); its
 * `--ping` healthcheck still passes, so `pulumi up` succeeds and no route is served. Tags
 * that are not a version (a digest alone, a custom build) are not judged.
 */
export function traefikVersionProblem(ref: string): string | undefined {
    const m = /^(?:.*\/)?traefik:v?(\d+)\.(\d+)(?:\.(\d+))?(?:[@-].*)?$/.exec(ref);
    if (!m) return undefined;
    const version = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
    for (let i = 0; i < 3; i++) {
        if (version[i] > MIN_TRAEFIK_VERSION[i]) return undefined;
        if (version[i] < MIN_TRAEFIK_VERSION[i]) {
            return `Traefik ${version.join(".")} speaks Docker API 1.24, which Docker Engine 29 refuses: it would start healthy and route nothing. Use v${MIN_TRAEFIK_VERSION.join(".")} or newer (traefik/traefik#12253)`;
        }
    }
    return undefined;
}

/** `proxy`: Traefik, the only container that publishes host ports. */
export const proxySchema = z.strictObject({
    image,
    /** Address the proxy binds ports 80/443 on, and the address the DNS records point at. */
    publicAddress: ipv4,
    /** Account e-mail for Let's Encrypt. */
    acmeEmail: z.email("acmeEmail must be an e-mail address"),
    /** ACME directory; Let's Encrypt production by default. */
    acmeCaServer: z.url().default(ACME_CA_SERVER),
    /**
     * ACME challenge: "http" (HTTP-01 on port 80; works behind Cloudflare's proxy) or
     * "tls" (TLS-ALPN-01 on port 443; needs DNS-only records). Default "http".
     */
    acmeChallenge: z.enum(["http", "tls"]).default(ACME_CHALLENGE),
    memory: memory.default(PROXY_LIMITS.memoryMb),
    cpus: cpus.default(PROXY_LIMITS.cpus),
    logs: logRotation,
});

/** The `proxy` section, parsed. */
export type ProxySection = z.output<typeof proxySchema>;

/**
 * `proxy`: the image pinned and a Traefik that can route on a current Docker engine; Let's
 * Encrypt's staging CA only with `healthCheck.insecureTls`, since nothing trusts its
 * certificates and every health check would fail.
 */
export const proxyChecks: CrossFieldCheck = (raw) => {
    const proxy = record(raw.proxy);
    const issues: ConfigIssue[] = [...imageIssues("proxy.image", proxy.image, raw)];
    const traefikProblem = typeof proxy.image === "string" ? traefikVersionProblem(proxy.image) : undefined;
    if (traefikProblem) issues.push({ path: "proxy.image", message: traefikProblem });
    const acmeCaServer = proxy.acmeCaServer;
    if (typeof acmeCaServer === "string" && letsEncryptDirectory(acmeCaServer) === "staging" && record(raw.healthCheck).insecureTls !== true) {
        issues.push({
            path: "proxy.acmeCaServer",
            message:
                "is Let's Encrypt's staging CA, whose certificates no client trusts: the deploy's smoke check and the per-minute health check " +
                "would fail on every run and restart the services. Remove it to use the production directory (its rate limits are ample for a few host names), " +
                "or set healthCheck.insecureTls: true to probe without verifying certificates (the workflows' smoke check still verifies them)",
        });
    }
    return issues;
};
