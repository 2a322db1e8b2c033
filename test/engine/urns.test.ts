/**
 * URNs on the real engine (issue 14): the URNs the offline synth reports are the ones the
 * engine records, and the aliases of the layout change move a deployed stack onto the new
 * URNs. The stack from before the change is rebuilt in the state: the staging stack is brought
 * up, its state exported, every resource that the change renamed or moved put back under its
 * URN and parent of test/fixtures/urns-before-layout (the component that did not exist then
 * left out), and imported; the next `pulumi up` must delete, create and replace nothing.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { SynthResource } from "../../tools/synth/synthesize";
import { selfContainedStackFile, synthOnce } from "../helpers/synth";
import { parseDocument } from "yaml";
import { needCommand } from "../helpers/tools";
import { PULUMI_CLI, PULUMI_CLI_INSTALL } from "./cli";
import { describeMutations } from "./expect";
import { explain, ROOT, Sandbox } from "./harness";

interface FixtureResource {
    urn: string;
    type: string;
    parent: string | null;
}

interface StateResource {
    urn: string;
    type: string;
    custom?: boolean;
    parent?: string;
    dependencies?: string[];
    propertyDependencies?: Record<string, string[]>;
    [key: string]: unknown;
}

/** A stack file without postgres.pitr and its passphrase key, written as Pulumi.<stack>.yaml in a directory of its own. */
function withoutPitr(file: string): string {
    const doc = parseDocument(fs.readFileSync(file, "utf8"));
    doc.deleteIn(["config", "vps-stacks:postgres", "pitr"]);
    doc.deleteIn(["config", "vps-stacks:pitrPassphrase"]);
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "urns-without-pitr-")), path.basename(file));
    fs.writeFileSync(out, doc.toString());
    return out;
}

/** What the engine adds to a stack on its own: the stack resource and the default providers. */
const engineOwn = (r: { urn: string; type: string }) => r.type === "pulumi:pulumi:Stack" || /::pulumi:providers:[\w-]+::default(_[\w_]+)?$/.test(r.urn);

describe("engine: URNs and the aliases of the layout change", function () {
    let sandbox: Sandbox;
    let synth: SynthResource[];
    let previous: FixtureResource[];

    before(async function () {
        needCommand(this, PULUMI_CLI, PULUMI_CLI_INSTALL);
        // The fixture is of a self-contained staging (a proxy of its own, before the host stack)
        // and predates point-in-time recovery (issue 17), whose resources are new, not moved: the
        // stack is synthesized and deployed as it was then, without postgres.pitr.
        const file = withoutPitr(selfContainedStackFile("staging"));
        const run = await synthOnce("self-contained-staging-without-pitr", ["--config-file", file]);
        assert.equal(run.code, 0, run.stderr);
        synth = run.result!.resources;
        assert.ok(!synth.some((r) => /pitr|pgbackrest/.test(r.urn)), "no PITR resource in the synth");
        previous = JSON.parse(fs.readFileSync(path.join(ROOT, "test", "fixtures", "urns-before-layout", "staging.json"), "utf8")).resources;
        sandbox = Sandbox.create("urns");
        await sandbox.createStack({ name: "staging", file, overrides: { "backupStorage.adoptExisting": false } });
        const up = await sandbox.up("staging");
        assert.ok(up.ok, explain(up));
    });

    after(() => sandbox?.finish(this));

    it("records exactly the URNs the synth reports", () => {
        const recorded = sandbox.resources("staging").filter((r) => !engineOwn(r)).map((r) => r.urn).sort();
        assert.deepEqual(recorded, synth.map((r) => r.urn).sort());
    });

    it("moves a stack deployed before the layout change onto the new URNs, deleting, creating and replacing nothing", async () => {
        // The former URN of each resource the change renamed or moved, as the synth records it.
        const oldUrns = new Set(previous.map((r) => r.urn));
        const formerUrn = new Map<string, string>();
        for (const r of synth) {
            const old = r.options.aliases.filter((a) => oldUrns.has(a));
            if (!oldUrns.has(r.urn) && old.length === 1) formerUrn.set(r.urn, old[0]);
        }
        assert.equal(formerUrn.size, 13, "the renamed BackupStorage with its 10 children, the moved freshness job and its install command");
        const fixture = new Map(previous.map((r) => [r.urn, r]));
        const rename = (urn: string) => formerUrn.get(urn) ?? urn;

        const exported = path.join(sandbox.dir, "before-layout.json");
        const out = await sandbox.cli(["stack", "export", "--stack", "staging", "--file", exported]);
        assert.equal(out.code, 0, out.stderr);
        const doc = JSON.parse(fs.readFileSync(exported, "utf8"));
        const resources = (doc.deployment.resources as StateResource[])
            .filter((r) => engineOwn(r) || oldUrns.has(rename(r.urn)))
            .map((r) => {
                const urn = rename(r.urn);
                const renamed: StateResource = { ...r, urn };
                if (r.parent !== undefined) renamed.parent = fixture.get(urn)?.parent ?? rename(r.parent);
                if (r.dependencies) renamed.dependencies = r.dependencies.map(rename);
                if (r.propertyDependencies) {
                    renamed.propertyDependencies = Object.fromEntries(Object.entries(r.propertyDependencies).map(([k, v]) => [k, v.map(rename)]));
                }
                return renamed;
            });
        assert.deepEqual(resources.filter((r) => !engineOwn(r)).map((r) => r.urn).sort(), [...oldUrns].sort(), "the rebuilt state holds the URNs from before the change");
        doc.deployment.resources = resources;
        fs.writeFileSync(exported, JSON.stringify(doc));
        const imported = await sandbox.cli(["stack", "import", "--stack", "staging", "--file", exported]);
        assert.equal(imported.code, 0, imported.stderr);

        const mark = sandbox.mark();
        const up = await sandbox.up("staging");
        assert.ok(up.ok, explain(up));
        assert.deepEqual(describeMutations(sandbox.since(mark)), [], "no provider created, updated or deleted anything");
        // The one new resource is the BackupFreshnessCheck component, which has no provider.
        assert.equal(up.changes.created, 1, explain(up));
        for (const word of ["deleted", "replaced", "updated"]) assert.equal(up.changes[word], undefined, `${word}: ${explain(up)}`);
        const after = sandbox.resources("staging").filter((r) => !engineOwn(r)).map((r) => r.urn).sort();
        assert.deepEqual(after, synth.map((r) => r.urn).sort(), "the state holds the new URNs");
    });
});
