/**
 * The Pulumi packages this program depends on, as the engine sees them.
 *
 * A provider SDK package (`pulumi.resource: true` in its package.json) makes the Node.js
 * language host ask the engine for plugin `<name>` at `pulumi.version`, or at the package's
 * own `version` when that field is absent (sdk/nodejs/cmd/pulumi-language-nodejs,
 * GetRequiredPlugins). `@pulumi/command` 4.5.0 was a mistaken publish: its package.json says
 * "v4.5.0" and has no `pulumi.version`, so the engine looked for a command plugin v4.5.0
 * that was never released (pulumi/pulumi-command issues 182 and 183). These tests keep
 * every provider package requesting a plugin at a plain X.Y.Z equal to the version pinned.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
const deps: Record<string, string> = { ...pkg.dependencies, ...pkg.devDependencies };

interface InstalledPackage {
    version: string;
    pulumi?: { resource?: boolean; name?: string; version?: string };
    engines?: { node?: string };
}

function installed(name: string, root = ROOT): InstalledPackage {
    return JSON.parse(fs.readFileSync(path.join(root, "node_modules", name, "package.json"), "utf8"));
}

/** The plugin a provider package makes the engine load, as the language host derives it. */
export function requestedPlugin(p: InstalledPackage): { name: string; version: string } | undefined {
    if (!p.pulumi?.resource) return undefined;
    return { name: p.pulumi.name ?? "", version: p.pulumi.version ?? p.version };
}

const SEMVER = /^\d+\.\d+\.\d+$/;

describe("Pulumi packages", () => {
    const pulumiDeps = Object.keys(deps).filter((d) => d.startsWith("@pulumi/"));

    it("pins every @pulumi package to an exact X.Y.Z", () => {
        for (const name of pulumiDeps) assert.match(deps[name], SEMVER, `${name}@${deps[name]}`);
    });

    for (const name of pulumiDeps) {
        it(`${name}: the installed version is the pinned one, and a provider requests a real X.Y.Z plugin`, () => {
            const p = installed(name);
            assert.equal(p.version.replace(/^v/, ""), deps[name], `${name} installed ${p.version}`);
            const plugin = requestedPlugin(p);
            if (plugin === undefined) return; // not a provider SDK (the SDK itself, the policy SDK)
            assert.ok(plugin.name, `${name} names no plugin`);
            assert.match(plugin.version, SEMVER, `${name} requests plugin ${plugin.name} at "${plugin.version}"`);
            assert.equal(plugin.version, deps[name], `${name} requests plugin ${plugin.name} ${plugin.version}, not the pinned ${deps[name]}`);
        });
    }

    it("the check catches the mistaken @pulumi/command 4.5.0 publish", () => {
        // Its package.json, as published: no pulumi.version, a version with a "v".
        const plugin = requestedPlugin({ version: "v4.5.0", pulumi: { resource: true, name: "command" } });
        assert.doesNotMatch(plugin!.version, SEMVER);
    });

    it("uses @pulumi/command 1.2.1, the newest release of pulumi-command", () => {
        assert.equal(deps["@pulumi/command"], "1.2.1");
        assert.deepEqual(requestedPlugin(installed("@pulumi/command")), { name: "command", version: "1.2.1" });
    });

    it("declares at least the Node.js major the Pulumi SDK requires", () => {
        const sdkNeeds = Number(/>=\s*(\d+)/.exec(installed("@pulumi/pulumi").engines?.node ?? ">=0")![1]);
        const weDeclare = Number(/>=\s*(\d+)/.exec(pkg.engines.node)![1]);
        assert.ok(weDeclare >= sdkNeeds, `package.json engines.node ${pkg.engines.node}, @pulumi/pulumi needs >=${sdkNeeds}`);
    });
});
