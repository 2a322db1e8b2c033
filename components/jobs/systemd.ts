/**
 * A scheduled job as systemd sees it, rendered without Pulumi: the service and timer units,
 * the env file, the install and remove scripts a remote command runs on the VPS, and the
 * content hash that reinstalls a changed job. Pure functions of a {@link JobSpec}: the
 * ScheduledJob component (scheduled-job.ts) sends what they render, test/systemd.test.ts holds
 * their snapshots, and the integration suite installs them into a root and runs
 * `systemd-analyze verify` on the result.
 */
import * as crypto from "crypto";
import { JOB_RESTART_POLICY, JOB_TIMEOUT_SECONDS } from "../defaults";
import { UNIT_NAME } from "../naming";
import { remoteShell, shellQuote } from "../shell";

// Moved to components/shell.ts, which the docker components share; re-exported for the jobs.
export { remoteShell, shellQuote };

/** Where each job's files live on the VPS: /opt/vps-jobs/<unitName>/. */
export const JOBS_INSTALL_ROOT = "/opt/vps-jobs";
/** Where each job's root-only env file lives: /etc/vps-jobs/<unitName>.env. */
export const JOBS_ENV_ROOT = "/etc/vps-jobs";
/** systemd's StateDirectory= base for jobs: /var/lib/vps-jobs/<unitName>/. */
export const JOBS_STATE_ROOT = "/var/lib/vps-jobs";
/** Where administrator-installed unit files go. */
export const SYSTEMD_UNIT_DIR = "/etc/systemd/system";

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
    readonly preventExitStatuses: readonly number[];
}

const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** What systemd runs for a job: everything of it except the values of its env vars. */
export interface JobSpec {
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
    /** TimeoutStartSec= in seconds. Default {@link JOB_TIMEOUT_SECONDS} (3600). */
    readonly timeoutSeconds?: number;
    /** Restart=on-failure with these limits. Default {@link JOB_RESTART_POLICY}. */
    readonly restart?: RestartPolicy;
    /** Names of the env vars of the job's env file (their values are never part of the spec). */
    readonly envVarNames?: string[];
}

/** Options for rendering scripts: `root` installs into a directory tree instead of `/` (tests, image builds). */
export interface RenderOptions {
    /** Absolute path prefixed to every path the script touches; "" (default) is the live system. With a root,
     * units are enabled with `systemctl --root` and no running systemd is contacted. */
    readonly root?: string;
}

