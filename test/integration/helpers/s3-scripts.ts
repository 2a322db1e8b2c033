import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/**
 * The directory of the job scripts under test: components/scripts, or VPS_JOBS_SCRIPTS_DIR
 * (e.g. an older revision's scripts, to show that a fault test fails on them).
 */
export const scriptsDir = process.env.VPS_JOBS_SCRIPTS_DIR ?? path.join(__dirname, "..", "..", "..", "components", "scripts");

/** The job scripts under test. */
export const scripts = {
    backup: path.join(scriptsDir, "backup.sh"),
    restore: path.join(scriptsDir, "restore.sh"),
    restoreCheck: path.join(scriptsDir, "restore-check.sh"),
    healthCheck: path.join(scriptsDir, "health-check.sh"),
    notify: path.join(scriptsDir, "notify.sh"),
    imagePrune: path.join(scriptsDir, "image-prune.sh"),
    diskUsage: path.join(scriptsDir, "disk-usage.sh"),
    edgeCheck: path.join(scriptsDir, "edge-check.sh"),
};

/**
 * The test-only switch of notify.sh that lets the jobs post to the webhook receiver on
 * http://127.0.0.1 (production URLs must be https://).
 */
export const LOOPBACK_WEBHOOK = { ALERT_WEBHOOK_ALLOW_HTTP_LOOPBACK: "1" };

/**
 * This test process's own directory for the jobs' run locks (JOB_LOCK_DIR), unless a test sets
 * one: test runs of other checkouts on the same machine back up to the same test targets, and
 * a lock in the shared /run/lock made each skip the other's runs ("another backup ... has been
 * running"). Runs of one process still contend for it, as on a VPS.
 */
export const RUN_LOCK_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "vps-job-locks-"));
process.on("exit", () => fs.rmSync(RUN_LOCK_DIR, { recursive: true, force: true }));

export interface ScriptResult {
    code: number;
    stdout: string;
    stderr: string;
}

// Variables of the scripts that must come from the test only, never from the caller's shell.
const OWN = /^(S3_|BACKUP_|ALERT_|DB_ACCESS$|REDIS_|RESTORE_CHECK_|MAX_BACKUP_AGE_HOURS$|RCLONE_|STATE_DIRECTORY$|HC_|JOB_LOCK_DIR$|VPS_JOBS_|PRUNE_|DISK_|EDGE_|DOCKER$)/;

/**
 * A PATH directory whose `awk` is mawk, Debian's default awk and so the VPS's (this machine's
 * `awk` may be gawk, which accepts more); undefined when mawk is not installed.
 */
const vpsAwkDir: string | undefined = (() => {
    if (!fs.existsSync("/usr/bin/mawk")) {
        return undefined;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vps-awk-"));
    fs.symlinkSync("/usr/bin/mawk", path.join(dir, "awk"));
    process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
})();

/**
 * Runs a job script the way systemd does, with only the given job environment (plus PATH etc.
 * and the loopback-webhook switch); never throws on a non-zero exit.
 */
export function runScript(script: string, args: string[], env: Record<string, string>, timeoutMs = 300_000): Promise<ScriptResult> {
    const base: Record<string, string | undefined> = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !OWN.test(k))), ...LOOPBACK_WEBHOOK };
    return new Promise((resolve) => {
        execFile(
            script,
            args,
            { env: { ...base, JOB_LOCK_DIR: RUN_LOCK_DIR, ...(vpsAwkDir ? { PATH: `${vpsAwkDir}:${base.PATH}` } : {}), ...env }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" },
            (error, stdout, stderr) => {
                const code = error ? (typeof (error as any).code === "number" ? (error as any).code : -1) : 0;
                resolve({ code, stdout, stderr });
            },
        );
    });
}
