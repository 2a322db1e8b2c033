/**
 * Property values as the engine sends them to a provider over gRPC (a protobuf `Struct`
 * turned into plain JavaScript): secrets arrive wrapped in an object carrying the secret
 * signature (the stand-in tells the engine it accepts secrets), and, during a preview, a
 * value not known yet is the unknown sentinel string. The constants are the engine's own
 * (pulumi/pulumi `sdk/go/common/resource/plugin/rpc.go`, `sdk/nodejs/runtime/rpc.ts`).
 */
import { createHash } from "crypto";

/** The key marking a special object (secret, resource reference, asset) in a Struct. */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
/** The signature of a secret: `{ [SIG_KEY]: SECRET_SIG, value }`. */
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
/** A value not known during a preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** What the journal writes instead of a secret value. */
export const REDACTED = "[secret]";

export function isSecret(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

export function secret(value: unknown): Record<string, unknown> {
    return { [SIG_KEY]: SECRET_SIG, value };
}

/** Whether `v` is, or contains, an unknown. */
export function containsUnknown(v: unknown): boolean {
    if (v === UNKNOWN) return true;
    if (Array.isArray(v)) return v.some(containsUnknown);
    if (typeof v === "object" && v !== null) return Object.values(v).some(containsUnknown);
    return false;
}

/** `v` with every secret unwrapped: what a provider works with. */
export function reveal(v: unknown): unknown {
    if (isSecret(v)) return reveal(v.value);
    if (Array.isArray(v)) return v.map(reveal);
    if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reveal(x)]));
    return v;
}

/** `v` with every secret replaced by REDACTED: what the journal records. */
export function redact(v: unknown): unknown {
    if (isSecret(v)) return REDACTED;
    if (Array.isArray(v)) return v.map(redact);
    if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redact(x)]));
    return v;
}

/** JSON with object keys sorted, so that equal values give equal text. */
export function canonical(v: unknown): string {
    if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
    if (typeof v === "object" && v !== null) {
        const entries = Object.entries(v)
            .filter(([, x]) => x !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(",")}}`;
    }
    return JSON.stringify(v ?? null);
}

/**
 * Whether two input values are the same for a provider: secretness aside (a provider
 * sees the value), and an absent value equal to null.
 */
export function sameValue(a: unknown, b: unknown): boolean {
    return canonical(reveal(a)) === canonical(reveal(b));
}

/** Hex digest of `text`, `length` characters: for deterministic ids and computed outputs. */
export function digest(text: string, length = 64): string {
    return createHash("sha256").update(text).digest("hex").slice(0, length);
}
