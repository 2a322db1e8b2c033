/**
 * A host stack and an environment attached to it on the real engine (issue 16, 3.8; issue 12):
 * the environment resolves the host's outputs through a real `pulumi.StackReference` on the
 * file backend, and `pulumi destroy` of the environment removes no resource of the host stack,
 * which stays exactly as it was; the protected host stack itself deletes nothing on destroy.
 */
import { strict as assert } from "assert";
import * as path from "path";
import { VPS1_EDGE } from "../fixtures/host-config";
import { needCommand } from "../helpers/tools";
import { PULUMI_CLI, PULUMI_CLI_INSTALL } from "./cli";
import { calls, CONTAINER, describeMutations, DNS_RECORD } from "./expect";
import { explain, ROOT, Sandbox, StateResource } from "./harness";

const STACK_REFERENCE = "pulumi:pulumi:StackReference";

describe("engine: a host stack and an environment attached to it through a real StackReference", function () {
    let sandbox: Sandbox;
    let hostBefore: StateResource[];
    let broken: string | undefined;
    const needs = () => assert.ok(!broken, `an earlier step failed: ${broken}`);
    const hostState = () => sandbox.resources("vps1").map(({ urn, id, outputs }) => ({ urn, id, outputs }));

    before(async function () {
        needCommand(this, PULUMI_CLI, PULUMI_CLI_INSTALL);
        sandbox = Sandbox.create("host");
        // Creating staging creates the host stack it names (organization/vps-stacks/vps1) and brings it up.
        await sandbox.createStack({ name: "staging", file: path.join(ROOT, "Pulumi.staging.yaml"), overrides: { "backupStorage.adoptExisting": false } });
        hostBefore = sandbox.resources("vps1");
    });

    after(() => sandbox?.finish(this));

    it("brings the host stack up: its edge network, one proxy publishing 80/443, the protected ACME volume, and its edge output", async () => {
        const outputs = await sandbox.stack("vps1").outputs();
        assert.deepEqual(outputs.edge.value, VPS1_EDGE);
        const volume = hostBefore.find((r) => r.type === "docker:index/volume:Volume")!;
        assert.equal(volume.protect, true);
        assert.equal(volume.retainOnDelete, true);
    });

    it("3.8 up of staging resolves the host's outputs through the StackReference: network, labels, DNS address", async () => {
        const mark = sandbox.mark();
        const up = await sandbox.up("staging");
        if (!up.ok) broken = "up of staging";
        assert.ok(up.ok, explain(up));
        const journal = sandbox.since(mark);
        const reference = sandbox.resources("staging").find((r) => r.type === STACK_REFERENCE)!;
        assert.equal(reference.id, "organization/vps-stacks/vps1");
        assert.equal((reference.outputs!.outputs as { edge: { network: string } }).edge.network, "vps1-edge");
        const backend = calls(journal, "create", CONTAINER).find((e) => e.urn!.endsWith("::shop-staging-backend-container"))!;
        const labels = Object.fromEntries((backend.inputs!.labels as { label: string; value: string }[]).map((l) => [l.label, l.value]));
        assert.equal(labels["vps.edge"], "vps1");
        assert.equal(labels["traefik.docker.network"], "vps1-edge");
        assert.equal(labels["traefik.http.routers.shop-staging-backend.entrypoints"], "websecure");
        assert.deepEqual((backend.inputs!.networksAdvanced as { name: string }[]).map((n) => n.name), ["vps1-edge", "shop-staging-internal"]);
        for (const record of calls(journal, "create", DNS_RECORD).filter((e) => e.inputs!.type === "A")) assert.equal(record.inputs!.content, "203.0.113.10");
        assert.deepEqual(calls(journal, "create").filter((e) => e.urn!.startsWith("urn:pulumi:vps1::")), [], "staging's up creates nothing of the host's");
        assert.deepEqual(calls(journal, "create", CONTAINER).filter((e) => (e.inputs!.ports as unknown[] | undefined)?.length), [], "no staging container publishes a port");
    });

    it("3.8 destroy of staging deletes no resource of the host stack, which stays as it was", async () => {
        needs();
        const mark = sandbox.mark();
        const destroy = await sandbox.destroy("staging");
        assert.ok(destroy.ok, explain(destroy));
        const journal = sandbox.since(mark);
        assert.ok(calls(journal, "delete", CONTAINER).length > 0, "staging's containers are deleted");
        assert.deepEqual(journal.filter((e) => e.urn?.startsWith("urn:pulumi:vps1::") && e.method !== "read" && e.method !== "diff" && e.method !== "check").map((e) => `${e.method} ${e.urn}`), []);
        assert.deepEqual(hostState(), hostBefore.map(({ urn, id, outputs }) => ({ urn, id, outputs })));
        const preview = await sandbox.preview("vps1", { expectNoChanges: true });
        assert.ok(preview.ok, explain(preview));
    });

    it("refuses to destroy the protected host stack, deleting nothing (its destroy guard)", async () => {
        needs();
        const mark = sandbox.mark();
        const destroy = await sandbox.destroy("vps1");
        assert.equal(destroy.ok, false, "the guard refuses");
        assert.deepEqual(describeMutations(sandbox.since(mark)), [], "no provider deleted anything");
        assert.equal(sandbox.resources("vps1").length, hostBefore.length);
    });
});
