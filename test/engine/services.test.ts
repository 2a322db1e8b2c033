/**
 * Issue 11 on the real engine: the services fixture (an API with 3 replicas and a release
 * command, a worker with 2 replicas, an object store with its own volume) from empty, then a
 * new API image and a new object-store image; what the engine made the providers do, in order,
 * read from the stand-ins' journal.
 */
import { strict as assert } from "assert";
import { randomBytes } from "crypto";
import * as path from "path";
import { needCommand } from "../helpers/tools";
import { PULUMI_CLI, PULUMI_CLI_INSTALL } from "./cli";
import { calls, CONTAINER, describeMutations, named, VOLUME, volumeMutations } from "./expect";
import { defaultSecrets, explain, ROOT, Sandbox } from "./harness";
import { JournalEntry, urnName } from "./stand-in/journal";

const FIXTURE = path.join(ROOT, "test", "fixtures", "services-stack", "Pulumi.services.yaml");
const token = () => randomBytes(12).toString("hex");

/** The position in `journal` of the first non-preview call of `method` for the resource named `name` (with `id` when given). */
function at(journal: JournalEntry[], method: string, name: string, id?: string): number {
    return journal.findIndex((e) => e.method === method && !e.preview && e.urn !== undefined && urnName(e.urn) === name && (id === undefined || e.id === id));
}

describe("engine: services with replicas, a release command and their own volume (issue 11)", function () {
    let sandbox: Sandbox;
    let broken: string | undefined;
    const needs = () => assert.ok(!broken, `an earlier step failed: ${broken}`);

    before(async function () {
        needCommand(this, PULUMI_CLI, PULUMI_CLI_INSTALL);
        sandbox = Sandbox.create("services");
        await sandbox.createStack({
            name: "services",
            file: FIXTURE,
            secrets: {
                ...defaultSecrets(),
                redisPassword: `redis-${token()}`,
                backupAccessKeyId: `AKIA${token()}`,
                backupSecretAccessKey: `secret-${token()}`,
                openaiApiKey: `sk-${token()}`,
                storageSecretKey: `storage-${token()}`,
                adminUsers: `ops:ops-password-${token()}`,
            },
        });
    });

    after(() => sandbox?.finish(this));

    const containerIds = (prefix: string) =>
        new Map(sandbox.resources("services").filter((r) => r.type === CONTAINER && urnName(r.urn).startsWith(prefix)).map((r) => [urnName(r.urn), r.id!]));

    it("up from empty runs the release before any API replica is created, and creates the replicas one after another", async function () {
        const mark = sandbox.mark();
        const up = await sandbox.up("services");
        if (!up.ok) broken = "up from empty";
        assert.ok(up.ok, explain(up));
        const journal = sandbox.since(mark);
        const release = at(journal, "create", "saas-services-api-release-run");
        const replicas = ["saas-services-api-container", "saas-services-api-container-2", "saas-services-api-container-3"].map((n) => at(journal, "create", n));
        assert.ok(release >= 0 && replicas.every((i) => i > release), `release at ${release}, replicas at ${replicas}`);
        assert.deepEqual([...replicas].sort((a, b) => a - b), replicas, "the replicas are created in order, each after the one before is healthy");
        assert.equal(calls(journal, "create", VOLUME).length, 4, "postgres, redis, acme and the storage service's data, each created once");
    });

    it("a new API image runs the release first, then replaces the replicas one at a time, create before delete: never zero healthy replicas", async function () {
        needs();
        const old = containerIds("saas-services-api-container");
        assert.equal(old.size, 3);
        const { up, journal } = await sandbox.upWith("services", { "services.api.image": "ghcr.io/acme/saas-api:1.9.0", "services.worker.image": "ghcr.io/acme/saas-api:1.9.0" });
        if (!up.ok) broken = "up with a new API image";
        assert.ok(up.ok, explain(up));
        const release = at(journal, "create", "saas-services-api-release-run");
        assert.ok(release >= 0, "the release ran again for the new image");
        const names = [...old.keys()].sort();
        const created = names.map((n) => at(journal, "create", n));
        const deleted = names.map((n) => at(journal, "delete", n, old.get(n)));
        assert.ok(created.every((i) => i > release), "no replica of the new version before the release");
        assert.deepEqual([...created].sort((a, b) => a - b), created, "one at a time, in order");
        for (let i = 0; i < names.length; i++) assert.ok(created[i] >= 0 && deleted[i] > created[i], `${names[i]}: created at ${created[i]}, old deleted at ${deleted[i]}`);
        // Walk the journal: the API's live containers never drop to zero.
        let live = 3;
        for (const e of journal.filter((x) => !x.preview && x.type === CONTAINER && x.urn && urnName(x.urn).startsWith("saas-services-api-container"))) {
            if (e.method === "create") live++;
            if (e.method === "delete") live--;
            assert.ok(live >= 3, `live API containers fell to ${live} at ${e.method} ${urnName(e.urn!)}`);
        }
        assert.deepEqual(volumeMutations(journal), [], "no volume touched");
    });

    it("a new object-store image replaces its container delete-first (two containers must not write one volume) and keeps the volume", async function () {
        needs();
        const [oldId] = containerIds("saas-services-storage-container").values();
        const { up, journal } = await sandbox.upWith("services", { "services.storage.image": "ghcr.io/acme/object-store:2.2.0" });
        assert.ok(up.ok, explain(up));
        const own = named(journal, "saas-services-storage-container");
        const deleted = own.findIndex((e) => e.method === "delete" && e.id === oldId);
        const created = own.findIndex((e) => e.method === "create" && !e.preview);
        assert.ok(deleted >= 0 && created > deleted, describeMutations(journal).join("\n"));
        assert.equal(own[created].inputs!.name, "saas-services-storage", "the fixed name comes back");
        assert.deepEqual(volumeMutations(journal), [], "the storage volume is untouched");
    });

    it("an unchanged program changes nothing, the release included", async function () {
        needs();
        const mark = sandbox.mark();
        const up = await sandbox.up("services", { expectNoChanges: true });
        assert.ok(up.ok, explain(up));
        assert.deepEqual(describeMutations(sandbox.since(mark)), []);
    });
});
