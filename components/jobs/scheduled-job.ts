import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";

/** Where each job's files live on the VPS: /opt/vps-jobs/<unitName>/. */
export const JOBS_INSTALL_ROOT = "/opt/vps-jobs";
/** Where each job's root-only env file lives: /etc/vps-jobs/<unitName>.env. */
export const JOBS_ENV_ROOT = "/etc/vps-jobs";
/** systemd's StateDirectory= base for jobs: /var/lib/vps-jobs/<unitName>/. */
export const JOBS_STATE_ROOT = "/var/lib/vps-jobs";
/** Where administrator-installed unit files go. */
export const SYSTEMD_UNIT_DIR = "/etc/systemd/system";
/** TimeoutStartSec= when the caller sets none: one hour. */
export const DEFAULT_TIMEOUT_SECONDS = 3600;

/**
 * How systemd retries a failed run (Restart=on-failure) and how often it may start the unit at
 * all (StartLimitIntervalSec=/StartLimitBurst=, timer starts included): a store or daemon that
 * is away for a few minutes does not cost the run, and a job that keeps failing is not
 * restarted in a loop.
 */
export interface RestartPolicy {
    /** RestartSec=: seconds between a failed run and the retry. */
    readonly delaySeconds: number;
    /** StartLimitBurst=: starts allowed within intervalSeconds (the timer's included). */
    readonly burst: number;
    /** StartLimitIntervalSec=: the window of burst, in seconds. */
    readonly intervalSeconds: number;
    /** RestartPreventExitStatus=: exit codes that are answers, not failures to retry (bad configuration, lock held, ...). */
    readonly preventExitStatuses: number[];
}

/**
 * The restart policy of a daily or weekly job: one retry 5 minutes after a failure and a
 * second one after that, at most 3 starts in 12 hours; exits 2 (bad configuration), 3
 * (another run holds the lock) and 4 (done, but the webhook did not take the report) are
 * not retried. The job scripts use these codes (components/scripts/*.sh).
 */
export const DEFAULT_RESTART_POLICY: RestartPolicy = { delaySeconds: 300, burst: 3, intervalSeconds: 12 * 3600, preventExitStatuses: [2, 3, 4] };

