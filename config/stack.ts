/**
 * What kind of stack a configuration is, and its parse: `kind: host` (config/host-stack.ts) or
 * `kind: environment`, the default (config/parse.ts). The kind is a key of the stack file, never
 * derived from the stack's name. A key of the other kind is reported with its kind, so a key
 * copied into the wrong stack file says where it belongs.
 */
import { HOST_CONFIG_KEYS, HostStackConfig, parseHostConfig } from "./host-stack";
import { CONFIG_KEYS, decode, parseEnvironmentConfig } from "./parse";
import { ConfigError, ConfigIssue, EnvironmentConfig, RawStackConfig } from "./types";

/** The kinds of stack. */
export const STACK_KINDS = ["environment", "host"] as const;

/** A stack's configuration, by kind. */
export type StackConfig = ({ kind: "environment" } & EnvironmentConfig) | ({ kind: "host" } & HostStackConfig);

const KEYS = { environment: CONFIG_KEYS, host: HOST_CONFIG_KEYS };

/**
 * Parses a stack's configuration as the kind its `kind` key says (default "environment").
 *
 * @throws ConfigError listing every problem: an unknown kind, each key that belongs to the other
 *   kind (named with its kind), and every problem the kind's own schema finds.
 */
export function parseStackConfig(raw: RawStackConfig): StackConfig {
    const kind = raw.values.kind === undefined ? "environment" : decode("kind", raw.values.kind);
    if (kind !== "environment" && kind !== "host") {
        throw new ConfigError(raw.stack, [{ path: "kind", message: `must be "environment" (the default) or "host", got ${JSON.stringify(kind)}` }]);
    }
    const other = kind === "host" ? "environment" : "host";
    const foreign = Object.keys(raw.values).filter((key) => KEYS[other].includes(key) && !KEYS[kind].includes(key));
    const issues: ConfigIssue[] = foreign.map((key) => ({
        path: key,
        message:
            kind === "host"
                ? `is a key of an environment stack (kind: environment), not of this host stack (kind: host): move it to an environment's stack file`
                : `is a key of a host stack (kind: host), not of this environment stack (kind: environment): set kind: host, or move it to the host stack's file`,
    }));
    const own: RawStackConfig = { ...raw, values: Object.fromEntries(Object.entries(raw.values).filter(([key]) => !foreign.includes(key))) };
    try {
        const parsed = kind === "host" ? { kind, ...parseHostConfig(own) } : { kind, ...parseEnvironmentConfig(own) };
        if (issues.length > 0) throw new ConfigError(raw.stack, issues);
        return parsed as StackConfig;
    } catch (err) {
        if (!(err instanceof ConfigError) || issues.length === 0 || err.issues === issues) throw err;
        throw new ConfigError(raw.stack, [...issues, ...err.issues]);
    }
}
