import * as pulumi from "@pulumi/pulumi";
import { IMAGE_PRUNE } from "../defaults";
import { HostJobArgs, hostJobSpec, validateHostJobArgs } from "./host-job";
import { JobComponent, ScheduledJobSpec } from "./scheduled-job";

/** Arguments of {@link ImagePruneJob}. */
export interface ImagePruneJobArgs extends HostJobArgs {
    /** Images kept per repository besides those a container uses, 1–50. Default {@link IMAGE_PRUNE}.keepPerRepository (3). */
    readonly keepPerRepository?: number;
}

/** The ScheduledJob an ImagePruneJob installs: `<host>-image-prune` running image-prune.sh (daily by default). */
export function imagePruneSpec(args: ImagePruneJobArgs): ScheduledJobSpec {
    validateHostJobArgs("ImagePruneJob", args);
    const keep = args.keepPerRepository ?? IMAGE_PRUNE.keepPerRepository;
    if (!Number.isInteger(keep) || keep < 1 || keep > 50) throw new Error(`ImagePruneJob ${args.host}: keepPerRepository must be a whole number from 1 to 50, got ${keep}`);
    return hostJobSpec(args, {
        job: "image-prune",
        script: "image-prune.sh",
        description: "Docker image prune (keeps images in use and the newest per repository)",
        defaultCalendar: IMAGE_PRUNE.schedule,
        envVars: { PRUNE_KEEP_PER_REPOSITORY: String(keep) },
    });
}

/**
 * The host's daily Docker image prune: every image a container of any environment uses is
 * kept, and the newest `keepPerRepository` of each repository, so a rollback starts without a
 * pull; everything else goes. See components/scripts/image-prune.sh.
 */
export class ImagePruneJob extends JobComponent {
    constructor(name: string, args: ImagePruneJobArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("vps:index:ImagePruneJob", name, { host: args.host }, imagePruneSpec(args), args, opts);
        this.registerOutputs({ unitName: this.unitName, timerName: this.timerName });
    }
}
