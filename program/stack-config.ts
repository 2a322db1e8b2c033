/**
 * Reads the running stack's configuration from the Pulumi runtime and parses it. The
 * only place in the program that touches `pulumi.Config` state: components receive
 * slices of the typed result.
 */
import * as pulumi from "@pulumi/pulumi";
import { PROJECT } from "../config/parse";
import { parseStackConfig, StackConfig } from "../config/stack";

// `isConfigSecret` is how the SDK's own `Config` tells a secret key from a plain one
// (it reads PULUMI_CONFIG_SECRET_KEYS, which both the CLI and `setAllConfig` fill). It
// is not re-exported from the package root, hence the deep import.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { isConfigSecret } = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(key: string): boolean };

/**
 * Collects every `vps-stacks:*` key of the current stack with its secretness and parses
 * it as the kind of stack it says it is, with {@link parseStackConfig}.
 *
 * @throws ConfigError listing every problem (see parseStackConfig).
 */
export function loadStackConfig(): StackConfig {
    const prefix = `${PROJECT}:`;
    const values: Record<string, unknown> = {};
    const secretKeys = new Set<string>();
    for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (!fullKey.startsWith(prefix)) continue;
        const key = fullKey.slice(prefix.length);
        values[key] = value;
        if (isConfigSecret(fullKey)) secretKeys.add(key);
    }
    return parseStackConfig({ stack: pulumi.getStack(), values, secretKeys });
}
