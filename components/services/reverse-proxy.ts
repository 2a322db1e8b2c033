import * as pulumi from "@pulumi/pulumi";
import { ACME_CHALLENGE } from "../defaults";
import { DataVolume } from "../docker/data-volume";
import { LABEL } from "../docker/labels";
import { Service } from "../docker/service";
import { dockerName, edgeNetworkName, networkName } from "../naming";

/**
 * Arguments of {@link ReverseProxy}: its owner, an environment (its own proxy, routing only
 * its own containers) or a host stack (the proxy of every environment attached to it), and
 * {@link ReverseProxySettings}.
 */
export type ReverseProxyArgs = ({ readonly app: string; readonly environment: string } | { readonly host: string }) & ReverseProxySettings;

/** What the proxy binds, where its certificates come from, and its limits. */
export interface ReverseProxySettings {
    /** Pinned Traefik v3 image. */
    readonly image: string;
    /** IPv4 address the proxy binds ports 80 and 443 on (the VPS's, or one per self-contained environment on a shared VPS). */
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
    /** The edge network (the environment's, or the host stack's shared one), where the proxy reaches the applications. */
    readonly edgeNetwork: pulumi.Input<string>;
    readonly memoryMb: number;
    readonly cpus: number;
    /** `protect` the ACME volume (production): losing it means re-issuing every certificate. */
    readonly protectData: boolean;
    readonly logs?: { maxSize: string; maxFile: number };
}

/**
 * Which containers a proxy routes (Traefik's `providers.docker.constraints`): an environment's
 * own proxy only that environment's (environments share the Docker engine); a host stack's only
 * those labelled `vps.edge=<host>` that carry both ownership labels, which an attached
 * environment's routed services do, or that the host stack owns itself (`vps.host=<host>`: its
 * monitoring's Grafana).
 */
export function routingConstraint(owner: { environment: string } | { host: string }): string {
    if ("host" in owner) {
        const environments = `LabelRegex(\`${LABEL.app}\`,\`.+\`) && LabelRegex(\`${LABEL.environment}\`,\`.+\`)`;
        return `Label(\`${LABEL.edge}\`,\`${owner.host}\`) && (${environments} || Label(\`${LABEL.host}\`,\`${owner.host}\`))`;
    }
    return `Label(\`${LABEL.environment}\`,\`${owner.environment}\`)`;
}

/** Traefik's static configuration as command-line flags. */
export function traefikArgs(
    args: Pick<ReverseProxySettings, "acmeEmail" | "acmeCaServer" | "acmeChallenge"> & { constraint: string; edgeNetworkName: string },
): string[] {
    return [
        "--providers.docker=true",
        "--providers.docker.exposedbydefault=false",
        `--providers.docker.constraints=${args.constraint}`,
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
 * Traefik as the reverse proxy of an environment or of a host stack: the only container that
 * publishes host ports (80 and 443 on `publicAddress`), redirects HTTP to HTTPS, obtains Let's
 * Encrypt certificates (HTTP-01 or TLS-ALPN-01 challenge) into a retained `<app>-<env>-acme`
 * (or `<host>-acme`) volume, and reads the Docker socket read-only to route by container labels
 * ({@link routingConstraint}). Traefik skips containers whose healthcheck is not passing, so a
 * new version gets traffic only once healthy.
 */
export class ReverseProxy extends pulumi.ComponentResource {
    readonly acme: DataVolume;
    readonly service: Service;
    /** The proxy's fixed container name, `<app>-<env>-reverse-proxy` or `<host>-reverse-proxy`. */
    readonly containerName: string;

    constructor(name: string, args: ReverseProxyArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("vps:index:ReverseProxy", name, { publicAddress: args.publicAddress }, opts);
        const owner: { host: string } | { app: string; environment: string } = "host" in args ? { host: args.host } : { app: args.app, environment: args.environment };
        this.acme = new DataVolume(`${name}-acme`, { ...owner, role: "acme", protect: args.protectData }, { parent: this });
        this.containerName = dockerName({ ...owner, role: "reverse-proxy" });
        const edgeNetwork = "host" in owner ? edgeNetworkName(owner) : networkName(owner, "edge");
        this.service = new Service(
            `${name}-traefik`,
            {
                ...owner,
                role: "reverse-proxy",
                image: args.image,
                command: traefikArgs({ ...args, constraint: routingConstraint(owner), edgeNetworkName: edgeNetwork }),
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
