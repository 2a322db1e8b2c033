/**
 * The shipped production stack on the real engine (issue 16, 3.6): the destroy guard
 * makes an accidental `pulumi destroy` delete nothing; lifted on purpose with `pulumi
 * state unprotect`, destroy removes the application and still refuses the protected data;
 * and an ordinary `pulumi up` that replaces PostgreSQL (delete-before-replace) works with
 * the guard in place.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { needCommand } from "../helpers/tools";
import { PULUMI_CLI, PULUMI_CLI_INSTALL } from "./cli";
import { APPLICATION_TYPES, BUCKET_TYPES, calls, CONTAINER, describeMutations, replacement, VOLUME, volumeMutations } from "./expect";
import { urnName } from "./stand-in/journal";
import { explain, ROOT, Sandbox } from "./harness";

const GUARD = "vps:index:DestroyGuard";
const POSTGRES_IMAGE = "postgres:16.7-alpine@sha256:7a1f0e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5";
const BACKEND_IMAGE = "ghcr.io/acme/shop-api:1.14.3@sha256:1b2c3d4e5f60718293a4b5c6d7e8f9010a1b2c3d4e5f60718293a4b5c6d7e8f9";

describe("engine: the production stack and its destroy guard", function () {
    let sandbox: Sandbox;
    let secrets: Record<string, string>;
    let broken: string | undefined;
    const needs = () => assert.ok(!broken, `an earlier step failed: ${broken}`);
    // A StackReference (to the host stack) is read, never deleted: destroy only drops it from the state.
    const custom = () =>
        sandbox.resources("production").filter((r) => r.id !== undefined && !r.type.startsWith("pulumi:providers:") && r.type !== "pulumi:pulumi:StackReference");
    const guardUrn = () => sandbox.resources("production").find((r) => r.type === GUARD)?.urn;

    before(async function () {
        needCommand(this, PULUMI_CLI, PULUMI_CLI_INSTALL);
        sandbox = Sandbox.create("production");
        secrets = await sandbox.createStack({ name: "production", file: path.join(ROOT, "Pulumi.production.yaml") });
        const up = await sandbox.up("production");
        if (!up.ok) broken = "up from empty";
        assert.ok(up.ok, explain(up));
    });

    after(() => sandbox?.finish(this));

    it("the guard is in the state, protected, and depends on every other resource", () => {
        needs();
        const state = sandbox.resources("production");
        const guard = state.find((r) => r.type === GUARD);
        assert.ok(guard, "no DestroyGuard in the production state");
        assert.equal(guard.protect, true);
        const deps = new Set(guard.dependencies ?? []);
        assert.deepEqual(custom().filter((r) => !deps.has(r.urn)).map((r) => r.urn), []);
    });

    it("with the guard, a new PostgreSQL image is still replaced delete-before-replace, and a new back end create-before-delete", async () => {
        needs();
        const old = (name: string) => custom().find((r) => r.type === CONTAINER && urnName(r.urn) === name)!.id;
        const oldPostgres = old("shop-production-postgres-server-container");
        const oldBackend = old("shop-production-backend-container");
        const { up, journal } = await sandbox.upWith("production", { "postgres.image": POSTGRES_IMAGE, "services.backend.image": BACKEND_IMAGE });
        assert.ok(up.ok, explain(up));
        const postgres = replacement(journal, "shop-production-postgres-server-container", oldPostgres);
        assert.ok(postgres.deleted >= 0 && postgres.deleted < postgres.created, describeMutations(journal).join("\n"));
        const backend = replacement(journal, "shop-production-backend-container", oldBackend);
        assert.ok(backend.created >= 0 && backend.created < backend.deleted, describeMutations(journal).join("\n"));
        assert.deepEqual(volumeMutations(journal), []);
        assert.equal(sandbox.resources("production").find((r) => r.type === GUARD)?.protect, true);
    });

    it("with the guard, removing a service from the config deletes its container, image and DNS records", async () => {
        needs();
        const frontend = custom().filter((r) => r.urn.includes("shop-production-frontend") || r.urn.includes("app.example.com"));
        assert.ok(frontend.length >= 4, "the front end's container, image and DNS records");
        await sandbox.removeConfig("production", ["services.frontend"]);
        const mark = sandbox.mark();
        const up = await sandbox.up("production");
        assert.ok(up.ok, explain(up));
        const deleted = new Set(calls(sandbox.since(mark), "delete").map((e) => e.urn));
        assert.deepEqual(frontend.filter((r) => !deleted.has(r.urn)).map((r) => r.urn), []);
        assert.equal(sandbox.resources("production").find((r) => r.type === GUARD)?.protect, true);
    });

    it("3.6 an accidental destroy fails on the guard and deletes nothing at all", async () => {
        needs();
        const before = custom().length;
        const mark = sandbox.mark();
        const destroy = await sandbox.destroy("production");
        assert.equal(destroy.ok, false, "destroy of production must fail");
        assert.match(destroy.stderr + destroy.stdout, /shop-production-destroy-guard/);
        assert.match(destroy.stderr + destroy.stdout, /protected/);
        assert.deepEqual(calls(sandbox.since(mark), "delete"), [], "not one resource deleted");
        assert.equal(custom().length, before);
    });

    it("3.6 after `pulumi state unprotect` of the guard, destroy removes the application and still refuses the protected data", async () => {
        needs();
        const urn = guardUrn()!;
        const unprotect = await sandbox.cli(["state", "unprotect", urn, "--yes", "--stack", "production"]);
        assert.equal(unprotect.code, 0, unprotect.stderr);
        const mark = sandbox.mark();
        const destroy = await sandbox.destroy("production");
        assert.equal(destroy.ok, false, "the protected volumes and bucket still fail the destroy");
        const deleted = calls(sandbox.since(mark), "delete");
        for (const type of APPLICATION_TYPES) assert.ok(deleted.some((e) => e.type === type), `no delete of any ${type}`);
        assert.deepEqual(deleted.filter((e) => e.type === VOLUME || BUCKET_TYPES.includes(e.type!)).map((e) => e.urn), []);
        // Left: the protected data, and the one resource it depends on (the host's preflight).
        const left = custom().map((r) => `${r.type}${r.protect ? " [protect]" : ""}`).sort();
        assert.deepEqual(left, [
            "aws:s3/bucket:Bucket [protect]",
            "command:remote:Command",
            `${VOLUME} [protect]`,
            `${VOLUME} [protect]`,
            `${VOLUME} [protect]`,
        ]);
        assert.ok(custom().some((r) => r.urn.endsWith("::shop-production-host-preflight")));
        assert.equal(sandbox.resources("production").some((r) => r.type === GUARD), false, "the lifted guard is gone");
    });

    it("3.7 the production state holds none of the stack's secret values in plain text", () => {
        needs();
        const state = fs.readFileSync(sandbox.stateFile("production"), "utf8");
        for (const [key, value] of Object.entries(secrets)) assert.ok(!state.includes(value), `${key} is in the state file in plain text`);
    });
});
