/**
 * Runs one policy the two ways the product runs it: through `evaluateSynth` (the offline synth)
 * and through the `@pulumi/policy` policy object `pulumi preview` would call, with the props
 * wrapped in `@pulumi/policy`'s own unknown-checking proxy (as pulumi/pulumi-policy-aws
 * `tests/util.ts` builds validation args).
 */
import type { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { evaluateSynth, toPulumiPolicy } from "../../policies/adapters";
import { allPolicies } from "../../policies/pack";
import type { AnyPolicy } from "../../policies/vocabulary";
import type { SynthResource, Violation } from "../../policies/synth-check";

// Internal to @pulumi/policy (no typings): the proxy the analyzer wraps resource props in.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const proxy = require("@pulumi/policy/proxy") as { unknownCheckingProxy<T>(v: T): T; unknownStringValue: unknown; unknownArrayValue: unknown };
export const previewUnknownString = proxy.unknownStringValue;

export function policy(name: string): AnyPolicy {
    const r = allPolicies.find((x) => x.name === name);
    if (!r) throw new Error(`no policy named ${name}`);
    return r;
}

export function synthViolations(stack: SynthResource[], policyName: string, config: Record<string, unknown> = {}, stackName?: string): Violation[] {
    return evaluateSynth(stack, config, { policies: [policy(policyName)], stackName });
}

export interface PreviewViolation {
    message: string;
    urn?: string;
}

function opts(r: SynthResource) {
    return {
        protect: r.options?.protect ?? false,
        ignoreChanges: [],
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [],
        ...(r.parent ? { parent: r.parent } : {}),
    };
}

function notApplicable(reason?: string): never {
    throw new Error(`notApplicable: ${reason}`);
}

/** Runs the `@pulumi/policy` form of a policy; `config` is what the CLI would pass to `getConfig()`. */
export async function previewViolations(stack: SynthResource[], policyName: string, config: Record<string, unknown> = {}): Promise<PreviewViolation[]> {
    const pulumiPolicy = toPulumiPolicy(policy(policyName));
    const out: PreviewViolation[] = [];
    const report = (message: string, urn?: string) => out.push({ message, urn });
    const getConfig = <T extends object>() => config as T;
    if ("validateResource" in pulumiPolicy && pulumiPolicy.validateResource) {
        const validations = ([] as unknown[]).concat((pulumiPolicy as ResourceValidationPolicy).validateResource) as ((a: ResourceValidationArgs, r: typeof report) => void | Promise<void>)[];
        for (const r of stack) {
            const args: ResourceValidationArgs = {
                type: r.type, name: r.name, urn: r.urn, props: proxy.unknownCheckingProxy(structuredClone(r.props ?? {})), opts: opts(r),
                stackTags: new Map(), isType: () => false, asType: () => undefined, getConfig, notApplicable,
            };
            for (const v of validations) {
                await v(args, (message: string) => report(message, r.urn));
            }
        }
        return out;
    }
    const resources: PolicyResource[] = stack.map((r) => ({
        type: r.type, name: r.name, urn: r.urn, props: proxy.unknownCheckingProxy(structuredClone(r.props ?? {})), opts: opts(r),
        dependencies: [], propertyDependencies: {}, isType: () => false, asType: () => undefined,
    }));
    for (const [i, r] of stack.entries()) {
        if (r.parent) resources[i].parent = resources.find((p) => p.urn === r.parent);
    }
    const args: StackValidationArgs = { resources, stackTags: new Map(), getConfig, notApplicable };
    await (pulumiPolicy as StackValidationPolicy).validateStack(args, report);
    return out;
}
