/**
 * The ownership labels every container, volume and network of an environment carries (and
 * its AWS resources as tags). The health-check job, the policy pack and each environment's
 * reverse proxy select resources by them: both environments share one Docker engine, so
 * `vps.environment` is what keeps staging's proxy from routing to production's containers.
 *
 * Dependency-free: the policy pack, which loads from its own folder, imports the keys.
 */

/** Who a Docker object belongs to: `vps.app`, `vps.environment`, `vps.role`. */
export interface Ownership {
    /** Application name, e.g. "shop". */
    readonly app: string;
    /** Environment name, e.g. "staging". */
    readonly environment: string;
    /** What the object is for, e.g. "backend", "postgres-data", "reverse-proxy". */
    readonly role: string;
}

/** The label (and tag) keys: the one place they are spelled. */
export const LABEL = { app: "vps.app", environment: "vps.environment", role: "vps.role" } as const;

/** The ownership labels in the Docker provider's `[{label, value}]` form. */
export function ownershipLabels(owner: Ownership): { label: string; value: string }[] {
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
