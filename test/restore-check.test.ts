import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

type Captured = { type: string; name: string; props: any; opts: pulumi.ResourceOptions };

function unwrap<T>(o: pulumi.Input<T> | undefined): Promise<T> {
    return new Promise((resolve) => pulumi.output(o as pulumi.Input<T>).apply((v) => resolve(v as T)));
}

const scriptsDir = path.join(__dirname, "..", "components", "scripts");

/** The files a ScheduledJob's install script writes: name -> decoded content. */
function installedFiles(create: string): Record<string, string> {
    const files: Record<string, string> = {};
    for (const m of create.matchAll(/^printf %s (\S+) \| base64 -d >"\$staging"\/(\S+)$/gm)) {
        files[m[2]] = Buffer.from(m[1], "base64").toString("utf8");
    }
    return files;
}

/** Parses the KEY="value" lines of a rendered env file. */
function parseEnvFile(text: string): Record<string, string> {
    const env: Record<string, string> = {};
    for (const line of text.split("\n").filter((l) => l)) {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)="(.*)"$/.exec(line);
        assert.ok(m, `env line ${line}`);
        env[m[1]] = m[2].replace(/\\(.)/g, "$1");
    }
    return env;
}

describe("RestoreCheck", () => {
    let mod: typeof import("../components/restore-check");

    before(async () => {
        await pulumi.runtime.setMocks(
            {
                newResource: (args: pulumi.runtime.MockResourceArgs) => ({ id: `${args.name}-id`, state: args.inputs }),
                call: (args: pulumi.runtime.MockCallArgs) => {
                    throw new Error(`unexpected call ${args.token}`);
                },
            },
            "vps-stacks",
            "test",
            true,
        );
        mod = await import("../components/restore-check");
    });

    const baseArgs = (): import("../components/restore-check").RestoreCheckArgs => ({
        connection: { host: "203.0.113.10", user: "root", privateKey: pulumi.secret("KEY") },
        app: "shop",
        environment: "production",
        postgres: [{ container: "shop-production-postgres", database: "shop", user: "shop" }],
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

    async function build(name: string, args = baseArgs()) {
        const captured: Captured[] = [];
        const component = new mod.RestoreCheck(name, args, {
            transformations: [
                (a) => {
                    captured.push({ type: a.type, name: a.name, props: a.props, opts: a.opts });
                    return undefined;
                },
            ],
        });
        const cmd = captured.find((c) => c.type === "command:remote:Command");
        assert.ok(cmd, "the job installs through a remote command");
        const create: string = await unwrap((cmd.props as any).create);
        const stdin = pulumi.output((cmd.props as any).stdin);
        const env = parseEnvFile(await unwrap<string>(stdin));
        return { component, captured, cmd, create, stdin, env };
    }

    it("registers as vps:index:RestoreCheck naming the databases it checks", async () => {
        const { captured } = await build("r-props");
        const self = captured.find((c) => c.name === "r-props");
        assert.equal(self?.type, "vps:index:RestoreCheck");
        assert.deepEqual(self?.props, { environment: "production", databases: ["shop"] });
    });

    it("installs one ScheduledJob <app>-<env>-restore-check as its child, Sundays 05:00 UTC by default", async () => {
        const { component, captured } = await build("r-job");
        const jobs = captured.filter((c) => c.type === "vps:index:ScheduledJob");
        assert.equal(jobs.length, 1);
        assert.equal(jobs[0].name, "r-job-job");
        assert.equal(jobs[0].opts.parent, component);
        assert.equal(jobs[0].props.unitName, "shop-production-restore-check");
        assert.equal(jobs[0].props.onCalendar, "Sun *-*-* 05:00:00 UTC");
        assert.equal(component.timerName, "shop-production-restore-check.timer");
    });

    it("uses the schedule it is given", async () => {
        const { captured } = await build("r-cal", { ...baseArgs(), onCalendar: "*-*-* 06:00:00 UTC" });
        assert.equal(captured.find((c) => c.type === "vps:index:ScheduledJob")?.props.onCalendar, "*-*-* 06:00:00 UTC");
    });

    it("installs restore-check.sh as the entrypoint with restore.sh, s3.sh and notify.sh, byte for byte", async () => {
        const { create } = await build("r-files");
        const files = installedFiles(create);
        assert.deepEqual(Object.keys(files).sort(), ["notify.sh", "restore-check.sh", "restore.sh", "s3.sh"]);
        for (const [name, content] of Object.entries(files)) {
            assert.equal(content, fs.readFileSync(path.join(scriptsDir, name), "utf8"), name);
        }
        assert.equal(mod.restoreCheckSpec(baseArgs()).entrypoint, "restore-check.sh");
    });

    it("writes the env file the script reads, with the default 26-hour freshness limit", async () => {
        const { env } = await build("r-env");
        assert.deepEqual(env, {
            ALERT_PREFIX: "[shop/production]",
            ALERT_WEBHOOK_FORMAT: "slack",
            ALERT_WEBHOOK_URL: "https://hooks.slack.example/services/T/B/secret-token",
            BACKUP_POSTGRES: "shop-production-postgres:shop:shop",
            DB_ACCESS: "docker",
            MAX_BACKUP_AGE_HOURS: "26",
            S3_ACCESS_KEY_ID: "key-id",
            S3_BUCKET: "shop-backups",
            S3_ENDPOINT: "https://accountid.r2.cloudflarestorage.com",
            S3_PREFIX: "shop/production/",
            S3_REGION: "auto",
            S3_SECRET_ACCESS_KEY: "very-secret-key",
        });
    });

    it("passes a configured freshness limit", async () => {
        const { env } = await build("r-age", { ...baseArgs(), maxBackupAgeHours: 50 });
        assert.equal(env.MAX_BACKUP_AGE_HOURS, "50");
    });

    it("keeps the credential and webhook out of the command text and passes the env file as a secret", async () => {
        const { create, stdin } = await build("r-secret");
        assert.doesNotMatch(create, /very-secret-key|secret-token/);
        assert.equal(await pulumi.isSecret(stdin), true);
    });

    it("installs with sudo -n when sudo is set", async () => {
        const { create } = await build("r-sudo", { ...baseArgs(), sudo: true });
        assert.match(create, /^sudo -n bash -c /);
    });

    it("rejects at construction a check that cannot run, naming the argument", () => {
        const a = baseArgs();
        const cases: [Partial<typeof a>, RegExp][] = [
            [{ postgres: [] }, /postgres is empty/],
            [{ maxBackupAgeHours: 0 }, /maxBackupAgeHours must be a whole number of hours, at least 1, got 0/],
            [{ maxBackupAgeHours: 1.5 }, /maxBackupAgeHours/],
            [{ postgres: [{ ...a.postgres[0], container: "-x" }] }, /postgres\[0\]\.container "-x"/],
            [{ target: { ...a.target, prefix: "shop" } }, /target\.prefix "shop"/],
            [{ environment: "prod_1" }, /environment "prod_1"/],
        ];
        for (const [override, message] of cases) {
            assert.throws(() => new mod.RestoreCheck("r-invalid", { ...a, ...override }), message);
        }
    });
});
