/**
 * The shared vocabulary of the policy pack: what a policy is (a pure function over a resource
 * view: type, name, URN, props, options), so the same policy runs under `pulumi preview
 * --policy-pack` (through `adapters.ts`) and over the offline synth's JSON (through
 * `evaluateSynth`), and the readers every policy uses (types, labels, values).
 *
 * Nothing here imports `@pulumi/policy` or a provider SDK: policies match on type tokens, so
 * the pack stays small and its policies can be called directly from tests. The one import
 * outside the pack's folder, the ownership label keys, is dependency-free.
 */
import type { PolicyConfigJSONSchema } from "@pulumi/policy/schema";
import { LABEL } from "../components/docker/labels";

/** What a violation does: `mandatory` fails the preview (and the synth), `advisory` only warns. */
export type EnforcementLevel = "advisory" | "mandatory" | "disabled";

/**
 * Marks a property whose value is not known yet (during `pulumi preview`, e.g. an image id that
 * exists only after the pull). Policies do not judge unknown values; the synth sees resolved ones.
 */
export const UNKNOWN: unique symbol = Symbol.for("vps-stacks-policies.unknown");

/** The synth writes every secret value as this string. */
export const SECRET_PLACEHOLDER = "[secret]";

/** The resource options a policy may look at. `retainOnDelete` is only known to the synth. */
export interface PolicyResourceOptions {
    protect?: boolean;
    /** Not exposed by `@pulumi/policy` 1.21 (`PolicyResourceOptions` has no such field): undefined there. */
    retainOnDelete?: boolean;
    parent?: string;
    dependsOn?: string[];
    ignoreChanges?: string[];
    deleteBeforeReplace?: boolean;
}

export interface PolicyResourceView {
    type: string;
    name: string;
    urn: string;
    props: Record<string, unknown>;
    options: PolicyResourceOptions | undefined;
}

/**
 * Where a policy runs. `synth` sees secrets as `"[secret]"` and knows `retainOnDelete`;
 * `pulumi-policy` sees secrets in plain text (pulumi/pulumi-policy#241) and no `retainOnDelete`.
 */
export interface PolicyContext {
    source: "synth" | "pulumi-policy";
    /** The stack name when the caller knows it (the synth does); labels take precedence. */
    stackName?: string;
}

export interface StackViolation {
    urn?: string;
    message: string;
}

/** The `configSchema` shape `@pulumi/policy` expects (kept structural so policies need no import of it). */
export interface PolicyConfigSchema {
    properties: Record<string, PolicyConfigJSONSchema>;
    required?: string[];
}

export interface Policy<C extends object = Record<string, unknown>> {
    /** kebab-case, unique in the pack; also the key of its config in the pack's config file. */
    name: string;
    /** What it checks and why, for a reviewer reading `pulumi preview` output. */
    description: string;
    enforcementLevel: EnforcementLevel;
    configSchema: PolicyConfigSchema;
    /** The configuration used when the pack's config does not set a key; mirrors `configSchema` defaults. */
    defaults: C;
    /**
     * True when the policy needs data `@pulumi/policy` does not expose (e.g. `retainOnDelete`):
     * it is left out of the `PolicyPack` and runs only in the synth.
     */
    synthOnly?: boolean;
    /** One message per violation; each message says how to fix it. */
    validateResource?(r: PolicyResourceView, config: C, ctx: PolicyContext): string[];
    /** Checks across resources; `urn` names the offending resource when there is one. */
    validateStack?(resources: PolicyResourceView[], config: C, ctx: PolicyContext): StackViolation[];
}

// The pack holds policies of different config types side by side.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPolicy = Policy<any>;

/** Type-checks a policy's callbacks against its own defaults. */
export function definePolicy<C extends object>(policy: Policy<C>): Policy<C> {
    return policy;
}

/**
 * Builds a policy's `configSchema` from its defaults and a description of each key, so the
 * schema's `default`s can never drift from the defaults the policies actually use.
 */
export function configSchema<C extends object>(
    defaults: C,
    properties: { [K in keyof C]: PolicyConfigJSONSchema },
): PolicyConfigSchema {
    const out: Record<string, PolicyConfigJSONSchema> = {};
    for (const key of Object.keys(properties) as (keyof C & string)[]) {
        out[key] = { ...properties[key], default: defaults[key] as unknown as PolicyConfigJSONSchema["default"] };
    }
    return { properties: out };
}

/** JSON schema of a config key holding a list of strings. */
export const stringList = (description: string) => ({ type: "array" as const, items: { type: "string" as const }, description });

/** Schema of the list of environments treated as production. */
export const productionEnvironmentsSchema: PolicyConfigJSONSchema = stringList("Values of the `vps.environment` label (or tag) that mean production.");

export const DEFAULT_PRODUCTION_ENVIRONMENTS = ["production"];

