import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { contentHash, JobSpec, jobPaths, remoteShell, renderInstallInput, renderInstallScript, renderRemoveScript, validateJobSpec } from "./systemd";

/** Arguments of {@link ScheduledJob}: what systemd runs ({@link JobSpec}), its env vars, and how to reach the VPS. */
export interface ScheduledJobArgs extends Omit<JobSpec, "envVarNames"> {
    /**
     * SSH connection to the VPS (VpsHost.connection). The job installs units and a root-only env
     * file: a user other than root needs `sudo` (passwordless sudo, which the preflight checks).
     */
    readonly connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /** Run the install and remove scripts with `sudo -n` (the SSH user is not root; VpsHost.sudo). Default false. */
    readonly sudo?: boolean;
    /** The job's env vars, written to /etc/vps-jobs/<unitName>.env (root, 0600); values may be secret Outputs. */
    readonly envVars: Record<string, pulumi.Input<string>>;
    /** Resources the install must wait for (e.g. the containers the job talks to). */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * A systemd service + timer on the VPS, installed, updated and removed by one `@pulumi/command`
 * remote command running the scripts systemd.ts renders. A change of any file or unit changes
 * the `triggers` hash, which replaces the command (delete before create, so the old delete
 * script does not remove the new install); a change of the env vars alone runs the update
 * script with the new env file on stdin.
 */
export class ScheduledJob extends pulumi.ComponentResource {
    /** The unit base name. */
    readonly unitName: string;
    /** `<unitName>.timer`. */
    readonly timerName: string;
    /** `/opt/vps-jobs/<unitName>`. */
    readonly installDir: string;
    /** `/etc/vps-jobs/<unitName>.env`. */
    readonly envFile: string;

    constructor(name: string, args: ScheduledJobArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const spec: JobSpec = {
            unitName: args.unitName,
            description: args.description,
            onCalendar: args.onCalendar,
            files: args.files,
            entrypoint: args.entrypoint,
            timeoutSeconds: args.timeoutSeconds,
            restart: args.restart,
            envVarNames: Object.keys(args.envVars),
        };
        validateJobSpec(spec);
        const paths = jobPaths(args.unitName);
        super("vps:index:ScheduledJob", name, { unitName: args.unitName, onCalendar: args.onCalendar, timerName: paths.timerName }, opts);
        this.unitName = args.unitName;
        this.timerName = paths.timerName;
        this.installDir = paths.installDir;
        this.envFile = paths.envFile;

        const install = remoteShell(renderInstallScript(spec), args.sudo);
        // The env file and the job's files, on stdin (renderInstallInput). Secret whatever the
        // inputs: the env file is root-only on the VPS, so in state it is encrypted.
        const installInput = pulumi.secret(pulumi.all(args.envVars).apply((env) => renderInstallInput(spec, env)));

        new command.remote.Command(
            `${name}-install`,
            {
                connection: args.connection,
                create: install,
                update: install,
                delete: remoteShell(renderRemoveScript(args.unitName), args.sudo),
                stdin: installInput,
                triggers: [contentHash(spec)],
                // See VpsHost: no PULUMI_COMMAND_STDOUT/STDERR `setenv` requests to sshd.
                addPreviousOutputInEnv: false,
            },
            { parent: this, dependsOn: args.dependsOn, deleteBeforeReplace: true },
        );

        this.registerOutputs({
            unitName: this.unitName,
            timerName: this.timerName,
            installDir: this.installDir,
            envFile: this.envFile,
        });
    }
}

/** What a job component passes on to its ScheduledJob besides the spec: how to reach the VPS, and what to wait for. */
export type JobInstallArgs = Pick<ScheduledJobArgs, "connection" | "sudo" | "dependsOn">;

/** A ScheduledJob's arguments but how it is installed: what a job component's spec function returns. */
export type ScheduledJobSpec = Omit<ScheduledJobArgs, keyof JobInstallArgs>;

/**
 * A component whose work is one ScheduledJob, its child `<name>-job` (BackupJob, RestoreCheck,
 * BackupFreshnessCheck, HealthCheckJob). A subclass builds the job's spec (validating its own
 * arguments first) and registers its outputs.
 */
export abstract class JobComponent extends pulumi.ComponentResource {
    /** The systemd unit base name, `<app>-<env>-<job>`. */
    readonly unitName: string;
    /** `<unitName>.timer`. */
    readonly timerName: string;

    /**
     * @param spec the job without its connection and dependencies
     * @param jobOptions options of the ScheduledJob itself, e.g. `aliases` of a job that moved
     */
    protected constructor(
        type: string,
        name: string,
        props: pulumi.Inputs,
        spec: ScheduledJobSpec,
        install: JobInstallArgs,
        opts: pulumi.ComponentResourceOptions,
        jobOptions: Pick<pulumi.ComponentResourceOptions, "aliases"> = {},
    ) {
        super(type, name, props, opts);
        const job = new ScheduledJob(
            `${name}-job`,
            { ...spec, connection: install.connection, sudo: install.sudo, dependsOn: install.dependsOn },
            { ...jobOptions, parent: this },
        );
        this.unitName = job.unitName;
        this.timerName = job.timerName;
    }
}
