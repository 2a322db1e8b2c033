/**
 * The pack as documented and as `pulumi preview` loads it: every policy listed in
 * docs/policies.md with its enforcement level and config, and the real `@pulumi/policy`
 * analyzer server (started from policies/index.ts the way the CLI starts it) reporting the same.
 */
import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { toPolicyPackPolicies } from "../policies/adapters";
import { allPolicies, PACK_NAME } from "../policies/pack";
import { parse as parseYaml } from "yaml";

const ROOT = path.resolve(__dirname, "..");
const DOC = fs.readFileSync(path.join(ROOT, "docs", "policies.md"), "utf8");

/** Rows of the summary table: `| \`name\` | level | runs in | checks |`. */
function documented(): { name: string; level: string; runsIn: string }[] {
    const rows = [];
    for (const m of DOC.matchAll(/^\| `([a-z0-9-]+)` \| (mandatory|advisory) \| (preview and synth|synth only) \|/gm)) {
        rows.push({ name: m[1], level: m[2], runsIn: m[3] });
    }
    return rows;
}

describe("policy pack metadata", () => {
    it("docs/policies.md lists every policy once, with its enforcement level and where it runs", () => {
        const fromCode = allPolicies.map((r) => ({ name: r.name, level: r.enforcementLevel, runsIn: r.synthOnly ? "synth only" : "preview and synth" }));
        assert.deepStrictEqual(documented().sort((a, b) => a.name.localeCompare(b.name)), fromCode.sort((a, b) => a.name.localeCompare(b.name)));
    });

    it("docs/policies.md gives every policy's current description", () => {
        for (const r of allPolicies) {
            const start = DOC.indexOf(`#### \`${r.name}\``);
            assert.ok(start >= 0 && DOC.indexOf(r.description, start) > start, `docs/policies.md section for ${r.name} holds its description`);
        }
    });

    it("docs/policies.md documents every config key of every policy with its default", () => {
        for (const r of allPolicies) {
            const start = DOC.indexOf(`#### \`${r.name}\``);
            assert.ok(start >= 0, `section for ${r.name}`);
            const end = DOC.indexOf("\n#### ", start + 1);
            const section = DOC.slice(start, end < 0 ? undefined : end);
            for (const [key, schema] of Object.entries(r.configSchema.properties)) {
                assert.ok(section.includes(`| \`${key}\` | \`${JSON.stringify(schema.default)}\` |`), `${r.name}.${key} documented with default ${JSON.stringify(schema.default)}`);
            }
        }
    });

    it("the PolicyPack holds every policy but the synth-only ones, with the documented levels and config schemas", () => {
        const policies = toPolicyPackPolicies(allPolicies);
        const expected = documented().filter((d) => d.runsIn === "preview and synth");
        assert.deepStrictEqual(policies.map((p) => ({ name: p.name, level: p.enforcementLevel })).sort((a, b) => a.name.localeCompare(b.name)),
            expected.map((d) => ({ name: d.name, level: d.level })).sort((a, b) => a.name.localeCompare(b.name)));
        for (const p of policies) assert.ok(p.configSchema && Object.keys(p.configSchema.properties).length > 0, p.name);
    });

    it("policies/package.json names the pack (Pulumi reads no name from PulumiPolicy.yaml) and pins the root's SDK versions", () => {
        const yaml = parseYaml(fs.readFileSync(path.join(ROOT, "policies", "PulumiPolicy.yaml"), "utf8"));
        assert.strictEqual(yaml.runtime, "nodejs");
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "policies", "package.json"), "utf8"));
        const root = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        assert.strictEqual(pkg.name, PACK_NAME);
        assert.ok(pkg.version, "PolicyPack reads its version from package.json");
        for (const dep of ["@pulumi/policy", "@pulumi/pulumi"]) assert.strictEqual(pkg.dependencies[dep], root.dependencies[dep], dep);
    });
});

