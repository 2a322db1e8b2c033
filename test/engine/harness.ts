/**
 * The engine suite's harness: a sandbox per scenario in which the real `pulumi` CLI runs
 * the real program (`program/index.ts`) through the Automation API's inline programs, with
 * a file backend, a passphrase secrets provider, the provider stand-ins of
 * test/engine/plugins first on PATH, and the policy pack through the CLI's analyzer protocol.
 *
 * A sandbox is a temporary directory holding the state backend, the work directory (a
 * copy of Pulumi.yaml and the sandbox's stack files), the stand-ins' journal and world,
 * and a PULUMI_HOME of its own. Stack files are the shipped or fixture ones with their
 * `secure:` placeholders removed; the secrets are set through the CLI
 * (`pulumi config set-all --secret`), so no ciphertext is ever committed.
 *
 * The program runs in this process (the inline program's language runtime is the SDK's);
 * before each run the program's own modules are dropped from Node's module cache, so each
 * operation builds the program afresh, as a new `pulumi` process would.
 */
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { execFile, execFileSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { PULUMI_CLI, PULUMI_CLI_BIN, PULUMI_CLI_ROOT } from "./cli";
import { JournalEntry, readJournal } from "./stand-in/journal";
import { StandIn } from "./stand-in/provider";
import { World } from "./stand-in/world";

export const ROOT = path.resolve(__dirname, "..", "..");
export const PROJECT = "vps-stacks";
/** The stand-ins (pulumi-resource-*) and the policy-pack launcher. */
export const PLUGINS = path.join(ROOT, "test", "engine", "plugins");
/** The policy pack as an executable analyzer plugin (see plugins/policy-pack). */
export const POLICY_PACK = path.join(PLUGINS, "policy-pack");
const ENTRY = path.join(ROOT, "program", "index.ts");
const PROGRAM_DIRS = ["program", "config", "compose", "components"].map((d) => path.join(ROOT, d) + path.sep);

/**
 * Installs the policy pack's own dependencies (`npm ci --prefix policies`) when they are
 * missing or older than its lockfile: the analyzer runs the pack from its folder, with
 * its node_modules, as `pulumi preview --policy-pack policies` does.
 */
export function ensurePolicyPackInstalled(): void {
    const installed = path.join(ROOT, "policies", "node_modules", ".package-lock.json");
    const lock = path.join(ROOT, "policies", "package-lock.json");
    if (fs.existsSync(installed) && fs.statSync(installed).mtimeMs >= fs.statSync(lock).mtimeMs) return;
    execFileSync("npm", ["ci", "--prefix", "policies", "--no-audit", "--no-fund"], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
}

/** The inline program: the real entry point, built afresh on every run. */
export async function program(): Promise<Record<string, unknown>> {
    for (const file of Object.keys(require.cache)) {
        if (PROGRAM_DIRS.some((dir) => file.startsWith(dir))) delete require.cache[file];
    }
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const exports = require(ENTRY);
    return { ...exports };
}

/** A stack of a sandbox: which stack file it starts from and what to change in it. */
export interface StackSpec {
    /** Stack name (also the name of its file in the work directory). */
    name: string;
    /** The stack file it starts from (shipped or fixture). */
    file: string;
    /** Config values replacing the file's (`key`, `namespace:key` or a dotted path into a map, `backupStorage.adoptExisting`); undefined removes a top-level key. */
    overrides?: Record<string, unknown>;
    /** Secret config values to set with the CLI (`key` or `namespace:key`); default: {@link defaultSecrets}. */
    secrets?: Record<string, string>;
}

/** A resource in a stack's checkpoint (the fields the suite reads). */
export interface StateResource {
    urn: string;
    type: string;
    id?: string;
    protect?: boolean;
    retainOnDelete?: boolean;
    dependencies?: string[];
    outputs?: Record<string, unknown>;
}

/** One CLI operation's outcome: a failed operation is a value here, not an exception. */
export interface OperationResult {
    ok: boolean;
    stdout: string;
    stderr: string;
    /** The engine's summary by operation (`same`, `create`, `update`, `replace`, `delete`, ...), when it printed one. */
    changes: Record<string, number>;
}

/**
 * Secret values unique to one sandbox, so a test can look for them in the state; with a
 * stack file's config whose postgres has `pitr`, also the PITR repository's passphrase.
 */
export function defaultSecrets(config: Record<string, unknown> = {}): Record<string, string> {
    const token = () => randomBytes(12).toString("hex");
    return {
        sshPrivateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\nengine-suite-${token()}\n-----END OPENSSH PRIVATE KEY-----`,
        databasePassword: `engine-db-${token()}`,
        alertWebhookUrl: `https://discord.com/api/webhooks/1/engine-${token()}`,
        ...((config[fullKey("postgres")] as { pitr?: unknown } | undefined)?.pitr !== undefined ? { pitrPassphrase: `engine-pitr-${token()}-${token()}` } : {}),
    };
}

const fullKey = (key: string) => (key.includes(":") ? key : `${PROJECT}:${key}`);

/** A stack file's config with the `secure:` placeholders removed and `overrides` applied. */
export function stackFileWithoutSecrets(file: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const doc = parseYaml(fs.readFileSync(file, "utf8")) ?? {};
    const config: Record<string, unknown> = {};
    const isSecure = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v) && "secure" in v;
    for (const [key, value] of Object.entries((doc.config ?? {}) as Record<string, unknown>)) {
        if (!isSecure(value)) config[fullKey(key)] = value;
    }
    for (const [key, value] of Object.entries(overrides)) {
        const [top, ...rest] = key.split(".");
        if (rest.length === 0) {
            if (value === undefined) delete config[fullKey(top)];
            else config[fullKey(top)] = value;
            continue;
        }
        let map = (config[fullKey(top)] ??= {}) as Record<string, unknown>;
        for (const part of rest.slice(0, -1)) map = (map[part] ??= {}) as Record<string, unknown>;
        map[rest[rest.length - 1]] = value;
    }
    return config;
}

/** A temporary world in which the real CLI runs stacks of the real program against the stand-ins. */
export class Sandbox {
    readonly workDir: string;
    readonly stateDir: string;
    readonly journalFile: string;
    readonly worldDir: string;
    readonly env: Record<string, string>;
    private readonly stacks = new Map<string, Stack>();
    private command?: PulumiCommand;

    constructor(readonly dir: string) {
        this.workDir = path.join(dir, "work");
        this.stateDir = path.join(dir, "state");
        this.journalFile = path.join(dir, "journal.jsonl");
        this.worldDir = path.join(dir, "world");
        for (const d of [this.workDir, this.stateDir, this.worldDir, path.join(dir, "home")]) fs.mkdirSync(d, { recursive: true });
        fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(this.workDir, "Pulumi.yaml"));
        this.env = {
            PATH: [PLUGINS, path.dirname(process.execPath), PULUMI_CLI_BIN, process.env.PATH ?? ""].join(path.delimiter),
            PULUMI_BACKEND_URL: `file://${this.stateDir}`,
            PULUMI_CONFIG_PASSPHRASE: randomBytes(16).toString("hex"),
            PULUMI_HOME: path.join(dir, "home"),
            // No download site is reachable: plugins come from PATH only.
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            VPS_STAND_IN_JOURNAL: this.journalFile,
            VPS_STAND_IN_WORLD: this.worldDir,
        };
    }

    /** A fresh sandbox in the system's temporary directory. */
    static create(label: string): Sandbox {
        return new Sandbox(fs.mkdtempSync(path.join(os.tmpdir(), `engine-${label}-`)));
    }

    private async pulumi(): Promise<PulumiCommand> {
        this.command ??= await PulumiCommand.get({ root: PULUMI_CLI_ROOT });
        return this.command;
    }

    /**
     * Creates the stack from its spec: writes its stack file, `pulumi stack init` (passphrase
     * secrets provider), then sets the secrets through the CLI. Returns the secrets set.
     *
     * An environment attached to a host stack (`edge.stack: organization/vps-stacks/<host>`)
     * needs that stack's outputs for its StackReference, in this sandbox's backend: the host
     * stack is created from `Pulumi.<host>.yaml` (the shipped one) and brought up first, once.
     */
    async createStack(spec: StackSpec): Promise<Record<string, string>> {
        const config = stackFileWithoutSecrets(spec.file, spec.overrides);
        const reference = (config[fullKey("edge")] as { stack?: string } | undefined)?.stack;
        const host = reference?.startsWith(`organization/${PROJECT}/`) ? reference.split("/")[2] : undefined;
        if (host !== undefined && !this.stacks.has(host)) await this.createHostStack(host);
        fs.writeFileSync(path.join(this.workDir, `Pulumi.${spec.name}.yaml`), toYaml({ config }));
        const stack = await LocalWorkspace.createOrSelectStack(
            { stackName: spec.name, projectName: PROJECT, program },
            { workDir: this.workDir, envVars: this.env, pulumiCommand: await this.pulumi() },
        );
        const secrets = spec.secrets ?? defaultSecrets(config);
        await stack.setAllConfig(Object.fromEntries(Object.entries(secrets).map(([k, v]) => [fullKey(k), { value: v, secret: true }])));
        this.stacks.set(spec.name, stack);
        return secrets;
    }

    /** Creates the host stack `name` from the shipped `Pulumi.<name>.yaml` and brings it up; fails the test if the up fails. */
    async createHostStack(name: string): Promise<void> {
        const { sshPrivateKey, alertWebhookUrl } = defaultSecrets();
        // The monitoring's (issue 13): Grafana's admin password and the proxy's users in front of it.
        const token = randomBytes(12).toString("hex");
        const monitoring = { grafanaAdminPassword: `engine-grafana-${token}`, grafanaUsers: `ops:engine-grafana-users-${token}` };
        await this.createStack({ name, file: path.join(ROOT, `Pulumi.${name}.yaml`), secrets: { sshPrivateKey, alertWebhookUrl, ...monitoring } });
        const up = await this.up(name);
        if (!up.ok) throw new Error(`the host stack ${name} did not come up: ${explain(up)}`);
    }

    /** Sets plain config values of a stack (`pulumi config set --path`), e.g. a new image. */
    async setConfig(stackName: string, values: Record<string, string>): Promise<void> {
        for (const [key, value] of Object.entries(values)) {
            await this.stack(stackName).setConfig(fullKey(key), { value }, true);
        }
    }

    /** Removes config values of a stack (`pulumi config rm --path`), e.g. a whole service. */
    async removeConfig(stackName: string, keys: string[]): Promise<void> {
        for (const key of keys) await this.stack(stackName).removeConfig(fullKey(key), true);
    }

    stack(name: string): Stack {
        const stack = this.stacks.get(name);
        if (!stack) throw new Error(`no stack ${name} in this sandbox`);
        return stack;
    }

    private async operation(fn: (onOutput: (out: string) => void) => Promise<unknown>): Promise<OperationResult> {
        let stdout = "";
        const onOutput = (out: string) => {
            stdout += out;
        };
        try {
            await fn(onOutput);
            return { ok: true, stdout, stderr: "", changes: summaryOf(stdout) };
        } catch (err) {
            const e = err as { stdout?: string; stderr?: string; message?: string };
            const out = e.stdout || stdout;
            return { ok: false, stdout: out, stderr: e.stderr ?? e.message ?? String(err), changes: summaryOf(out) };
        }
    }

    up(stackName: string, opts: { expectNoChanges?: boolean; policyPack?: boolean } = {}): Promise<OperationResult> {
        return this.operation((onOutput) =>
            this.stack(stackName).up({ onOutput, color: "never", expectNoChanges: opts.expectNoChanges, policyPacks: opts.policyPack ? [POLICY_PACK] : undefined }),
        );
    }

    preview(stackName: string, opts: { expectNoChanges?: boolean; refresh?: boolean; policyPack?: boolean } = {}): Promise<OperationResult> {
        return this.operation((onOutput) =>
            this.stack(stackName).preview({
                onOutput,
                color: "never",
                expectNoChanges: opts.expectNoChanges,
                refresh: opts.refresh,
                policyPacks: opts.policyPack ? [POLICY_PACK] : undefined,
            }),
        );
    }

    /** Sets config values (`pulumi config set --path`), runs `pulumi up`, and returns it with the journal entries it caused. */
    async upWith(stackName: string, values: Record<string, string>): Promise<{ up: OperationResult; journal: JournalEntry[] }> {
        await this.setConfig(stackName, values);
        const mark = this.mark();
        const up = await this.up(stackName);
        return { up, journal: this.since(mark) };
    }

    destroy(stackName: string): Promise<OperationResult> {
        return this.operation((onOutput) => this.stack(stackName).destroy({ onOutput, color: "never" }));
    }

    /** Runs the CLI itself in the work directory with the sandbox's environment (`pulumi state unprotect ...`). */
    cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
        return new Promise((resolve) => {
            execFile(
                PULUMI_CLI,
                [...args, "--non-interactive"],
                { cwd: this.workDir, env: { ...process.env, ...this.env }, maxBuffer: 64 * 1024 * 1024 },
                (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
            );
        });
    }

    /** The stack's checkpoint in the file backend (project-scoped stacks). */
    stateFile(stackName: string): string {
        return path.join(this.stateDir, ".pulumi", "stacks", PROJECT, `${stackName}.json`);
    }

    /** The resources in the stack's state as the checkpoint holds them. */
    resources(stackName: string): StateResource[] {
        const file = this.stateFile(stackName);
        if (!fs.existsSync(file)) return [];
        return JSON.parse(fs.readFileSync(file, "utf8")).checkpoint?.latest?.resources ?? [];
    }

    /** Every journal entry so far. */
    journal(): JournalEntry[] {
        return readJournal(this.journalFile);
    }

    /** A mark to read the journal from: `since(mark)` gives the entries after it. */
    mark(): number {
        return this.journal().length;
    }

    since(mark: number): JournalEntry[] {
        return this.journal().slice(mark);
    }

    world(): World {
        return new World(this.worldDir);
    }

    /**
     * Puts a resource into the stand-ins' world as if an earlier stack had created it and
     * retained it (check and create of the stand-in, unjournaled): what an `import` finds.
     */
    seed(pkg: string, urn: string, inputs: Record<string, unknown>): void {
        const standIn = new StandIn({ pkg, world: this.world() });
        standIn.create(urn, standIn.check(urn, {}, inputs).inputs, false);
    }

    /**
     * Removes the sandbox after its tests, or keeps it when one failed or when
     * VPS_ENGINE_KEEP is set, naming its directory (state, journal, world, work).
     */
    finish(suite: Mocha.Suite): void {
        const failed = suite.tests.some((t) => t.state === "failed");
        if (failed || process.env.VPS_ENGINE_KEEP) {
            process.stderr.write(`engine sandbox kept for inspection: ${this.dir}\n`);
            return;
        }
        this.remove();
    }

    remove(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/**
 * The engine's closing summary ("Resources:\n    + 3 created\n    58 unchanged"), as counts by
 * word: created, updated, replaced, deleted, unchanged, to create, ...
 */
export function summaryOf(stdout: string): Record<string, number> {
    const at = stdout.lastIndexOf("Resources:");
    if (at < 0) return {};
    const counts: Record<string, number> = {};
    for (const line of stdout.slice(at).split("\n").slice(1)) {
        const m = /^\s+(?:[-+~]+|\+-)?\s*(\d+)\s+([a-z][a-z ]*?)\s*$/.exec(line);
        if (!m) {
            if (line.trim() === "") continue;
            break;
        }
        counts[m[2]] = Number(m[1]);
    }
    return counts;
}

/** A failed operation's text for an assertion message: its error and the end of its output. */
export function explain(result: OperationResult): string {
    return `${result.stderr}\n--- stdout (tail) ---\n${result.stdout.split("\n").slice(-60).join("\n")}`;
}
