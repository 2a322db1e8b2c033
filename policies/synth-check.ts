/**
 * The policy pack as the offline synth runs it: the verdict of a pull request without
 * credentials. `tools/synth/cli.ts` calls `runPolicyPack` after writing its JSON; run directly,
 * this file checks a synth JSON file:
 *
 *   node -r sucrase/register/ts policies/synth-check.ts synth.json [--policy-config file.json]
 *
 * (from the repository root: the runner is the root's sucrase, as for the synth and the tests)
 *
 * Exit code 1 when any mandatory policy is violated, 2 on unreadable input.
 */
import * as fs from "fs";
import { evaluateSynth, PackConfig, SynthResource, Violation } from "./adapters";

export type { SynthResource, Violation } from "./adapters";

export interface PolicyPackResult {
    violations: Violation[];
    /** Violations of mandatory policies; the synth fails when this is not 0. */
    mandatoryCount: number;
}

/**
 * Runs every policy of the pack (including synth-only ones such as `data-retained-on-delete`)
 * over the synth's resources. `config` is a pack config in Pulumi's policy-config format;
 * `stack` is used for "is this production?" only when no resource carries a `vps.environment` label.
 * Throws on a config naming an unknown policy or key.
 */
export function runPolicyPack(resources: SynthResource[], options: { config?: Record<string, unknown>; stack?: string } = {}): PolicyPackResult {
    const violations = evaluateSynth(resources, options.config as PackConfig | undefined, { stackName: options.stack });
    return { violations, mandatoryCount: violations.filter((v) => v.enforcementLevel === "mandatory").length };
}

/** One block per violation (level, policy, URN, message with its fix), mandatory ones first, then a summary line. */
export function formatViolations(violations: Violation[]): string {
    const order = (v: Violation) => (v.enforcementLevel === "mandatory" ? 0 : 1);
    const sorted = [...violations].sort((a, b) => order(a) - order(b));
    const lines = sorted.map((v) => `[${v.enforcementLevel}] ${v.policyName}\n    resource: ${v.urn ?? "(stack)"}\n    ${v.message}`);
    const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory").length;
    lines.push(`Policy pack vps-stacks-policies: ${mandatory} mandatory, ${violations.length - mandatory} advisory violation(s).`);
    return lines.join("\n");
}

function main(argv: string[]): number {
    const file = argv.find((a, i) => !a.startsWith("--") && argv[i - 1] !== "--policy-config");
    const configIndex = argv.indexOf("--policy-config");
    if (!file) {
        process.stderr.write("usage: synth-check.ts <synth.json> [--policy-config <file.json>]\n");
        return 2;
    }
    let doc: { stack?: string; resources?: SynthResource[] };
    let config: Record<string, unknown> | undefined;
    try {
        doc = JSON.parse(fs.readFileSync(file, "utf8"));
        if (configIndex >= 0) config = JSON.parse(fs.readFileSync(argv[configIndex + 1], "utf8"));
        if (!Array.isArray(doc.resources)) throw new Error(`${file} has no "resources" array`);
    } catch (e) {
        process.stderr.write(`synth-check: ${(e as Error).message}\n`);
        return 2;
    }
    const { violations, mandatoryCount } = runPolicyPack(doc.resources ?? [], { config, stack: doc.stack });
    process.stdout.write(formatViolations(violations) + "\n");
    return mandatoryCount > 0 ? 1 : 0;
}

if (require.main === module) {
    process.exitCode = main(process.argv.slice(2));
}
