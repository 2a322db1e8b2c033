/**
 * How the offline synth answers a `pulumi.StackReference`: a reference to a stack of this
 * project (`<org>/vps-stacks/<stack>`) is resolved by synthesizing that stack's file,
 * `Pulumi.<stack>.yaml`, beside the stack file being synthesized (or at the repository's root),
 * in a process of its own (a Pulumi program runs once per process), and reading its outputs.
 * So `npm run synth -- --stack staging` sees the edge that `Pulumi.vps1.yaml` would export.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stackOfReference } from "../../components/naming";
import type { StackOutputsResolver } from "./mocks";
import { SynthInputError } from "./synthesize";

const ROOT = path.resolve(__dirname, "..", "..");
/** How deep references may chain (a host stack referencing nothing is depth 1). */
const MAX_DEPTH = 3;
const DEPTH_VARIABLE = "VPS_SYNTH_REFERENCE_DEPTH";

/** The stack file a reference resolves to: the first `Pulumi.<stack>.yaml` of `dirs`, or a SynthInputError saying what is missing. */
export function referencedStackFile(reference: string, project: string, dirs: string[]): string {
    const stack = stackOfReference(reference, project);
    if (stack === undefined) {
        throw new SynthInputError(
            `stack reference "${reference}": the offline synth resolves references to this project's stacks only ("<org>/${project}/<stack>")`,
        );
    }
    const candidates = [...new Set(dirs)].map((dir) => path.join(dir, `Pulumi.${stack}.yaml`));
    const found = candidates.find((f) => fs.existsSync(f));
    if (!found) {
        throw new SynthInputError(
            `stack reference "${reference}": no stack file ${candidates.join(" or ")} to synthesize its outputs from ` +
                `(the referenced host stack's file belongs in this repository; or correct edge.stack)`,
        );
    }
    return found;
}

/**
 * A resolver for the synth of the stack file `stackFile`: each referenced stack is synthesized
 * once, by `tools/synth/cli.ts --config-file <its file> --out <tmp> --quiet`.
 */
export function synthStackReferences(project: string, stackFile: string): StackOutputsResolver {
    const depth = Number(process.env[DEPTH_VARIABLE] ?? "0") + 1;
    const cache = new Map<string, Promise<Record<string, unknown>>>();
    return (reference) => {
        if (!cache.has(reference)) {
            cache.set(
                reference,
                (async () => {
                    const file = referencedStackFile(reference, project, [path.dirname(path.resolve(stackFile)), ROOT]);
                    if (depth > MAX_DEPTH) throw new SynthInputError(`stack reference "${reference}": references chain deeper than ${MAX_DEPTH} stacks (a cycle?)`);
                    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "synth-reference-")), "outputs.json");
                    const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) =>
                        execFile(
                            process.execPath,
                            ["--require", "sucrase/register/ts", path.join(__dirname, "cli.ts"), "--config-file", file, "--out", out, "--quiet"],
                            { cwd: ROOT, env: { ...process.env, [DEPTH_VARIABLE]: String(depth) }, maxBuffer: 64 * 1024 * 1024 },
                            (err, _stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr }),
                        ),
                    );
                    try {
                        if (!fs.existsSync(out)) {
                            throw new SynthInputError(`stack reference "${reference}": the synth of ${path.relative(ROOT, file) || file} failed (exit ${code}):\n${stderr.trim()}`);
                        }
                        return JSON.parse(fs.readFileSync(out, "utf8")).outputs as Record<string, unknown>;
                    } finally {
                        fs.rmSync(path.dirname(out), { recursive: true, force: true });
                    }
                })(),
            );
        }
        return cache.get(reference)!;
    };
}
