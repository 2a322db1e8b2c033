/**
 * Docker labels every container and volume of an environment carries. The health-check
 * job, the policy pack and each environment's reverse proxy select resources by them:
 * both environments share one Docker engine, so `vps.environment` is what keeps
 * staging's proxy from routing to production's containers.
 */

/** Who a Docker object belongs to: `vps.app`, `vps.environment`, `vps.role`. */
export interface Ownership {
    /** Application name, e.g. "shop". */
    app: string;
    /** Environment name, e.g. "staging". */
    environment: string;
    /** What the object is for, e.g. "backend", "postgres-data", "reverse-proxy". */
    role: string;
}

/** Label keys, exported for the policy pack and the jobs. */
export const LABEL = { app: "vps.app", environment: "vps.environment", role: "vps.role" } as const;

/** The ownership labels in the Docker provider's `[{label, value}]` form. */
export function ownershipLabels(owner: Ownership): { label: string; value: string }[] {
    return [
        { label: LABEL.app, value: owner.app },
        { label: LABEL.environment, value: owner.environment },
        { label: LABEL.role, value: owner.role },
    ];
}

/** The deterministic Docker name `<app>-<env>-<role>` (volumes, networks, fixed containers). */
export function dockerName(owner: Ownership): string {
    return `${owner.app}-${owner.environment}-${owner.role}`;
}
