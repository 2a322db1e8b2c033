/**
 * No resource of a deployed stack is replaced by the layout change of issue 14: every URN the
 * shipped stacks had before it (test/fixtures/urns-before-layout, the synth of 923ade8 with the
 * engine's URNs) is still a URN of the synth, or a former URN (alias) of exactly one resource
 * of it, which the engine then moves instead of deleting and creating.
 *
 * The fixture is of self-contained stacks (each with a proxy of its own), so it is held against
 * the shipped stacks made self-contained again (test/helpers/synth.ts); attaching an environment
 * to a host stack then removes exactly its edge (the proxy, its certificates and the edge
 * network, which the host stack owns) and adds the StackReference: the migration the runbook
 * describes.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import type { SynthResult } from "../tools/synth/synthesize";
import { synthSelfContained, synthShippedStack } from "./helpers/synth";

interface FixtureResource {
    urn: string;
    type: string;
    name: string;
    parent: string | null;
}

const STACKS = ["staging", "production"] as const;

function fixture(stack: string): FixtureResource[] {
    return JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "urns-before-layout", `${stack}.json`), "utf8")).resources;
}

/** How each URN of the fixture survives in the synth: kept as it is, or aliased by one resource. */
export function urnFates(before: FixtureResource[], now: SynthResult): { kept: string[]; aliased: Map<string, string>; lost: string[]; ambiguous: string[] } {
    const urns = new Set(now.resources.map((r) => r.urn));
    const aliasedBy = new Map<string, string[]>();
    for (const r of now.resources) {
        for (const alias of r.options.aliases) aliasedBy.set(alias, [...(aliasedBy.get(alias) ?? []), r.urn]);
    }
    const kept: string[] = [];
    const aliased = new Map<string, string>();
    const lost: string[] = [];
    const ambiguous: string[] = [];
    for (const { urn } of before) {
        const by = aliasedBy.get(urn) ?? [];
        if (urns.has(urn)) {
            kept.push(urn);
            if (by.length > 0) ambiguous.push(urn); // the engine refuses an alias that is another resource's URN
        } else if (by.length === 1) {
            aliased.set(urn, by[0]);
        } else {
            (by.length === 0 ? lost : ambiguous).push(urn);
        }
    }
    return { kept, aliased, lost, ambiguous };
}

describe("URN stability: the shipped stacks before and after the layout change", function () {
    this.timeout(120000);
    const results: Record<string, SynthResult> = {};
    const attached: Record<string, SynthResult> = {};

    before(async () => {
        for (const stack of STACKS) {
            const [run, shipped] = await Promise.all([synthSelfContained(stack), synthShippedStack(stack)]);
            assert.equal(run.code, 0, run.stderr);
            assert.equal(shipped.code, 0, shipped.stderr);
            results[stack] = run.result!;
            attached[stack] = shipped.result!;
        }
    });

    for (const stack of STACKS) {
        it(`attached to the host stack, ${stack} loses exactly its edge (proxy, certificates, edge network) and gains the StackReference and its monitoring targets`, () => {
            const own = new Set(results[stack].resources.map((r) => r.urn));
            const now = new Set(attached[stack].resources.map((r) => r.urn));
            const short = (urn: string) => urn.split("::").slice(2).join("::");
            const removed = [...own].filter((u) => !now.has(u)).map(short).sort();
            assert.deepEqual(removed, [
                `vps:index:AppNetwork$docker:index/network:Network::shop-${stack}-network-edge`,
                `vps:index:ReverseProxy$vps:index:DataVolume$docker:index/volume:Volume::shop-${stack}-proxy-acme-volume`,
                `vps:index:ReverseProxy$vps:index:DataVolume::shop-${stack}-proxy-acme`,
                `vps:index:ReverseProxy$vps:index:Service$docker:index/container:Container::shop-${stack}-proxy-traefik-container`,
                `vps:index:ReverseProxy$vps:index:Service$docker:index/remoteImage:RemoteImage::shop-${stack}-proxy-traefik-image`,
                `vps:index:ReverseProxy$vps:index:Service::shop-${stack}-proxy-traefik`,
                `vps:index:ReverseProxy::shop-${stack}-proxy`,
            ]);
            assert.deepEqual([...now].filter((u) => !own.has(u)).map(short), [
                `pulumi:pulumi:StackReference::shop-${stack}-edge`,
                // What it publishes for the host's monitoring (issue 13).
                `vps:index:MonitoringTargets::shop-${stack}-monitoring-targets`,
                `vps:index:MonitoringTargets$command:remote:Command::shop-${stack}-monitoring-targets-files`,
            ]);
        });
    }

    for (const stack of STACKS) {
        it(`keeps every URN of ${stack}, or aliases it from exactly one resource`, () => {
            const { kept, aliased, lost, ambiguous } = urnFates(fixture(stack), results[stack]);
            assert.deepEqual(lost, [], "URNs that would be deleted (and their resources created anew)");
            assert.deepEqual(ambiguous, [], "URNs kept and aliased at once, or aliased by several resources");
            assert.equal(kept.length + aliased.size, fixture(stack).length);
        });

        it(`records aliases as the engine's full URNs (${stack})`, () => {
            for (const r of results[stack].resources) {
                for (const alias of r.options.aliases) assert.match(alias, new RegExp(`^urn:pulumi:${stack}::vps-stacks::[^:]`), r.urn);
            }
        });
    }

    it("aliases exactly the renamed BackupStorage (with the children it created) and the freshness job moved out of RestoreCheck", () => {
        for (const stack of STACKS) {
            const { aliased } = urnFates(fixture(stack), results[stack]);
            const short = (urn: string) => urn.split("::").slice(2).join("::");
            const moved = [...aliased].map(([from, to]) => `${short(from)} -> ${short(to)}`).sort();
            const bucketChildren = fixture(stack).filter((r) => r.type !== "vps:index:BackupBucket" && r.parent?.endsWith(`vps:index:BackupBucket::shop-${stack}-backups`));
            assert.ok(bucketChildren.length >= 10, `${stack}: the bucket's children`);
            for (const child of bucketChildren) {
                assert.ok(moved.includes(`${short(child.urn)} -> ${short(child.urn).replace("vps:index:BackupBucket$", "vps:index:BackupStorage$")}`), `${stack}: ${child.name}`);
            }
            assert.deepEqual(
                moved.filter((m) => !m.startsWith("vps:index:BackupBucket$")),
                [
                    `vps:index:BackupBucket::shop-${stack}-backups -> vps:index:BackupStorage::shop-${stack}-backups`,
                    `vps:index:RestoreCheck$vps:index:ScheduledJob$command:remote:Command::shop-${stack}-restore-check-freshness-job-install -> vps:index:BackupFreshnessCheck$vps:index:ScheduledJob$command:remote:Command::shop-${stack}-backup-freshness-job-install`,
                    `vps:index:RestoreCheck$vps:index:ScheduledJob::shop-${stack}-restore-check-freshness-job -> vps:index:BackupFreshnessCheck$vps:index:ScheduledJob::shop-${stack}-backup-freshness-job`,
                ],
                stack,
            );
        }
    });
});
