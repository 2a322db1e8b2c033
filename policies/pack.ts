/**
 * The pack's contents: every rule, in the order `pulumi preview` and the synth report them.
 * A rule missing from this list is never run (the pulumi/examples finops pack shipped a policy
 * it never added); `test/policies.test.ts` checks the list against the documented levels.
 */
import { containerRules } from "./containers";
import { dnsRules } from "./dns";
import { jobRules } from "./jobs";
import type { AnyRule } from "./rules";
import { secretRules } from "./secrets";
import { storageRules } from "./storage";

/** Must equal `name` in PulumiPolicy.yaml and package.json. */
export const PACK_NAME = "vps-stacks-policies";

export const allRules: readonly AnyRule[] = [...storageRules, ...containerRules, ...secretRules, ...dnsRules, ...jobRules];
