import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { networkName } from "../naming";
import { ownershipLabels } from "./labels";

/** Arguments of {@link AppNetwork}. */
export interface AppNetworkArgs {
    /** Application name, e.g. "shop". */
    readonly app: string;
    /** Environment name, e.g. "staging". */
    readonly environment: string;
    /**
     * Create the environment's own edge network, for a proxy of its own. Default true; false for
     * an environment attached to a host stack, whose services join the host's edge network.
     */
    readonly edge?: boolean;
}

/**
 * The two Docker networks of an environment:
 * - `edge` (`<app>-<env>-edge`): a bridge network for the reverse proxy and the
 *   application containers it routes to (none for an environment attached to a host stack,
 *   which uses the host's shared edge network);
 * - `internal` (`<app>-<env>-internal`): an internal network (no route outside the
 *   host) for data services and the applications that use them.
 *
 * Networks are ordinary resources: `pulumi destroy` removes them. The provider comes
 * from `opts.provider` (the VpsHost's Docker provider).
 *
 * Both are replaced delete-first (`deleteBeforeReplace`): their names are fixed, Docker
 * refuses a second network of the same name, and a network with containers attached cannot
 * be deleted. Delete-first makes the engine replace the attached containers (whose
 * `networksAdvanced` reads the network's name) before the network itself.
 */
export class AppNetwork extends pulumi.ComponentResource {
    /** The environment's own edge network (undefined when attached to a host stack's). */
    readonly edge?: docker.Network;
    readonly internal: docker.Network;
    /** Names of the edge (undefined when attached to a host stack's) and internal networks. */
    readonly edgeName?: string;
    readonly internalName: string;

    constructor(name: string, args: AppNetworkArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("vps:index:AppNetwork", name, {}, opts);
        const owner = (role: string) => ({ app: args.app, environment: args.environment, role });
        this.internalName = networkName(args, "internal");
        if (args.edge ?? true) {
            this.edgeName = networkName(args, "edge");
            this.edge = new docker.Network(
                `${name}-edge`,
                { name: this.edgeName, driver: "bridge", labels: ownershipLabels(owner("edge-network")) },
                { parent: this, deleteBeforeReplace: true },
            );
        }
        this.internal = new docker.Network(
            `${name}-internal`,
            { name: this.internalName, driver: "bridge", internal: true, labels: ownershipLabels(owner("internal-network")) },
            { parent: this, deleteBeforeReplace: true },
        );
        this.registerOutputs({ edge: this.edge?.name, internal: this.internal.name });
    }
}
