import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { SSH_PORT } from "../defaults";
import { readScript } from "../scripts";

const PREFLIGHT_SCRIPT = readScript("preflight.sh");

/** Arguments of {@link VpsHost}. */
export interface VpsHostArgs {
    /** Address `ssh` connects to (host name or IP). */
    readonly sshAddress: string;
    /** SSH port. Default {@link SSH_PORT} (22). */
    readonly sshPort?: number;
    /** Login user; must be in the `docker` group. */
    readonly user: string;
    /** Private key of `user` (OpenSSH PEM); keep it a secret Output. */
    readonly sshPrivateKey: pulumi.Input<string>;
    /** Absolute directory the environment writes to; the preflight creates it and checks it is writable. */
    readonly deployDir: string;
    /** Extra `ssh` options for the Docker provider, e.g. ["-o", "StrictHostKeyChecking=yes"]. Default []. */
    readonly sshOptions?: string[];
    /**
     * The VPS's SSH host key (`ssh-ed25519 AAAA...`), which the remote commands verify the
     * server against; pulumi-command accepts any server without it (remote/connection.go).
     */
    readonly hostKey: string;
    /** Commands the scheduled jobs need on the VPS; the preflight fails when one is missing. Default ["docker"]. */
    readonly requiredCommands?: string[];
    /**
     * `user` is not root: the jobs install with `sudo -n` (see {@link VpsHost.sudo}), so the
     * preflight also checks that `user` has passwordless sudo. Default false.
     */
    readonly requireSudo?: boolean;
    /**
     * Credentials the Docker provider sends when it pulls an image (`registry_auth`). The
     * provider never uses the VPS user's `docker login`: only these. `address` is the host
     * the provider looks them up by ("ghcr.io"; Docker Hub is "registry-1.docker.io").
     * Default none (public images only).
     */
    readonly registryAuth?: { address: string; username: string; password: pulumi.Input<string> }[];
}

/**
 * The VPS an environment runs on: a Docker provider that reaches the engine over
 * `ssh://user@host:port` and the SSH connection remote commands use, plus a preflight
 * command that fails `pulumi up` with a readable message when Docker is missing or
 * unreachable, a command the jobs need is missing, the user lacks the passwordless
 * sudo the jobs install with, or the deploy directory is not writable.
 *
 * The Docker provider runs the system `ssh` client, which takes its key from the
 * ssh-agent (CI loads `sshPrivateKey` there); remote commands use the key directly.
 * The preflight runs when it is created and whenever its script, directory or command
 * list changes.
 */
export class VpsHost extends pulumi.ComponentResource {
    /** Docker provider for every container, network, volume and image of the environment. */
    readonly provider: docker.Provider;
    /** SSH connection for `@pulumi/command` remote commands (secret: holds the private key). */
    readonly connection: pulumi.Output<command.types.input.remote.ConnectionArgs>;
    /** Resources that touch the VPS should depend on this. */
    readonly preflight: command.remote.Command;
    /** Whether remote commands that need root (the jobs' installs) run with `sudo -n`: `requireSudo`. */
    readonly sudo: boolean;

    constructor(name: string, args: VpsHostArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("vps:index:VpsHost", name, { sshAddress: args.sshAddress, user: args.user, deployDir: args.deployDir }, opts);
        const port = args.sshPort ?? SSH_PORT;
        this.sudo = args.requireSudo ?? false;
        const requiredCommands = args.requiredCommands ?? ["docker"];

        this.provider = new docker.Provider(
            `${name}-docker`,
            {
                host: `ssh://${args.user}@${args.sshAddress}:${port}`,
                sshOpts: args.sshOptions ?? [],
                registryAuth: args.registryAuth?.map((r) => ({ address: r.address, username: r.username, password: pulumi.secret(r.password) })),
            },
            { parent: this },
        );
        this.connection = pulumi.secret(
            pulumi.output({ host: args.sshAddress, port, user: args.user, privateKey: args.sshPrivateKey, hostKey: args.hostKey }),
        ) as pulumi.Output<command.types.input.remote.ConnectionArgs>;

        const settings = `DEPLOY_DIR='${args.deployDir}' REQUIRED_COMMANDS='${requiredCommands.join(" ")}' REQUIRE_SUDO=${this.sudo ? 1 : 0}`;
        this.preflight = new command.remote.Command(
            `${name}-preflight`,
            {
                connection: this.connection,
                create: `${settings} bash -s`,
                stdin: PREFLIGHT_SCRIPT,
                triggers: [PREFLIGHT_SCRIPT, settings],
                // v1 otherwise sends the previous stdout as PULUMI_COMMAND_STDOUT through an SSH
                // `setenv` request, which sshd refuses without AcceptEnv (pulumi-command
                // provider/pkg/provider/remote/commandOutputs.go).
                addPreviousOutputInEnv: false,
            },
            { parent: this },
        );
        this.registerOutputs({ preflight: this.preflight.stdout });
    }
}
