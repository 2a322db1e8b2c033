import * as pulumi from "@pulumi/pulumi";
import { ACME_CHALLENGE } from "../defaults";
import { DataVolume } from "../docker/data-volume";
import { LABEL } from "../docker/labels";
import { Service } from "../docker/service";
import { networkName } from "../naming";

/** Arguments of {@link ReverseProxy}. */
export interface ReverseProxyArgs {
    readonly app: string;
    readonly environment: string;
    /** Pinned Traefik v3 image. */
    readonly image: string;
    /** IPv4 address the proxy binds ports 80 and 443 on (one per environment on a shared VPS). */
    readonly publicAddress: string;
    /** Let's Encrypt account e-mail. */
    readonly acmeEmail: string;
    /** ACME directory URL. */
    readonly acmeCaServer: string;
    /**
     * ACME challenge: "http" (HTTP-01 on the web entrypoint, which Traefik answers before
     * its HTTPS redirect; works through Cloudflare's proxy) or "tls" (TLS-ALPN-01 on 443,
     * which a proxying CDN terminates, so DNS-only records). Default {@link ACME_CHALLENGE} ("http").
     */
    readonly acmeChallenge?: "http" | "tls";
    /** Name of the environment's edge network, where the proxy reaches the applications. */
    readonly edgeNetwork: pulumi.Input<string>;
    readonly memoryMb: number;
    readonly cpus: number;
    /** `protect` the ACME volume (production): losing it means re-issuing every certificate. */
    readonly protectData: boolean;
    readonly logs?: { maxSize: string; maxFile: number };
}

/** Traefik's static configuration as command-line flags. */
export function traefikArgs(args: Pick<ReverseProxyArgs, "environment" | "acmeEmail" | "acmeCaServer" | "acmeChallenge"> & { edgeNetworkName: string }): string[] {
    return [
        "--providers.docker=true",
        "--providers.docker.exposedbydefault=false",
        // Both environments share the Docker engine: route only this environment's containers.
        `--providers.docker.constraints=Label(\`${LABEL.environment}\`,\`${args.environment}\`)`,
        `--providers.docker.network=${args.edgeNetworkName}`,
        "--entrypoints.web.address=:80",
        "--entrypoints.web.http.redirections.entrypoint.to=websecure",
        "--entrypoints.web.http.redirections.entrypoint.scheme=https",
        "--entrypoints.websecure.address=:443",
        `--certificatesresolvers.letsencrypt.acme.email=${args.acmeEmail}`,
        "--certificatesresolvers.letsencrypt.acme.storage=/letsencrypt/acme.json",
        (args.acmeChallenge ?? ACME_CHALLENGE) === "http"
            ? "--certificatesresolvers.letsencrypt.acme.httpchallenge.entrypoint=web"
            : "--certificatesresolvers.letsencrypt.acme.tlschallenge=true",
        `--certificatesresolvers.letsencrypt.acme.caserver=${args.acmeCaServer}`,
        "--ping=true",
        "--accesslog=true",
        "--log.level=INFO",
    ];
}

/**
 * Traefik as the environment's reverse proxy: the only container that publishes host
 * ports (80 and 443 on `publicAddress`), redirects HTTP to HTTPS, obtains Let's
 * Encrypt certificates (HTTP-01 or TLS-ALPN-01 challenge) into a retained `<app>-<env>-acme` volume,
 * and reads the Docker socket read-only to route by container labels. Traefik skips
 * containers whose healthcheck is not passing, so a new version gets traffic only once
 * healthy.
 */
export class ReverseProxy extends pulumi.ComponentResource {
    readonly acme: DataVolume;
    readonly service: Service;

    constructor(name: string, args: ReverseProxyArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("vps:index:ReverseProxy", name, { publicAddress: args.publicAddress }, opts);
        this.acme = new DataVolume(
            `${name}-acme`,
            { app: args.app, environment: args.environment, role: "acme", protect: args.protectData },
            { parent: this },
        );
        const edgeNetworkName = networkName(args, "edge");
        this.service = new Service(
            `${name}-traefik`,
            {
                app: args.app,
                environment: args.environment,
                role: "reverse-proxy",
                image: args.image,
                command: traefikArgs({ ...args, edgeNetworkName }),
                healthcheck: { test: ["CMD", "traefik", "healthcheck", "--ping"], interval: "10s", timeout: "3s", retries: 3, startPeriod: "10s" },
                memoryMb: args.memoryMb,
                cpus: args.cpus,
                logs: args.logs,
                capAdd: ["NET_BIND_SERVICE"],
                networks: [{ name: args.edgeNetwork }],
                volumes: [{ volumeName: this.acme.volume.name, containerPath: "/letsencrypt" }],
                hostMounts: [{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: true }],
                ports: [
                    { internal: 80, external: 80, ip: args.publicAddress },
                    { internal: 443, external: 443, ip: args.publicAddress },
                ],
                fixedName: true,
            },
            { parent: this },
        );
        this.registerOutputs({ acmeVolume: this.acme.volumeName });
    }
}