// The analyzer protocol the Pulumi CLI speaks to a policy pack (transitive deps of @pulumi/policy).
/* eslint-disable @typescript-eslint/no-require-imports */
const grpc = require("@grpc/grpc-js");
const analyzerRpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
const analyzerPb = require("@pulumi/pulumi/proto/analyzer_pb");
const emptyPb = require("google-protobuf/google/protobuf/empty_pb");
const structPb = require("google-protobuf/google/protobuf/struct_pb");
/* eslint-enable @typescript-eslint/no-require-imports */

const LEVEL_NAMES = ["advisory", "mandatory", "disabled", "remediate"];

describe("policy pack under the @pulumi/policy analyzer server", function () {
    this.timeout(60_000);
    let pack: ChildProcess;
    let client: any;

    before(async () => {
        // As the CLI does: run the pack's entry point from its directory, with the pack's own
        // TypeScript runner (policies/node_modules/ts-node, what the Pulumi CLI loads it with;
        // the one place the tests use ts-node), and read the port it prints.
        pack = spawn(process.execPath, ["--require", "ts-node/register/transpile-only", "index.ts"], { cwd: path.join(ROOT, "policies"), stdio: ["ignore", "pipe", "pipe"] });
        const port = await new Promise<string>((resolve, reject) => {
            let out = "";
            let err = "";
            pack.stdout!.on("data", (d) => {
                out += d;
                const m = /^(\d+)\s*$/m.exec(out);
                if (m) resolve(m[1]);
            });
            pack.stderr!.on("data", (d) => (err += d));
            pack.on("exit", (code) => reject(new Error(`policy pack exited ${code}: ${err}`)));
        });
        client = new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    });

    after(() => {
        client?.close();
        if (pack?.pid && pack.exitCode === null) pack.kill();
    });

    const call = <T>(method: string, req: unknown): Promise<T> =>
        new Promise((resolve, reject) => client[method](req, (e: Error | null, r: T) => (e ? reject(e) : resolve(r))));

    it("announces every preview policy with its documented enforcement level", async () => {
        const info: any = await call("getAnalyzerInfo", new emptyPb.Empty());
        assert.strictEqual(info.getName(), PACK_NAME);
        const served = info.getPoliciesList().map((p: any) => `${p.getName()}:${LEVEL_NAMES[p.getEnforcementlevel()]}`).sort();
        const expected = allPolicies.filter((r) => !r.synthOnly).map((r) => `${r.name}:${r.enforcementLevel}`).sort();
        assert.deepStrictEqual(served, expected);
    });

    it("reports a privileged container, and skips the image id that is unknown during preview", async () => {
        const req = new analyzerPb.AnalyzeRequest();
        req.setType("docker:index/container:Container");
        req.setName("shop-staging-backend-container");
        req.setUrn("urn:pulumi:staging::vps-stacks::docker:index/container:Container::shop-staging-backend-container");
        req.setProperties(structPb.Struct.fromJavaScript({
            name: "shop-staging-backend",
            image: "04da6b54-80e4-46f7-96ec-b56ff0331ba9", // Pulumi's unknown-value sentinel
            privileged: true,
            labels: [{ label: "vps.role", value: "backend" }, { label: "vps.environment", value: "staging" }],
        }));
        req.setOptions(new analyzerPb.AnalyzerResourceOptions());
        const res: any = await call("analyze", req);
        const diags = res.getDiagnosticsList().map((d: any) => ({ policy: d.getPolicyname(), level: LEVEL_NAMES[d.getEnforcementlevel()], message: d.getMessage() }));
        assert.ok(diags.some((d: any) => d.policy === "container-not-privileged" && d.level === "mandatory" && /runs privileged/.test(d.message)), JSON.stringify(diags));
        assert.ok(!diags.some((d: any) => d.policy === "image-pinned"), JSON.stringify(diags));
        assert.ok(!diags.some((d: any) => /can't run policy/.test(d.message)), `no policy gave up on an unknown value: ${JSON.stringify(diags)}`);
    });
});
