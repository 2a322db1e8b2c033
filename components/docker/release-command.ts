import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { RELEASE_LOG_LINES, RELEASE_TIMEOUT_SECONDS } from "../defaults";
import { dockerName } from "../naming";
import { remoteShell, shellQuote } from "../shell";
import { Ownership, ownershipLabels } from "./labels";

/**
 * The one-shot container a release runs in, in the Docker provider's terms (the same names as a
 * `docker.Container`'s inputs), so that the policy pack judges it with the container policies.
 */
export interface ReleaseContainer {
    readonly memory: number;
    readonly memorySwap: number;
    readonly cpus: string;
    readonly privileged: false;
    readonly capabilities: { drops: string[]; adds: string[] };
    readonly securityOpts: string[];
    readonly logDriver: string;
    readonly logOpts: Record<string, string>;
    readonly readOnly: boolean;
    readonly user?: string;
    readonly workingDir?: string;
    readonly entrypoint?: string[];
    readonly init?: boolean;
    readonly shmSize?: number;
    readonly tmpfs?: Record<string, string>;
    readonly ulimits?: { name: string; soft: number; hard: number }[];
    /** Named volumes and read-only host files, as the service mounts them. */
    readonly volumes: { volumeName?: string; hostPath?: string; containerPath: string; readOnly: boolean }[];
    /** The networks it joins (names); never the host's. */
    readonly networks: string[];
    readonly labels: { label: string; value: string }[];
}

/** Arguments of {@link ReleaseCommand}. */
export interface ReleaseCommandArgs extends Ownership {
    /** SSH connection to the VPS (VpsHost.connection); the SSH user is in the docker group. */
    readonly connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /** The new version's image, as the VPS knows it (RemoteImage.imageId). */
    readonly image: pulumi.Input<string>;
    /** The release command, e.g. ["npm", "run", "migrate"]. */
    readonly command: string[];
    /** The service's plain env vars. */
    readonly env?: Record<string, pulumi.Input<string>>;
    /** The service's secret env vars; they reach the VPS on stdin only. */
    readonly secretEnv?: Record<string, pulumi.Input<string>>;
    /** The container's settings, networks (names) and mounts: the service's, from Service. */
    readonly container: pulumi.Input<Omit<ReleaseContainer, "labels">>;
    /** Seconds the release may run before it is stopped and `pulumi up` fails. Default {@link RELEASE_TIMEOUT_SECONDS}. */
    readonly timeoutSeconds?: number;
    /** Resources to wait for (the services it depends on, its files). */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** `docker create` arguments of a release container (before the image and command). */
export function releaseCreateArgs(c: ReleaseContainer): string[] {
    const args = [
        "--memory", `${c.memory}m`,
        "--memory-swap", `${c.memorySwap}m`,
        "--cpus", c.cpus,
        "--cap-drop", "ALL",
        ...c.capabilities.adds.flatMap((cap) => ["--cap-add", cap]),
        ...c.securityOpts.flatMap((o) => ["--security-opt", o]),
        "--log-driver", c.logDriver,
        ...Object.entries(c.logOpts).flatMap(([k, v]) => ["--log-opt", `${k}=${v}`]),
        "--network", c.networks[0],
        ...c.labels.flatMap((l) => ["--label", `${l.label}=${l.value}`]),
    ];
    if (c.readOnly) args.push("--read-only");
    if (c.user) args.push("--user", c.user);
    if (c.workingDir) args.push("--workdir", c.workingDir);
    if (c.entrypoint) args.push("--entrypoint", c.entrypoint[0]);
    if (c.init) args.push("--init");
    if (c.shmSize !== undefined) args.push("--shm-size", `${c.shmSize}m`);
    for (const [path, options] of Object.entries(c.tmpfs ?? {})) args.push("--tmpfs", options ? `${path}:${options}` : path);
    for (const u of c.ulimits ?? []) args.push("--ulimit", `${u.name}=${u.soft}:${u.hard}`);
    for (const v of c.volumes) {
        const source = v.volumeName ?? v.hostPath;
        args.push("--volume", `${source}:${v.containerPath}${v.readOnly ? ":ro" : ""}`);
    }
    return args;
}

/**
 * The release script: writes the env file from stdin (0600, removed as soon as the container
 * is created: `docker create --env-file` reads it on this side), creates the container on the
 * first network, connects it to the others, runs it attached with a time limit, and exits with
 * its exit code. On failure the last {@link RELEASE_LOG_LINES} lines of its output go to
 * stderr, which pulumi-command puts into the error `pulumi up` prints; the container is
 * removed in every case. Nothing secret is in this text: it is stored in the state.
 */
export function renderReleaseScript(spec: { name: string; image: string; command: string[]; container: ReleaseContainer; timeoutSeconds: number }): string {
    const c = spec.container;
    if (c.networks.length === 0) throw new Error(`release ${spec.name}: the container needs a network`);
    const entryArgs = c.entrypoint ? c.entrypoint.slice(1) : [];
    const create = ["docker", "create", "--name", '"$name"', "--env-file", '"$envfile"', ...releaseCreateArgs(c).map(shellQuote), shellQuote(spec.image), ...[...entryArgs, ...spec.command].map(shellQuote)];
    return [
        "set -uo pipefail",
        "umask 077",
        `name=${shellQuote(spec.name)}-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \\n')`,
        'work=$(mktemp -d) || exit 1',
        'envfile="$work/env"',
        'log="$work/log"',
        "trap 'docker rm -f \"$name\" >/dev/null 2>&1; rm -rf \"$work\"' EXIT",
        'cat >"$envfile" || exit 1',
        `if ! ${create.join(" ")} >/dev/null 2>"$log"; then`,
        '  echo "release: the release container could not be created: $(tail -n 5 "$log")" >&2',
        "  exit 1",
        "fi",
        'rm -f "$envfile"',
        ...c.networks.slice(1).map((n) => `docker network connect ${shellQuote(n)} "$name" || exit 1`),
        `echo "release: running ${spec.command.join(" ").replace(/["$`\\]/g, "")} in a one-shot container of the new image" >&2`,
        "status=0",
        `timeout --kill-after=10 ${spec.timeoutSeconds} docker start --attach "$name" >"$log" 2>&1 || status=$?`,
        'if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then',
        `  echo "release: the release command did not finish within ${spec.timeoutSeconds} s and was stopped; the new version was not started. Its last lines:" >&2`,
        `  tail -n ${RELEASE_LOG_LINES} "$log" >&2`,
        "  exit 124",
        "fi",
        'if [ "$status" -ne 0 ]; then',
        `  echo "release: the release command exited $status; the new version was not started and the running one keeps serving. Its last lines:" >&2`,
        `  tail -n ${RELEASE_LOG_LINES} "$log" >&2`,
        '  exit "$status"',
        "fi",
        `tail -n ${RELEASE_LOG_LINES} "$log"`,
        'echo "release: the release command exited 0" >&2',
    ].join("\n");
}

