/**
 * The shipped staging stack's lifecycle on the real engine (issue 16, 3.3 to 3.5 and 3.7):
 * up from empty, a no-op up and refresh, a new application image and a new PostgreSQL
 * image, destroy, and up again; every assertion reads what the engine made the providers
 * do from the stand-ins' journal.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { needCommand } from "../helpers/tools";
import { PULUMI_CLI, PULUMI_CLI_INSTALL } from "./cli";
import {
    APPLICATION_TYPES,
    BUCKET,
    BUCKET_TYPES,
    calls,
    CONTAINER,
    describeMutations,
    named,
    replacement,
    VOLUME,
    volumeMutations,
} from "./expect";
import { explain, ROOT, Sandbox } from "./harness";
import { mutations, urnName } from "./stand-in/journal";

describe("engine: the staging stack's lifecycle", function () {
    let sandbox: Sandbox;
    let secrets: Record<string, string>;
    /** Set by a step the later ones build on, when it failed. */
    let broken: string | undefined;
    const needs = () => assert.ok(!broken, `an earlier step failed: ${broken}`);
    let firstVolumes: Map<string, string>;
    /** The resources a provider serves: not the providers themselves, nor the StackReference (the engine reads it itself). */
    const providerResources = () =>
        sandbox.resources("staging").filter((r) => r.id !== undefined && !r.type.startsWith("pulumi:providers:") && r.type !== "pulumi:pulumi:StackReference");

    before(async function () {
        needCommand(this, PULUMI_CLI, PULUMI_CLI_INSTALL);
        sandbox = Sandbox.create("staging");
        // The documented first run (Pulumi.staging.yaml): no bucket to adopt yet, so
        // adoptExisting is false for that one `pulumi up`.
        secrets = await sandbox.createStack({
            name: "staging",
            file: path.join(ROOT, "Pulumi.staging.yaml"),
            overrides: { "backupStorage.adoptExisting": false },
        });
    });

    after(() => sandbox?.finish(this));

    it("3.3 up from empty creates every resource and deletes nothing", async function () {
        const mark = sandbox.mark();
        const up = await sandbox.up("staging");
        if (!up.ok) broken = "up from empty";
        assert.ok(up.ok, explain(up));
        const journal = sandbox.since(mark);
        const custom = providerResources();
        assert.equal(calls(journal, "create").length, custom.length, describeMutations(journal).join("\n"));
        assert.deepEqual(calls(journal, "delete"), []);
        assert.deepEqual(calls(journal, "update"), []);
        firstVolumes = new Map(calls(journal, "create", VOLUME).map((e) => [e.urn!, e.id!]));
        assert.equal(firstVolumes.size, 3, "PostgreSQL's, Redis' and pgBackRest's spool (postgres.pitr); the certificates are the host stack's");
    });

    it("3.3 point-in-time recovery is deployed: the derived image, the store network, the spool volume, pgBackRest's own IAM user and the five jobs", function () {
        needs();
        const byName = (name: string) => sandbox.resources("staging").filter((r) => urnName(r.urn) === name);
        const image = byName("shop-staging-postgres-pitr-image")[0];
        assert.equal(image?.type, "docker:index/image:Image");
        const container = sandbox.resources("staging").find((r) => r.type === CONTAINER && urnName(r.urn) === "shop-staging-postgres-server-container")!;
        assert.equal(container.outputs!.image, image.outputs!.repoDigest, "PostgreSQL runs the image built on the VPS");
        assert.ok((container.outputs!.command as string[]).some((a) => a.startsWith("archive_command=pgbackrest")));
        assert.equal(byName("shop-staging-postgres-pitr-network")[0]?.outputs?.name, "shop-staging-pitr");
        const spool = sandbox.resources("staging").find((r) => r.type === VOLUME && r.outputs?.name === "shop-staging-pgbackrest");
        assert.ok(spool, "the spool volume is in the state");
        assert.equal(spool.retainOnDelete, true);
        assert.equal(byName("shop-staging-pitr-repository-writer")[0]?.outputs?.name, "shop-staging-pitr");
        const jobs = sandbox.resources("staging").filter((r) => r.type === "vps:index:ScheduledJob" && /-pitr-/.test(String(r.outputs?.unitName)));
        assert.deepEqual(jobs.map((j) => String(j.outputs?.unitName)).sort(), ["full", "diff", "lag-check", "marker", "restore-check"].map((k) => `shop-staging-pitr-${k}`).sort());
    });

    it("3.3 a second up of the unchanged program changes nothing (--expect-no-changes)", async function () {
        needs();
        const mark = sandbox.mark();
        const up = await sandbox.up("staging", { expectNoChanges: true });
        assert.ok(up.ok, explain(up));
        const journal = sandbox.since(mark);
        assert.deepEqual(describeMutations(journal), []);
        const diffs = calls(journal, "diff");
        assert.ok(diffs.length > 0, "the engine diffed every resource");
        assert.deepEqual(diffs.filter((d) => d.decision !== "none").map((d) => `${d.urn}: ${d.changes}`), []);
    });

    it("3.3 preview --refresh --expect-no-changes reads every resource back and finds nothing to do", async function () {
        needs();
        const mark = sandbox.mark();
        const preview = await sandbox.preview("staging", { refresh: true, expectNoChanges: true });
        assert.ok(preview.ok, explain(preview));
        const journal = sandbox.since(mark);
        const reads = calls(journal, "read");
        const custom = providerResources();
        assert.equal(reads.length, custom.length);
        assert.ok(reads.every((r) => r.found));
        assert.deepEqual(describeMutations(journal), []);
    });

    /** Sets a new image, runs `pulumi up`, and returns the journal and the container's replacement calls. */
    async function newImage(key: string, image: string, container: string) {
        const old = sandbox.resources("staging").find((r) => r.type === CONTAINER && urnName(r.urn) === container)!;
        const { up, journal } = await sandbox.upWith("staging", { [key]: image });
        if (!up.ok) broken = `up with a new ${key}`;
        assert.ok(up.ok, explain(up));
        const next = replacement(journal, container, old.id);
        assert.ok(next.created >= 0 && next.deleted >= 0, describeMutations(journal).join("\n"));
        assert.deepEqual(volumeMutations(journal), [], "no volume touched");
        return { old, journal, ...next };
    }

    it("3.4 a new application image replaces its container create-before-delete, and touches no volume", async function () {
        needs();
        const { old, journal, ...backend } = await newImage("services.backend.image", "ghcr.io/acme/shop-api:sha-4e5f6a7", "shop-staging-backend-container");
        const diff = calls(backend.calls, "diff")[0];
        assert.deepEqual(diff.replaces, ["image"]);
        assert.equal(diff.deleteBeforeReplace, true, "pulumi-docker asks for delete-before-replace on every container");
        assert.ok(backend.created < backend.deleted, "the program's explicit deleteBeforeReplace: false wins: the new container starts before the old one is deleted");
        assert.notEqual(backend.calls[backend.created].inputs!.name, old.outputs!.name, "the new container has a fresh auto-name beside the old one");
        assert.deepEqual(mutations(named(journal, "shop-staging-postgres-server-container")), [], "PostgreSQL is untouched");
    });

    it("3.4 a new PostgreSQL image replaces its container delete-before-replace, and touches no volume", async function () {
        needs();
        const { old, journal, ...postgres } = await newImage("postgres.image", "postgres:16.7-alpine", "shop-staging-postgres-server-container");
        assert.deepEqual(calls(postgres.calls, "diff")[0].replaces, ["image"]);
        assert.ok(postgres.deleted < postgres.created, "two PostgreSQL servers never share the data volume: the old one is gone first");
        assert.equal(postgres.calls[postgres.created].inputs!.name, "shop-staging-postgres", "the fixed name comes back");
        const image = named(journal, "shop-staging-postgres-server-image");
        assert.deepEqual(calls(image, "diff")[0].replaces, ["name"]);
        // With PITR the new base is rebuilt in place (a native resource: an update), and the
        // container runs the new build.
        const derived = named(journal, "shop-staging-postgres-pitr-image");
        assert.equal(calls(derived, "diff")[0].decision, "update");
        assert.equal((calls(derived, "update")[0].inputs!.build as { args: Record<string, string> }).args.BASE_IMAGE, "postgres:16.7-alpine");
        const state = (name: string) => sandbox.resources("staging").find((r) => urnName(r.urn) === name)!;
        const rebuilt = state("shop-staging-postgres-pitr-image").outputs!.repoDigest;
        assert.notEqual(rebuilt, old.outputs!.image, "a new build, a new image id");
        assert.equal(state("shop-staging-postgres-server-container").outputs!.image, rebuilt);
    });

    it("3.7 the state holds none of the stack's secret values in plain text", async function () {
        needs();
        // A job's install carries its env file on stdin as one base64 line: the search also
        // reads every base64 line of every string, in the state as in what the providers got.
        const strings = (v: unknown): string[] => (typeof v === "string" ? [v] : v && typeof v === "object" ? Object.values(v).flatMap(strings) : []);
        const withDecoded = (v: unknown) => {
            const all = strings(v);
            const lines = all.flatMap((x) => x.split("\n")).filter((l) => /^[A-Za-z0-9+/]{8,}={0,2}$/.test(l));
            return [...all, ...lines.map((l) => Buffer.from(l, "base64").toString("utf8"))].join("\n");
        };
        const stateText = fs.readFileSync(sandbox.stateFile("staging"), "utf8");
        const state = stateText + "\n" + withDecoded(JSON.parse(stateText));
        const world = withDecoded(sandbox.world().all());
        const accessKey = sandbox.world().all().find((e) => e.type === "aws:iam/accessKey:AccessKey")!;
        const values = {
            ...secrets,
            sshPrivateKeyBody: secrets.sshPrivateKey.split("\n")[1],
            backupSecretAccessKey: String((accessKey.outputs.secret as { value: string }).value),
        };
        for (const [key, value] of Object.entries(values)) {
            assert.ok(world.includes(value) || key.startsWith("sshPrivateKey"), `${key} reached a provider (the search below can find it)`);
            assert.ok(!state.includes(value), `${key} is in the state file in plain text`);
        }
        assert.ok(stateText.includes('"ciphertext"'), "secrets are in the state, encrypted");
    });

    it("3.5 destroy deletes every container, network, DNS record and job, and no volume or bucket", async function () {
        needs();
        const application = sandbox.resources("staging").filter((r) => APPLICATION_TYPES.includes(r.type));
        const mark = sandbox.mark();
        const destroy = await sandbox.destroy("staging");
        if (!destroy.ok) broken = "destroy";
        assert.ok(destroy.ok, explain(destroy));
        const journal = sandbox.since(mark);
        const deleted = calls(journal, "delete");
        const deletedIds = new Set(deleted.map((e) => `${e.urn} ${e.id}`));
        assert.deepEqual(application.filter((r) => !deletedIds.has(`${r.urn} ${r.id}`)).map((r) => r.urn), [], "not deleted");
        for (const type of APPLICATION_TYPES) assert.ok(application.some((r) => r.type === type), `staging has a ${type}`);
        assert.deepEqual(deleted.filter((e) => e.type === VOLUME || BUCKET_TYPES.includes(e.type!)).map((e) => e.urn), []);
        assert.deepEqual(sandbox.resources("staging"), [], "the state is empty");
        // Everything that was in the stack and is not retained is gone from the world.
        // The host stack staging is attached to (vps1) keeps everything it has.
        const left = sandbox.world().all().filter((e) => e.urn.startsWith("urn:pulumi:staging::")).map((e) => e.type);
        assert.deepEqual([...new Set(left)].sort(), [...BUCKET_TYPES.filter((t) => !t.includes("ObjectLock")), VOLUME].sort());
    });

    it("3.5 up again (adopting the retained bucket) brings the volumes back under the same names", async function () {
        needs();
        await sandbox.setConfig("staging", { "backupStorage.adoptExisting": "true" });
        const mark = sandbox.mark();
        const up = await sandbox.up("staging");
        assert.ok(up.ok, explain(up));
        const journal = sandbox.since(mark);
        const volumes = calls(journal, "create", VOLUME);
        assert.deepEqual(new Map(volumes.map((e) => [e.urn!, e.id!])), firstVolumes);
        assert.ok(volumes.every((e) => e.existed), "each volume was still there");
        assert.deepEqual(calls(journal, "create", BUCKET), [], "the bucket is imported, not created");
        assert.ok(calls(journal, "read", BUCKET).some((e) => e.found), "the import read the retained bucket");
        assert.deepEqual(calls(journal, "delete"), []);
    });
});
