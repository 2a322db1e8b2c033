import { strict as assert } from "assert";
import { execFile, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { HEALTH_CHECK, HEALTH_CHECK_TIMEOUT_SECONDS } from "../../components/defaults";
import { healthCheckFiles } from "../../components/jobs/health-check-job";
import { JobSpec, renderInstallInput, renderInstallScript, renderRemoveScript, renderUnits } from "../../components/jobs/systemd";
import { jobUnitName } from "../../components/naming";

const exec = promisify(execFile);

/** Runs a bash script with `stdin` on standard input; resolves with exit code and output. */
function bash(script: string, stdin = ""): Promise<{ code: number; out: string }> {
    return new Promise((resolve, reject) => {
        const p = spawn("bash", ["-c", script], { stdio: ["pipe", "pipe", "pipe"] });
        let out = "";
        p.stdout.on("data", (d) => (out += d));
        p.stderr.on("data", (d) => (out += d));
        p.on("error", reject);
        // a script that never reads stdin may exit before it is written: that is not an error
        p.stdin.on("error", () => undefined);
        p.on("close", (code) => resolve({ code: code ?? -1, out }));
        p.stdin.end(stdin);
    });
}

/** systemd-analyze verify inside `root`; resolves with exit code and everything it printed. */
async function verify(root: string, units: string[]): Promise<{ code: number; out: string }> {
    try {
        const { stdout, stderr } = await exec("systemd-analyze", ["verify", `--root=${root}`, ...units]);
        return { code: 0, out: stdout + stderr };
    } catch (e: any) {
        return { code: typeof e.code === "number" ? e.code : -1, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
    }
}

/** Exists, without following symlinks (the enablement links point at paths outside the test root). */
function present(p: string): boolean {
    try {
        fs.lstatSync(p);
        return true;
    } catch {
        return false;
    }
}

function mode(p: string): string {
    return (fs.statSync(p).mode & 0o777).toString(8).padStart(4, "0");
}

const healthCheckSpec = (): JobSpec => ({
    unitName: jobUnitName({ app: "shop", environment: "staging" }, "health-check"),
    description: "Health check with auto-heal for shop staging",
    onCalendar: HEALTH_CHECK.schedule,
    files: healthCheckFiles(),
    entrypoint: "health-check.sh",
    timeoutSeconds: HEALTH_CHECK_TIMEOUT_SECONDS,
});

const backupLikeSpec = (): JobSpec => ({
    unitName: "shop-staging-backup",
    description: "Backup of shop staging (100% of the database)",
    onCalendar: "*-*-* 03:00:00 UTC",
    files: { "run.sh": "#!/usr/bin/env bash\necho backup\n", "README": "not executable\n" },
    entrypoint: "run.sh",
});

describe("ScheduledJob units and scripts on a real systemd toolchain", function () {
    let root: string;

    before(async function () {
        await exec("systemd-analyze", ["--version"]).catch(() => {
            throw new Error("systemd-analyze is missing: install Debian's systemd (.ci/setup.d/30-docker-engine.sh)");
        });
    });

    beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "vps-root-"));
        // verify resolves the units' dependencies (timers.target, sysinit.target, ...) inside the
        // root, so the root gets the machine's own system units, as a VPS has them.
        fs.mkdirSync(path.join(root, "usr/lib/systemd"), { recursive: true });
        fs.cpSync("/lib/systemd/system", path.join(root, "usr/lib/systemd/system"), { recursive: true, verbatimSymlinks: true });
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    async function install(spec: JobSpec, env: Record<string, string>) {
        const r = await bash(renderInstallScript(spec, { root }), renderInstallInput(spec, env));
        assert.equal(r.code, 0, r.out);
    }

    it("refuses a stdin that ends early or carries other bytes than the command names, and leaves the installed job as it was", async () => {
        const spec = backupLikeSpec();
        await install(spec, { A: "1" });
        const dir = path.join(root, "opt/vps-jobs", spec.unitName);
        const envFile = path.join(root, "etc/vps-jobs", `${spec.unitName}.env`);
        const snapshot = () => ({ env: fs.readFileSync(envFile, "utf8"), ...Object.fromEntries(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")])) });
        const before = snapshot();
        const lines = renderInstallInput(spec, { A: "2" }).split("\n");
        const short = await bash(renderInstallScript(spec, { root }), lines.slice(0, 2).join("\n") + "\n");
        assert.notEqual(short.code, 0, short.out);
        assert.match(short.out, /install: standard input ended before \S+/);
        const tampered = [lines[0], Buffer.from("echo tampered\n").toString("base64"), ...lines.slice(2)].join("\n");
        const bad = await bash(renderInstallScript(spec, { root }), tampered);
        assert.notEqual(bad.code, 0, bad.out);
        assert.match(bad.out, /FAILED/);
        assert.deepEqual(snapshot(), before);
        assert.match(before.env, /^A="1"$/m);
    });

    for (const [label, spec] of [["health check", healthCheckSpec], ["backup-like job", backupLikeSpec]] as const) {
        it(`the ${label}'s installed units pass systemd-analyze verify with no warning`, async () => {
            await install(spec(), { A: "1" });
            const u = spec().unitName;
            const r = await verify(root, [`${u}.service`, `${u}.timer`]);
            assert.equal(r.code, 0, r.out);
            assert.equal(r.out.trim(), "", "verify printed nothing");
        });
    }

    it("verify catches a unit whose ExecStart is missing or whose calendar is invalid (the check can fail)", async () => {
        const spec = backupLikeSpec();
        await install(spec, {});
        fs.rmSync(path.join(root, "opt/vps-jobs/shop-staging-backup/run.sh"));
        const missing = await verify(root, ["shop-staging-backup.service"]);
        assert.notEqual(missing.code, 0);
        assert.match(missing.out, /run\.sh is not executable/);
        await install({ ...spec, onCalendar: "*-*-* 25:00:00" }, {});
        const bad = await verify(root, ["shop-staging-backup.timer"]);
        assert.notEqual(bad.code, 0);
        assert.match(bad.out, /Failed to parse calendar specification/);
    });

    it("the default health-check calendar fires every minute", async () => {
        const { stdout } = await exec("systemd-analyze", ["calendar", "--iterations=3", HEALTH_CHECK.schedule]);
        const next = [...stdout.matchAll(/(?:Next elapse|Iter\. #\d+):.*?(\d\d):(\d\d):(\d\d)/g)].map((m) => Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]));
        assert.equal(next.length, 3, stdout);
        assert.equal((next[1] - next[0] + 86400) % 86400, 60);
        assert.equal((next[2] - next[1] + 86400) % 86400, 60);
    });

    it("installs the env file 0600 in a 0700 directory, scripts 0755, other files 0644, and enables the timer", async () => {
        const secret = 'https://hooks.example/T0K"EN$x`y\\z';
        await install(backupLikeSpec(), { ALERT_WEBHOOK_URL: secret, APP: "shop" });
        const envFile = path.join(root, "etc/vps-jobs/shop-staging-backup.env");
        assert.equal(mode(envFile), "0600");
        assert.equal(mode(path.dirname(envFile)), "0700");
        assert.equal(fs.statSync(envFile).uid, 0);
        assert.equal(mode(path.join(root, "opt/vps-jobs/shop-staging-backup/run.sh")), "0755");
        assert.equal(mode(path.join(root, "opt/vps-jobs/shop-staging-backup/README")), "0644");
        assert.equal(
            fs.readlinkSync(path.join(root, "etc/systemd/system/timers.target.wants/shop-staging-backup.timer")),
            "/etc/systemd/system/shop-staging-backup.timer",
        );
        // bash reads the same value back that was put in (systemd's EnvironmentFile= quoting is the same).
        const back = await bash(`set -a; . '${envFile}'; printf %s "$ALERT_WEBHOOK_URL"`);
        assert.equal(back.out, secret);
    });

    it("the installed units are exactly the rendered ones", async () => {
        const spec = healthCheckSpec();
        await install(spec, {});
        const units = renderUnits(spec);
        assert.equal(fs.readFileSync(path.join(root, `etc/systemd/system/${spec.unitName}.service`), "utf8"), units.service);
        assert.equal(fs.readFileSync(path.join(root, `etc/systemd/system/${spec.unitName}.timer`), "utf8"), units.timer);
        for (const [name, content] of Object.entries(spec.files)) {
            assert.equal(fs.readFileSync(path.join(root, `opt/vps-jobs/${spec.unitName}/${name}`), "utf8"), content);
        }
    });

    it("a reinstall replaces the files, drops a file no longer in the job and rewrites the env file", async () => {
        await install(backupLikeSpec(), { V: "1" });
        await install({ ...backupLikeSpec(), files: { "run.sh": "#!/usr/bin/env bash\necho v2\n" } }, { V: "2" });
        assert.deepEqual(fs.readdirSync(path.join(root, "opt/vps-jobs/shop-staging-backup")), ["run.sh"]);
        assert.match(fs.readFileSync(path.join(root, "opt/vps-jobs/shop-staging-backup/run.sh"), "utf8"), /v2/);
        assert.equal(fs.readFileSync(path.join(root, "etc/vps-jobs/shop-staging-backup.env"), "utf8"), 'V="2"\n');
        assert.deepEqual(fs.readdirSync(path.join(root, "opt/vps-jobs")), ["shop-staging-backup"], "no staging leftovers");
    });

    it("the delete script disables the timer and removes only this job's files", async () => {
        await install(healthCheckSpec(), { A: "1" });
        await install(backupLikeSpec(), { B: "2" });
        const hc = healthCheckSpec().unitName;
        fs.mkdirSync(path.join(root, `var/lib/vps-jobs/${hc}`), { recursive: true });
        fs.writeFileSync(path.join(root, `var/lib/vps-jobs/${hc}/restarts-x`), "1\n");
        const r = await bash(renderRemoveScript(hc, { root }));
        assert.equal(r.code, 0, r.out);
        for (const gone of [
            `etc/systemd/system/${hc}.service`,
            `etc/systemd/system/${hc}.timer`,
            `etc/systemd/system/timers.target.wants/${hc}.timer`,
            `etc/vps-jobs/${hc}.env`,
            `opt/vps-jobs/${hc}`,
            `var/lib/vps-jobs/${hc}`,
        ]) {
            assert.equal(present(path.join(root, gone)), false, `${gone} is removed`);
        }
        for (const kept of [
            "etc/systemd/system/shop-staging-backup.service",
            "etc/systemd/system/timers.target.wants/shop-staging-backup.timer",
            "etc/vps-jobs/shop-staging-backup.env",
            "opt/vps-jobs/shop-staging-backup/run.sh",
        ]) {
            assert.equal(present(path.join(root, kept)), true, `${kept} of the other job is kept`);
        }
        const again = await bash(renderRemoveScript(hc, { root }));
        assert.equal(again.code, 0, `a second delete (job already gone) succeeds: ${again.out}`);
    });

    it("the rendered install and delete scripts (live and root variants) and health-check.sh pass shellcheck", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vps-sc-"));
        try {
            const files: string[] = [];
            const add = (name: string, body: string) => {
                const p = path.join(dir, name);
                fs.writeFileSync(p, `#!/usr/bin/env bash\n${body}`);
                files.push(p);
            };
            add("install-live.sh", renderInstallScript(healthCheckSpec()));
            add("install-root.sh", renderInstallScript(healthCheckSpec(), { root: "/tmp/x" }));
            add("remove-live.sh", renderRemoveScript("shop-staging-health-check"));
            add("remove-root.sh", renderRemoveScript("shop-staging-health-check", { root: "/tmp/x" }));
            files.push(path.join(__dirname, "..", "..", "components", "scripts", "health-check.sh"));
            await exec("shellcheck", ["-x", ...files]).catch((e) => assert.fail(`${e.stdout}${e.stderr}`));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
