/**
 * Runs the offline synth CLI (`tools/synth/cli.ts`) as a child process, as `npm run synth`
 * does: a Pulumi program runs once per process. The synth of each shipped stack is
 * memoized, so every test file in one mocha run shares one synth per stack.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import type { SynthResult } from "../../tools/synth/synthesize";

export const ROOT = path.resolve(__dirname, "..", "..");
// The same TypeScript hook as `npm run synth` (sucrase: strips types without loading the compiler).
const REGISTER = "sucrase/register/ts";

/** One synth process: exit code, output, and the JSON it wrote (when it wrote one). */
export interface SynthRun {
    code: number;
    stdout: string;
    stderr: string;
    /** The `--out` file, if any. */
    out?: string;
    /** Its text and parsed graph, when written. */
    text?: string;
    result?: SynthResult;
}

/** A fresh temporary directory for synth outputs. */
export const synthTmp = fs.mkdtempSync(path.join(os.tmpdir(), "synth-test-"));

/** Runs `node --require sucrase/register/ts <script> <args>` from the repository root; `out` is the file the script writes, if any. */
export function runScript(script: string, args: string[], out?: string): Promise<SynthRun> {
    return new Promise((resolve) => {
        execFile(
            process.execPath,
            ["--require", REGISTER, path.join(ROOT, script), ...args],
            { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
            (err, stdout, stderr) => {
                const run: SynthRun = { code: err ? Number((err as any).code ?? 1) : 0, stdout, stderr, out };
                if (out && fs.existsSync(out)) {
                    run.text = fs.readFileSync(out, "utf8");
                    run.result = JSON.parse(run.text);
                }
                resolve(run);
            },
        );
    });
}

function withOut(label: string, args: string[]): Promise<SynthRun> {
    const out = path.join(synthTmp, `${label}.json`);
    return runScript("tools/synth/cli.ts", [...args, "--out", out], out);
}

const shipped = new Map<string, Promise<SynthRun>>();

/** `npm run synth -- --stack <stack> --out <tmp>` for a shipped stack, once per mocha run. */
export function synthShippedStack(stack: "staging" | "production" | "vps1"): Promise<SynthRun> {
    if (!shipped.has(stack)) shipped.set(stack, withOut(`shipped-${stack}`, ["--stack", stack]));
    return shipped.get(stack)!;
}

/** The public address each shipped environment's own proxy bound before it attached to the host stack. */
const SELF_CONTAINED_ADDRESS = { staging: "203.0.113.11", production: "203.0.113.10" } as const;

/**
 * A shipped environment's stack file made self-contained again (a proxy of its own, as before
 * the host stack): its `edge` replaced by the host stack's `proxy` section on the address the
 * environment's proxy bound. Written under a temporary directory as `Pulumi.<stack>.yaml`, so
 * the synth names the stack the same.
 */
export function selfContainedStackFile(stack: "staging" | "production"): string {
    const dir = path.join(synthTmp, "self-contained");
    const file = path.join(dir, `Pulumi.${stack}.yaml`);
    if (fs.existsSync(file)) return file;
    const doc = parseYaml(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8"));
    const host = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.vps1.yaml"), "utf8"));
    delete doc.config["vps-stacks:edge"];
    doc.config["vps-stacks:proxy"] = { ...host.config["vps-stacks:proxy"], publicAddress: SELF_CONTAINED_ADDRESS[stack] };
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(file, toYaml(doc));
    return file;
}

/** The synth of {@link selfContainedStackFile}, once per mocha run. */
export function synthSelfContained(stack: "staging" | "production"): Promise<SynthRun> {
    const key = `self-contained-${stack}`;
    if (!shipped.has(key)) shipped.set(key, withOut(key, ["--config-file", selfContainedStackFile(stack)]));
    return shipped.get(key)!;
}

/** The services fixture (issue 11: workers, replicas, volumes, release, routes), once per mocha run. */
export const SERVICES_FIXTURE = path.join(ROOT, "test", "fixtures", "services-stack", "Pulumi.services.yaml");
let servicesFixture: Promise<SynthRun> | undefined;
export function synthServicesFixture(): Promise<SynthRun> {
    servicesFixture ??= withOut("fixture-services", ["--config-file", SERVICES_FIXTURE]);
    return servicesFixture;
}

/** A synth with its own process and output file (e.g. to compare two runs). */
export function synthOnce(label: string, args: string[]): Promise<SynthRun> {
    return withOut(label, args);
}
