/**
 * The pack's contents: every policy, in the order `pulumi preview` and the synth report them.
 * A policy missing from this list is never run (the pulumi/examples finops pack shipped a policy
 * it never added); `test/policies.test.ts` checks the list against the documented levels.
 */
import { containerPolicies } from "./containers";
import { dnsPolicies } from "./dns";
import { imagePolicies } from "./images";
import { jobPolicies } from "./jobs";
import { pitrPolicies } from "./pitr";
import type { AnyPolicy } from "./vocabulary";
import { secretPolicies } from "./secrets";
import { servicePolicies } from "./services";
import { storagePolicies } from "./storage";

/** Must equal `name` in PulumiPolicy.yaml and package.json. */
export const PACK_NAME = "vps-stacks-policies";

export const allPolicies: readonly AnyPolicy[] = [...storagePolicies, ...imagePolicies, ...containerPolicies, ...servicePolicies, ...secretPolicies, ...dnsPolicies, ...jobPolicies, ...pitrPolicies];
