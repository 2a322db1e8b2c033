/**
 * Contract tests: what the program sends each provider, checked against what the real
 * provider does with it (cited per test). The mocks accept any input; these tests read the
 * synth graph of both shipped stacks and fail when an input is sent in a form the provider
 * would read back differently (a diff, or a replacement, on every `pulumi up`) or would
 * refuse.
 */
import { strict as assert } from "assert";
import * as path from "path";
import type { SynthResource, SynthResult } from "../tools/synth/synthesize";
import { cpusReadBack, durationNanos, goDurationString, nanoCpus } from "../components/docker/docker-forms";
import { synthServicesFixture, synthShippedStack } from "./helpers/synth";

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
        // The fixture that sets every service option of issue 11 (every new input below is in it).
        const fixture = await synthServicesFixture();
        assert.equal(fixture.code, 0, fixture.stderr);
        stacks.services = fixture.result!;
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
                // healthcheck, init and tmpfs are neither ForceNew nor applied by resourceDockerContainerUpdate.
                assert.deepEqual(r.options.replaceOnChanges, ["healthcheck", "init", "tmpfs"], `${at(stack, r)}: the provider's update ignores these`);
            }
        });

        it("sets memorySwap to memory (no swap), so dockerd's default of twice the memory is never read back as drift", () => {
            for (const { stack, r } of ofType("docker:index/container:Container")) {
                assert.equal(typeof r.props.memory, "number", at(stack, r));
                assert.equal(r.props.memorySwap, r.props.memory, at(stack, r));
            }
        });
    });

    describe("docker:index/container:Container, the service options of issue 11 (kreuzwerker v4.5.0 resourceDockerContainerRead)", () => {
        const containers = () => ofType("docker:index/container:Container");
        const withProp = (key: string) => {
            const found = containers().filter(({ r }) => r.props[key] !== undefined && r.props[key] !== null);
            assert.ok(found.length > 0, `the synth graphs send no ${key}: the fixture must set it`);
            return found;
        };

        it("sends entrypoints as a non-empty list of non-empty strings: read back as Config.Entrypoint, ForceNew", () => {
            for (const { stack, r } of withProp("entrypoints")) {
                const e = r.props.entrypoints as string[];
                assert.ok(Array.isArray(e) && e.length > 0 && e.every((x) => typeof x === "string" && x !== ""), at(stack, r));
            }
        });

        it("sends user as docker stores it (Config.User verbatim, ForceNew with a DiffSuppressFunc only for unset)", () => {
            for (const { stack, r } of withProp("user")) assert.match(r.props.user as string, /^([a-z_][a-z0-9_-]*|\d+)(:([a-z_][a-z0-9_-]*|\d+))?$/, at(stack, r));
        });

        it("sends workingDir as a clean absolute path, the form Config.WorkingDir is read back in", () => {
            for (const { stack, r } of withProp("workingDir")) {
                const wd = r.props.workingDir as string;
                assert.equal(wd, path.posix.normalize(wd).replace(/\/$/, ""), at(stack, r));
                assert.ok(wd.startsWith("/"), at(stack, r));
            }
        });

        it("sends init as a boolean only when set: read back from HostConfig.Init (Optional+Computed), and in replaceOnChanges because the update ignores it", () => {
            for (const { stack, r } of withProp("init")) {
                assert.equal(typeof r.props.init, "boolean", at(stack, r));
                assert.ok((r.options.replaceOnChanges as string[]).includes("init"), at(stack, r));
            }
        });

        it("sends stopSignal in its canonical SIG form (Config.StopSignal verbatim, ForceNew)", () => {
            for (const { stack, r } of withProp("stopSignal")) assert.match(r.props.stopSignal as string, /^SIG[A-Z0-9]+$/, at(stack, r));
        });

        it("sends stopTimeout as whole seconds (Config.StopTimeout, an int, ForceNew) and destroyGraceSeconds (state only) equal to it", () => {
            for (const { stack, r } of withProp("stopTimeout")) {
                assert.ok(Number.isInteger(r.props.stopTimeout), at(stack, r));
                assert.equal(r.props.destroyGraceSeconds, r.props.stopTimeout, at(stack, r));
            }
            assert.ok(containers().some(({ r }) => r.props.stopTimeout !== 30), "the fixture sets a stopGracePeriod");
        });

        it("sends shmSize in whole MiB: create multiplies by 1024*1024 and read divides by it (HostConfig.ShmSize)", () => {
            for (const { stack, r } of withProp("shmSize")) assert.ok(Number.isInteger(r.props.shmSize) && (r.props.shmSize as number) >= 1, at(stack, r));
        });

        it("sends tmpfs as a map of absolute path to options (HostConfig.Tmpfs verbatim), replaced on change: not ForceNew and not in the update", () => {
            for (const { stack, r } of withProp("tmpfs")) {
                for (const [p, o] of Object.entries(r.props.tmpfs as Record<string, string>)) {
                    assert.ok(p.startsWith("/") && typeof o === "string", at(stack, r));
                }
                assert.ok((r.options.replaceOnChanges as string[]).includes("tmpfs"), at(stack, r));
            }
        });

        it("sends ulimits by their lower-case names with soft <= hard (flattenUlimits reads name, soft, hard as stored), sorted so the set never reorders", () => {
            for (const { stack, r } of withProp("ulimits")) {
                const u = r.props.ulimits as { name: string; soft: number; hard: number }[];
                assert.deepEqual(u.map((x) => x.name), [...u.map((x) => x.name)].sort(), at(stack, r));
                for (const x of u) assert.ok(/^[a-z]+$/.test(x.name) && x.soft <= x.hard, at(stack, r));
            }
        });

        it("mounts service volumes and files as binds in `volumes` (Binds are never read back; `mounts` would be), files read-only", () => {
            const withVolumes = containers().filter(({ r }) => Array.isArray(r.props.volumes) && (r.props.volumes as unknown[]).length > 0);
            for (const { stack, r } of withVolumes) {
                assert.equal(r.props.mounts, undefined, at(stack, r));
                for (const v of r.props.volumes as { hostPath?: string; readOnly: boolean }[]) {
                    if (v.hostPath?.includes("/files/")) assert.equal(v.readOnly, true, at(stack, r));
                }
            }
            assert.ok(withVolumes.some(({ r }) => (r.props.volumes as { volumeName?: string }[]).some((v) => v.volumeName?.endsWith("-storage-data"))), "a service volume is mounted");
        });

        it("names every replica's container, the first keeping the URN of a service of one container", () => {
            const api = containers().filter(({ stack, r }) => stack === "services" && /^saas-services-api-container(-\d+)?$/.test(r.name));
            assert.deepEqual(api.map(({ r }) => r.name).sort(), ["saas-services-api-container", "saas-services-api-container-2", "saas-services-api-container-3"]);
        });
    });

    describe("aws:iam/accessKey:AccessKey", () => {
        it("is created after its user's policy, so nothing that uses the key meets a user without one", () => {
            const keys = ofType("aws:iam/accessKey:AccessKey");
            assert.ok(keys.length >= 2, `${keys.length} access keys`);
            for (const { stack, r } of keys) {
                const policy = stacks[stack].resources.find((x) => x.type === "aws:iam/userPolicy:UserPolicy" && x.name === r.name.replace(/-key$/, "-policy"));
                assert.ok(policy, at(stack, r));
                assert.ok((r.options.dependsOn as string[]).includes(policy.urn), `${at(stack, r)} dependsOn ${JSON.stringify(r.options.dependsOn)}`);
            }
        });
    });

    describe("command:remote:Command text (pulumi-command v1.2.1 sends it as one SSH exec)", () => {
        // sshd runs the command as `sh -c <command>`: one argument, which Linux caps at
        // MAX_ARG_STRLEN = 32 pages = 131072 bytes ("Argument list too long"), and `bash -c`
        // inside gets the script as one argument again. The PITR restore check's install once
        // came to 134 KB with its files inline; files now travel on stdin. Half the limit keeps
        // room for the scripts to grow.
        const LIMIT = 64 * 1024;

        it("keeps every create, update and delete under 64 KiB, half the kernel's limit on one argument", () => {
            const found = ofType("command:remote:Command");
            assert.ok(found.length > 20, `${found.length} commands`);
            for (const { stack, r } of found) {
                for (const key of ["create", "update", "delete"] as const) {
                    const text = r.props[key];
                    if (text === undefined) continue;
                    assert.equal(typeof text, "string", `${at(stack, r)}.${key}`);
                    const bytes = Buffer.byteLength(text as string, "utf8");
                    assert.ok(bytes < LIMIT, `${at(stack, r)}.${key} is ${bytes} bytes, over ${LIMIT}: send files on stdin`);
                }
            }
        });
    });

    describe("command:remote:Command of files and release commands (pulumi-command v1.2.1)", () => {
        const commands = () => ofType("command:remote:Command").filter(({ r }) => /-(files-write|release-run)$/.test(r.name));

        it("keeps every secret out of the command text the state stores: files and env arrive on stdin, which is secret", () => {
            const found = commands();
            assert.ok(found.some(({ r }) => r.name.endsWith("-release-run")) && found.some(({ r }) => r.name.endsWith("-files-write")));
            for (const { stack, r } of found) {
                assert.doesNotMatch(String(r.props.create), /synth-placeholder/, at(stack, r));
                assert.match(String(r.props.stdin), /\[secret\]/, at(stack, r));
                assert.equal(r.props.addPreviousOutputInEnv, false, at(stack, r));
            }
        });

        it("runs a release only on a new image or command: triggers (replaceOnChanges) are exactly those, and update is a no-op", () => {
            for (const { stack, r } of commands().filter(({ r }) => r.name.endsWith("-release-run"))) {
                const triggers = r.props.triggers as string[];
                assert.equal(triggers.length, 2, at(stack, r));
                assert.match(triggers[0], /^sha256:/, at(stack, r));
                assert.deepEqual(JSON.parse(triggers[1]), ["node", "dist/migrate.js"], at(stack, r));
                assert.equal(r.props.update, "true", at(stack, r));
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
