/**
 * The offline synth's engine: runs the real program (`program/index.ts`) under Pulumi's
 * own mocks with a stack's configuration and returns the resource graph with each
 * resource's props and explicitly set options, secrets redacted.
 *
 * It uses the SDK's mock API only: `setAllConfig` feeds the configuration,
 * `setEngineMocks` installs {@link RecordingMocks} (with the engine's URNs), `runInPulumiStack` creates the root stack
 * resource, and a stack transformation registered inside it sees every resource with
 * its type, name, props and options.
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { RecordingMocks, setEngineMocks, StackOutputsResolver } from "./mocks";

/**
 * The string every secret value is replaced with in the synth's output; a secret
 * environment entry `NAME=value` becomes `NAME=[secret]`.
 */
export const REDACTED = "[secret]";

/** Options of a resource as the synth reports them. */
export interface SynthOptions {
    protect: boolean;
    retainOnDelete: boolean;
    /** true or false when the program sets it (overriding the provider's choice); null when the provider decides. */
    deleteBeforeReplace: boolean | null;
    /** URNs of explicit dependencies. */
    dependsOn: string[];
    ignoreChanges: string[];
    replaceOnChanges: string[];
    /** URN of the explicit provider, if any. */
    provider: string | null;
    /**
     * Former URNs of the resource, in full: its own `aliases` and those it inherits from its
     * parent's, computed as the SDK computes them for an engine without alias specs
     * (`allAliases` in @pulumi/pulumi resource.js). The engine moves a resource in the state
     * from any of these URNs to `urn` instead of replacing it.
     */
    aliases: string[];
    additionalSecretOutputs: string[];
    /** The id of an existing resource this one adopts (`import`), or null. */
    import: string | null;
}

/** One resource of the synthesized graph. */
export interface SynthResource {
    urn: string;
    type: string;
    name: string;
    /** URN of the parent resource (the stack for top-level resources). */
    parent: string | null;
    /** Inputs as the program passed them, resolved; secret values are "[secret]". */
    props: Record<string, unknown>;
    options: SynthOptions;
}

/** The synth's result, written by `--out`. */
export interface SynthResult {
    project: string;
    stack: string;
    resources: SynthResource[];
    /** The stack outputs, secrets redacted. */
    outputs: Record<string, unknown>;
}

/** A stack's configuration as the Pulumi runtime receives it. */
export interface StackConfig {
    project: string;
    stack: string;
    /** Full keys (`vps-stacks:app`) to values; objects as JSON text, as the CLI passes them. */
    config: Record<string, string>;
    /** Full keys whose values are secrets. */
    secretKeys: string[];
}

/** A user error in the synth's input (bad file, bad arguments): printed without a stack trace. */
export class SynthInputError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "SynthInputError";
    }
}

/** Reads the project name from Pulumi.yaml. */
export function readProjectName(projectFile: string): string {
    const project = parseYaml(fs.readFileSync(projectFile, "utf8"));
    if (!project || typeof project.name !== "string") throw new SynthInputError(`${projectFile}: no project name`);
    return project.name;
}

/**
 * The value the synth gives a secret it cannot decrypt: `synth-placeholder-<key>`, shaped as
 * a URL for the keys the config validates as one (the alert webhook) and as a `user:password`
 * line for a key of basic-auth users (`usersKeys`), so the placeholder passes the checks a real
 * value must pass.
 */
export function secretPlaceholder(key: string, usersKeys: ReadonlySet<string> = new Set()): string {
    if (usersKeys.has(key)) return `synth-placeholder:synth-placeholder-${key}`;
    return key === "alertWebhookUrl" ? `https://synth-placeholder.invalid/${key}` : `synth-placeholder-${key}`;
}

/**
 * The keys a stack file names as basic-auth users: an environment's services'
 * (`services.<name>.routes.basicAuth.usersKey`) and a host stack's Grafana's
 * (`monitoring.grafana.basicAuth.usersKey`).
 */
function basicAuthUsersKeys(services: unknown, monitoring: unknown): Set<string> {
    const keys = new Set<string>();
    const add = (key: unknown) => typeof key === "string" && keys.add(key);
    add((monitoring as any)?.grafana?.basicAuth?.usersKey);
    if (!services || typeof services !== "object") return keys;
    for (const svc of Object.values(services as Record<string, any>)) add(svc?.routes?.basicAuth?.usersKey);
    return keys;
}

/**
 * Reads `Pulumi.<stack>.yaml` into runtime config. `secure:` values (ciphertext this
 * machine cannot decrypt) become {@link secretPlaceholder}s, marked
 * secret; a key holding an object with a secure value inside becomes secret as a
 * whole, as the Pulumi CLI does.
 *
 * @throws SynthInputError when the file is missing, not YAML, not named
 *   `Pulumi.<stack>.yaml` or has no `config` map.
 */
