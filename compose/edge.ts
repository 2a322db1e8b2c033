/**
 * The contract between a host stack and the environments attached to it: what the host stack
 * exports as its `edge` output (compose/host.ts), and how an environment reads it through a
 * `pulumi.StackReference` (its `edge.stack`).
 */
import * as pulumi from "@pulumi/pulumi";
import { caaIssuerForAcme } from "../components/cloud/dns-records";

/** The `edge` output of a host stack: what an attached environment routes and points DNS with. */
export interface EdgeOutputs {
    /** The host stack's name: the value of the `vps.edge` label its proxy routes by, e.g. "vps1". */
    name: string;
    /** The shared edge network, e.g. "vps1-edge": routed services join it by name. */
    network: string;
    /** The proxy's TLS entrypoint, which routers name. */
    entrypoint: string;
    /** The proxy's certificate resolver, which routers name. */
    certResolver: string;
    /** The public IPv4 the proxy binds 80/443 on, where the environments' DNS records point. */
    publicAddress: string;
    /** The ACME directory the proxy gets certificates from (its CAA issuer follows from it). */
    acmeCaServer: string;
}

const FIELDS: (keyof EdgeOutputs)[] = ["name", "network", "entrypoint", "certResolver", "publicAddress", "acmeCaServer"];

/** Why a stack's `edge` output cannot be an {@link EdgeOutputs}, or undefined. */
export function edgeOutputsProblem(stack: string, value: unknown): string | undefined {
    if (value === undefined || value === null) {
        return `edge.stack "${stack}" has no "edge" output: name a host stack (kind: host) that has been deployed (pulumi up --stack <host stack> first)`;
    }
    const missing = FIELDS.filter((f) => typeof (value as Record<string, unknown>)[f] !== "string");
    return missing.length > 0 ? `edge.stack "${stack}": its "edge" output lacks ${missing.join(", ")}: update the host stack (pulumi up) first` : undefined;
}

/** A host stack's edge as an attached environment sees it: each field an Output. */
export type AttachedEdge = { [K in keyof EdgeOutputs]: pulumi.Output<string> } & {
    /** The CAA issuer of the host's ACME directory (undefined when it is not Let's Encrypt: dns.caaIssuer must say). */
    caaIssuer: pulumi.Output<string | undefined>;
    /** The host stack's monitoring directory (its `monitoringDir` output), where the environment publishes its targets. */
    monitoringDir: pulumi.Output<string>;
};

/** Why a stack's `monitoringDir` output cannot be a monitoring directory, or undefined. */
export function monitoringDirProblem(stack: string, value: unknown): string | undefined {
    if (typeof value === "string" && value.startsWith("/")) return undefined;
    return `edge.stack "${stack}" has no "monitoringDir" output: update the host stack (pulumi up --stack ${stack}) first`;
}

/**
 * Reads the host stack's `edge` output through a `pulumi.StackReference` named `<name>`;
 * fails the deployment with a sentence naming `edge.stack` when the stack is not a deployed
 * host stack.
 */
export function attachToEdge(name: string, stack: string, opts: pulumi.CustomResourceOptions = {}): AttachedEdge {
    const reference = new pulumi.StackReference(name, { name: stack }, opts);
    const edge = reference.getOutput("edge").apply((value) => {
        const problem = edgeOutputsProblem(stack, value);
        if (problem) throw new pulumi.RunError(problem);
        return value as EdgeOutputs;
    });
    const field = (f: keyof EdgeOutputs) => edge.apply((e) => e[f]);
    return {
        name: field("name"),
        network: field("network"),
        entrypoint: field("entrypoint"),
        certResolver: field("certResolver"),
        publicAddress: field("publicAddress"),
        acmeCaServer: field("acmeCaServer"),
        caaIssuer: edge.apply((e) => caaIssuerForAcme(e.acmeCaServer)),
        monitoringDir: reference.getOutput("monitoringDir").apply((value) => {
            const problem = monitoringDirProblem(stack, value);
            if (problem) throw new pulumi.RunError(problem);
            return value as string;
        }),
    };
}
