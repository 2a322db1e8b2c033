/**
 * The systemd renderer (components/jobs/systemd.ts) on its own, without Pulumi: snapshots of
 * everything it renders for one job, and the rules it enforces. The integration suite installs
 * the same output into a root and runs systemd-analyze on it (test/integration/systemd-units.test.ts).
 *
 * After a deliberate change to the rendering: UPDATE_SNAPSHOTS=1 npx mocha test/systemd.test.ts,
 * then review the diff of test/fixtures/systemd/. Such a change reinstalls every deployed job
 * (the install command's trigger is a hash of the units and files).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { JOB_RESTART_POLICY } from "../components/defaults";
import * as systemd from "../components/jobs/systemd";

const SNAPSHOTS = path.join(__dirname, "fixtures", "systemd");

/** Compares `text` with the snapshot `<name>.snap`, or writes it when UPDATE_SNAPSHOTS is set. */
function matchesSnapshot(name: string, text: string): void {
    const file = path.join(SNAPSHOTS, `${name}.snap`);
    if (process.env.UPDATE_SNAPSHOTS) {
        fs.mkdirSync(SNAPSHOTS, { recursive: true });
        fs.writeFileSync(file, text);
    }
    assert.equal(text, fs.readFileSync(file, "utf8"), `${name} differs from its snapshot (UPDATE_SNAPSHOTS=1 rewrites it)`);
}

const baseArgs = (): systemd.JobSpec => ({
    unitName: "shop-staging-backup",
    description: "shop staging backup",
    onCalendar: "*-*-* 03:00:00",
    files: { "backup.sh": "#!/usr/bin/env bash\necho backup\n", "notify.sh": "notify() { :; }\n" },
    entrypoint: "backup.sh",
});