export function readStackConfigFile(file: string, project: string): StackConfig {
    const match = /^Pulumi\.([A-Za-z0-9_.-]+)\.ya?ml$/.exec(path.basename(file));
    if (!match) throw new SynthInputError(`${file}: a stack config file must be named Pulumi.<stack>.yaml`);
    if (!fs.existsSync(file)) throw new SynthInputError(`${file}: no such stack config file`);
    let doc: any;
    try {
        doc = parseYaml(fs.readFileSync(file, "utf8"));
    } catch (err) {
        throw new SynthInputError(`${file}: not valid YAML: ${(err as Error).message.split("\n")[0]}`);
    }
    const raw = doc?.config;
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
        throw new SynthInputError(`${file}: no "config:" map`);
    }
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    const key = (k: string) => (raw as Record<string, unknown>)[`${project}:${k}`] ?? (raw as Record<string, unknown>)[k];
    const usersKeys = basicAuthUsersKeys(key("services"), key("monitoring"));
    for (const [key, value] of Object.entries(raw)) {
        const fullKey = key.includes(":") ? key : `${project}:${key}`;
        let secret = false;
        const replaceSecure = (v: unknown): unknown => {
            if (v && typeof v === "object" && !Array.isArray(v)) {
                const entries = Object.entries(v as Record<string, unknown>);
                if (entries.length === 1 && entries[0][0] === "secure") {
                    secret = true;
                    return secretPlaceholder(fullKey.split(":")[1], usersKeys);
                }
                return Object.fromEntries(entries.map(([k, inner]) => [k, replaceSecure(inner)]));
            }
            if (Array.isArray(v)) return v.map(replaceSecure);
            return v;
        };
        const plain = replaceSecure(value);
        config[fullKey] = typeof plain === "string" ? plain : JSON.stringify(plain);
        if (secret) secretKeys.push(fullKey);
    }
    return { project, stack: match[1], config, secretKeys };
}

/** Resolves Outputs, promises and resources inside a value; secret values become REDACTED. */
export async function resolveRedacted(value: unknown): Promise<unknown> {
    if (pulumi.Output.isInstance(value)) {
        const output = value as any;
        const [isSecret, inner] = await Promise.all([output.isSecret as Promise<boolean>, output.promise() as Promise<unknown>]);
        if (isSecret) {
            // Keep the variable name of a secret `NAME=value` entry: policies and
            // reviewers need to see which variable is secret, never its value.
            const envName = typeof inner === "string" ? /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(inner) : null;
            return envName ? `${envName[1]}=${REDACTED}` : REDACTED;
        }
        return resolveRedacted(inner);
    }
    if (value instanceof Promise) return resolveRedacted(await value);
    if (pulumi.Resource.isInstance(value)) return (value as any).urn.promise();
    if (Array.isArray(value)) return Promise.all(value.map(resolveRedacted));
    if (value && typeof value === "object") {
        if ((value as any).__pulumiAsset || (value as any).__pulumiArchive) return "[asset]";
        const entries = await Promise.all(
            Object.entries(value as Record<string, unknown>)
                .filter(([, v]) => v !== undefined)
                .map(async ([k, v]) => [k, await resolveRedacted(v)] as const),
        );
        return Object.fromEntries(entries);
    }
    return value;
}

interface Captured {
    type: string;
    name: string;
    props: unknown;
    opts: pulumi.ResourceOptions & Record<string, any>;
    resource: pulumi.Resource;
}

const urnOf = async (r: unknown): Promise<string> => (r as any).urn.promise();

async function resolveDependsOn(dependsOn: unknown): Promise<string[]> {
    const list = await resolveList(dependsOn);
    return Promise.all(list.map(urnOf));
}

async function resolveList(value: unknown): Promise<unknown[]> {
    if (value === undefined || value === null) return [];
    const v = pulumi.Output.isInstance(value) ? await (value as any).promise() : await value;
    if (!Array.isArray(v)) return [v];
    const items = await Promise.all(v.map((i) => (pulumi.Output.isInstance(i) ? (i as any).promise() : i)));
    return items.filter((i) => i !== undefined);
}

/**
 * The full former URNs of a resource, as the SDK computes them (runtime/resource.js when the
 * engine takes no alias specs): its own `aliases` collapsed to URNs, plus every alias inherited
 * from its parent's (a child named `<parent name>-x` follows a renamed parent), without repeats.
 */
async function aliasUrns(c: Captured): Promise<string[]> {
    // The SDK's own parent: `opts.parent`, or the stack for a top-level resource.
    const parent = (c.resource as any).__parentResource as pulumi.Resource;
    const aliases = pulumi.allAliases(c.opts.aliases ?? [], c.name, c.type, parent, (parent as any).__name);
    const urns: string[] = await Promise.all(aliases.map((a) => (a as any).promise()));
    return [...new Set(urns)];
}