const UNIT_NAME = /^[a-z0-9][a-z0-9-]*$/;
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface ScheduledJobArgs {
    /**
     * SSH connection to the VPS (VpsHost.connection). The job installs units and a root-only env
     * file, so the user must be root, or set `sudo` for a user with passwordless sudo.
     */
    readonly connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /** Run the install and remove scripts with `sudo -n` (the SSH user is not root). Default false. */
    readonly sudo?: boolean;
    /** systemd unit base name, `[a-z0-9][a-z0-9-]*`, e.g. "shop-staging-backup"; unit files are <unitName>.service and <unitName>.timer. */
    readonly unitName: string;
    /** Human description for the unit's Description= (one line). */
    readonly description: string;
    /** systemd OnCalendar= expression (already validated by the config schema). */
    readonly onCalendar: string;
    /** Files installed under /opt/vps-jobs/<unitName>/ (mode 0755 for *.sh, 0644 otherwise), file name -> content. */
    readonly files: Record<string, string>;
    /** File name (a key of files) that ExecStart runs. */
    readonly entrypoint: string;
    /** Environment for the job, written to /etc/vps-jobs/<unitName>.env (root, 0600); values may be secret Outputs. */
    readonly environment: Record<string, pulumi.Input<string>>;
    /** TimeoutStartSec= in seconds. Default 3600. */
    readonly timeoutSeconds?: number;
    /** Restart=on-failure with these limits. Default {@link DEFAULT_RESTART_POLICY}. */
    readonly restart?: RestartPolicy;
    /** Resources the install must wait for (e.g. the containers the job talks to). */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** The plain (never secret) part of a job: everything that goes into the command text. */
export type JobSpec = Pick<ScheduledJobArgs, "unitName" | "description" | "onCalendar" | "files" | "entrypoint" | "timeoutSeconds" | "restart"> & {
    /** Names of the environment variables (values are not part of the spec). */
    readonly environmentNames?: string[];
};

/** Options for rendering scripts: `root` installs into a directory tree instead of `/` (tests, image builds). */
export interface RenderOptions {
    /** Absolute path prefixed to every path the script touches; "" (default) is the live system. With a root,
     * units are enabled with `systemctl --root` and no running systemd is contacted. */
    readonly root?: string;
}

/** Paths of one job on the target system (without any render root). */
export function jobPaths(unitName: string) {
    return {
        installDir: `${JOBS_INSTALL_ROOT}/${unitName}`,
        envFile: `${JOBS_ENV_ROOT}/${unitName}.env`,
        stateDir: `${JOBS_STATE_ROOT}/${unitName}`,
        serviceFile: `${SYSTEMD_UNIT_DIR}/${unitName}.service`,
        timerFile: `${SYSTEMD_UNIT_DIR}/${unitName}.timer`,
    };
}

/** Throws with a sentence naming the argument when a job spec cannot be rendered safely. */
export function validateJobSpec(spec: JobSpec): void {
    if (!UNIT_NAME.test(spec.unitName)) {
        throw new Error(`ScheduledJob unitName "${spec.unitName}" must match [a-z0-9][a-z0-9-]*`);
    }
    if (!spec.description || /[\r\n]/.test(spec.description)) {
        throw new Error(`ScheduledJob ${spec.unitName}: description must be one non-empty line`);
    }
    if (!spec.onCalendar.trim() || /[\r\n]/.test(spec.onCalendar)) {
        throw new Error(`ScheduledJob ${spec.unitName}: onCalendar must be one non-empty line`);
    }
    const names = Object.keys(spec.files);
    if (names.length === 0) {
        throw new Error(`ScheduledJob ${spec.unitName}: files must hold at least the entrypoint`);
    }
    for (const f of names) {
        if (!FILE_NAME.test(f)) {
            throw new Error(`ScheduledJob ${spec.unitName}: file name "${f}" must be a plain name ([A-Za-z0-9._-], no slash)`);
        }
    }
    if (!Object.prototype.hasOwnProperty.call(spec.files, spec.entrypoint)) {
        throw new Error(`ScheduledJob ${spec.unitName}: entrypoint "${spec.entrypoint}" is not a key of files (${names.join(", ")})`);
    }
    for (const n of spec.environmentNames ?? []) {
        if (!ENV_NAME.test(n)) {
            throw new Error(`ScheduledJob ${spec.unitName}: environment name "${n}" must match [A-Za-z_][A-Za-z0-9_]*`);
        }
    }
    const t = spec.timeoutSeconds;
    if (t !== undefined && (!Number.isInteger(t) || t <= 0)) {
        throw new Error(`ScheduledJob ${spec.unitName}: timeoutSeconds must be a positive whole number of seconds, got ${t}`);
    }
    const r = spec.restart;
    if (r !== undefined) {
        for (const [field, v] of [["delaySeconds", r.delaySeconds], ["burst", r.burst], ["intervalSeconds", r.intervalSeconds]] as const) {
            if (!Number.isInteger(v) || v <= 0) {
                throw new Error(`ScheduledJob ${spec.unitName}: restart.${field} must be a positive whole number, got ${v}`);
            }
        }
        const bad = r.preventExitStatuses.find((c) => !Number.isInteger(c) || c < 0 || c > 255);
        if (bad !== undefined) {
            throw new Error(`ScheduledJob ${spec.unitName}: restart.preventExitStatuses must be exit codes 0-255, got ${bad}`);
        }
    }
}

/** `%` starts a specifier in unit files; a literal one is written `%%`. */
function unitEscape(s: string): string {
    return s.replace(/%/g, "%%");
}

/** The service and timer unit files of a job. */
export function renderUnits(spec: JobSpec): { service: string; timer: string } {
    validateJobSpec(spec);
    const p = jobPaths(spec.unitName);
    const restart = spec.restart ?? DEFAULT_RESTART_POLICY;
    const service = [
        "[Unit]",
        `Description=${unitEscape(spec.description)}`,
        // Jobs talk to containers and to the network (webhooks, S3); ordering only, no hard dependency.
        "Wants=network-online.target",
        "After=network-online.target docker.service",
        // Timer starts count too: a job that keeps failing is not restarted in a loop.
        `StartLimitIntervalSec=${restart.intervalSeconds}`,
        `StartLimitBurst=${restart.burst}`,
        "",
        "[Service]",
        "Type=oneshot",
        `ExecStart=${p.installDir}/${spec.entrypoint}`,
        `WorkingDirectory=${p.installDir}`,
        `EnvironmentFile=${p.envFile}`,
        // systemd creates /var/lib/vps-jobs/<unit> (0700) and passes it as $STATE_DIRECTORY.
        `StateDirectory=${JOBS_STATE_ROOT.replace(/^\/var\/lib\//, "")}/${spec.unitName}`,
        "StateDirectoryMode=0700",
        "UMask=0077",
        `TimeoutStartSec=${spec.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS}`,
        // A run that failed (a store or daemon away for a moment, a timeout) is tried again.
        "Restart=on-failure",
        `RestartSec=${restart.delaySeconds}`,
        ...(restart.preventExitStatuses.length ? [`RestartPreventExitStatus=${restart.preventExitStatuses.join(" ")}`] : []),
        "",
    ].join("\n");
    const timer = [
        "[Unit]",
        `Description=${unitEscape(spec.description)} (schedule)`,
        "",
        "[Timer]",
        `OnCalendar=${spec.onCalendar}`,
        // A run missed while the VPS was off happens at boot.
        "Persistent=true",
        // The default accuracy (1 min) would let a per-minute health check drift by up to a whole interval.
        "AccuracySec=1s",
        `Unit=${spec.unitName}.service`,
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ].join("\n");
    return { service, timer };
}

/** Quotes a value for an EnvironmentFile= line so that systemd and `bash` (`set -a; . file`) read the same value. */
export function envFileQuote(value: string): string {
    if (/[\r\n\0]/.test(value)) {
        throw new Error("environment values must be one line (no newline or NUL)");
    }
    return `"${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

/** The env file content (KEY="value" lines, sorted by key). */
export function renderEnvFile(env: Record<string, string>): string {
    return Object.keys(env)
        .sort()
        .map((k) => {
            if (!ENV_NAME.test(k)) {
                throw new Error(`environment name "${k}" must match [A-Za-z_][A-Za-z0-9_]*`);
            }
            return `${k}=${envFileQuote(env[k])}\n`;
        })
        .join("");
}

function b64(s: string): string {
    return Buffer.from(s, "utf8").toString("base64");
}

/** Single-quotes a string for bash. */
export function shellQuote(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

function rootPrelude(opts: RenderOptions): string[] {
    const root = opts.root ?? "";
    if (root !== "" && !root.startsWith("/")) {
        throw new Error(`render root must be an absolute path, got "${root}"`);
    }
    const r = root.replace(/\/+$/, "");
    return [r === "" ? "root=" : `root=${shellQuote(r)}`];
}

/**
 * The create/update script: reads the env file content from standard input (so no secret is ever
 * in the command text or `ps`), writes it 0600, replaces the job's files and units, reloads systemd
 * and (re)starts the timer so a changed schedule takes effect.
 */
export function renderInstallScript(spec: JobSpec, opts: RenderOptions = {}): string {
    const units = renderUnits(spec);
    const p = jobPaths(spec.unitName);
    const live = !opts.root;
    const lines = [
        "set -euo pipefail",
        ...rootPrelude(opts),
        `install_dir="$root"${p.installDir}`,
        `env_file="$root"${p.envFile}`,
        `unit_dir="$root"${SYSTEMD_UNIT_DIR}`,
        'mkdir -p "$(dirname "$install_dir")" "$(dirname "$env_file")" "$unit_dir"',
        'chmod 0700 "$(dirname "$env_file")"',
        "# The environment arrives on stdin: secrets never appear on a command line.",
        'env_tmp="$env_file.tmp.$$"',
        '(umask 077 && cat >"$env_tmp")',
        'chmod 0600 "$env_tmp"',
        'chown 0:0 "$env_tmp"',
        'mv -f "$env_tmp" "$env_file"',
        "# New files go to a fresh directory that replaces the old one: a running job keeps",
        "# reading its old (unlinked) script, and files dropped from the job disappear.",
        'staging="$install_dir.new"',
        'rm -rf "$staging"',
        'mkdir -m 0755 "$staging"',
    ];
    for (const name of Object.keys(spec.files).sort()) {
        const mode = name.endsWith(".sh") ? "0755" : "0644";
        lines.push(`printf %s ${b64(spec.files[name])} | base64 -d >"$staging"/${name}`);
        lines.push(`chmod ${mode} "$staging"/${name}`);
    }
    lines.push(
        'rm -rf "$install_dir.old"',
        'if [ -e "$install_dir" ]; then mv "$install_dir" "$install_dir.old"; fi',
        'mv "$staging" "$install_dir"',
        'rm -rf "$install_dir.old"',
        `printf %s ${b64(units.service)} | base64 -d >"$unit_dir"/${`${spec.unitName}.service.tmp`}`,
        `printf %s ${b64(units.timer)} | base64 -d >"$unit_dir"/${`${spec.unitName}.timer.tmp`}`,
        `chmod 0644 "$unit_dir"/${`${spec.unitName}.service.tmp`} "$unit_dir"/${`${spec.unitName}.timer.tmp`}`,
        `mv -f "$unit_dir"/${`${spec.unitName}.service.tmp`} "$unit_dir"/${`${spec.unitName}.service`}`,
        `mv -f "$unit_dir"/${`${spec.unitName}.timer.tmp`} "$unit_dir"/${`${spec.unitName}.timer`}`,
    );
    if (live) {
        lines.push(
            "systemctl daemon-reload",
            `systemctl enable ${`${spec.unitName}.timer`}`,
            "# restart, not start: a timer that already runs must pick up a changed OnCalendar=.",
            `systemctl restart ${`${spec.unitName}.timer`}`,
        );
    } else {
        lines.push(`systemctl --root="$root" enable ${`${spec.unitName}.timer`}`);
    }
    lines.push(`echo installed ${spec.unitName}.timer`);
    return lines.join("\n") + "\n";
}

/**
 * The delete script: stops and disables the timer, stops a running job, and removes only this job's
 * files: its two unit files, its env file, its install directory and its state directory.
 */
export function renderRemoveScript(unitName: string, opts: RenderOptions = {}): string {
    if (!UNIT_NAME.test(unitName)) {
        throw new Error(`ScheduledJob unitName "${unitName}" must match [a-z0-9][a-z0-9-]*`);
    }
    const p = jobPaths(unitName);
    const timer = `${unitName}.timer`;
    const service = `${unitName}.service`;
    const lines = ["set -euo pipefail", ...rootPrelude(opts)];
    if (!opts.root) {
        lines.push(
            `if [ -e ${p.timerFile} ]; then systemctl disable --now ${timer}; fi`,
            `systemctl stop ${service} 2>/dev/null || true`,
        );
    } else {
        lines.push(`if [ -e "$root"${p.timerFile} ]; then systemctl --root="$root" disable ${timer}; fi`);
    }
    lines.push(
        `rm -f "$root"${p.timerFile} "$root"${p.serviceFile} "$root"${p.envFile}`,
        `rm -rf "$root"${p.installDir} "$root"${p.stateDir}`,
    );
    if (!opts.root) {
        lines.push("systemctl daemon-reload", `systemctl reset-failed ${service} ${timer} 2>/dev/null || true`);
    }
    lines.push(`echo removed ${unitName}.timer`);
    return lines.join("\n") + "\n";
}

/** Wraps a script for the SSH session, whatever the login shell: `bash -c '<script>'`; stdin passes through. */
export function remoteShell(script: string, sudo = false): string {
    return `${sudo ? "sudo -n " : ""}bash -c ${shellQuote(script)}`;
}

/** sha256 over everything the install writes except the env values: the trigger that reinstalls a changed job. */
export function contentHash(spec: JobSpec): string {
    const units = renderUnits(spec);
    const h = crypto.createHash("sha256");
    const feed = (s: string) => h.update(`${Buffer.byteLength(s)}:${s}`);
    feed(spec.unitName);
    feed(units.service);
    feed(units.timer);
    for (const name of Object.keys(spec.files).sort()) {
        feed(name);
        feed(spec.files[name]);
    }
    return h.digest("hex");
}

/**
 * A systemd service + timer on the VPS, installed, updated and removed by one `@pulumi/command`
 * remote command. A change of any file or unit changes the `triggers` hash, which replaces the
 * command (delete before create, so the old delete script does not remove the new install);
 * a change of the environment alone runs the update script with the new env file on stdin.
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
            environmentNames: Object.keys(args.environment),
        };
        validateJobSpec(spec);
        const paths = jobPaths(args.unitName);
        super(
            "vps:index:ScheduledJob",
            name,
            { unitName: args.unitName, onCalendar: args.onCalendar, timerName: `${args.unitName}.timer` },
            opts,
        );
        this.unitName = args.unitName;
        this.timerName = `${args.unitName}.timer`;
        this.installDir = paths.installDir;
        this.envFile = paths.envFile;

        const install = remoteShell(renderInstallScript(spec), args.sudo);
        // Secret whatever the inputs: the file is root-only on the VPS, so in state it is encrypted.
        const envContent = pulumi.secret(pulumi.all(args.environment).apply((env) => renderEnvFile(env)));

        new command.remote.Command(
            `${name}-install`,
            {
                connection: args.connection,
                create: install,
                update: install,
                delete: remoteShell(renderRemoveScript(args.unitName), args.sudo),
                stdin: envContent,
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
