import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { DNS_TTL } from "../defaults";
import { isInZone, LETS_ENCRYPT_CAA_ISSUER, letsEncryptDirectory } from "../naming";

/** Cloudflare's "automatic" TTL: the only TTL a proxied record has. */
export const AUTOMATIC_TTL = 1;

/** One record of a public host. */
export interface DnsRecordSpec {
    /** Fully qualified host name, e.g. "api.example.com"; must be inside the zone. */
    readonly name: string;
    /** "A" (IPv4), "AAAA" (IPv6) or "CNAME" (a host name). */
    readonly type: "A" | "AAAA" | "CNAME";
    /** The address or host name the record points at. */
    readonly content: pulumi.Input<string>;
    /** Through Cloudflare's proxy (TTL automatic) or DNS only. */
    readonly proxied: boolean;
    /** TTL in seconds of a DNS-only record, 60–86400; default {@link DNS_TTL} (300). Must be undefined when proxied. */
    readonly ttl?: number;
}

/** Arguments of {@link DnsRecords}. */
export interface DnsRecordsArgs {
    /** Zone (domain) name, e.g. "example.com"; every record must be the apex or a name inside it. */
    readonly zone: string;
    /** Zone id; when undefined the zone is looked up by name (the API token then needs Zone:Read). */
    readonly zoneId?: pulumi.Input<string>;
    /** One record per public host; names must be unique. */
    readonly records: DnsRecordSpec[];
    /** CAA issuer domain allowed to issue for each A/AAAA host (e.g. "letsencrypt.org"; an attached environment's comes from its host stack); undefined: no CAA records. */
    readonly caaIssuer?: pulumi.Input<string>;
    /** Comment on every record in the Cloudflare dashboard, e.g. "shop/staging (Pulumi)". */
    readonly comment?: string;
}

/**
 * The CAA issuer domain of an ACME directory URL: "letsencrypt.org" for Let's Encrypt's
 * production and staging directories (both check CAA for letsencrypt.org), undefined for
 * any other CA, whose issuer domain must then be configured.
 */
export function caaIssuerForAcme(acmeCaServer: string): string | undefined {
    return letsEncryptDirectory(acmeCaServer) !== undefined ? LETS_ENCRYPT_CAA_ISSUER : undefined;
}

/** Per-host settings that replace the defaults (from `dns.records.<host>`). */
export interface DnsRecordOverride {
    type: "A" | "AAAA" | "CNAME";
    /** IPv4 (A, default the public address), IPv6 (AAAA) or host name (CNAME). */
    target?: string;
    proxied?: boolean;
    ttl?: number;
}

/**
 * The records of a list of public hosts: an A record to `address` each, unless
 * `overrides` gives a host another type or target; `proxied` and `ttl` are the defaults
 * an override may replace. Sorted by name, so the resource order is stable.
 */
export function recordsForHosts(
    hosts: string[],
    defaults: { address: pulumi.Input<string>; proxied: boolean; ttl?: number },
    overrides: Record<string, DnsRecordOverride> = {},
): DnsRecordSpec[] {
    return [...new Set(hosts)].sort().map((host) => {
        const o = overrides[host];
        const proxied = o?.proxied ?? defaults.proxied;
        const type = o?.type ?? "A";
        const content = o?.target ?? defaults.address;
        // A proxied record has automatic TTL: a default TTL meant for DNS-only records does not apply.
        const ttl = proxied ? undefined : (o?.ttl ?? defaults.ttl);
        return { name: host, type, content, proxied, ttl };
    });
}

/** Throws with a sentence naming the argument when the records cannot be created as given. */
export function validateDnsRecordsArgs(name: string, args: DnsRecordsArgs): void {
    const seen = new Set<string>();
    for (const r of args.records) {
        if (!isInZone(r.name, args.zone)) {
            throw new Error(`DnsRecords ${name}: record "${r.name}" is outside the zone "${args.zone}"`);
        }
        if (seen.has(r.name)) throw new Error(`DnsRecords ${name}: record "${r.name}" is listed twice`);
        seen.add(r.name);
        if (r.proxied && r.ttl !== undefined) {
            throw new Error(`DnsRecords ${name}: record "${r.name}" is proxied, so its TTL is automatic; ttl ${r.ttl} must not be set`);
        }
        if (r.ttl !== undefined && (!Number.isInteger(r.ttl) || r.ttl < 60 || r.ttl > 86400)) {
            throw new Error(`DnsRecords ${name}: record "${r.name}" has ttl ${r.ttl}; Cloudflare takes 60–86400 seconds`);
        }
    }
}

/**
 * The Cloudflare DNS records of an environment's public hosts: one record per host
 * (A to the address the reverse proxy binds, or AAAA / CNAME), proxied or DNS-only, and
 * optionally a CAA record per address host that lets only the proxy's ACME issuer
 * issue certificates for it. (When a zone has CAA records, Cloudflare adds the CAA
 * records of its own CAs for its edge certificates by itself.)
 *
 * The records are ordinary resources: `pulumi destroy` removes them with their
 * environment. The zone is given by id or looked up by name; the API token comes from
 * the provider's own configuration (`cloudflare:apiToken` or CLOUDFLARE_API_TOKEN).
 */
export class DnsRecords extends pulumi.ComponentResource {
    /** Zone id the records are in. */
    readonly zoneId: pulumi.Output<string>;
    /** The record of each host, by host name. */
    readonly records: Record<string, cloudflare.DnsRecord>;
    /** The host names that have a record, sorted. */
    readonly hostnames: string[];

    constructor(name: string, args: DnsRecordsArgs, opts: pulumi.ComponentResourceOptions = {}) {
        validateDnsRecordsArgs(name, args);
        const hostnames = args.records.map((r) => r.name).sort();
        super("vps:index:DnsRecords", name, { zone: args.zone, hostnames }, opts);
        this.hostnames = hostnames;

        this.zoneId =
            args.zoneId !== undefined
                ? pulumi.output(args.zoneId)
                : cloudflare.getZoneOutput({ filter: { name: args.zone } }, { parent: this }).apply((z) => z.id);

        this.records = {};
        for (const r of args.records) {
            this.records[r.name] = new cloudflare.DnsRecord(
                `${name}-${r.name}`,
                {
                    zoneId: this.zoneId,
                    name: r.name,
                    type: r.type,
                    content: r.content,
                    proxied: r.proxied,
                    ttl: r.proxied ? AUTOMATIC_TTL : (r.ttl ?? DNS_TTL),
                    comment: args.comment,
                },
                { parent: this },
            );
            // A CAA record cannot sit beside a CNAME (RFC 1034: a CNAME name has no other data).
            if (args.caaIssuer !== undefined && r.type !== "CNAME") {
                new cloudflare.DnsRecord(
                    `${name}-${r.name}-caa`,
                    {
                        zoneId: this.zoneId,
                        name: r.name,
                        type: "CAA",
                        data: { flags: 0, tag: "issue", value: args.caaIssuer },
                        ttl: AUTOMATIC_TTL,
                        comment: args.comment,
                    },
                    { parent: this },
                );
            }
        }
        this.registerOutputs({ zoneId: this.zoneId, hostnames });
    }
}
