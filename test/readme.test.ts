import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { CONFIG_KEYS } from "../config/parse";
import { withPolicyTable } from "../policies/readme-table";

const ROOT = path.resolve(__dirname, "..");
const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");

describe("README", () => {
    it("lists every policy of the pack with its level and config, as generated from the pack", () => {
        assert.equal(readme, withPolicyTable(readme), "run: node -r sucrase/register/ts policies/readme-table.ts --write");
    });

    it("documents every config key the schema accepts and every key Pulumi.yaml declares", () => {
        const project = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
        for (const key of new Set([...CONFIG_KEYS, ...Object.keys(project.config)])) {
            assert.match(readme, new RegExp("`" + key + "`|### `" + key + "`|`" + key + "\\.|, `" + key + "`"), `README documents ${key}`);
        }
    });

    it("names in its layout table only paths that exist, and every source folder and module", () => {
        const table = readme.slice(readme.indexOf("## Layout\n"), readme.indexOf("## How an environment is built"));
        const rows = [...table.matchAll(/^\| (.+?) \| (.+) \|$/gm)].map((m) => ({ paths: [...m[1].matchAll(/`([^`]+)`/g)].map((p) => p[1]), holds: m[2] }));
        const listed = rows.flatMap((r) => r.paths);
        for (const row of rows) {
            for (const p of row.paths) assert.ok(fs.existsSync(path.join(ROOT, p)), `the layout names ${p}, which does not exist`);
            // Files named in a folder's row are files of that folder.
            const dir = row.paths.length === 1 && row.paths[0].endsWith("/") ? row.paths[0] : undefined;
            if (!dir || ["test/", "bench/", ".github/workflows/", "docs/"].includes(dir)) continue;
            for (const [, name] of row.holds.matchAll(/`([\w.-]+\.(?:ts|sh|yaml))`/g)) {
                assert.ok(fs.existsSync(path.join(ROOT, dir, name)), `${dir} holds ${name}, says the layout; it does not`);
            }
        }
        const folders = fs.readdirSync(ROOT, { withFileTypes: true }).filter((e) => e.isDirectory() && !["node_modules", "bin", ".git"].includes(e.name));
        for (const folder of folders) assert.ok(listed.some((p) => p === `${folder.name}/` || p.startsWith(`${folder.name}/`)), `the layout does not name ${folder.name}/`);
        for (const mod of fs.readdirSync(path.join(ROOT, "components"), { withFileTypes: true }).filter((e) => e.isDirectory())) {
            assert.ok(listed.includes(`components/${mod.name}/`), `the layout does not name components/${mod.name}/`);
        }
    });

    it("maps every component type to its file, in the layout table and in ARCHITECTURE.md", () => {
        const architecture = fs.readFileSync(path.join(ROOT, "ARCHITECTURE.md"), "utf8");
        const files = (dir: string): string[] =>
            fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.posix.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.posix.join(dir, e.name)] : []));
        let types = 0;
        for (const file of files("components")) {
            for (const [, type] of fs.readFileSync(path.join(ROOT, file), "utf8").matchAll(/super\(\s*"vps:index:(\w+)"/g)) {
                types++;
                assert.ok(architecture.includes(`| \`vps:index:${type}\` | \`${file}\` |`), `ARCHITECTURE.md maps vps:index:${type} to ${file}`);
                const row = `| \`${path.posix.dirname(file)}/\` |`;
                const line = readme.split("\n").find((l) => l.startsWith(row));
                assert.ok(line?.includes(`\`${path.posix.basename(file)}\` (${type})`), `the README's layout row of ${path.posix.dirname(file)}/ names ${path.posix.basename(file)} (${type})`);
            }
        }
        assert.equal(types, 15);
    });

    it("gives the test command .ci/run runs", () => {
        const ci = fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8");
        const command = /^\((npm ci && npm run test:all)\) 2>&1 \| tee "\$log"/m.exec(ci)?.[1];
        assert.ok(command, ".ci/run runs npm ci && npm run test:all");
        assert.ok(readme.includes(`\n${command}\n`), "the README shows the same command on a line of its own");
    });
});
