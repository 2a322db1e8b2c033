import * as pulumi from "@pulumi/pulumi";

/** Arguments of {@link DestroyGuard}. */
export interface DestroyGuardArgs {
    /**
     * What the guard covers: every other resource of the stack. A component stands for all
     * the resources under it (the SDK expands a component in `dependsOn` to its custom
     * descendants), so the environment's top-level components are enough.
     */
    readonly covers: pulumi.Resource[];
}

/**
 * A protected resource that depends on every other resource of the stack, so that an
 * accidental `pulumi destroy` deletes nothing at all.
 *
 * Why it works: the engine deletes dependents before what they depend on and stops at
 * the first resource it may not delete. `protect` on the data volumes and the bucket alone
 * keeps the data but not the service: the engine deletes every container, network, DNS
 * record and job first, and refuses only the protected ones at the end. The guard is the
 * one dependent of everything, so its refusal comes first.
 *
 * What it does not change: a component is never replaced, and the engine leaves
 * components out of the chain of resources it must delete before a delete-before-replace
 * replacement (PostgreSQL's), so an ordinary `pulumi up` behaves as without it.
 *
 * To destroy on purpose, lift it first: `pulumi state unprotect '<guard URN>'` (the URN is
 * in `pulumi stack --show-urns`), then `pulumi destroy`; the protected data still stays.
 * The next `pulumi up` protects it again.
 *
 * `protect` and `dependsOn` are the guard's own: those in `opts` are replaced.
 */
export class DestroyGuard extends pulumi.ComponentResource {
    constructor(name: string, args: DestroyGuardArgs, opts: pulumi.ComponentResourceOptions = {}) {
        if (args.covers.length === 0) throw new Error(`DestroyGuard ${name}: covers must list the resources it guards`);
        super("vps:index:DestroyGuard", name, {}, { ...opts, protect: true, dependsOn: args.covers });
        this.registerOutputs({});
    }
}
