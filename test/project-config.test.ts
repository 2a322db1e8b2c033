/**
 * The Pulumi CLI validates a stack's configuration against `Pulumi.yaml` before any program
 * code runs (pulumi/pulumi pkg/workspace/config.go, `mergeConfig` and
 * `validateStackConfigValue`; sdk/go/common/workspace/project.go `ValidateConfigValue`):
 *
 * - every key declared under `config:` in the project's namespace without a `default` (or
 *   `value`) must be set in the stack, or the CLI fails with "Stack '<stack>' is missing
 *   configuration values ...";
 * - a key declared `secret: true` must be stored encrypted (`secure:`);
 * - a typed key's value must be of that type (`boolean`: true/false, `integer`: whole number,
 *   `string`: a scalar).
 *
 * These tests apply the same rules to every stack file this repository ships or tests with,
 * so a declaration that breaks a stack's first `pulumi preview` fails here.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";

const ROOT = path.resolve(__dirname, "..");

interface ProjectConfigType {
    type?: "string" | "integer" | "boolean" | "array";
    secret?: boolean;
    default?: unknown;
    value?: unknown;
}

const project = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as {
    name: string;
    config: Record<string, ProjectConfigType>;
};

/** Every `Pulumi.<stack>.yaml` at the root and under test/ (fixtures and engine stacks). */
function stackFiles(): string[] {
    const found: string[] = [];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) walk(full);
            else if (/^Pulumi\.[^.]+\.yaml$/.test(entry.name)) found.push(full);
        }
    };
    for (const entry of fs.readdirSync(ROOT)) {
        if (/^Pulumi\.[^.]+\.yaml$/.test(entry)) found.push(path.join(ROOT, entry));
    }
    walk(path.join(ROOT, "test"));
    return found.sort();
}

/** A project key `app` means `<project>:app`; `aws:region` keeps its own namespace. */
function fullKey(key: string): string {
    return key.includes(":") ? key : `${project.name}:${key}`;
}

/** The problems the CLI would report for one stack file, in its words. */
export function cliConfigProblems(stackName: string, stackConfig: Record<string, unknown>): string[] {
    const problems: string[] = [];
    const missing: string[] = [];
    for (const [key, decl] of Object.entries(project.config).sort(([a], [b]) => a.localeCompare(b))) {
        const full = fullKey(key);
        const inProject = full.startsWith(`${project.name}:`);
        const found = full in stackConfig;
        if (!found) {
            if (decl.default === undefined && decl.value === undefined && inProject) missing.push(key);
            continue;
        }
        const value = stackConfig[full];
        const secure = value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 1 && "secure" in value;
        if (decl.secret && !secure) {
            problems.push(`Stack '${stackName}' with configuration key '${key}' must be encrypted as it's secret`);
        }
        if (decl.type !== undefined && !secure) {
            const ok =
                decl.type === "string"
                    ? ["string", "number", "boolean"].includes(typeof value)
                    : decl.type === "boolean"
                      ? typeof value === "boolean" || value === "true" || value === "false"
                      : decl.type === "integer"
                        ? Number.isInteger(typeof value === "string" ? Number(value) : value)
                        : Array.isArray(value);
            if (!ok) problems.push(`Stack '${stackName}' with configuration key '${key}' must be of type '${decl.type}'`);
        }
    }
    if (missing.length > 0) {
        problems.unshift(`Stack '${stackName}' is missing configuration value${missing.length > 1 ? "s" : ""} ${missing.map((k) => `'${k}'`).join(", ")}`);
    }
    return problems;
}

