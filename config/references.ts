/**
 * References to config keys inside text values: `services.<name>.env` values and
 * `services.<name>.files` contents may say `${databasePassword}`, which the program replaces
 * with that key's value. A value that references a secret key becomes a secret itself (a
 * secret env var, a secret file), so a password is written once, in its own secret key, and
 * composed into a URL or a config file without a second copy in plain text.
 *
 * Grammar: `${<key>}` with a config key name (letters, digits, `_`, `-`, starting with a
 * letter); `$${` is a literal `${`. Anything else after `${` is an error naming the value.
 */
import * as pulumi from "@pulumi/pulumi";

/** A config key name as `pulumi config set` takes it, without the namespace. */
const KEY = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** One piece of a text: literal text, or a reference to a config key. */
export type TextPart = { text: string } | { key: string };

/** A text split into literal parts and references, or the problem with its syntax. */
export function parseReferences(value: string): { parts: TextPart[]; problem?: string } {
    const parts: TextPart[] = [];
    let literal = "";
    let i = 0;
    while (i < value.length) {
        if (value.startsWith("$${", i)) {
            literal += "${";
            i += 3;
            continue;
        }
        if (!value.startsWith("${", i)) {
            literal += value[i];
            i += 1;
            continue;
        }
        const end = value.indexOf("}", i + 2);
        if (end < 0) return { parts, problem: `has "\${" without a closing "}" (write "$\${" for a literal "\${")` };
        const key = value.slice(i + 2, end);
        if (key === "") return { parts, problem: 'has "${}", which references nothing: name a config key, e.g. "${databasePassword}"' };
        if (!KEY.test(key)) return { parts, problem: `references "\${${key}}", which is not a config key name (letters, digits, "_" and "-", starting with a letter)` };
        if (literal) parts.push({ text: literal });
        literal = "";
        parts.push({ key });
        i = end + 1;
    }
    if (literal) parts.push({ text: literal });
    return { parts };
}

/** The config keys a text references (empty when its syntax is wrong: the checks report that). */
export function referencedKeys(value: string): string[] {
    const { parts, problem } = parseReferences(value);
    return problem ? [] : parts.flatMap((p) => ("key" in p ? [p.key] : []));
}

/**
 * The text with every reference replaced by its key's value: a plain string when every value
 * is one, else an Output (secret when any referenced value is).
 *
 * @param valueOf the value of a referenced key (a secret Output for a secret key)
 */
export function resolveReferences(value: string, valueOf: (key: string) => pulumi.Input<string>): pulumi.Input<string> {
    const { parts, problem } = parseReferences(value);
    // The config check rejects bad syntax before this runs; this guards a config built by hand.
    if (problem) throw new Error(`"${value}" ${problem}`);
    const pieces = parts.map((p) => ("text" in p ? p.text : valueOf(p.key)));
    if (pieces.every((x): x is string => typeof x === "string")) return pieces.join("");
    return pulumi.all(pieces).apply((resolved) => resolved.join(""));
}
