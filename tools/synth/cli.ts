/**
 * `npm run synth -- --stack <name> [--out <file>]`
 * `npm run synth -- --config-file <path/Pulumi.<stack>.yaml> [--out <file>]`
 *
 * The offline synth: runs the program under Pulumi's mocks with a stack's real
 * configuration, prints the resource tree with lifecycle options and, with `--out`,
 * writes the graph as JSON (secrets redacted). No Pulumi CLI, plugin or credential is
 * needed, so it is the check a pull request gets without secrets, as `cdk synth` is for
 * the CDK.
 *
 * A `pulumi.StackReference` (an environment's `edge.stack`) is answered with the outputs of the
 * synth of the referenced stack's file in this repository (tools/synth/stack-references.ts).
 *
 * Exit codes: 0 success; 1 invalid configuration (every bad key path is listed) or a
 * mandatory policy violation (the policy pack runs over the graph, see policies/synth-check.ts);
 * 2 bad arguments, an unreadable stack file, or a referenced stack without a stack file. User
 * errors never print a stack trace.
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { ConfigError } from "../../config/types";
import { formatTree, readProjectName, readStackConfigFile, synthesize, SynthInputError } from "./synthesize";
import { formatViolations, runPolicyPack } from "../../policies/synth-check";
import { synthStackReferences } from "./stack-references";

const ROOT = path.resolve(__dirname, "..", "..");
const USAGE = "usage: npm run synth -- (--stack <name> | --config-file <Pulumi.<stack>.yaml>) [--out <file.json>] [--quiet]";

function fail(code: number, message: string): never {
    process.stderr.write(`${message}\n`);
    process.exit(code);
}

async function main(): Promise<void> {
    let values: { stack?: string; "config-file"?: string; out?: string; quiet?: boolean; help?: boolean };
    try {
        ({ values } = parseArgs({
            options: {
                stack: { type: "string" },
                "config-file": { type: "string" },
                out: { type: "string" },
                quiet: { type: "boolean" },
                help: { type: "boolean" },
            },
            strict: true,
        }));
    } catch (err) {
        fail(2, `${(err as Error).message}\n${USAGE}`);
    }
    if (values.help) {
        process.stdout.write(`${USAGE}\n`);
        return;
    }
    if (!values.stack === !values["config-file"]) fail(2, `give exactly one of --stack or --config-file\n${USAGE}`);

    const project = readProjectName(path.join(ROOT, "Pulumi.yaml"));
    const file = values["config-file"] ? path.resolve(values["config-file"]) : path.join(ROOT, `Pulumi.${values.stack}.yaml`);
    const stackConfig = readStackConfigFile(file, project);

    const started = Date.now();
    let result;
    try {
        result = await synthesize(path.join(ROOT, "program", "index"), stackConfig, synthStackReferences(project, file));
    } catch (err) {
        if (err instanceof ConfigError || pulumi.RunError.isInstance(err)) fail(1, (err as Error).message);
        throw err;
    }
    if (!values.quiet) process.stdout.write(`${formatTree(result)}\n`);
    if (values.out) {
        fs.writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
        process.stdout.write(`wrote ${result.resources.length} resources to ${values.out}\n`);
    }
    process.stdout.write(`synth of ${project}/${result.stack} took ${Date.now() - started} ms\n`);
    const policy = runPolicyPack(result.resources, { stack: result.stack });
    process.stdout.write(`${formatViolations(policy.violations)}\n`);
    if (policy.mandatoryCount > 0) process.exitCode = 1;
}

main().catch((err) => {
    if (err instanceof SynthInputError) fail(2, err.message);
    process.stderr.write(`synth crashed (a bug, not a config error):\n${err?.stack ?? err}\n`);
    process.exit(3);
});
