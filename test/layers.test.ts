/**
 * The layers of the layout (ARCHITECTURE.md) and the one direction imports go between them:
 * every import statement of every .ts file outside test/ is read (with TypeScript's own
 * pre-processor: import, export ... from, require, import()) and checked against the table
 * below. A new import that runs upward, or a new top-level folder, fails here.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

const ROOT = path.resolve(__dirname, "..");

/**
 * The layers from the top down. A file's layer is its top-level folder, or for components/
 * its module folder (`components/jobs`); the files directly in components/ (naming.ts,
 * defaults.ts) are the bottom layer `components`.
 */
const ORDER = [
    "bench",
    "tools",
    "program",
    "compose",
    "config",
    "policies",
    "components/services",
    "components/monitoring",
    "components/cloud",
    "components/jobs",
    "components/lifecycle",
    "components/docker",
    "components/scripts",
    "components",
];

/**
 * What each layer may import besides its own files: whole layers, or single files (ending in
 * .ts) where only that file is meant. Every entry points down in {@link ORDER}.
 */
const ALLOWED: Record<string, string[]> = {
    // The benchmarks drive the test suites' helpers (services, fault scenarios, the engine sandbox).
    bench: ["test"],
    // The synth runs program/index.ts by path, not by import; a StackReference names a stack by naming.ts's rule.
    tools: ["config/types.ts", "policies/synth-check.ts", "components/naming.ts"],
    program: ["compose", "config"],
    compose: ["config", "components", "components/docker", "components/services", "components/monitoring", "components/cloud", "components/jobs", "components/lifecycle"],
    // Facts and pure functions only: the config never loads a component or a provider SDK.
    config: ["components/naming.ts", "components/defaults.ts", "components/pgbackrest.ts", "components/docker/docker-forms.ts", "policies/secret-names.ts"],
    // The pack loads from its own folder: outside it, dependency-free files only.
    policies: ["components/docker/labels.ts"],
    "components/services": ["components", "components/docker"],
    // Monitoring runs its containers as Services and writes its files with a remote command as the jobs do.
    "components/monitoring": ["components", "components/docker", "components/jobs", "components/scripts"],
    // BackupStorage hands the backup jobs their target, whose type the jobs define.
    "components/cloud": ["components", "components/docker/labels.ts", "components/jobs/backup-job.ts"],
    "components/jobs": ["components", "components/scripts"],
    "components/lifecycle": [],
    "components/docker": ["components", "components/scripts"],
    "components/scripts": [],
    components: [],
};

/** Every .ts file under `dir` (relative to the root), without node_modules. */
function sources(dir: string): string[] {
    return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
        const rel = path.posix.join(dir, e.name);
        if (e.isDirectory()) return e.name === "node_modules" ? [] : sources(rel);
        return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [rel] : [];
    });
}

/** The top-level folders that hold TypeScript, test/ aside. */
function sourceFolders(): string[] {
    return fs
        .readdirSync(ROOT, { withFileTypes: true })
        .filter((e) => e.isDirectory() && !e.name.startsWith(".") && !["node_modules", "bin", "test"].includes(e.name))
        .map((e) => e.name)
        .filter((d) => sources(d).length > 0)
        .sort();
}

function layerOf(file: string): string {
    const [top, sub, ...rest] = file.split("/");
    if (top === "components") return rest.length > 0 ? `components/${sub}` : "components";
    return top;
}

/** The repository files a source file imports: relative specifiers, resolved to .ts files or folders' index.ts. */
function importsOf(file: string): string[] {
    const info = ts.preProcessFile(fs.readFileSync(path.join(ROOT, file), "utf8"), true, true);
    return info.importedFiles
        .map((i) => i.fileName)
        .filter((spec) => spec.startsWith("."))
        .map((spec) => {
            const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
            for (const candidate of [`${target}.ts`, `${target}/index.ts`, target]) {
                if (fs.existsSync(path.join(ROOT, candidate)) && fs.statSync(path.join(ROOT, candidate)).isFile()) return candidate;
            }
            throw new Error(`${file} imports ${spec}, which is not a file of the repository`);
        });
}

const allowed = (from: string, target: string) => {
    const layer = layerOf(target);
    return layer === layerOf(from) || ALLOWED[layerOf(from)].some((a) => (a.endsWith(".ts") ? a === target : a === layer || (a === "test" && target.startsWith("test/"))));
};

describe("layers: imports go only downward", () => {
    const files = sourceFolders().flatMap(sources);

    it("knows the layer of every source folder", () => {
        for (const file of files) assert.ok(ORDER.includes(layerOf(file)), `${file}: layer ${layerOf(file)} is not in the table`);
        for (const layer of ORDER) assert.ok(layer in ALLOWED, layer);
    });

    it("allows only downward imports in its table", () => {
        for (const [from, targets] of Object.entries(ALLOWED)) {
            for (const target of targets) {
                if (target === "test") continue;
                const to = target.endsWith(".ts") ? layerOf(target) : target;
                assert.ok(ORDER.indexOf(to) > ORDER.indexOf(from), `${from} -> ${target} does not point down`);
                if (target.endsWith(".ts")) assert.ok(fs.existsSync(path.join(ROOT, target)), `${target} exists`);
            }
        }
    });

    it("finds every import of every .ts file outside test/ in the table", () => {
        const upward: string[] = [];
        let count = 0;
        for (const file of files) {
            for (const target of importsOf(file)) {
                count++;
                if (!allowed(file, target)) upward.push(`${file} -> ${target}`);
            }
        }
        assert.ok(count > 100, `read ${count} imports`);
        assert.deepEqual(upward, [], "imports against the direction of the layers");
    });

    it("lets nothing import the entry point", () => {
        const importers = files.filter((f) => layerOf(f) !== "program" && importsOf(f).some((t) => t.startsWith("program/")));
        assert.deepEqual(importers, []);
    });

    it("lets the policy pack import, outside its folder, only files that import nothing", () => {
        for (const file of files.filter((f) => layerOf(f) === "policies")) {
            for (const target of importsOf(file).filter((t) => !t.startsWith("policies/"))) {
                const info = ts.preProcessFile(fs.readFileSync(path.join(ROOT, target), "utf8"), true, true);
                assert.deepEqual(info.importedFiles.map((i) => i.fileName), [], `${file} imports ${target}, which imports something`);
            }
        }
    });

    it("keeps provider SDKs out of the config layer", () => {
        const reached = new Set<string>();
        const visit = (file: string) => {
            if (reached.has(file)) return;
            reached.add(file);
            importsOf(file).forEach(visit);
        };
        files.filter((f) => layerOf(f) === "config").forEach(visit);
        for (const file of reached) {
            const modules = ts.preProcessFile(fs.readFileSync(path.join(ROOT, file), "utf8"), true, true).importedFiles.map((i) => i.fileName);
            assert.deepEqual(modules.filter((m) => /^@pulumi\/(docker|aws|cloudflare|command)/.test(m)), [], file);
        }
    });

    it("catches an upward import (the check itself)", () => {
        assert.equal(allowed("components/jobs/backup-job.ts", "config/types.ts"), false);
        assert.equal(allowed("config/dns.ts", "components/cloud/dns-records.ts"), false);
        assert.equal(allowed("compose/jobs.ts", "components/jobs/backup-job.ts"), true);
    });
});
