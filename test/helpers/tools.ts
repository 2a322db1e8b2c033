/**
 * Tests that need a command-line tool (jq, shellcheck, ...). CI installs every tool
 * (.ci/setup.d) and runs with CI set (.ci/run exports CI=true), so a missing tool there is a
 * failure, never a quiet skip; on a developer's machine the test is skipped with the reason.
 */
import { spawnSync } from "child_process";

/** Whether `cmd` is on PATH. */
export function hasCommand(cmd: string): boolean {
    return spawnSync("bash", ["-c", `command -v ${cmd}`]).status === 0;
}

/**
 * Skips the running test when `cmd` is missing, or fails it under CI.
 *
 * @param ctx the mocha context (`this` of a `function () {}` test)
 * @param install how to install it, for the message (e.g. "apt-get install jq")
 * @throws Error naming the tool when `process.env.CI` is set and the tool is missing
 */
export function needCommand(ctx: Mocha.Context, cmd: string, install: string): void {
    if (hasCommand(cmd)) return;
    if (process.env.CI) throw new Error(`${cmd} is not installed, and CI installs every tool the tests use: ${install}`);
    ctx.skip();
}
