/** Readers of what a ScheduledJob's remote command carries, for the job components' tests. */
import { strict as assert } from "assert";

/**
 * The files a ScheduledJob's install writes: name -> decoded content. The names, in order, come
 * from the install script (`create`), their contents from its stdin (renderInstallInput: the env
 * file's line, then one line per file).
 */
export function installedFiles(create: string, stdin: string): Record<string, string> {
    const names = [...create.matchAll(/^printf %s "\$line" \| base64 -d >"\$staging"\/(\S+)$/gm)].map((m) => m[1]);
    const lines = stdin.split("\n").slice(1, -1);
    assert.equal(lines.length, names.length, `stdin carries ${lines.length} file(s), the script writes ${names.length}`);
    return Object.fromEntries(names.map((name, i) => [name, Buffer.from(lines[i], "base64").toString("utf8")]));
}

/** The env file a ScheduledJob's install writes: the first line of its stdin, decoded. */
export function installedEnvText(stdin: string): string {
    return Buffer.from(stdin.split("\n")[0], "base64").toString("utf8");
}

/** The env file a ScheduledJob's install writes, parsed. */
export function installedEnv(stdin: string): Record<string, string> {
    return parseEnvFile(installedEnvText(stdin));
}

/** Parses the KEY="value" lines of a rendered env file (the format bash's `set -a; .` and systemd read). */
export function parseEnvFile(text: string): Record<string, string> {
    const env: Record<string, string> = {};
    for (const line of text.split("\n").filter(Boolean)) {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)="(.*)"$/.exec(line);
        assert.ok(m, `env line ${line}`);
        env[m[1]] = m[2].replace(/\\(.)/g, "$1");
    }
    return env;
}
