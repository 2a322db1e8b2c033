/**
 * Where the engine suite finds the real `pulumi` CLI: the versioned cache directory that
 * `.ci/setup.d/40-pulumi-cli.sh` builds into (same variables, same defaults).
 */
import * as fs from "fs";
import * as path from "path";

/** CLI version the suite runs (PULUMI_CLI_VERSION, as the setup script). */
export const PULUMI_CLI_VERSION = process.env.PULUMI_CLI_VERSION ?? "v3.274.1";
/** Cache root of the CLI builds (PULUMI_CLI_CACHE, as the setup script). */
export const PULUMI_CLI_CACHE = process.env.PULUMI_CLI_CACHE ?? "/var/cache/vps-stacks/pulumi-cli";
/** The installation root `PulumiCommand.get({ root })` takes: it holds `bin/pulumi`. */
export const PULUMI_CLI_ROOT = path.join(PULUMI_CLI_CACHE, PULUMI_CLI_VERSION);
/** The directory holding the `pulumi` binary. */
export const PULUMI_CLI_BIN = path.join(PULUMI_CLI_ROOT, "bin");
/** The binary itself; `needCommand(this, PULUMI_CLI, ...)` checks it (an absolute path works with `command -v`). */
export const PULUMI_CLI = path.join(PULUMI_CLI_BIN, "pulumi");
/** How to get the CLI, for the message of a missing one. */
export const PULUMI_CLI_INSTALL = "bash .ci/setup.d/40-pulumi-cli.sh (builds the CLI from the Go module proxy)";

/** Whether the CLI is built. */
export function hasPulumiCli(): boolean {
    try {
        fs.accessSync(PULUMI_CLI, fs.constants.X_OK);
        return true;
    } catch {
        return false;
    }
}
