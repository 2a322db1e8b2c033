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

    it("gives the test command .ci/run runs", () => {
        const ci = fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8");
        const command = /^\((npm ci && npm run test:all)\) 2>&1 \| tee "\$log"/m.exec(ci)?.[1];
        assert.ok(command, ".ci/run runs npm ci && npm run test:all");
        assert.ok(readme.includes(`\n${command}\n`), "the README shows the same command on a line of its own");
    });
});