/**
 * Runs `programModule` (a path to require) under mocks with `stackConfig` and returns the
 * resource graph. The program runs once per process: Node caches modules.
 *
 * @param stackOutputs answers the program's StackReferences (tools/synth/stack-references.ts)
 * @throws whatever the program throws (a config error is a `pulumi.RunError`); the error of a
 *   StackReference that could not be resolved (a SynthInputError for a missing stack file).
 */
export async function synthesize(programModule: string, stackConfig: StackConfig, stackOutputs?: StackOutputsResolver): Promise<SynthResult> {
    pulumi.runtime.setAllConfig(stackConfig.config, stackConfig.secretKeys);
    const mocks = new RecordingMocks(stackOutputs);
    await setEngineMocks(mocks, stackConfig.project, stackConfig.stack);

    try {
        return await run(programModule, stackConfig);
    } catch (err) {
        // A reference that could not be resolved leaves its outputs empty, and the program fails
        // on them: the reference's own error is the cause to report.
        for (const referenceError of mocks.referenceErrors.values()) throw referenceError;
        throw err;
    }
}

async function run(programModule: string, stackConfig: StackConfig): Promise<SynthResult> {
    const captured: Captured[] = [];
    let programError: unknown;
    const outputs = await pulumi.runtime.runInPulumiStack(async () => {
        pulumi.runtime.registerStackTransformation((args) => {
            captured.push({ type: args.type, name: args.name, props: args.props, opts: args.opts as any, resource: args.resource });
            return undefined;
        });
        try {
            const program = require(programModule);
            return { ...program };
        } catch (err) {
            programError = err;
            return {};
        }
    });
    if (programError) throw programError;

    const resources: SynthResource[] = [];
    for (const c of captured) {
        const [urn, parent, props, dependsOn, provider, aliases] = await Promise.all([
            urnOf(c.resource),
            c.opts.parent ? urnOf(c.opts.parent) : Promise.resolve(null),
            resolveRedacted(c.props ?? {}),
            resolveDependsOn(c.opts.dependsOn),
            c.opts.provider ? urnOf(c.opts.provider) : Promise.resolve(null),
            aliasUrns(c),
        ]);
        resources.push({
            urn,
            type: c.type,
            name: c.name,
            parent,
            props: props as Record<string, unknown>,
            options: {
                protect: c.opts.protect === true,
                retainOnDelete: c.opts.retainOnDelete === true,
                deleteBeforeReplace: c.opts.deleteBeforeReplace ?? null,
                dependsOn,
                ignoreChanges: c.opts.ignoreChanges ?? [],
                replaceOnChanges: c.opts.replaceOnChanges ?? [],
                provider,
                aliases,
                additionalSecretOutputs: c.opts.additionalSecretOutputs ?? [],
                import: (c.opts as pulumi.CustomResourceOptions).import ?? null,
            },
        });
    }
    return {
        project: stackConfig.project,
        stack: stackConfig.stack,
        resources,
        outputs: (await resolveRedacted(outputs ?? {})) as Record<string, unknown>,
    };
}

/** Lifecycle options worth showing in the tree, e.g. "[retainOnDelete, protect]". */
function optionTags(r: SynthResource): string {
    const tags = [
        r.options.retainOnDelete && "retainOnDelete",
        r.options.protect && "protect",
        r.options.deleteBeforeReplace === true && "deleteBeforeReplace",
        r.options.import !== null && `import ${r.options.import}`,
    ].filter(Boolean);
    return tags.length > 0 ? `  [${tags.join(", ")}]` : "";
}

/** The resource tree as text: component nesting, type, name and lifecycle options. */
export function formatTree(result: SynthResult): string {
    const children = new Map<string | null, SynthResource[]>();
    const urns = new Set(result.resources.map((r) => r.urn));
    for (const r of result.resources) {
        const parent = r.parent && urns.has(r.parent) ? r.parent : null;
        if (!children.has(parent)) children.set(parent, []);
        children.get(parent)!.push(r);
    }
    const lines = [`stack ${result.project}/${result.stack} (${result.resources.length} resources)`];
    const walk = (parent: string | null, indent: string) => {
        const list = children.get(parent) ?? [];
        list.forEach((r, i) => {
            const last = i === list.length - 1;
            lines.push(`${indent}${last ? "└─ " : "├─ "}${r.type}  ${r.name}${optionTags(r)}`);
            walk(r.urn, indent + (last ? "   " : "│  "));
        });
    };
    walk(null, "");
    return lines.join("\n");
}
