/**
 * DNS: production records go through Cloudflare's proxy (TLS, caching, origin IP hidden).
 */
import {
    asString,
    configSchema,
    DEFAULT_PRODUCTION_ENVIRONMENTS,
    definePolicy,
    isProductionResource,
    isType,
    isUnknown,
    productionEnvironmentsSchema,
    stackEnvironments,
    StackViolation,
    T,
} from "./vocabulary";

const defaults = {
    productionEnvironments: DEFAULT_PRODUCTION_ENVIRONMENTS,
    proxiableTypes: ["A", "AAAA", "CNAME"],
    exemptNames: [] as string[],
};

export const productionDnsProxied = definePolicy({
    name: "production-dns-proxied",
    description:
        "In production every proxiable DNS record (A, AAAA, CNAME by default) is `proxied` through Cloudflare, so the VPS address stays hidden behind Cloudflare's TLS edge. Production is known from the stack's `vps.environment` labels or the record's `vps.environment:<env>` tag.",
    enforcementLevel: "advisory",
    defaults,
    configSchema: configSchema(defaults, {
        productionEnvironments: productionEnvironmentsSchema,
        proxiableTypes: { type: "array", items: { type: "string" }, description: "Record types Cloudflare can proxy." },
        exemptNames: { type: "array", items: { type: "string" }, description: "Record names that must stay DNS-only (e.g. an SSH host name)." },
    }),
    validateStack(resources, config, ctx) {
        const envs = stackEnvironments(resources, ctx);
        const out: StackViolation[] = [];
        for (const r of resources) {
            if (!isType(r, T.dnsRecord) || !isProductionResource(r, envs, config.productionEnvironments)) continue;
            const type = asString(r.props.type)?.toUpperCase();
            const name = asString(r.props.name) ?? r.name;
            if (!type || !config.proxiableTypes.includes(type) || config.exemptNames.includes(name)) continue;
            if (r.props.proxied !== true && !isUnknown(r.props.proxied)) {
                out.push({ urn: r.urn, message: `Production ${type} record '${name}' is not proxied: set \`dns.proxied: true\` in the stack config (or \`dns.records["${name}"].proxied\` for this host), or list it in the pack's \`exemptNames\` if it must stay DNS-only.` });
            }
        }
        return out;
    },
});

export const dnsPolicies = [productionDnsProxied];
