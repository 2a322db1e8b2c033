/**
 * The two ways a policy runs: as a `@pulumi/policy` policy under `pulumi preview --policy-pack`,
 * and over the offline synth's resource graph (`evaluateSynth`). Both resolve a policy's config
 * the same way: the pack's config (Pulumi's policy-config file format) over the policy's defaults.
 */
import type {
    Policies,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import type { PolicyConfigJSONSchema } from "@pulumi/policy/schema";
import { allPolicies } from "./pack";
import { AnyPolicy, EnforcementLevel, PolicyResourceView, PolicyContext, UNKNOWN } from "./vocabulary";

// ---------------------------------------------------------------------------------------------
// Config: `{ "all"?: level | {enforcementLevel}, "<policy>"?: level | {enforcementLevel?, <key>: value} }`,
// the format of `pulumi preview --policy-pack-config <file>`.
// ---------------------------------------------------------------------------------------------
export type PackConfig = Record<string, unknown>;

const LEVELS: readonly string[] = ["advisory", "mandatory", "disabled", "remediate"];

function levelOf(entry: unknown): EnforcementLevel | undefined {
    const level = typeof entry === "string" ? entry : (entry as { enforcementLevel?: unknown } | undefined)?.enforcementLevel;
    if (level === undefined) return undefined;
    if (typeof level !== "string" || !LEVELS.includes(level)) throw new Error(`Invalid enforcement level ${JSON.stringify(level)}: use advisory, mandatory or disabled.`);
    // The policies never remediate; Pulumi itself treats a remediate-level validation as mandatory.
    return level === "remediate" ? "mandatory" : (level as EnforcementLevel);
}

function matchesSchema(value: unknown, schema: PolicyConfigJSONSchema): boolean {
    const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
    const ok = types.length === 0 || types.some((t) => {
        switch (t) {
            case "array": return Array.isArray(value);
            case "integer": return Number.isInteger(value);
            case "number": return typeof value === "number";
            case "string": return typeof value === "string";
            case "boolean": return typeof value === "boolean";
            case "null": return value === null;
            case "object": return value !== null && typeof value === "object" && !Array.isArray(value);
            default: return false;
        }
    });
    if (!ok) return false;
    if (typeof value === "number" && schema.minimum !== undefined && value < schema.minimum) return false;
    if (Array.isArray(value) && schema.items && typeof schema.items === "object" && !Array.isArray(schema.items)) {
        const items = schema.items;
        return value.every((v) => matchesSchema(v, items));
    }
    return true;
}

/**
 * The enforcement level and config a policy runs with. Throws, naming the policy and key, on an
 * unknown key or a value of the wrong type (the synth must not run with a config
 * `pulumi preview` would reject).
 */
export function resolvePolicyConfig(policy: AnyPolicy, packConfig: PackConfig = {}): { enforcementLevel: EnforcementLevel; config: Record<string, unknown> } {
    const entry = packConfig[policy.name];
    const enforcementLevel = levelOf(entry) ?? levelOf(packConfig.all) ?? policy.enforcementLevel;
    const config: Record<string, unknown> = { ...policy.defaults };
    if (entry !== null && typeof entry === "object") {
        for (const [key, value] of Object.entries(entry)) {
            if (key === "enforcementLevel") continue;
            const schema = policy.configSchema.properties[key];
            if (!schema) throw new Error(`Policy config for '${policy.name}' has unknown key '${key}'; known keys: ${Object.keys(policy.configSchema.properties).join(", ") || "none"}.`);
            if (!matchesSchema(value, schema)) throw new Error(`Policy config '${policy.name}.${key}' = ${JSON.stringify(value)} does not match its schema (${JSON.stringify(schema.type)}).`);
            config[key] = value;
        }
    }
    return { enforcementLevel, config };
}

/** Rejects config entries for policies the pack does not have (a typo would silently do nothing). */
export function checkPackConfigNames(policies: readonly AnyPolicy[], packConfig: PackConfig = {}): void {
    const names = new Set(policies.map((r) => r.name));
    const unknown = Object.keys(packConfig).filter((k) => k !== "all" && !names.has(k));
    if (unknown.length) throw new Error(`Policy config names unknown policies: ${unknown.join(", ")}.`);
}

// ---------------------------------------------------------------------------------------------
// @pulumi/policy
// ---------------------------------------------------------------------------------------------

/**
 * `@pulumi/policy` throws this (untyped, internal) error when a policy reads a value unknown
 * during preview; matched by class name so a moved module does not break the pack.
 */
function isUnknownValueError(e: unknown): boolean {
    return e instanceof Error && e.constructor.name === "UnknownValueError";
}

/**
 * Copies `@pulumi/policy`'s unknown-checking proxy into plain data, turning each value unknown
 * during preview into `UNKNOWN` instead of letting a policy's first read of it abort it.
 */
export function materialize(value: unknown): unknown {
    if (value === null || typeof value !== "object") return value;
    const out: Record<string, unknown> | unknown[] = Array.isArray(value) ? [] : {};
    for (const key of Object.keys(value)) {
        let v: unknown;
        try {
            v = (value as Record<string, unknown>)[key];
        } catch (e) {
            if (isUnknownValueError(e)) {
                (out as Record<string, unknown>)[key] = UNKNOWN;
                continue;
            }
            throw e;
        }
        (out as Record<string, unknown>)[key] = materialize(v);
    }
    return out;
}

function viewOfPolicyResource(r: Pick<ResourceValidationArgs, "type" | "name" | "urn" | "props" | "opts">, parent?: string): PolicyResourceView {
    return {
        type: r.type,
        name: r.name,
        urn: r.urn,
        props: materialize(r.props) as Record<string, unknown>,
        options: {
            protect: r.opts?.protect,
            parent: r.opts?.parent ?? parent,
            ignoreChanges: r.opts?.ignoreChanges,
            deleteBeforeReplace: r.opts?.deleteBeforeReplace,
            // retainOnDelete: not exposed by @pulumi/policy, stays undefined.
        },
    };
}

const PREVIEW: PolicyContext = { source: "pulumi-policy" };

function configFrom(policy: AnyPolicy, args: { getConfig<T extends object>(): T }): Record<string, unknown> {
    // The CLI fills schema defaults in; merging over `defaults` keeps tests and older CLIs equal.
    return { ...policy.defaults, ...args.getConfig<Record<string, unknown>>() };
}

/** One of the pack's policies as a `@pulumi/policy` policy (resource or stack validation). */
export function toPulumiPolicy(policy: AnyPolicy): ResourceValidationPolicy | StackValidationPolicy {
    const base = {
        name: policy.name,
        description: policy.description,
        enforcementLevel: policy.enforcementLevel,
        configSchema: policy.configSchema,
    };
    const validateResource = policy.validateResource;
    if (validateResource) {
        return {
            ...base,
            validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
                for (const m of validateResource(viewOfPolicyResource(args), configFrom(policy, args), PREVIEW)) report(m);
            },
        };
    }
    const validateStack = policy.validateStack;
    if (!validateStack) throw new Error(`Policy '${policy.name}' validates neither resources nor stacks.`);
    return {
        ...base,
        validateStack: (args: StackValidationArgs, report: ReportViolation) => {
            const views = args.resources.map((r: PolicyResource) => viewOfPolicyResource(r, r.parent?.urn));
            for (const v of validateStack(views, configFrom(policy, args), PREVIEW)) report(v.message, v.urn);
        },
    };
}