/** The env file `docker create --env-file` reads: `NAME=value` lines, no quoting, so no value may hold a newline. */
export function releaseEnvFile(env: Record<string, string>): string {
    return Object.entries(env)
        .map(([k, v]) => {
            if (/[\r\n]/.test(v)) throw new Error(`release: the value of ${k} holds a line break, which docker's --env-file cannot carry`);
            return `${k}=${v}\n`;
        })
        .join("");
}

/**
 * A service's release command (`services.<name>.release`): runs once per deploy in a one-shot
 * container of the NEW image, with the service's env, secrets, networks, mounts and hardening,
 * before any container of the new version is created (the service's containers depend on it).
 * It is a `@pulumi/command` remote command running `docker create` / `docker start --attach`
 * over the VPS's SSH connection, which gives what a Docker container resource does not: the
 * provider's `attach` waits for the exit but never fails on a non-zero exit code
 * (kreuzwerker v4.5.0 resourceDockerContainerCreate), while a remote command that exits
 * non-zero fails `pulumi up` with its output in the error (pulumi-command v1.2.1
 * remote/commandOutputs.go). So a failing release stops the deploy and the old version keeps
 * serving.
 *
 * It runs on the first deploy too, and again only when the image or the command changes
 * (`triggers`: a change replaces the command, whose create runs it); a change of anything
 * else (an env value, a limit) updates it without running it (`update` is a no-op).
 */
export class ReleaseCommand extends pulumi.ComponentResource {
    readonly command: command.remote.Command;

    constructor(name: string, args: ReleaseCommandArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const labels = ownershipLabels({ ...args, role: `${args.role}-release` });
        const container = pulumi.output(args.container).apply((c) => ({ ...c, labels }) as ReleaseContainer);
        // Props the policy pack reads: the container a release runs in, hardened like the service's.
        super("vps:index:ReleaseCommand", name, { environment: args.environment, service: args.role, command: args.command, container }, opts);
        if (args.command.length === 0) throw new Error(`ReleaseCommand ${name}: command is empty`);
        const timeoutSeconds = args.timeoutSeconds ?? RELEASE_TIMEOUT_SECONDS;
        const script = pulumi
            .all([args.image, container])
            .apply(([image, c]) => renderReleaseScript({ name: `${dockerName(args)}-release`, image, command: args.command, container: c, timeoutSeconds }));
        const env = pulumi.all([pulumi.all(args.env ?? {}), pulumi.all(args.secretEnv ?? {})]).apply(([plain, secret]) => releaseEnvFile({ ...plain, ...secret }));
        this.command = new command.remote.Command(
            `${name}-run`,
            {
                connection: args.connection,
                create: script.apply((s) => remoteShell(s)),
                // Only a new image or command runs the release again (triggers replace the command).
                update: "true",
                // Secret whatever the inputs: the service's secrets are in it.
                stdin: pulumi.secret(env),
                triggers: [args.image, JSON.stringify(args.command)],
                // See VpsHost: no PULUMI_COMMAND_STDOUT/STDERR `setenv` requests to sshd.
                addPreviousOutputInEnv: false,
            },
            // A release's output may print what it read from its secrets.
            { parent: this, dependsOn: args.dependsOn, additionalSecretOutputs: ["stdout", "stderr"] },
        );
        this.registerOutputs({});
    }
}
