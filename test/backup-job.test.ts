import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { capture, unwrap, useMocks } from "./helpers/pulumi";
import { installedEnv, installedFiles } from "./helpers/jobs";

const scriptsDir = path.join(__dirname, "..", "components", "scripts");

describe("BackupJob", () => {
    let mod: typeof import("../components/jobs/backup-job");
    let systemd: typeof import("../components/jobs/systemd");

    before(async () => {
        await useMocks();
        mod = await import("../components/jobs/backup-job");
        systemd = await import("../components/jobs/systemd");
    });

    const connection = { host: "203.0.113.10", user: "root", privateKey: pulumi.secret("KEY") };
    const baseArgs = (): import("../components/jobs/backup-job").BackupJobArgs => ({
        connection,
        app: "shop",
        environment: "staging",
        postgres: [{ container: "shop-staging-postgres", database: "shop", user: "shop", volume: "shop-staging-postgres-data" }],
        redis: [{ container: "shop-staging-redis", volume: "shop-staging-redis-data" }],
        target: {
            bucket: "shop-backups",
            prefix: "shop/staging/",
            region: "eu-central-1",
            accessKeyId: "AKIAEXAMPLE",
            secretAccessKey: pulumi.secret("very-secret-key"),
        },
        alerts: { webhookUrl: pulumi.secret("https://discord.example/api/webhooks/1/secret-token"), format: "discord" },
    });

    async function build(name: string, args = baseArgs()) {
        const { resources: captured, opts } = capture();
        const component = new mod.BackupJob(name, args, opts);
        const cmd = captured.find((c) => c.type === "command:remote:Command");
        assert.ok(cmd, "the job installs through a remote command");
        const create: string = await unwrap((cmd.props as any).create);
        const stdin = pulumi.output((cmd.props as any).stdin);
        const stdinText = await unwrap<string>(stdin);
        const env = installedEnv(stdinText);
        return { component, captured, cmd, create, stdin, stdinText, env };
    }

    it("registers as vps:index:BackupJob with props { environment, volumes } naming every covered volume", async () => {
        const { captured } = await build("b-props");
        const self = captured.find((c) => c.name === "b-props");
        assert.equal(self?.type, "vps:index:BackupJob");
        assert.deepEqual(self?.props, {
            environment: "staging",
            volumes: ["shop-staging-postgres-data", "shop-staging-redis-data"],
        });
    });

    it("covers each database volume of an environment with several databases and Redis instances", async () => {
        const args = {
            ...baseArgs(),
            postgres: [
                { container: "shop-staging-postgres", database: "shop", user: "shop", volume: "shop-staging-postgres-data" },
                { container: "shop-staging-postgres2", database: "analytics", user: "etl", volume: "shop-staging-postgres2-data" },
            ],
            redis: [
                { container: "shop-staging-redis", volume: "shop-staging-redis-data" },
                { container: "shop-staging-cache", volume: "shop-staging-cache-data" },
            ],
        };
        const { component, env } = await build("b-many", args);
        assert.deepEqual(component.volumes, [
            "shop-staging-postgres-data",
            "shop-staging-postgres2-data",
            "shop-staging-redis-data",
            "shop-staging-cache-data",
        ]);
        assert.equal(env.BACKUP_POSTGRES, "shop-staging-postgres:shop:shop shop-staging-postgres2:analytics:etl");
        assert.equal(env.BACKUP_REDIS, "shop-staging-redis shop-staging-cache");
    });

    it("installs one ScheduledJob <app>-<env>-backup as its child, daily at 03:00 UTC by default", async () => {
        const { component, captured } = await build("b-job");
        const jobs = captured.filter((c) => c.type === "vps:index:ScheduledJob");
        assert.equal(jobs.length, 1);
        assert.equal(jobs[0].name, "b-job-job");
        assert.equal(jobs[0].opts.parent, component);
        assert.deepEqual(jobs[0].props, {
            unitName: "shop-staging-backup",
            onCalendar: "*-*-* 03:00:00 UTC",
            timerName: "shop-staging-backup.timer",
        });
        assert.equal(component.unitName, "shop-staging-backup");
        assert.equal(component.timerName, "shop-staging-backup.timer");
    });

    it("uses the schedule it is given", async () => {
        const { captured } = await build("b-cal", { ...baseArgs(), onCalendar: "*-*-* 01:30:00 UTC" });
        const job = captured.find((c) => c.type === "vps:index:ScheduledJob");
        assert.equal(job?.props.onCalendar, "*-*-* 01:30:00 UTC");
    });

    it("installs backup.sh as the entrypoint with restore.sh, s3.sh, db.sh, job.sh, notify.sh and metrics.sh, byte for byte", async () => {
        const { create, stdinText } = await build("b-files");
        const files = installedFiles(create, stdinText);
        assert.deepEqual(Object.keys(files).sort(), ["backup.sh", "db.sh", "job.sh", "metrics.sh", "notify.sh", "restore.sh", "s3.sh"]);
        for (const [name, content] of Object.entries(files)) {
            assert.equal(content, fs.readFileSync(path.join(scriptsDir, name), "utf8"), name);
        }
        assert.equal(mod.backupJobSpec(baseArgs()).entrypoint, "backup.sh");
    });

    it("writes the env file the scripts read: docker access, databases, target and alerts", async () => {
        const { env } = await build("b-env");
        assert.deepEqual(env, {
            ALERT_PREFIX: "[shop/staging]",
            ALERT_REMINDER_MINUTES: "240",
            ALERT_WEBHOOK_FORMAT: "discord",
            ALERT_WEBHOOK_URL: "https://discord.example/api/webhooks/1/secret-token",
            BACKUP_POSTGRES: "shop-staging-postgres:shop:shop",
            BACKUP_REDIS: "shop-staging-redis",
            DB_ACCESS: "docker",
            S3_ACCESS_KEY_ID: "AKIAEXAMPLE",
            S3_BUCKET: "shop-backups",
            S3_PREFIX: "shop/staging/",
            S3_REGION: "eu-central-1",
            S3_SECRET_ACCESS_KEY: "very-secret-key",
        });
    });

    it("sets S3_ENDPOINT only for an S3-compatible store", async () => {
        const args = baseArgs();
        const { env } = await build("b-endpoint", {
            ...args,
            target: { ...args.target, endpoint: "https://s3.eu-central-003.backblazeb2.com", region: "eu-central-003" },
        });
        assert.equal(env.S3_ENDPOINT, "https://s3.eu-central-003.backblazeb2.com");
        assert.equal(env.S3_REGION, "eu-central-003");
    });

    it("keeps the credential and webhook out of the command text and passes the env file as a secret", async () => {
        const { create, stdin } = await build("b-secret");
        assert.doesNotMatch(create, /very-secret-key|secret-token/);
        assert.equal(await pulumi.isSecret(stdin), true);
    });

    it("installs as root directly, and with sudo -n when sudo is set", async () => {
        const { create: asRoot } = await build("b-root");
        assert.match(asRoot, /^bash -c /);
        const { cmd, create } = await build("b-sudo", { ...baseArgs(), sudo: true });
        assert.match(create, /^sudo -n bash -c /);
        assert.match(await unwrap<string>((cmd.props as any).delete), /^sudo -n bash -c /);
    });

    it("makes the install wait for dependsOn", async () => {
        const dep = new pulumi.ComponentResource("test:index:Thing", "b-dep-thing");
        const { cmd } = await build("b-dep", { ...baseArgs(), dependsOn: [dep] });
        assert.deepEqual(cmd.opts.dependsOn, [dep]);
    });

    it("rejects at construction what the scripts cannot back up, naming the argument", () => {
        const a = baseArgs();
        const cases: [Partial<typeof a>, RegExp][] = [
            [{ postgres: [], redis: [] }, /postgres, redis and volumes are all empty/],
            [{ postgres: [a.postgres[0], { ...a.postgres[0], volume: "other" }] }, /database "shop" is listed twice/],
            [{ redis: [a.redis[0], { ...a.redis[0], volume: "x" }] }, /redis container "shop-staging-redis" is listed twice/],
            [{ redis: [{ ...a.redis[0], volume: "shop-staging-postgres-data" }] }, /volume "shop-staging-postgres-data" is covered twice/],
            [{ postgres: [{ ...a.postgres[0], database: "shop db" }] }, /postgres\[0\]\.database "shop db"/],
            [{ postgres: [{ ...a.postgres[0], user: "a:b" }] }, /postgres\[0\]\.user "a:b"/],
            [{ postgres: [{ ...a.postgres[0], volume: "" }] }, /must name its volume/],
            [{ target: { ...a.target, prefix: "shop/staging" } }, /target\.prefix "shop\/staging"/],
            [{ target: { ...a.target, prefix: "/shop/" } }, /target\.prefix "\/shop\/"/],
            [{ target: { ...a.target, prefix: "shop/../other/" } }, /target\.prefix "shop\/\.\.\/other\/"/],
            [{ target: { ...a.target, prefix: "shop/./staging/" } }, /target\.prefix "shop\/\.\/staging\/"/],
            [{ target: { ...a.target, bucket: "shop-backups/other" } }, /target\.bucket "shop-backups\/other" is not an S3 bucket name/],
            [{ target: { ...a.target, bucket: "Shop_Backups" } }, /target\.bucket "Shop_Backups"/],
            [{ alerts: { ...a.alerts, reminderMinutes: 0 } }, /alerts\.reminderMinutes must be a whole number of minutes from 1 to 10080/],
            [{ target: { ...a.target, endpoint: "s3.example.com" } }, /target\.endpoint "s3\.example\.com"/],
            [{ target: { ...a.target, region: " " } }, /target\.region/],
            [{ alerts: { ...a.alerts, format: "teams" as any } }, /alerts\.format must be "discord" or "slack"/],
            [{ app: "Shop" }, /app "Shop"/],
        ];
        for (const [override, message] of cases) {
            assert.throws(() => new mod.BackupJob("b-invalid", { ...a, ...override }), message);
        }
    });

    it("passes a reminder interval for lasting problems to the scripts", async () => {
        const a = baseArgs();
        const { env } = await build("b-remind", { ...a, alerts: { ...a.alerts, reminderMinutes: 60 } });
        assert.equal(env.ALERT_REMINDER_MINUTES, "60");
    });

    it("installs a unit that retries a failed backup after 5 minutes, at most 3 starts in 12 hours, but not a bad configuration, a held lock or an undelivered report", () => {
        const units = systemd.renderUnits(mod.backupJobSpec(baseArgs()));
        assert.match(units.service, /^Restart=on-failure$/m);
        assert.match(units.service, /^RestartSec=300$/m);
        assert.match(units.service, /^RestartPreventExitStatus=2 3 4$/m);
        assert.match(units.service, /^StartLimitIntervalSec=43200$/m);
        assert.match(units.service, /^StartLimitBurst=3$/m);
    });

    it("accepts an empty prefix (the bucket is the environment's own)", () => {
        const a = baseArgs();
        assert.doesNotThrow(() => mod.validateBackupJobArgs({ ...a, target: { ...a.target, prefix: "" } }));
    });
});