/** The pack's policies as `@pulumi/policy` runs them (synth-only ones are left out). */
export function toPolicyPackPolicies(policies: readonly AnyPolicy[]): Policies {
    return policies.filter((r) => !r.synthOnly).map(toPulumiPolicy);
}

// ---------------------------------------------------------------------------------------------
// Offline synth
// ---------------------------------------------------------------------------------------------

/** One resource of the synth's JSON (`npm run synth`). */
export interface SynthResource {
    urn: string;
    type: string;
    name: string;
    parent?: string | null;
    props?: Record<string, unknown>;
    options?: {
        protect?: boolean;
        retainOnDelete?: boolean;
        dependsOn?: string[];
        /** null: left to the provider. */
        deleteBeforeReplace?: boolean | null;
        ignoreChanges?: string[];
    } | null;
}

export interface Violation {
    policyName: string;
    enforcementLevel: EnforcementLevel;
    /** The offending resource; absent when the stack as a whole violates the policy. */
    urn?: string;
    /** What is wrong and how to fix it. */
    message: string;
}

export function viewOfSynthResource(r: SynthResource): PolicyResourceView {
    const o = r.options ?? undefined;
    return {
        type: r.type,
        name: r.name,
        urn: r.urn,
        props: r.props ?? {},
        options: o === undefined
            ? undefined
            : {
                protect: o.protect,
                retainOnDelete: o.retainOnDelete,
                parent: r.parent ?? undefined,
                dependsOn: o.dependsOn,
                ignoreChanges: o.ignoreChanges,
                deleteBeforeReplace: o.deleteBeforeReplace ?? undefined,
            },
    };
}

/**
 * Runs the pack's policies (synth-only ones included) over the synth's resources with the pack's
 * config. `stackName` counts only where no resource carries a `vps.environment` label.
 */
export function evaluateSynth(
    resources: SynthResource[],
    packConfig: PackConfig = {},
    options: { stackName?: string; policies?: readonly AnyPolicy[] } = {},
): Violation[] {
    const policies = options.policies ?? allPolicies;
    checkPackConfigNames(policies, packConfig);
    const ctx: PolicyContext = { source: "synth", stackName: options.stackName };
    const views = resources.map(viewOfSynthResource);
    const out: Violation[] = [];
    for (const policy of policies) {
        const { enforcementLevel, config } = resolvePolicyConfig(policy, packConfig);
        if (enforcementLevel === "disabled") continue;
        if (policy.validateResource) {
            for (const v of views) {
                for (const message of policy.validateResource(v, config, ctx)) out.push({ policyName: policy.name, enforcementLevel, urn: v.urn, message });
            }
        }
        if (policy.validateStack) {
            for (const { urn, message } of policy.validateStack(views, config, ctx)) out.push({ policyName: policy.name, enforcementLevel, urn, message });
        }
    }
    return out;
}
