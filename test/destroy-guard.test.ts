/**
 * The production destroy guard in the synthesized graph: present exactly when the stack
 * protects its data, protected itself, and depending on every other resource of the
 * stack. That `pulumi destroy` then deletes nothing is proven on the real engine
 * (test/engine/production.test.ts).
 */
import { strict as assert } from "assert";
import { DestroyGuard } from "../components/lifecycle/destroy-guard";
import type { SynthResource, SynthResult } from "../tools/synth/synthesize";
import { synthShippedStack } from "./helpers/synth";

const GUARD = "vps:index:DestroyGuard";

/** Every resource whose URN is in `roots` or whose parent chain reaches one. */
function covered(result: SynthResult, roots: string[]): Set<string> {
    const byUrn = new Map(result.resources.map((r) => [r.urn, r]));
    const seen = new Set<string>();
    for (const r of result.resources) {
        for (let cur: SynthResource | undefined = r; cur; cur = cur.parent ? byUrn.get(cur.parent) : undefined) {
            if (roots.includes(cur.urn)) {
                seen.add(r.urn);
                break;
            }
        }
    }
    return seen;
}

describe("DestroyGuard", () => {
    let production: SynthResult;
    let staging: SynthResult;

    before(async function () {
        this.timeout(120000);
        const [p, s] = await Promise.all([synthShippedStack("production"), synthShippedStack("staging")]);
        assert.equal(p.code, 0, p.stderr);
        assert.equal(s.code, 0, s.stderr);
        production = p.result!;
        staging = s.result!;
    });

    it("guards production (protectData: true) with one protected component", () => {
        const guards = production.resources.filter((r) => r.type === GUARD);
        assert.equal(guards.length, 1);
        assert.equal(guards[0].name, "shop-production-destroy-guard");
        assert.equal(guards[0].options.protect, true);
        assert.equal(guards[0].options.retainOnDelete, false);
    });

    it("depends on every other resource of the stack, so the engine must delete it first", () => {
        const guard = production.resources.find((r) => r.type === GUARD)!;
        const reached = covered(production, guard.options.dependsOn);
        // A StackReference is read, never deleted: destroy only drops it from the state.
        const missing = production.resources
            .filter((r) => r.urn !== guard.urn && r.type !== "pulumi:pulumi:StackReference" && !reached.has(r.urn))
            .map((r) => `${r.type} ${r.name}`);
        assert.deepEqual(missing, []);
    });

    it("is absent where data is not protected (staging is destroyed after every production deploy)", () => {
        assert.equal(staging.resources.filter((r) => r.type === GUARD).length, 0);
    });

    it("refuses to guard nothing, naming itself", () => {
        assert.throws(() => new DestroyGuard("g", { covers: [] }), /DestroyGuard g: covers must list/);
    });
});
