/** Readers of what a ScheduledJob's remote command carries, for the job components' tests. */
import { strict as assert } from "assert";

/** The files a ScheduledJob's install script writes: name -> decoded content. */
export function installedFiles(create: string): Record<string, string> {
    const files: Record<string, string> = {};
    for (const m of create.matchAll(/^printf %s (\S+) \| base64 -d >"\$staging"\/(\S+)$/gm)) {
        files[m[2]] = Buffer.from(m[1], "base64").toString("utf8");
    }
    return files;
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
