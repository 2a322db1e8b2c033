/**
 * Benchmark: the full staging stack on the real engine (the `pulumi` CLI of
 * .ci/setup.d/40-pulumi-cli.sh, the provider stand-ins of test/engine/plugins, a file
 * backend), beside the offline synth of the same stack.
 *
 * Run:
 *     npm run bench:engine [-- iterations]
 *
 * Per iteration (default 3), in a fresh sandbox (test/engine/harness.ts): `pulumi up` from
 * empty (the documented first run: adoptExisting false), a no-op `pulumi up`, and
 * `pulumi destroy`, each timed from the Automation API call to its return (CLI start,
 * inline program, plugin start-up, state writes). The synth is `npm run synth -- --stack
 * staging --quiet` timed as a whole process, and its own in-process figure. Prints the
 * median and the range; the stand-ins answer at once, so the engine figures are the
 * engine's and the program's own cost, not any provider's.
 */
import { execFile } from "child_process";
import * as path from "path";
import { hasPulumiCli, PULUMI_CLI_INSTALL } from "../test/engine/cli";
import { explain, ROOT, Sandbox } from "../test/engine/harness";

const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const row = (label: string, xs: number[]) => `${label.padEnd(34)} ${sec(median(xs)).padStart(9)}   (${xs.map(sec).join(", ")})`;

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
    const t0 = Date.now();
    const result = await fn();
    return [Date.now() - t0, result];
}

function synth(): Promise<{ wallMs: number; reportedMs: number }> {
    const t0 = Date.now();
    return new Promise((resolve, reject) =>
        execFile(process.execPath, ["--require", "sucrase/register/ts", path.join(ROOT, "tools", "synth", "cli.ts"), "--stack", "staging", "--quiet"], { cwd: ROOT }, (err, stdout, stderr) => {
            if (err) return reject(new Error(`synth failed: ${stderr}`));
            const reported = /took (\d+) ms/.exec(stdout);
            resolve({ wallMs: Date.now() - t0, reportedMs: reported ? Number(reported[1]) : NaN });
        }),
    );
}

async function main(): Promise<void> {
    if (!hasPulumiCli()) throw new Error(`no pulumi CLI: ${PULUMI_CLI_INSTALL}`);
    const iterations = Number(process.argv[2] ?? 3);
    const up: number[] = [];
    const noop: number[] = [];
    const destroy: number[] = [];
    let resources = 0;
    for (let i = 0; i < iterations; i++) {
        const sandbox = Sandbox.create("bench");
        await sandbox.createStack({ name: "staging", file: path.join(ROOT, "Pulumi.staging.yaml"), overrides: { "backupStorage.adoptExisting": false } });
        for (const [list, op] of [
            [up, () => sandbox.up("staging")],
            [noop, () => sandbox.up("staging", { expectNoChanges: true })],
            [destroy, () => sandbox.destroy("staging")],
        ] as const) {
            const [ms, result] = await timed(op);
            if (!result.ok) throw new Error(explain(result));
            list.push(ms);
            if (list === up) resources = result.changes.created ?? 0;
        }
        sandbox.remove();
        process.stderr.write(`iteration ${i + 1}/${iterations} done\n`);
    }
    const synths = [];
    for (let i = 0; i < iterations; i++) synths.push(await synth());

    process.stdout.write(
        [
            `staging stack, ${resources} resources; real engine (pulumi CLI, stand-in providers, file backend) vs offline synth; median of ${iterations}`,
            row("pulumi up from empty", up),
            row("pulumi up, no changes", noop),
            row("pulumi destroy", destroy),
            row("npm run synth (whole process)", synths.map((s) => s.wallMs)),
            row("synth's own figure (in process)", synths.map((s) => s.reportedMs)),
            "",
        ].join("\n"),
    );
}

main().catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
});
