/**
 * Where an environment's public traffic comes in: `edge` (attached to a host stack, whose one
 * proxy routes every environment of the VPS) or `proxy` (a proxy of its own, for a VPS per
 * environment or a second public address). Exactly one of the two.
 */
import { z } from "zod";
import { STACK_REFERENCE } from "../components/naming";
import type { ConfigIssue } from "./types";
import { CrossFieldCheck } from "./values";

/** `edge`: the host stack this environment is attached to. */
export const edgeSchema = z.strictObject({
    /**
     * The host stack, fully qualified as `pulumi.StackReference` takes it:
     * `<org>/<project>/<stack>` (a file backend's org is "organization"). Its outputs give the
     * edge network, the entrypoint, the certificate resolver and the public address.
     */
    stack: z.string().regex(STACK_REFERENCE, 'stack must be a fully qualified stack name "<org>/<project>/<stack>", e.g. "organization/vps-stacks/vps1"'),
});

/** The `edge` section, parsed. */
export type EdgeSection = z.output<typeof edgeSchema>;

/** `edge` and `proxy`: one of them, never both. */
export const edgeChecks: CrossFieldCheck = (raw) => {
    const issues: ConfigIssue[] = [];
    if (raw.edge !== undefined && raw.proxy !== undefined) {
        issues.push({
            path: "edge",
            message:
                "and proxy are mutually exclusive: edge attaches this environment to a host stack's proxy, proxy gives it a proxy of its own " +
                "(which binds 80/443 on an address of its own); remove one",
        });
    } else if (raw.edge === undefined && raw.proxy === undefined) {
        issues.push({
            path: "edge",
            message: 'is required unless proxy is set: attach the environment to a host stack (edge.stack: "<org>/<project>/<host stack>") or give it a proxy of its own (proxy)',
        });
    }
    return issues;
};
