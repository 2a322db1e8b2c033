// Entry point of the policy pack that `pulumi preview --policy-pack policies` runs.
// Constructing a PolicyPack starts its gRPC server, so nothing else imports this file.
import { PolicyPack } from "@pulumi/policy";
import { toPolicyPackPolicies } from "./adapters";
import { allPolicies, PACK_NAME } from "./pack";

new PolicyPack(PACK_NAME, { policies: toPolicyPackPolicies(allPolicies) });