describe("systemd renderer", () => {
    describe("renders, byte for byte as the snapshots", () => {
        const spec = (): systemd.JobSpec => ({ ...baseArgs(), envVarNames: ["ALERT_WEBHOOK_URL", "APP"] });

        it("the service and timer units of a job", () => {
            const units = systemd.renderUnits(spec());
            matchesSnapshot("shop-staging-backup.service", units.service);
            matchesSnapshot("shop-staging-backup.timer", units.timer);
        });

        it("the service unit of a job with its own timeout and restart policy", () => {
            const units = systemd.renderUnits({ ...spec(), timeoutSeconds: 300, restart: { delaySeconds: 10, burst: 10, intervalSeconds: 300, preventExitStatuses: [1, 2, 3, 4] } });
            matchesSnapshot("shop-staging-backup-custom.service", units.service);
        });

        it("the env file, sorted and quoted", () => {
            matchesSnapshot("shop-staging-backup.env", systemd.renderEnvFile({ APP: "shop", ALERT_WEBHOOK_URL: 'https://hooks.example/$token`x`"\\' }));
        });

        it("the install script, live and into a root", () => {
            matchesSnapshot("install-live.sh", systemd.renderInstallScript(spec()));
            matchesSnapshot("install-root.sh", systemd.renderInstallScript(spec(), { root: "/tmp/vps-root" }));
        });

        it("the remove script, live and in a root", () => {
            matchesSnapshot("remove-live.sh", systemd.renderRemoveScript("shop-staging-backup"));
            matchesSnapshot("remove-root.sh", systemd.renderRemoveScript("shop-staging-backup", { root: "/tmp/vps-root" }));
        });

        it("the remote command around a script, with and without sudo", () => {
            assert.equal(systemd.remoteShell("echo 'hi'"), `bash -c 'echo '\\''hi'\\'''`);
            assert.equal(systemd.remoteShell("true", true), "sudo -n bash -c 'true'");
        });

        it("the content hash, which leaves the env var names out", () => {
            assert.equal(systemd.contentHash(spec()), systemd.contentHash(baseArgs()));
            matchesSnapshot("content-hash", `${systemd.contentHash(spec())}\n`);
        });
    });

    it("renders a persistent timer with the OnCalendar expression and a oneshot service with the env file", () => {
        const u = systemd.renderUnits({ ...baseArgs(), timeoutSeconds: 120 });
        assert.match(u.timer, /^OnCalendar=\*-\*-\* 03:00:00$/m);
        assert.match(u.timer, /^Persistent=true$/m);
        assert.match(u.timer, /^WantedBy=timers\.target$/m);
        assert.match(u.service, /^Type=oneshot$/m);
        assert.match(u.service, /^ExecStart=\/opt\/vps-jobs\/shop-staging-backup\/backup\.sh$/m);
        assert.match(u.service, /^EnvironmentFile=\/etc\/vps-jobs\/shop-staging-backup\.env$/m);
        assert.match(u.service, /^TimeoutStartSec=120$/m);
        assert.match(systemd.renderUnits(baseArgs()).service, /^TimeoutStartSec=3600$/m);
    });

    it("restarts a failed run with a start limit, by default 5 minutes later and at most 3 starts in 12 hours, except for exits 2, 3 and 4", () => {
        const u = systemd.renderUnits(baseArgs());
        assert.match(u.service, /^\[Unit\][^[]*^StartLimitIntervalSec=43200$/m);
        assert.match(u.service, /^\[Unit\][^[]*^StartLimitBurst=3$/m);
        assert.match(u.service, /^\[Service\][^[]*^Restart=on-failure$/m);
        assert.match(u.service, /^RestartSec=300$/m);
        assert.match(u.service, /^RestartPreventExitStatus=2 3 4$/m);
        const custom = systemd.renderUnits({ ...baseArgs(), restart: { delaySeconds: 10, burst: 10, intervalSeconds: 300, preventExitStatuses: [1] } });
        assert.match(custom.service, /^StartLimitBurst=10$/m);
        assert.match(custom.service, /^RestartPreventExitStatus=1$/m);
    });

    it("changes its triggers when the restart policy changes", async () => {
        const a = systemd.contentHash(baseArgs());
        const b = systemd.contentHash({ ...baseArgs(), restart: { ...JOB_RESTART_POLICY, burst: 5 } });
        assert.notEqual(a, b);
    });

    it("rejects a restart policy systemd cannot take", () => {
        assert.throws(() => systemd.renderUnits({ ...baseArgs(), restart: { ...JOB_RESTART_POLICY, burst: 0 } }), /restart\.burst must be a positive whole number/);
        assert.throws(() => systemd.renderUnits({ ...baseArgs(), restart: { ...JOB_RESTART_POLICY, preventExitStatuses: [256] } }), /restart\.preventExitStatuses/);
    });

    it("escapes % in the description so systemd does not expand it", () => {
        const u = systemd.renderUnits({ ...baseArgs(), description: "100% backup" });
        assert.match(u.service, /^Description=100%% backup$/m);
    });

    it("rejects an invalid unit name, a missing entrypoint, a path as file name and a bad timeout", () => {
        assert.throws(() => systemd.renderUnits({ ...baseArgs(), unitName: "Shop_Backup" }), /unitName "Shop_Backup"/);
        assert.throws(() => systemd.renderUnits({ ...baseArgs(), entrypoint: "run.sh" }), /entrypoint "run\.sh" is not a key of files/);
        assert.throws(() => systemd.renderUnits({ ...baseArgs(), files: { "../x.sh": "" }, entrypoint: "../x.sh" }), /file name "\.\.\/x\.sh"/);
        assert.throws(() => systemd.renderUnits({ ...baseArgs(), timeoutSeconds: 0 }), /timeoutSeconds/);
        assert.throws(() => systemd.renderUnits({ ...baseArgs(), onCalendar: "daily\nExecStart=/bin/sh" }), /onCalendar/);
    });

    it("quotes env values so that $, quotes and backslashes stay literal, and rejects newlines", () => {
        assert.equal(systemd.renderEnvFile({ B: 'a"b$c`d\\e', A: "x" }), 'A="x"\nB="a\\"b\\$c\\`d\\\\e"\n');
        assert.throws(() => systemd.renderEnvFile({ A: "x\ny" }), /one line/);
    });
});