/** Unit names and paths of one job on the target system (without any render root). */
export function jobPaths(unitName: string) {
    return {
        serviceName: `${unitName}.service`,
        timerName: `${unitName}.timer`,
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
    for (const n of spec.envVarNames ?? []) {
        if (!ENV_NAME.test(n)) {
            throw new Error(`ScheduledJob ${spec.unitName}: env var name "${n}" must match [A-Za-z_][A-Za-z0-9_]*`);
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
    const restart = spec.restart ?? JOB_RESTART_POLICY;
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
        `TimeoutStartSec=${spec.timeoutSeconds ?? JOB_TIMEOUT_SECONDS}`,
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
        `Unit=${p.serviceName}`,
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
        throw new Error("env var values must be one line (no newline or NUL)");
    }
    return `"${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

/** The env file content (KEY="value" lines, sorted by key). */
export function renderEnvFile(env: Record<string, string>): string {
    return Object.keys(env)
        .sort()
        .map((k) => {
            if (!ENV_NAME.test(k)) {
                throw new Error(`env var name "${k}" must match [A-Za-z_][A-Za-z0-9_]*`);
            }
            return `${k}=${envFileQuote(env[k])}\n`;
        })
        .join("");
}

function b64(s: string): string {
    return Buffer.from(s, "utf8").toString("base64");
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
 * What the install script reads on standard input ({@link renderInstallScript}): one base64 line
 * with the env file, then one base64 line per file of the job in the sorted order of their names.
 * The files travel here, not in the command text, because sshd runs the command as one argument
 * of `sh -c`, which Linux caps at 128 KiB (MAX_ARG_STRLEN, 131072 bytes): a job carrying the
 * PITR scripts came to 134 KB as inline base64 and could never be installed.
 */
export function renderInstallInput(spec: Pick<JobSpec, "files">, env: Record<string, string>): string {
    const lines = [b64(renderEnvFile(env)), ...Object.keys(spec.files).sort().map((name) => b64(spec.files[name]))];
    return lines.join("\n") + "\n";
}

/**
 * The create/update script: reads the env file and the job's files from standard input
 * ({@link renderInstallInput}; so no secret is ever in the command text or `ps`, and the command
 * stays far below the kernel's 128 KiB limit on one argument), writes the env file 0600, checks
 * every file against the sha256 the command carries, replaces the job's files and units, reloads
 * systemd and (re)starts the timer so a changed schedule takes effect.
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
        "# The environment arrives on stdin (first line, base64): secrets never appear on a command line.",
        "# Then one base64 line per file, in the order below.",
        'next_line() { IFS= read -r line || { echo "install: standard input ended before $1" >&2; exit 1; }; }',
        "next_line env-file",
        'env_line=$line',
        "# New files go to a fresh directory that replaces the old one: a running job keeps",
        "# reading its old (unlinked) script, and files dropped from the job disappear. Each is",
        "# checked against its sha256 before anything installed is touched.",
        'staging="$install_dir.new"',
        'rm -rf "$staging"',
        'mkdir -m 0755 "$staging"',
    ];
    for (const name of Object.keys(spec.files).sort()) {
        const mode = name.endsWith(".sh") ? "0755" : "0644";
        const sha = crypto.createHash("sha256").update(spec.files[name], "utf8").digest("hex");
        lines.push(`next_line ${name}`);
        lines.push(`printf %s "$line" | base64 -d >"$staging"/${name}`);
        lines.push(`echo "${sha}  $staging/${name}" | sha256sum -c --quiet -`);
        lines.push(`chmod ${mode} "$staging"/${name}`);
    }
    lines.push(
        'env_tmp="$env_file.tmp.$$"',
        '(umask 077 && printf %s "$env_line" | base64 -d >"$env_tmp")',
        'chmod 0600 "$env_tmp"',
        'chown 0:0 "$env_tmp"',
        'mv -f "$env_tmp" "$env_file"',
        'rm -rf "$install_dir.old"',
        'if [ -e "$install_dir" ]; then mv "$install_dir" "$install_dir.old"; fi',
        'mv "$staging" "$install_dir"',
        'rm -rf "$install_dir.old"',
        `printf %s ${b64(units.service)} | base64 -d >"$unit_dir"/${p.serviceName}.tmp`,
        `printf %s ${b64(units.timer)} | base64 -d >"$unit_dir"/${p.timerName}.tmp`,
        `chmod 0644 "$unit_dir"/${p.serviceName}.tmp "$unit_dir"/${p.timerName}.tmp`,
        `mv -f "$unit_dir"/${p.serviceName}.tmp "$unit_dir"/${p.serviceName}`,
        `mv -f "$unit_dir"/${p.timerName}.tmp "$unit_dir"/${p.timerName}`,
    );
    if (live) {
        lines.push(
            "systemctl daemon-reload",
            `systemctl enable ${p.timerName}`,
            "# restart, not start: a timer that already runs must pick up a changed OnCalendar=.",
            `systemctl restart ${p.timerName}`,
        );
    } else {
        lines.push(`systemctl --root="$root" enable ${p.timerName}`);
    }
    lines.push(`echo installed ${p.timerName}`);
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
    const { timerName: timer, serviceName: service } = p;
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
    lines.push(`echo removed ${timer}`);
    return lines.join("\n") + "\n";
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
