/**
 * One set of monitoring files on the VPS as a Pulumi resource: a `@pulumi/command` remote
 * command that runs components/scripts/monitoring-files.sh, `write` on create and update
 * (the files on stdin) and `remove` on delete. A changed file changes stdin, which updates
 * the command (the script then reloads what runs); nothing is ever replaced, so the files are
 * never removed and rewritten around a change.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { remoteShell, shellQuote } from "../jobs/systemd";
import { readScript } from "../scripts";
import { MonitoringFile, renderFileBundle } from "./files";

const SCRIPT = readScript("monitoring-files.sh");

/** Arguments of {@link fileSetCommand}. */
export interface FileSetArgs {
    /** SSH connection to the VPS (VpsHost.connection). */
    readonly connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /** Run the script with `sudo -n` (the SSH user is not root): it sets owners and writes under the host's directory. */
    readonly sudo?: boolean;
    /** The host's monitoring directory on the VPS (absolute). */
    readonly monitoringDir: pulumi.Input<string>;
    /** The set's name, `[a-z0-9-]+`: "config" for the host's, `<app>-<env>` for an environment's. */
    readonly set: string;
    /** The files; a secret Output when one holds a secret (the bundle then stays secret in the state). */
    readonly files: pulumi.Input<MonitoringFile[]>;
    /** `<container>|<port>` of each program to reload after a change. Default none. */
    readonly reload?: pulumi.Input<string>[];
}

/** The shell command that runs monitoring-files.sh `action` with its settings. */
export function fileSetScript(action: "write" | "remove", settings: { monitoringDir: string; set: string; reload: string[] }, sudo = false): string {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(settings.set)) throw new Error(`monitoring file set "${settings.set}" must be [a-z0-9-]+`);
    if (!settings.monitoringDir.startsWith("/")) throw new Error(`monitoring directory "${settings.monitoringDir}" must be absolute`);
    const env = [
        `set -- ${action}`,
        `export MON_DIR=${shellQuote(settings.monitoringDir)} MON_SET=${shellQuote(settings.set)} MON_RELOAD=${shellQuote(settings.reload.join(" "))}`,
    ].join("\n");
    return remoteShell(`${env}\n${SCRIPT}`, sudo);
}

/** The remote command that keeps one set of monitoring files on the VPS. */
export function fileSetCommand(name: string, args: FileSetArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
    const settings = pulumi.all([args.monitoringDir, pulumi.all(args.reload ?? [])]).apply(([monitoringDir, reload]) => ({ monitoringDir, set: args.set, reload }));
    const write = settings.apply((s) => fileSetScript("write", s, args.sudo));
    return new command.remote.Command(
        name,
        {
            connection: args.connection,
            create: write,
            update: write,
            delete: settings.apply((s) => fileSetScript("remove", s, args.sudo)),
            stdin: pulumi.output(args.files).apply((files) => renderFileBundle(files)),
            // See VpsHost: no PULUMI_COMMAND_STDOUT/STDERR `setenv` requests to sshd.
            addPreviousOutputInEnv: false,
        },
        opts,
    );
}
