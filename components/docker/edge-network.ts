import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { edgeNetworkName } from "../naming";
import { ownershipLabels } from "./labels";

/** Arguments of {@link EdgeNetwork}. */
export interface EdgeNetworkArgs {
    /** The host stack's name, e.g. "vps1". */
    readonly host: string;
}

/**
 * The shared edge network of a host stack, `<host>-edge`: a bridge network for the host's proxy
 * and the routed services of every environment attached to it, which join it by name (they do
 * not own it, so destroying an environment leaves it). Replaced delete-first like an
 * environment's networks (fixed name); Docker refuses to delete it while any container is
 * attached, so it is never removed under a running environment.
 */
export class EdgeNetwork extends pulumi.ComponentResource {
    readonly network: docker.Network;
    /** `<host>-edge`. */
    readonly networkName: string;

    constructor(name: string, args: EdgeNetworkArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("vps:index:EdgeNetwork", name, {}, opts);
        this.networkName = edgeNetworkName(args);
        this.network = new docker.Network(
            `${name}-network`,
            { name: this.networkName, driver: "bridge", labels: ownershipLabels({ host: args.host, role: "edge-network" }) },
            { parent: this, deleteBeforeReplace: true },
        );
        this.registerOutputs({ networkName: this.network.name });
    }
}
