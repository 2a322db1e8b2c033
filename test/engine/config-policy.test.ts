/**
 * The CLI's own checks on every stack file (issue 16, 3.1 and 3.2): config validation
 * against Pulumi.yaml's declarations, and `pulumi preview --policy-pack` with the pack
 * running through the CLI's analyzer protocol.
 */
import { strict as assert } from "assert";
import * as path from "path";
import { synthShippedStack } from "../helpers/synth";
import { needCommand } from "../helpers/tools";
import { PULUMI_CLI, PULUMI_CLI_INSTALL } from "./cli";
import { BUCKET } from "./expect";
import { ensurePolicyPackInstalled, explain, OperationResult, PROJECT, ROOT, Sandbox } from "./harness";

/** The `[level] policy (type: name)` lines of the CLI's "Policies:" section. */
function policyViolations(stdout: string): { level: string; policy: string; resource: string }[] {
    const found = [];
    const re = /^\s+- \[(mandatory|advisory)\]\s+(\S+)\s+\((.+?)\)\s*$/gm;
    for (let m = re.exec(stdout); m; m = re.exec(stdout)) found.push({ level: m[1], policy: m[2], resource: m[3] });
    return found;
}

const STACKS = {
    staging: path.join(ROOT, "Pulumi.staging.yaml"),
    production: path.join(ROOT, "Pulumi.production.yaml"),
    broken: path.join(ROOT, "test", "fixtures", "broken-stack", "Pulumi.broken.yaml"),
};

describe("engine: config validation and the policy pack through the CLI", function () {
    let sandbox: Sandbox;
    const previews: Record<string, OperationResult> = {};

    before(async function () {
        needCommand(this, PULUMI_CLI, PULUMI_CLI_INSTALL);
        ensurePolicyPackInstalled();
        sandbox = Sandbox.create("config");
        for (const [name, file] of Object.entries(STACKS)) await sandbox.createStack({ name, file });
        // The shipped staging adopts its retained bucket (adoptExisting: true): put the
        // bucket an earlier staging left behind into the stand-ins' world.
        const synth = await synthShippedStack("staging");
        const bucket = synth.result!.resources.find((r) => r.type === BUCKET)!;
        sandbox.seed("aws", bucket.urn.replace(/^urn:pulumi:[^:]+::[^:]+::/, `urn:pulumi:staging::${PROJECT}::`), bucket.props);
        for (const name of Object.keys(STACKS)) previews[name] = await sandbox.preview(name, { policyPack: true });
        // The host stack the shipped environments attach to (created and brought up with staging).
        previews.vps1 = await sandbox.preview("vps1", { policyPack: true });
    });

    after(() => sandbox?.finish(this));

    for (const name of [...Object.keys(STACKS), "vps1"]) {
        it(`3.1 ${name}: the CLI accepts the stack file against Pulumi.yaml's declared keys`, () => {
            const text = previews[name].stderr + previews[name].stdout;
            assert.doesNotMatch(text, /validating stack config|missing configuration value/, explain(previews[name]));
            assert.match(previews[name].stdout, /Policies:/, `the program ran up to the policy pack: ${explain(previews[name])}`);
        });
    }

    it("3.1 a stack file without a declared key fails the CLI's validation, naming the key", async () => {
        await sandbox.createStack({ name: "incomplete", file: STACKS.staging, overrides: { host: undefined } });
        const preview = await sandbox.preview("incomplete");
        assert.equal(preview.ok, false);
        assert.match(preview.stderr + preview.stdout, /Stack 'incomplete' is missing configuration value 'host'/);
    });

    for (const name of ["staging", "production", "vps1"]) {
        it(`3.2 ${name}: preview --policy-pack passes through the real analyzer, with no mandatory violation`, () => {
            const preview = previews[name];
            assert.ok(preview.ok, explain(preview));
            assert.match(preview.stdout, /vps-stacks-policies@v0\.1\.0/);
            assert.deepEqual(policyViolations(preview.stdout).filter((v) => v.level === "mandatory"), []);
        });
    }

    it("3.2 the broken fixture fails the preview, and the CLI names each mandatory violation", () => {
        const preview = previews.broken;
        assert.equal(preview.ok, false, "a mandatory violation fails the preview");
        const mandatory = policyViolations(preview.stdout).filter((v) => v.level === "mandatory");
        const has = (policy: string, resource: string) =>
            assert.ok(mandatory.some((v) => v.policy === policy && v.resource.includes(`: ${resource}`)), `${policy} on ${resource}:\n${explain(preview)}`);
        has("production-data-protected", "shop-production-postgres-data-volume");
        has("production-data-protected", "shop-production-redis-data-volume");
        has("image-digest-production", "shop-production-backend-image");
        has("container-healthcheck", "shop-production-backend-container");
        has("container-wait", "shop-production-backend-container");
        has("container-log-rotation", "shop-production-backend-container");
        has("container-memory-limit", "shop-production-backend-container");
        has("no-plain-secret-env", "shop-production-backend-container");
        has("data-volumes-backed-up", "shop-production-postgres-data-volume");
        assert.ok(policyViolations(preview.stdout).some((v) => v.level === "advisory" && v.policy === "container-capabilities"));
    });
});
