/** Assertions over the config parser's errors, shared by the config test files. */
import { strict as assert } from "assert";
import { parseEnvironmentConfig } from "../../config/parse";
import { ConfigError, ConfigIssue, EnvironmentConfig } from "../../config/types";
import { VALID_SECRET_KEYS } from "../fixtures/config";

/** Parses literal values as stack `test`, with `secretKeys` marked secret. */
export function parse(values: Record<string, any>, secretKeys: string[] = VALID_SECRET_KEYS): EnvironmentConfig {
    return parseEnvironmentConfig({ stack: "test", values, secretKeys: new Set(secretKeys) });
}

/** Parses `values` expecting a ConfigError; returns its issues and message. */
export function issuesOf(values: Record<string, any>, secretKeys?: string[]): { issues: ConfigIssue[]; message: string } {
    try {
        parse(values, secretKeys);
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
        return { issues: err.issues, message: err.message };
    }
    assert.fail("the configuration was accepted");
}

/** Asserts an issue at exactly `path` whose message matches `reason`, listed in the error message. */
export function assertIssue(values: Record<string, any>, path: string, reason: RegExp, secretKeys?: string[]): void {
    const { issues, message } = issuesOf(values, secretKeys);
    const atPath = issues.filter((i) => i.path === path);
    assert.ok(atPath.length > 0, `no issue at ${path}; got:\n${message}`);
    assert.ok(atPath.some((i) => reason.test(i.message)), `issue at ${path} does not match ${reason}: ${JSON.stringify(atPath)}`);
    assert.ok(message.includes(`  - ${path}: `), "the error message lists the key path");
}
