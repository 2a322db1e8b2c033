import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { capture, unwrap, useMocks } from "./helpers/pulumi";
import { installedEnv, installedFiles } from "./helpers/jobs";

const scriptsDir = path.join(__dirname, "..", "components", "scripts");

/** The systemd unit files a ScheduledJob's install script writes: file name -> decoded content. */
function installedUnits(create: string): Record<string, string> {
    const units: Record<string, string> = {};
    for (const m of create.matchAll(/^printf %s (\S+) \| base64 -d >"\$unit_dir"\/(\S+)\.tmp$/gm)) {
        units[m[2]] = Buffer.from(m[1], "base64").toString("utf8");
    }
    return units;
}

/**
 * The two checks of an environment's backups, both running restore-check.sh: the weekly
 * RestoreCheck and the daily BackupFreshnessCheck, built side by side from the same arguments
 * (as compose/jobs.ts builds them).
 */
describe("RestoreCheck and BackupFreshnessCheck", () => {
    let mod: typeof import("../components/jobs/restore-check");
    let fresh: typeof import("../components/jobs/backup-freshness-check");

    before(async () => {
        await useMocks();
        mod = await import("../components/jobs/restore-check");
        fresh = await import("../components/jobs/backup-freshness-check");
    });

    const baseArgs = (): import("../components/jobs/restore-check").BackupCheckArgs => ({
        connection: { host: "203.0.113.10", user: "root", privateKey: pulumi.secret("KEY") },
        app: "shop",
        environment: "production",
        postgres: [{ container: "shop-production-postgres", database: "shop", user: "shop" }],
        redis: [{ container: "shop-production-redis" }],
        target: {
            bucket: "shop-backups",
            prefix: "shop/production/",
            region: "auto",
            endpoint: "https://accountid.r2.cloudflarestorage.com",
            accessKeyId: "key-id",
            secretAccessKey: pulumi.secret("very-secret-key"),
        },
        alerts: { webhookUrl: pulumi.secret("https://hooks.slack.example/services/T/B/secret-token"), format: "slack" },
    });

    /** A RestoreCheck `<name>` and a BackupFreshnessCheck `<name>-freshness` (its job: `<name>-freshness-job`). */
    async function build(name: string, args = baseArgs(), freshnessOnCalendar?: string) {
        const { resources: captured, opts } = capture();
        const component = new mod.RestoreCheck(name, args, opts);
        const freshnessCheck = new fresh.BackupFreshnessCheck(`${name}-freshness`, { ...args, onCalendar: freshnessOnCalendar }, opts);
        // Each ScheduledJob `<name>-<job>` installs through one remote command `<name>-<job>-install`.
        const installOf = async (job: string) => {
            const cmd = captured.find((c) => c.type === "command:remote:Command" && c.name === `${name}-${job}-install`);
            assert.ok(cmd, `${job} installs through a remote command: ${captured.map((c) => c.name).join(", ")}`);
            const stdin = pulumi.output((cmd.props as any).stdin);
            return {
                cmd,
                create: await unwrap<string>((cmd.props as any).create),
                remove: await unwrap<string>((cmd.props as any).delete),
                stdin,
                stdinText: await unwrap<string>(stdin),
                env: installedEnv(await unwrap<string>(stdin)),
            };
        };
        // Without a PostgreSQL database there is no restore job: `restore` is undefined then.
        const restore = captured.some((c) => c.name === `${name}-job-install`) ? await installOf("job") : undefined;
        const freshness = await installOf("freshness-job");
        return { component, freshnessCheck, captured, restore, freshness };
    }

    it("registers as vps:index:RestoreCheck and vps:index:BackupFreshnessCheck naming the databases and Redis instances they check", async () => {
        const { captured } = await build("r-props");
        const props = { environment: "production", databases: ["shop"], redis: ["shop-production-redis"] };
        const self = captured.find((c) => c.name === "r-props");
        assert.equal(self?.type, "vps:index:RestoreCheck");
        assert.deepEqual(self?.props, props);
        const freshnessSelf = captured.find((c) => c.name === "r-props-freshness");
        assert.equal(freshnessSelf?.type, "vps:index:BackupFreshnessCheck");
        assert.deepEqual(freshnessSelf?.props, props);
    });

    it("installs the weekly <app>-<env>-restore-check and the daily <app>-<env>-backup-freshness ScheduledJobs, each as its component's child", async () => {
        const { component, freshnessCheck, captured } = await build("r-job");
        const jobs = captured.filter((c) => c.type === "vps:index:ScheduledJob");
        assert.deepEqual(
            jobs.map((j) => [j.name, j.props.unitName, j.props.onCalendar]),
            [
                ["r-job-job", "shop-production-restore-check", "Sun *-*-* 05:00:00 UTC"],
                ["r-job-freshness-job", "shop-production-backup-freshness", "*-*-* 06:00:00 UTC"],
            ],
        );
        assert.equal(jobs[0].opts.parent, component);
        assert.equal(jobs[1].opts.parent, freshnessCheck);
        assert.equal(component.timerName, "shop-production-restore-check.timer");
        assert.equal(freshnessCheck.timerName, "shop-production-backup-freshness.timer");
    });

    it("gives the freshness job the former URNs it is given, so a stack that had it under the RestoreCheck keeps it", async () => {
        const { resources: captured, opts } = capture();
        const restoreCheck = new mod.RestoreCheck("r-alias", baseArgs(), opts);
        new fresh.BackupFreshnessCheck("r-alias-fresh", { ...baseArgs(), jobAliases: [{ name: "r-alias-freshness-job", parent: restoreCheck }] }, opts);
        const job = captured.find((c) => c.name === "r-alias-fresh-job")!;
        assert.deepEqual(job.opts.aliases, [{ name: "r-alias-freshness-job", parent: restoreCheck }]);
        const urns = await Promise.all(pulumi.allAliases(job.opts.aliases!, job.name, job.type, job.opts.parent!, "r-alias-fresh").map((a) => unwrap(a)));
        assert.deepEqual(urns, ["urn:pulumi:test::vps-stacks::vps:index:RestoreCheck$vps:index:ScheduledJob::r-alias-freshness-job"]);
    });

    it("uses the schedules it is given, each on its own job", async () => {
        const { captured } = await build("r-cal", { ...baseArgs(), onCalendar: "Sat *-*-* 04:00:00 UTC" }, "*-*-* 07:30:00 UTC");
        const calendar = (suffix: string) => captured.find((c) => c.type === "vps:index:ScheduledJob" && c.name === `r-cal-${suffix}`)?.props.onCalendar;
        assert.equal(calendar("job"), "Sat *-*-* 04:00:00 UTC");
        assert.equal(calendar("freshness-job"), "*-*-* 07:30:00 UTC");
    });

    it("installs restore-check.sh as the entrypoint of both jobs with restore.sh, s3.sh, db.sh, job.sh and notify.sh, byte for byte", async () => {
        const { restore, freshness } = await build("r-files");
        for (const job of [restore!, freshness]) {
            const files = installedFiles(job.create, job.stdinText);
            assert.deepEqual(Object.keys(files).sort(), ["db.sh", "job.sh", "notify.sh", "restore-check.sh", "restore.sh", "s3.sh"]);
            for (const [name, content] of Object.entries(files)) {
                assert.equal(content, fs.readFileSync(path.join(scriptsDir, name), "utf8"), name);
            }
        }
        assert.equal(mod.restoreCheckSpec(baseArgs()).entrypoint, "restore-check.sh");
        assert.equal(fresh.freshnessCheckSpec(baseArgs()).entrypoint, "restore-check.sh");
    });

    /** What the env files of both checks hold: alerts, sources, the default 26-hour freshness limit, the target. */
    const checkEnv = {
        ALERT_PREFIX: "[shop/production]",
        ALERT_REMINDER_MINUTES: "240",
        ALERT_WEBHOOK_FORMAT: "slack",
        ALERT_WEBHOOK_URL: "https://hooks.slack.example/services/T/B/secret-token",
        BACKUP_POSTGRES: "shop-production-postgres:shop:shop",
        BACKUP_REDIS: "shop-production-redis",
        MAX_BACKUP_AGE_HOURS: "26",
        S3_ACCESS_KEY_ID: "key-id",
        S3_BUCKET: "shop-backups",
        S3_ENDPOINT: "https://accountid.r2.cloudflarestorage.com",
        S3_PREFIX: "shop/production/",
        S3_REGION: "auto",
        S3_SECRET_ACCESS_KEY: "very-secret-key",
    };

    it("writes the restore job's env file: restore mode (the script's default), PostgreSQL and Redis, the default 26-hour freshness limit", async () => {
        const { restore } = await build("r-env");
        assert.deepEqual(restore!.env, { ...checkEnv, DB_ACCESS: "docker" });
    });

    it("writes the freshness job's env file: RESTORE_CHECK_MODE=freshness with the PostgreSQL and Redis sources", async () => {
        const { freshness } = await build("r-fenv");
        assert.deepEqual(freshness.env, { ...checkEnv, RESTORE_CHECK_MODE: "freshness" });
    });

    it("passes a configured freshness limit to both jobs", async () => {
        const { restore, freshness } = await build("r-age", { ...baseArgs(), maxBackupAgeHours: 50 });
        assert.equal(restore!.env.MAX_BACKUP_AGE_HOURS, "50");
        assert.equal(freshness.env.MAX_BACKUP_AGE_HOURS, "50");
    });

    it("gives the freshness job a 10-minute start timeout (it only lists the bucket) and the restore job the default hour", async () => {
        const { restore, freshness } = await build("r-timeout");
        assert.match(installedUnits(freshness.create)["shop-production-backup-freshness.service"], /^TimeoutStartSec=600$/m);
        assert.match(installedUnits(restore!.create)["shop-production-restore-check.service"], /^TimeoutStartSec=3600$/m);
    });

    it("the freshness job's delete script stops and removes its own timer, units and env file, and nothing of the restore job", async () => {
        const { freshness } = await build("r-delete");
        const remove = freshness.remove;
        assert.match(remove, /systemctl disable --now shop-production-backup-freshness\.timer/);
        assert.match(remove, /rm -f "\$root"\/etc\/systemd\/system\/shop-production-backup-freshness\.timer "\$root"\/etc\/systemd\/system\/shop-production-backup-freshness\.service "\$root"\/etc\/vps-jobs\/shop-production-backup-freshness\.env/);
        assert.match(remove, /rm -rf "\$root"\/opt\/vps-jobs\/shop-production-backup-freshness "\$root"\/var\/lib\/vps-jobs\/shop-production-backup-freshness/);
        assert.doesNotMatch(remove, /restore-check/);
    });

    it("keeps the credential and webhook out of both command texts and passes both env files as secrets", async () => {
        const { restore, freshness } = await build("r-secret");
        for (const job of [restore!, freshness]) {
            assert.doesNotMatch(job.create, /very-secret-key|secret-token/);
            assert.equal(await pulumi.isSecret(job.stdin), true);
        }
    });

    it("installs both jobs with sudo -n when sudo is set", async () => {
        const { restore, freshness } = await build("r-sudo", { ...baseArgs(), sudo: true });
        assert.match(restore!.create, /^sudo -n bash -c /);
        assert.match(freshness.create, /^sudo -n bash -c /);
        assert.match(freshness.remove, /^sudo -n bash -c /);
    });

    it("without a PostgreSQL database still installs the weekly job, which load-tests the Redis snapshots", async () => {
        const { component, freshnessCheck, captured, restore, freshness } = await build("r-redis", { ...baseArgs(), postgres: [] });
        assert.deepEqual(
            captured.filter((c) => c.type === "vps:index:ScheduledJob").map((c) => c.props.unitName),
            ["shop-production-restore-check", "shop-production-backup-freshness"],
        );
        assert.equal(restore!.env.BACKUP_POSTGRES, "");
        assert.equal(restore!.env.BACKUP_REDIS, "shop-production-redis");
        assert.equal(freshness.env.BACKUP_REDIS, "shop-production-redis");
        assert.equal(component.timerName, "shop-production-restore-check.timer");
        assert.equal(freshnessCheck.timerName, "shop-production-backup-freshness.timer");
    });

    it("without Redis sources the freshness job checks the PostgreSQL backups only", async () => {
        const a = baseArgs();
        const { freshness } = await build("r-pg-only", { ...a, redis: undefined });
        assert.equal(freshness.env.BACKUP_REDIS, "");
        assert.equal(freshness.env.BACKUP_POSTGRES, "shop-production-postgres:shop:shop");
    });

    it("rejects at construction a check that cannot run, naming the argument", () => {
        const a = baseArgs();
        const cases: [Partial<typeof a>, RegExp][] = [
            [{ postgres: [], redis: [] }, /postgres, redis and volumes are all empty; there is no backup to check/],
            [{ postgres: [], redis: undefined }, /postgres, redis and volumes are all empty/],
            [{ maxBackupAgeHours: 0 }, /maxBackupAgeHours must be a whole number of hours, at least 1, got 0/],
            [{ maxBackupAgeHours: 1.5 }, /maxBackupAgeHours/],
            [{ postgres: [{ ...a.postgres[0], container: "-x" }] }, /postgres\[0\]\.container "-x"/],
            [{ redis: [{ container: "bad name" }] }, /redis\[0\]\.container "bad name" is not a Docker container name/],
            [{ target: { ...a.target, prefix: "shop" } }, /target\.prefix "shop"/],
            [{ environment: "prod_1" }, /environment "prod_1"/],
        ];
        for (const [override, message] of cases) {
            assert.throws(() => new mod.RestoreCheck("r-invalid", { ...a, ...override }), message);
            assert.throws(() => new fresh.BackupFreshnessCheck("r-invalid-freshness", { ...a, ...override }), message);
        }
    });
});
