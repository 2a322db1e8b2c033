/**
 * The Cloudflare DNS records of the environment's public hosts (`dns`).
 */
import { z } from "zod";
import { isInZone, letsEncryptDirectory, splitHostEntry } from "../components/naming";
import { ConfigIssue, keyPath } from "./types";
import { CrossFieldCheck, hostname, ipv4, list, record } from "./values";

/** Loose IPv6 check (hex groups and "::"); Cloudflare validates the address itself. */
const IPV6 = /^(?=.*:)[0-9a-fA-F:]{2,39}$/;

/** Cloudflare's TTL range for DNS-only records; 1 means "automatic" and is what proxied records get. */
const dnsTtl = z.number().int("ttl must be a whole number of seconds").min(60, "ttl must be 60–86400 seconds").max(86400, "ttl must be 60–86400 seconds");

const dnsRecordOverride = z
    .strictObject({
        /** A (IPv4, default proxy.publicAddress), AAAA (IPv6) or CNAME (a host name). */
        type: z.enum(["A", "AAAA", "CNAME"]),
        /** What the record points at: an IPv4 (A), IPv6 (AAAA) address or a host name (CNAME). */
        target: z.string().optional(),
        /** Overrides dns.proxied for this host. */
        proxied: z.boolean().optional(),
        /** Overrides dns.ttl for this host (DNS-only records). */
        ttl: dnsTtl.optional(),
    })
    .superRefine((r, ctx) => {
        const t = r.target;
        if (r.type === "A" && t !== undefined && !ipv4.safeParse(t).success) {
            ctx.addIssue({ code: "custom", path: ["target"], message: `"${t}" is not an IPv4 address (an A record's target)` });
        } else if (r.type === "AAAA" && (t === undefined || !IPV6.test(t))) {
            ctx.addIssue({ code: "custom", path: ["target"], message: t === undefined ? "is required for an AAAA record (an IPv6 address)" : `"${t}" is not an IPv6 address` });
        } else if (r.type === "CNAME" && (t === undefined || !hostname.safeParse(t).success)) {
            ctx.addIssue({ code: "custom", path: ["target"], message: t === undefined ? "is required for a CNAME record (a host name)" : `"${t}" is not a host name (a CNAME's target)` });
        }
    });

/** `dns`: the zone and how the records of the routed hosts are made. */
export const dnsSchema = z.strictObject({
    /** Zone (domain) name, e.g. example.com; every host under services.<name>.hosts must be inside it. */
    zone: hostname,
    /** Zone id (32 hex); when set, the program uses it instead of looking the zone up by name. */
    zoneId: z.string().regex(/^[0-9a-f]{32}$/, "zoneId must be the 32 hex characters of a Cloudflare zone id").optional(),
    /** Route every host through Cloudflare's proxy (TTL automatic). Default false: DNS only. */
    proxied: z.boolean().default(false),
    /** TTL in seconds of DNS-only records (60–86400); default 300 (components/defaults.ts DNS_TTL). Not allowed when proxied. */
    ttl: dnsTtl.optional(),
    /** Add a CAA record per host allowing only the proxy's ACME issuer. Default true. */
    caa: z.boolean().default(true),
    /** CAA issuer domain; derived from proxy.acmeCaServer for Let's Encrypt, required otherwise. */
    caaIssuer: hostname.optional(),
    /** Per-host overrides (type, target, proxied, ttl), keyed by a host under services.<name>.hosts. */
    records: z.record(z.string(), dnsRecordOverride).default({}),
});

/** The `dns` section, parsed. */
export type DnsSection = z.output<typeof dnsSchema>;

/**
 * `dns`: services.<name>.hosts is the one list of public hosts, so every routed host must get a
 * record (be inside dns.zone) and every explicit record must belong to a routed host; a
 * proxied record has automatic TTL, so a TTL set on one is a mistake; a CA other than Let's
 * Encrypt needs its CAA issuer named.
 */
export const dnsChecks: CrossFieldCheck = (raw) => {
    const issues: ConfigIssue[] = [];
    const routed = new Map<string, string>(); // host -> path of its hosts[] entry
    for (const [name, svc] of Object.entries(record(raw.services))) {
        list(record(svc).hosts).forEach((host, i) => {
            // A host entry may carry a path prefix (api.example.com/v1): the record is the host's.
            if (typeof host === "string" && !routed.has(splitHostEntry(host).host)) routed.set(splitHostEntry(host).host, `services.${name}.hosts[${i}]`);
        });
    }
    if (raw.dns === undefined) return issues; // DNS of these hosts is managed outside this stack
    const dns = record(raw.dns);
    const zone = typeof dns.zone === "string" ? dns.zone : undefined;
    if (zone !== undefined) {
        for (const [host, at] of routed) {
            if (!isInZone(host, zone)) {
                issues.push({ path: at, message: `host "${host}" is routed by the proxy but gets no DNS record: it is outside the DNS zone "${zone}" (dns.zone)` });
            }
        }
    }
    const proxied = dns.proxied === true;
    if (proxied && dns.ttl !== undefined) {
        issues.push({ path: "dns.ttl", message: "is set but dns.proxied is true: a proxied record's TTL is automatic (1); remove ttl or set proxied: false" });
    }
    for (const [host, recValue] of Object.entries(record(dns.records))) {
        const rec = record(recValue);
        const at = keyPath(["dns", "records", host]);
        if (!routed.has(host)) {
            issues.push({ path: at, message: `no service routes "${host}": every DNS record must belong to a host under services.<name>.hosts` });
        }
        const recProxied = typeof rec.proxied === "boolean" ? rec.proxied : proxied;
        if (recProxied && rec.ttl !== undefined) {
            issues.push({ path: `${at}.ttl`, message: "is set on a proxied record: its TTL is automatic (1); remove ttl or set proxied: false" });
        }
        if (rec.type === "CNAME" && rec.target === host) {
            issues.push({ path: `${at}.target`, message: "a CNAME cannot point at itself" });
        }
    }
    const acmeCaServer = record(raw.proxy).acmeCaServer;
    const letsEncrypt = acmeCaServer === undefined || (typeof acmeCaServer === "string" && letsEncryptDirectory(acmeCaServer) !== undefined);
    if (dns.caa !== false && dns.caaIssuer === undefined && !letsEncrypt) {
        issues.push({ path: "dns.caaIssuer", message: `is required when dns.caa is on and proxy.acmeCaServer is not Let's Encrypt: set the CAA issuer domain of ${String(acmeCaServer)}` });
    }
    return issues;
};
