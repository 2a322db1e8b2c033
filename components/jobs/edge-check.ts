import * as pulumi from "@pulumi/pulumi";
import { EDGE_CHECK, HEALTH_CHECK_RESTART_POLICY, HOST_CHECK_TIMEOUT_SECONDS } from "../defaults";
import { isContainerName } from "../naming";
import { HostJobArgs, hostJobSpec, validateHostJobArgs } from "./host-job";
import { JobComponent, ScheduledJobSpec } from "./scheduled-job";

/** Arguments of {@link EdgeCheck}. */
export interface EdgeCheckArgs extends HostJobArgs {
    /** The proxy's container, whose Docker health is checked. */
    readonly proxyContainer: string;
}

/** The ScheduledJob an EdgeCheck installs: `<host>-edge-check` running edge-check.sh (every 5 minutes by default). */
export function edgeCheckSpec(args: EdgeCheckArgs): ScheduledJobSpec {
    validateHostJobArgs("EdgeCheck", args);
    if (!isContainerName(args.proxyContainer)) throw new Error(`EdgeCheck ${args.host}: proxyContainer "${args.proxyContainer}" is not a Docker container name`);
    return hostJobSpec(args, {
        job: "edge-check",
        script: "edge-check.sh",
        description: "Edge check (proxy health, host names routed by two environments)",
        defaultCalendar: EDGE_CHECK.schedule,
        envVars: { EDGE_NAME: args.host, EDGE_PROXY_CONTAINER: args.proxyContainer },
        timeoutSeconds: HOST_CHECK_TIMEOUT_SECONDS,
        restart: HEALTH_CHECK_RESTART_POLICY,
    });
}

/**
 * The host's edge check: that its proxy is healthy, and that no host name (or router name) is
 * routed by two environments, which no single stack can see. See components/scripts/edge-check.sh.
 */
export class EdgeCheck extends JobComponent {
    constructor(name: string, args: EdgeCheckArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("vps:index:EdgeCheck", name, { host: args.host }, edgeCheckSpec(args), args, opts);
        this.registerOutputs({ unitName: this.unitName, timerName: this.timerName });
    }
}
