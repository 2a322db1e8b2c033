import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { dockerName } from "../naming";
import { Owner, ownershipLabels } from "./labels";

/**
 * Arguments of {@link DataVolume}: its owner, an environment (`app`, `environment`) or a host
 * stack (`host`), with the `role` of the data ("postgres-data", "redis-data", "acme"), and
 * whether it is protected.
 */
export type DataVolumeArgs = Owner & {
    /** `protect: true` on the volume, so `pulumi destroy` refuses to delete it (production). Default false. */
    readonly protect?: boolean;
    /** The Docker volume name when it is not the deterministic one (a PostgreSQL volume restore.sh pitr recovered). */
    readonly name?: string;
};

/**
 * A named Docker volume that outlives its environment.
 *
 * - The name is deterministic, `<app>-<env>-<role>` (a host stack's `<host>-<role>`; or a
 *   recovered PostgreSQL volume's own name): an
 *   environment destroyed and brought up again re-attaches the same data.
 * - `retainOnDelete: true` always: `pulumi destroy` drops the volume from the state and
 *   leaves it on the VPS.
 * - `protect` from args (production): `pulumi destroy` fails instead.
 *
 * Both options are set on the volume itself, not only on this component: options a
 * parent passes down can be overridden, and a reviewer reads them where they matter.
 * Pulumi reads `retainOnDelete` from the state, so a change to it needs its own
 * `pulumi up` before a destroy honours it.
 */
export class DataVolume extends pulumi.ComponentResource {
    readonly volume: docker.Volume;
    /** The Docker volume name, `<app>-<env>-<role>` or `<host>-<role>`. */
    readonly volumeName: string;

    constructor(name: string, args: DataVolumeArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("vps:index:DataVolume", name, { role: args.role }, opts);
        const { protect, name: volumeName, ...owner } = args;
        this.volumeName = volumeName ?? dockerName(owner);
        this.volume = new docker.Volume(
            `${name}-volume`,
            { name: this.volumeName, driver: "local", labels: ownershipLabels(owner) },
            // Docker cannot relabel a volume, and creating one whose name exists returns the
            // existing volume unchanged: a retained volume brought back with other labels would
            // otherwise be "replaced" on every update (and fail, when protected). The labels
            // only describe; the name is what re-attaches the data.
            { parent: this, retainOnDelete: true, protect: protect ?? false, ignoreChanges: ["labels"] },
        );
        this.registerOutputs({ volumeName: this.volume.name });
    }
}