// ---------------------------------------------------------------------------------------------
// Resource type tokens (checked against the installed SDKs: @pulumi/docker 5.2, @pulumi/aws 7.48,
// @pulumi/cloudflare 6.22, @pulumi/command 1.2). AWS v7 renamed BucketV2 to Bucket and
// BucketVersioningV2 to BucketVersioning etc.; the deprecated V2 tokens are matched as well.
// ---------------------------------------------------------------------------------------------
export const T = {
    volume: "docker:index/volume:Volume",
    container: "docker:index/container:Container",
    remoteImage: "docker:index/remoteImage:RemoteImage",
    bucket: ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"],
    bucketVersioning: ["aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2"],
    bucketEncryption: [
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    ],
    bucketPublicAccessBlock: ["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"],
    bucketPolicy: ["aws:s3/bucketPolicy:BucketPolicy"],
    bucketLifecycle: [
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
    ],
    dnsRecord: ["cloudflare:index/dnsRecord:DnsRecord", "cloudflare:index/record:Record"],
    remoteCommand: "command:remote:Command",
    localCommand: "command:local:Command",
    backupJob: "vps:index:BackupJob",
    service: "vps:index:Service",
    releaseCommand: "vps:index:ReleaseCommand",
    healthCheckJob: "vps:index:HealthCheckJob",
} as const;

export function isType(r: PolicyResourceView, token: string | readonly string[]): boolean {
    return typeof token === "string" ? r.type === token : token.includes(r.type);
}

/** Whether a resource is a Docker container. */
export function isContainer(r: PolicyResourceView): boolean {
    return isType(r, T.container);
}

// ---------------------------------------------------------------------------------------------
// Value helpers: props may hold UNKNOWN (preview) or "[secret]" (synth).
// ---------------------------------------------------------------------------------------------
export function isUnknown(v: unknown): boolean {
    return v === UNKNOWN;
}

export function asString(v: unknown): string | undefined {
    return typeof v === "string" ? v : undefined;
}

export function asArray(v: unknown): unknown[] {
    return Array.isArray(v) ? v : [];
}

export function asRecord(v: unknown): Record<string, unknown> | undefined {
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/**
 * Labels of a Docker resource (`labels: [{label, value}]`), tags of an AWS resource
 * (`tags: {k: v}`) or Cloudflare tags (`tags: ["k:v"]`), as one map.
 */
export function labelsOf(r: PolicyResourceView): Record<string, string> {
    const out: Record<string, string> = {};
    for (const l of asArray(r.props.labels)) {
        const rec = asRecord(l);
        const k = asString(rec?.label);
        const v = asString(rec?.value);
        if (k !== undefined && v !== undefined) out[k] = v;
    }
    const tags = r.props.tags;
    if (Array.isArray(tags)) {
        for (const t of tags) {
            const s = asString(t);
            const i = s?.indexOf(":") ?? -1;
            if (s && i > 0) out[s.slice(0, i)] = s.slice(i + 1);
        }
    } else {
        for (const [k, v] of Object.entries(asRecord(tags) ?? {})) {
            if (typeof v === "string") out[k] = v;
        }
    }
    return out;
}

/** The `vps.role` label of a resource: what it is for ("postgres-data", "reverse-proxy", a service name). */
export function roleOf(r: PolicyResourceView): string | undefined {
    return labelsOf(r)[LABEL.role];
}

/**
 * The stack config key (as `pulumi config set --path` takes it) that sets `field` of the
 * container a resource is, from its `vps.role` label: `postgres.<field>`, `redis.<field>`,
 * `proxy.<field>` (role reverse-proxy) or `services.<role>.<field>`. Policy messages name it,
 * because users fix a violation in `Pulumi.<stack>.yaml`, not in the program.
 */
export function configKeyOf(r: PolicyResourceView, field: string): string {
    const role = roleOf(r);
    if (role === "postgres" || role === "redis") return `${role}.${field}`;
    if (role === "reverse-proxy") return `proxy.${field}`;
    return `services.${role ?? "<name>"}.${field}`;
}

/** The environment a resource declares through its `vps.environment` label or tag. */
export function environmentOf(r: PolicyResourceView): string | undefined {
    return labelsOf(r)[LABEL.environment];
}

/**
 * The environments a stack holds, from its resources' labels; the stack name only when no
 * resource carries a label (one stack per environment, so this is normally one value).
 */
export function stackEnvironments(resources: PolicyResourceView[], ctx: PolicyContext): string[] {
    const envs = new Set<string>();
    for (const r of resources) {
        const env = environmentOf(r);
        if (env) envs.add(env);
    }
    if (envs.size === 0 && ctx.stackName) envs.add(ctx.stackName);
    return [...envs];
}

/** A resource's own label wins; otherwise the stack counts as production if any of its environments is. */
export function isProductionResource(
    r: PolicyResourceView,
    stackEnvs: string[],
    productionEnvironments: string[],
): boolean {
    const own = environmentOf(r);
    if (own !== undefined) return productionEnvironments.includes(own);
    return stackEnvs.some((e) => productionEnvironments.includes(e));
}

/** Parses a Docker duration ("30s", "1m30s", "500ms", "2h") into seconds; undefined if not one. */
export function durationSeconds(v: unknown): number | undefined {
    if (typeof v === "number") return v;
    const s = asString(v);
    if (!s) return undefined;
    const re = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g;
    let total = 0;
    let consumed = 0;
    for (let m = re.exec(s); m; m = re.exec(s)) {
        const n = Number(m[1]);
        const unit = m[2];
        const factor = unit === "h" ? 3600 : unit === "m" ? 60 : unit === "s" ? 1 : unit === "ms" ? 1e-3 : unit === "ns" ? 1e-9 : 1e-6;
        total += n * factor;
        consumed += m[0].length;
    }
    return consumed === s.length && consumed > 0 ? total : undefined;
}