describe("Pulumi.yaml against every stack file, by the CLI's own rules", () => {
    it("declares no secret key with a default (the CLI refuses one)", () => {
        for (const [key, decl] of Object.entries(project.config)) {
            assert.ok(!(decl.secret && decl.default !== undefined), `${key} is secret and has a default`);
        }
    });

    it("finds the shipped stacks and the fixture stacks", () => {
        const names = stackFiles().map((f) => path.relative(ROOT, f));
        for (const stack of ["staging", "production", "vps1"]) assert.ok(names.includes(`Pulumi.${stack}.yaml`), names.join(", "));
        assert.ok(names.some((n) => n.startsWith("test/")), `no fixture stack found: ${names.join(", ")}`);
    });

    for (const file of stackFiles()) {
        const rel = path.relative(ROOT, file);
        it(`${rel}: every declared key without a default is set, secrets encrypted, types right`, () => {
            const stackName = /^Pulumi\.([^.]+)\.yaml$/.exec(path.basename(file))![1];
            const doc = parseYaml(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> };
            assert.deepEqual(cliConfigProblems(stackName, doc.config ?? {}), []);
        });
    }

    it("reports a stack that lacks a declared key the way the CLI does", () => {
        // The stack file as it was shipped before the fix: backup credentials declared, not set.
        const problems = cliConfigProblems("staging", { "vps-stacks:app": "shop" });
        assert.equal(problems[0], "Stack 'staging' is missing configuration values 'host', 'sshPrivateKey'");
    });

    it("declares only keys every stack of either kind sets, or with a default", () => {
        // A key of one kind only (app, environment, services of an environment; name, jobs of a
        // host stack), declared without a default, would fail every stack of the other kind.
        for (const [key, decl] of Object.entries(project.config)) {
            if (decl.default !== undefined) continue;
            assert.ok(["host", "sshPrivateKey"].includes(key), `${key} is declared without a default, and a stack of one kind lacks it`);
        }
        assert.equal(project.config.kind.default, "environment");
    });

    it("reports a secret key stored in plain text and a mistyped boolean", () => {
        const cfg: Record<string, unknown> = {};
        for (const key of Object.keys(project.config)) cfg[fullKey(key)] = "x";
        const problems = cliConfigProblems("s", cfg);
        assert.ok(problems.some((p) => /'sshPrivateKey' must be encrypted/.test(p)), problems.join("\n"));
        assert.ok(problems.some((p) => /'protectData' must be of type 'boolean'/.test(p)), problems.join("\n"));
    });
});

describe("how the Pulumi CLI runs the program and the policy pack", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

    it("runs the program from the project root, where tsconfig.json is: no `main`, package.json names the entry point", () => {
        // The Node.js language host compiles with the tsconfig.json of the program directory
        // (`main`) and falls back to its own defaults when there is none there.
        const main = (parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as { main?: string }).main;
        const programDir = path.join(ROOT, main ?? ".");
        assert.ok(fs.existsSync(path.join(programDir, "tsconfig.json")), `no tsconfig.json in the program directory ${programDir}`);
        assert.ok(fs.existsSync(path.join(ROOT, pkg.main)), `package.json main ${pkg.main} exists`);
    });

    it("gives the program a TypeScript runner the language host finds (ts-node and typescript)", () => {
        for (const dep of ["ts-node", "typescript"]) assert.ok(pkg.dependencies?.[dep] ?? pkg.devDependencies?.[dep], dep);
    });

    it("runs the synth, every test suite and every benchmark with one TypeScript runner, sucrase", () => {
        for (const [name, script] of Object.entries(pkg.scripts as Record<string, string>)) {
            if (name === "synth" || name.startsWith("bench:")) assert.match(script, /^node --require sucrase\/register\/ts \S+\.ts$/, name);
            assert.doesNotMatch(script, /ts-node/, name);
        }
        for (const file of fs.readdirSync(ROOT).filter((f) => /^\.mocharc(\.\w+)?\.json$/.test(f))) {
            assert.deepEqual(JSON.parse(fs.readFileSync(path.join(ROOT, file), "utf8")).require, ["sucrase/register/ts"], file);
        }
    });

    it("gives the policy pack its own TypeScript runner: --policy-pack loads only that folder's node_modules", () => {
        const pack = JSON.parse(fs.readFileSync(path.join(ROOT, "policies", "package.json"), "utf8"));
        for (const dep of ["ts-node", "typescript", "@pulumi/policy", "@pulumi/pulumi"]) {
            const version = pack.dependencies?.[dep] ?? pack.devDependencies?.[dep];
            assert.ok(version, `policies/package.json lacks ${dep}`);
            const rootVersion = pkg.dependencies?.[dep] ?? pkg.devDependencies?.[dep];
            assert.equal(version, rootVersion, `${dep}: the pack pins ${version}, the program ${rootVersion}`);
        }
    });

    it("PulumiPolicy.yaml holds only fields Pulumi reads (sdk/go/common/workspace PolicyPackProject)", () => {
        const doc = parseYaml(fs.readFileSync(path.join(ROOT, "policies", "PulumiPolicy.yaml"), "utf8")) as Record<string, unknown>;
        const known = ["runtime", "version", "main", "description", "author", "website", "license"];
        assert.deepEqual(Object.keys(doc).filter((k) => !known.includes(k)), []);
        assert.equal(doc.runtime, "nodejs");
    });
});
