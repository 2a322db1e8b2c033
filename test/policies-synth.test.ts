/**
 * The policy pack as a pull request meets it: the offline synth run as a process, over the
 * shipped stacks and over deliberately broken inputs.
 */
import * as assert from "assert";
import { execFile } from "child_process";
import * as path from "path";
import { synthServicesFixture, synthShippedStack } from "./helpers/synth";

const ROOT = path.resolve(__dirname, "..");

interface Run {
    status: number | null;
    stdout: string;
    stderr: string;
}

function run(args: string[]): Promise<Run> {
    return new Promise((resolve) => {
        execFile(process.execPath, ["--require", "sucrase/register/ts", ...args], { cwd: ROOT, timeout: 90_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
            resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
        });
    });
}

/** `[level] policy` + resource URN of every violation block the synth printed. */
function violations(stdout: string): { level: string; policy: string; urn: string }[] {
    const out = [];
    const re = /^\[(mandatory|advisory)\] (\S+)\n {4}resource: (\S+)/gm;
    for (let m = re.exec(stdout); m; m = re.exec(stdout)) out.push({ level: m[1], policy: m[2], urn: m[3] });
    return out;
}

describe("policy pack in the offline synth", function () {
    this.timeout(120_000);
    // Each synth is a process of its own (a program runs once per process); run them side by side.
    const runs: Record<string, Run> = {};
    before(async () => {
        const jobs: Record<string, string[]> = {
            broken: ["tools/synth/cli.ts", "--config-file", "test/fixtures/broken-stack/Pulumi.broken.yaml", "--quiet"],
            brokenSynth: ["policies/synth-check.ts", "test/fixtures/broken-synth.json"],
            typo: ["policies/synth-check.ts", "test/fixtures/broken-synth.json", "--policy-config", "test/fixtures/policy-config-typo.json"],
        };
        const shipped = async (stack: "staging" | "production") => {
            const r = await synthShippedStack(stack);
            runs[stack] = { status: r.code, stdout: r.stdout, stderr: r.stderr };
        };
        await Promise.all([
            ...Object.entries(jobs).map(async ([k, args]) => (runs[k] = await run(args))),
            shipped("staging"),
            shipped("production"),
        ]);
    });

    it("the services fixture (worker, replicas, volume, release, routes, Redis password) synthesizes with no mandatory violation", async function () {
        this.timeout(120000);
        const r = await synthServicesFixture();
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /Policy pack vps-stacks-policies: 0 mandatory/);
    });

    it("a schema-valid but unsafe production config synthesizes with each expected violation and exits 1", () => {
        const r = runs.broken;
        assert.strictEqual(r.status, 1, r.stderr + r.stdout);
        const found = violations(r.stdout);
        const has = (policy: string, urnPart: string, level = "mandatory") =>
            assert.ok(found.some((v) => v.policy === policy && v.level === level && v.urn.includes(urnPart)), `${policy} on ${urnPart}: ${r.stdout}`);
        has("production-data-protected", "::shop-production-postgres-data-volume");
        has("production-data-protected", "::shop-production-redis-data-volume");
        has("image-digest-production", "remoteImage:RemoteImage::shop-production-backend-image");
        has("container-healthcheck", "::shop-production-backend-container");
        has("container-wait", "::shop-production-backend-container");
        has("container-log-rotation", "::shop-production-backend-container");
        has("container-memory-limit", "::shop-production-backend-container");
        has("no-plain-secret-env", "::shop-production-backend-container");
        has("container-capabilities", "::shop-production-backend-container", "advisory");
        assert.match(r.stdout, /Variable API_TOKEN looks like a secret but holds an empty value: move it to `services.backend.secretEnv`/);
    });

    it("a synth graph with an unnamed volume, a latest image and a published database port fails with exactly those mandatory violations", () => {
        const r = runs.brokenSynth;
        assert.strictEqual(r.status, 1, r.stderr + r.stdout);
        const mandatory = violations(r.stdout).filter((v) => v.level === "mandatory").map((v) => `${v.policy} ${v.urn.split("::").pop()}`);
        assert.deepStrictEqual(mandatory.sort(), [
            "container-host-ports-proxy-only shop-staging-postgres-server-container",
            // The unnamed volume cannot be listed by name in the backup job either.
            "data-volumes-backed-up shop-staging-postgres-data-volume",
            "image-pinned shop-staging-backend-image",
            "volume-explicit-name shop-staging-postgres-data-volume",
        ]);
    });

    it("the synth check rejects a pack config naming an unknown policy instead of ignoring it", () => {
        const r = runs.typo;
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr + r.stdout, /container-memroy-limit/);
    });

    for (const stack of ["staging", "production"]) {
        it(`the shipped ${stack} stack synthesizes with no mandatory violation`, () => {
            const r = runs[stack];
            const mandatory = violations(r.stdout).filter((v) => v.level === "mandatory");
            assert.deepStrictEqual(mandatory, [], r.stdout);
            assert.strictEqual(r.status, 0, r.stderr + r.stdout);
        });
    }
});
