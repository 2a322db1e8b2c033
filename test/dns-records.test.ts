import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { RecordingMocks, setEngineMocks } from "../tools/synth/mocks";
import { capture, CapturedResource, unwrap } from "./helpers/pulumi";

const RECORD = "cloudflare:index/dnsRecord:DnsRecord";
const GET_ZONE = "cloudflare:index/getZone:getZone";

/** RecordingMocks that also count the data-source lookups, to tell a zone lookup from a given id. */
class CountingMocks extends RecordingMocks {
    readonly calls: string[] = [];
    call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        this.calls.push(args.token);
        return super.call(args);
    }
}

const records = (resources: CapturedResource[]) => resources.filter((r) => r.type === RECORD);
const byType = (resources: CapturedResource[], type: string) => records(resources).filter((r) => r.props.type === type);

describe("DnsRecords", () => {
    let mod: typeof import("../components/cloud/dns-records");
    let mocks: CountingMocks;

    before(async () => {
        mocks = new CountingMocks();
        await setEngineMocks(mocks, "vps-stacks", "test");
        mod = await import("../components/cloud/dns-records");
    });

    const hosts = ["app-staging.example.com", "api-staging.example.com"];

    function build(name: string, args: Partial<import("../components/cloud/dns-records").DnsRecordsArgs> = {}) {
        const c = capture();
        const component = new mod.DnsRecords(
            name,
            {
                zone: "example.com",
                records: mod.recordsForHosts(hosts, { address: "203.0.113.11", proxied: false }),
                caaIssuer: "letsencrypt.org",
                ...args,
            },
            c.opts,
        );
        return { component, resources: c.resources };
    }

    it("creates one A record per public host, pointing at the proxy's address", () => {
        const { resources, component } = build("d-a");
        const a = byType(resources, "A");
        assert.deepEqual(a.map((r) => r.props.name).sort(), [...hosts].sort());
        for (const r of a) assert.equal(r.props.content, "203.0.113.11");
        assert.deepEqual(component.hostnames, [...hosts].sort());
    });

    it("gives a DNS-only record the default TTL of 300 s and a configured one when set", () => {
        const dflt = byType(build("d-ttl-default").resources, "A");
        assert.deepEqual(dflt.map((r) => [r.props.proxied, r.props.ttl]), [[false, 300], [false, 300]]);
        const set = byType(build("d-ttl-set", { records: mod.recordsForHosts(hosts, { address: "203.0.113.11", proxied: false, ttl: 120 }) }).resources, "A");
        assert.deepEqual(set.map((r) => r.props.ttl), [120, 120]);
    });

    it("gives a proxied record Cloudflare's automatic TTL (1), even when a default TTL is configured", () => {
        const { resources } = build("d-proxied", { records: mod.recordsForHosts(hosts, { address: "203.0.113.10", proxied: true, ttl: 600 }) });
        const a = byType(resources, "A");
        assert.equal(a.length, 2);
        for (const r of a) {
            assert.equal(r.props.proxied, true);
            assert.equal(r.props.ttl, 1);
        }
    });

    it("adds a CAA record allowing only the ACME issuer beside each address record", () => {
        const caa = byType(build("d-caa").resources, "CAA");
        assert.deepEqual(caa.map((r) => r.props.name).sort(), [...hosts].sort());
        for (const r of caa) assert.deepEqual(r.props.data, { flags: 0, tag: "issue", value: "letsencrypt.org" });
    });

    it("puts no CAA record beside a CNAME, which may carry no other data", () => {
        const recs = mod.recordsForHosts(hosts, { address: "203.0.113.11", proxied: false }, { "api-staging.example.com": { type: "CNAME", target: "lb.example.net" } });
        const { resources } = build("d-cname", { records: recs });
        const cname = byType(resources, "CNAME");
        assert.deepEqual(cname.map((r) => [r.props.name, r.props.content]), [["api-staging.example.com", "lb.example.net"]]);
        assert.deepEqual(byType(resources, "CAA").map((r) => r.props.name), ["app-staging.example.com"]);
    });

    it("creates no CAA record when no issuer is given", () => {
        assert.equal(byType(build("d-nocaa", { caaIssuer: undefined }).resources, "CAA").length, 0);
    });

    it("looks the zone up by name when no zone id is given", async () => {
        const before = mocks.calls.filter((t) => t === GET_ZONE).length;
        const { component, resources } = build("d-lookup");
        const zoneId = await unwrap(component.zoneId);
        assert.match(zoneId, /^zone-[0-9a-f]{32}$/);
        assert.equal(mocks.calls.filter((t) => t === GET_ZONE).length, before + 1);
        for (const r of records(resources)) assert.equal(await unwrap(r.props.zoneId), zoneId);
    });

    it("uses a given zone id without looking the zone up", async () => {
        const before = mocks.calls.filter((t) => t === GET_ZONE).length;
        const id = "0123456789abcdef0123456789abcdef";
        const { resources } = build("d-given", { zoneId: id });
        for (const r of records(resources)) assert.equal(await unwrap(r.props.zoneId), id);
        assert.equal(mocks.calls.filter((t) => t === GET_ZONE).length, before);
    });

    it("leaves every record an ordinary resource that destroy removes (neither retained nor protected)", () => {
        for (const r of records(build("d-lifecycle").resources)) {
            assert.notEqual(r.opts.retainOnDelete, true, r.name);
            assert.notEqual(r.opts.protect, true, r.name);
        }
    });

    it("registers as vps:index:DnsRecords and parents every record to itself with a derived name", () => {
        const { component, resources } = build("d-tree");
        assert.deepEqual(resources.filter((r) => r.name === "d-tree").map((r) => r.type), ["vps:index:DnsRecords"]);
        for (const r of records(resources)) {
            assert.equal(r.opts.parent, component, r.name);
            assert.ok(r.name.startsWith("d-tree-"), r.name);
        }
    });

    it("rejects a TTL set on a proxied record", () => {
        assert.throws(
            () => build("d-bad-ttl", { records: [{ name: "api-staging.example.com", type: "A", content: "203.0.113.11", proxied: true, ttl: 300 }] }),
            /"api-staging\.example\.com" is proxied, so its TTL is automatic/,
        );
    });

    it("rejects a record outside the zone", () => {
        assert.throws(
            () => build("d-bad-zone", { records: mod.recordsForHosts(["shop.example.org"], { address: "203.0.113.11", proxied: false }) }),
            /"shop\.example\.org" is outside the zone "example\.com"/,
        );
    });

    it("derives the CAA issuer letsencrypt.org from Let's Encrypt's production and staging directories only", () => {
        assert.equal(mod.caaIssuerForAcme("https://acme-v02.api.letsencrypt.org/directory"), "letsencrypt.org");
        assert.equal(mod.caaIssuerForAcme("https://acme-staging-v02.api.letsencrypt.org/directory"), "letsencrypt.org");
        assert.equal(mod.caaIssuerForAcme("https://acme.zerossl.com/v2/DV90"), undefined);
    });

    it("lets a per-host override replace the default proxying but not the automatic TTL of a proxied record", () => {
        const recs = mod.recordsForHosts(hosts, { address: "203.0.113.11", proxied: false, ttl: 600 }, { "app-staging.example.com": { type: "A", proxied: true } });
        assert.deepEqual(
            recs.map((r) => [r.name, r.proxied, r.ttl]),
            [
                ["api-staging.example.com", false, 600],
                ["app-staging.example.com", true, undefined],
            ],
        );
    });
});
