/**
 * The ownership labels every container, volume and network of an environment carries (and
 * its AWS resources as tags), and those of a host stack's own objects. The health-check job,
 * the policy pack and the reverse proxies select resources by them: environments share one
 * Docker engine, so `vps.environment` is what keeps a self-contained staging's proxy from
 * routing to production's containers, and `vps.edge` is what a host stack's proxy routes by.
 *
 * Dependency-free: the policy pack, which loads from its own folder, imports the keys.
 */

/** Who a Docker object of an environment belongs to: `vps.app`, `vps.environment`, `vps.role`. */
export interface Ownership {
    /** Application name, e.g. "shop". */
    readonly app: string;
    /** Environment name, e.g. "staging". */
    readonly environment: string;
    /** What the object is for, e.g. "backend", "postgres-data", "reverse-proxy". */
    readonly role: string;
}

/** Who a Docker object of a host stack (the shared edge of one VPS) belongs to: `vps.host`, `vps.role`. */
export interface HostOwnership {
    /** The host stack's name (its `name` key), e.g. "vps1". */
    readonly host: string;
    /** What the object is for, e.g. "edge-network", "acme", "reverse-proxy". */
    readonly role: string;
}

/** An environment's or a host stack's object. */
export type Owner = Ownership | HostOwnership;

/** Whether an owner is a host stack's. */
export function isHostOwned(owner: Owner): owner is HostOwnership {
    return "host" in owner;
}

/** Only the owner's fields of `args` (which may hold more), e.g. for a child with a role of its own. */
export function ownerOf(args: Owner): Owner {
    return isHostOwned(args) ? { host: args.host, role: args.role } : { app: args.app, environment: args.environment, role: args.role };
}

/**
 * The label (and tag) keys: the one place they are spelled. `vps.edge` names the host stack
 * whose proxy may route a container: an environment attached to a host stack sets it on its
 * routed services, and that proxy routes nothing else.
 */
export const LABEL = { app: "vps.app", environment: "vps.environment", role: "vps.role", host: "vps.host", edge: "vps.edge" } as const;

/** The ownership labels in the Docker provider's `[{label, value}]` form. */
export function ownershipLabels(owner: Owner): { label: string; value: string }[] {
    if (isHostOwned(owner)) {
        return [
            { label: LABEL.host, value: owner.host },
            { label: LABEL.role, value: owner.role },
        ];
    }
    return [
        { label: LABEL.app, value: owner.app },
        { label: LABEL.environment, value: owner.environment },
        { label: LABEL.role, value: owner.role },
    ];
}

/** The ownership labels as AWS tags (`{key: value}`). */
export function ownershipTags(owner: Ownership): Record<string, string> {
    return { [LABEL.app]: owner.app, [LABEL.environment]: owner.environment, [LABEL.role]: owner.role };
}
