/**
 * Contract tests: what the program sends each provider, checked against what the real
 * provider does with it (cited per test). The mocks accept any input; these tests read the
 * synth graph of both shipped stacks and fail when an input is sent in a form the provider
 * would read back differently (a diff, or a replacement, on every `pulumi up`) or would
 * refuse.
 */
import { strict as assert } from "assert";
import type { SynthResource, SynthResult } from "../tools/synth/synthesize";
import { cpusReadBack, durationNanos, goDurationString, nanoCpus } from "../components/docker/docker-forms";
import { synthShippedStack } from "./helpers/synth";

const stacks: Record<string, SynthResult> = {};
const ofType = (type: string) => Object.entries(stacks).flatMap(([stack, r]) => r.resources.filter((x) => x.type === type).map((x) => ({ stack, r: x })));
const at = (stack: string, r: SynthResource) => `${stack}: ${r.name}`;

describe("provider contract: inputs in the form the provider reads back", function () {
    before(async function () {
        this.timeout(120000);
        for (const stack of ["staging", "production", "vps1"] as const) {
            const run = await synthShippedStack(stack);
            assert.equal(run.code, 0, run.stderr);
            stacks[stack] = run.result!;
        }
    });

    describe("docker:index/container:Container (kreuzwerker v4.5.0)", () => {
        it("sends cpus as nanoInt64ToDecimalString reads it back (ForceNew: any other form replaces every update)", () => {
            const all = ofType("docker:index/container:Container");
            assert.ok(all.length >= 9);
            for (const { stack, r } of all) {
                const sent = r.props.cpus as string;
                const nanos = nanoCpus(Number(sent));
                assert.ok(nanos !== undefined, `${at(stack, r)} cpus ${sent}`);
                assert.equal(sent, cpusReadBack(nanos), `${at(stack, r)} sends cpus "${sent}"`);
            }
        });

        it("sends healthcheck durations in Go's Duration.String() form", () => {
            for (const { stack, r } of ofType("docker:index/container:Container")) {
                const hc = r.props.healthcheck as Record<string, unknown>;
                for (const key of ["interval", "timeout", "startPeriod"]) {
                    const sent = hc[key] as string;
                    const nanos = durationNanos(sent);
                    assert.ok(nanos !== undefined, `${at(stack, r)} healthcheck.${key} "${sent}"`);
                    assert.equal(sent, goDurationString(nanos), `${at(stack, r)} healthcheck.${key}`);
                }
            }
        });

        it("replaces application containers create-first and fixed-name ones delete-first, explicitly: pulumi-docker asks for delete-first", () => {
            // pulumi-docker provider/resources.go: docker_container DeleteBeforeReplace: true; the
            // engine lets an explicit resource option override it (pkg/resource/deploy/step_generator.go).
            for (const { stack, r } of ofType("docker:index/container:Container")) {
                assert.equal(r.options.deleteBeforeReplace, r.props.name !== undefined, `${at(stack, r)}: deleteBeforeReplace set explicitly`);
                assert.deepEqual(r.options.replaceOnChanges, ["healthcheck"], `${at(stack, r)}: the provider's update ignores the healthcheck`);
            }
        });

        it("sets memorySwap to memory (no swap), so dockerd's default of twice the memory is never read back as drift", () => {
            for (const { stack, r } of ofType("docker:index/container:Container")) {
                assert.equal(typeof r.props.memory, "number", at(stack, r));
                assert.equal(r.props.memorySwap, r.props.memory, at(stack, r));
            }
        });
    });

    describe("docker:index/volume:Volume", () => {
        it("ignores label changes: Docker returns an existing volume unchanged and labels are ForceNew", () => {
            const volumes = ofType("docker:index/volume:Volume");
            assert.ok(volumes.length >= 5);
            for (const { stack, r } of volumes) assert.deepEqual(r.options.ignoreChanges, ["labels"], at(stack, r));
        });
    });

    describe("aws:s3/bucket:Bucket adopted with import", () => {
        it("records the import in the synth graph: staging adopts its exact-named bucket, production creates its own", () => {
            const [staging] = ofType("aws:s3/bucket:Bucket").filter(({ stack }) => stack === "staging");
            assert.equal(staging.r.options.import, "example-shop-staging-backups");
            assert.equal(staging.r.props.bucket, staging.r.options.import);
            const [production] = ofType("aws:s3/bucket:Bucket").filter(({ stack }) => stack === "production");
            assert.equal(production.r.options.import, null);
        });

        it("sends an adopted bucket only inputs this stack sets when it creates the bucket, so a retained one re-imports cleanly", () => {
            // Pulumi refuses an import whose inputs differ from the read resource. A bucket this
            // stack created and a destroy retained has exactly these, tags included; an input added
            // here later must also be one a retained bucket already has.
            const [staging] = ofType("aws:s3/bucket:Bucket").filter(({ stack }) => stack === "staging");
            assert.deepEqual(Object.keys(staging.r.props).sort(), ["bucket", "forceDestroy", "region", "tags"]);
            assert.deepEqual(staging.r.props.tags, { "vps.app": "shop", "vps.environment": "staging", "vps.role": "backups" });
            assert.equal(staging.r.props.forceDestroy, false);
        });
    });
});
