/**
 * Secrets: a variable named like a secret must come from an encrypted stack secret.
 */
import { asRecord, configKeyOf, configSchema, definePolicy, isType, isUnknown, PolicyResourceView, PolicyContext, SECRET_PLACEHOLDER, T } from "./vocabulary";
import { credentialInUrl, looksLikeSecretName, NOT_SECRET_NAME_PATTERN, SECRET_NAME_PATTERN } from "./secret-names";

/** The env vars of a resource (a container's `envs`, a command's `environment`) as `[name, value]` pairs; `value` undefined when only the name is known. */
function envVarsOf(r: PolicyResourceView): { name: string; value: unknown }[] {
    if (isType(r, T.container)) {
        const envs = r.props.envs;
        // A whole-array secret (or unknown) hides names and values alike: nothing plain to report.
        if (!Array.isArray(envs)) return [];
        return envs.flatMap((e) => {
            if (typeof e !== "string") return [];
            const i = e.indexOf("=");
            return i > 0 ? [{ name: e.slice(0, i), value: e.slice(i + 1) }] : [];
        });
    }
    if (isType(r, [T.remoteCommand, T.localCommand])) {
        return Object.entries(asRecord(r.props.environment) ?? {}).map(([name, value]) => ({ name, value }));
    }
    return [];
}

const defaults = {
    namePattern: SECRET_NAME_PATTERN,
    allowedNamePattern: NOT_SECRET_NAME_PATTERN,
    minLength: 12,
    placeholderValues: ["changeme", "change-me", "password", "secret", "example", "test", "admin", "default", "xxx", "todo"],
};

/**
 * What counts as plain depends on who runs the rule:
 * - the synth redacts every secret as "[secret]", so any other value is plain;
 * - `pulumi preview` hands policies secrets already decrypted, with no mark of secretness
 *   (pulumi/pulumi-policy#241), so there the rule can only catch values that cannot be real
 *   secrets: empty, a known placeholder, or shorter than `minLength`.
 */
function plainProblem(value: unknown, config: typeof defaults, ctx: PolicyContext): string | undefined {
    if (isUnknown(value) || value === SECRET_PLACEHOLDER) return undefined;
    if (typeof value !== "string") return ctx.source === "synth" ? "a plain value" : undefined;
    if (value === "") return "an empty value";
    if (config.placeholderValues.includes(value.toLowerCase())) return `the placeholder '${value}'`;
    if (ctx.source === "synth") return "a plain (non-secret) value";
    if (value.length < config.minLength) return `a value shorter than ${config.minLength} characters`;
    return undefined;
}

export const noPlainSecretEnv = definePolicy({
    name: "no-plain-secret-env",
    description:
        "No environment variable (container `envs`, command `environment`) whose name looks like a secret (PASSWORD, SECRET, TOKEN, KEY, ...) holds a plain value, and no plain variable holds a URL with a password in it (`postgres://user:pass@host`): both must come from an encrypted stack secret (`services.<name>.secretEnv`). " +
        "Limit: under `pulumi preview` policies receive secrets decrypted and cannot tell them from plain values (pulumi/pulumi-policy#241), so there it only rejects empty, placeholder or too-short values and skips the URL check; the offline synth, which sees secrets redacted, rejects every non-secret value. The stack config check (config/services.ts) applies the same name and URL rules before either runs.",
    enforcementLevel: "mandatory",
    defaults,
    configSchema: configSchema(defaults, {
        namePattern: { type: "string", description: "Case-insensitive regular expression; a variable whose name matches looks like a secret." },
        allowedNamePattern: { type: "string", description: "Case-insensitive regular expression of names that match `namePattern` but hold no secret (file paths, ids, user names, URLs, hosts, ports)." },
        minLength: { type: "integer", minimum: 1, description: "Shortest value accepted as a secret under `pulumi preview`." },
        placeholderValues: { type: "array", items: { type: "string" }, description: "Values (case-insensitive) that are never real secrets." },
    }),
    validateResource(r, config, ctx) {
        const out: string[] = [];
        const fix = isType(r, T.container)
            ? `move it to \`${configKeyOf(r, "secretEnv")}\` and set the value with \`pulumi config set --secret <key>\``
            : "set it with `pulumi config set --secret` and pass it through `config.requireSecret`";
        for (const { name, value } of envVarsOf(r)) {
            if (looksLikeSecretName(name, config.namePattern, config.allowedNamePattern)) {
                const problem = plainProblem(value, config, ctx);
                if (problem) out.push(`Variable ${name} looks like a secret but holds ${problem}: ${fix}.`);
            } else if (ctx.source === "synth" && typeof value === "string" && credentialInUrl(value) !== undefined) {
                // Under preview a secretEnv value arrives decrypted too: only the synth can tell.
                out.push(`Variable ${name} holds a URL with a password in plain text: ${fix}.`);
            }
        }
        return out;
    },
});

export const secretPolicies = [noPlainSecretEnv];

