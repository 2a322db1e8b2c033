/**
 * The VpsHost of a stack, environment or host: the same `host` section and registries make the
 * Docker provider and the SSH connection of either kind; only the commands its jobs run differ.
 */
import * as pulumi from "@pulumi/pulumi";
import { VpsHost } from "../components/docker/vps-host";
import { HostSection } from "../config/host";

/** A stack's `host` section with its private key, and its registry credentials, as the config layer hands them out. */
export interface VpsAccess {
    host: HostSection & { sshPrivateKey: pulumi.Output<string> };
    registries: { address: string; username: string; password: pulumi.Output<string> }[];
}

/**
 * The stack's VpsHost `name`, whose preflight checks `requiredCommands` (what its jobs' scripts
 * run on the VPS; see the headers of components/scripts/*.sh).
 */
export function vpsHost(name: string, access: VpsAccess, requiredCommands: string[]): VpsHost {
    const { host, registries } = access;
    return new VpsHost(name, {
        sshAddress: host.sshAddress,
        sshPort: host.sshPort,
        user: host.user,
        sshPrivateKey: host.sshPrivateKey,
        deployDir: host.deployDir,
        sshOptions: host.sshOptions,
        hostKey: host.hostKey,
        requiredCommands,
        // Units and root-only env files need root: any other deploy user installs the jobs with
        // `sudo -n` (compose/jobs.ts and compose/host.ts read host.sudo), which the preflight then checks.
        requireSudo: host.user !== "root",
        registryAuth: registries,
    });
}
