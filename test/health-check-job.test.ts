import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { capture, unwrap, useMocks } from "./helpers/pulumi";
import { installedEnv, installedFiles } from "./helpers/jobs";
import { HEALTH_CHECK_RESTART_POLICY } from "../components/defaults";

describe("HealthCheckJob", () => {
    let mod: typeof import("../components/jobs/health-check-job");

    before(async () => {
        await useMocks();
        mod = await import("../components/jobs/health-check-job");
    });

    const args = (): import("../components/jobs/health-check-job").HealthCheckJobArgs => ({
        connection: { host: "203.0.113.10", user: "root", privateKey: pulumi.secret("KEY") },
        app: "shop",
        environment: "staging",
        urls: [
            { url: "https://staging.shop.example/", expectStatus: 200, container: "shop-staging-frontend" },
            { url: "https://api.staging.shop.example/health", expectStatus: 200, container: "shop-staging-backend" },
        ],
        containers: ["shop-staging-backend", "shop-staging-frontend"],
        postgres: { container: "shop-staging-postgres", user: "shop" },
        redis: { container: "shop-staging-redis" },
        alerts: { webhookUrl: pulumi.secret("https://discord.example/api/webhooks/1/TOP-SECRET"), format: "discord" },
    });

    async function build(name: string, overrides: Partial<ReturnType<typeof args>> = {}) {
        const { resources: captured, opts } = capture();
        const job = new mod.HealthCheckJob(name, { ...args(), ...overrides }, opts);
        const cmd = captured.find((c) => c.type === "command:remote:Command")!;
        assert.ok(cmd, "a remote command installs the job");
        const env = installedEnv(await unwrap<string>(cmd.props.stdin));
        return { job, captured, cmd, env };
    }

    it("is a vps:index:HealthCheckJob with the environment as its props", async () => {
        const { captured } = await build("hc-type");
        const self = captured.find((c) => c.name === "hc-type")!;
        assert.equal(self.type, "vps:index:HealthCheckJob");
        assert.deepEqual(self.props, { environment: "staging" });
    });

    it("installs a ScheduledJob child named <app>-<env>-health-check, with every child parented", async () => {
        const { job, captured } = await build("hc-tree");
        const sj = captured.find((c) => c.type === "vps:index:ScheduledJob")!;
        assert.equal(sj.name, "hc-tree-job");
        assert.equal(sj.opts.parent, job);
        assert.equal(sj.props.unitName, "shop-staging-health-check");
        const cmd = captured.find((c) => c.type === "command:remote:Command")!;
        assert.equal(cmd.name, "hc-tree-job-install");
        assert.equal((cmd.opts.parent as any)?.constructor?.name, "ScheduledJob");
        assert.equal(job.timerName, "shop-staging-health-check.timer");
    });

    it("runs every minute by default", async () => {
        const { captured } = await build("hc-cal");
        assert.equal(captured.find((c) => c.type === "vps:index:ScheduledJob")!.props.onCalendar, "*-*-* *:*:00");
        const { captured: c2 } = await build("hc-cal2", { onCalendar: "*:0/15" });
        assert.equal(c2.find((c) => c.type === "vps:index:ScheduledJob")!.props.onCalendar, "*:0/15");
    });

    it("has a delete script that disables and removes its timer", async () => {
        const { cmd } = await build("hc-del");
        const del: string = await unwrap(cmd.props.delete);
        assert.match(del, /systemctl disable --now shop-staging-health-check\.timer/);
        assert.match(del, /rm -f "\$root"\/etc\/systemd\/system\/shop-staging-health-check\.timer /);
    });

    it("installs health-check.sh, job.sh, notify.sh and metrics.sh exactly as they are in components/scripts", async () => {
        const { cmd } = await build("hc-files");
        const create: string = await unwrap(cmd.props.create);
        const files = installedFiles(create, await unwrap<string>(cmd.props.stdin));
        assert.deepEqual(Object.keys(files).sort(), ["health-check.sh", "job.sh", "metrics.sh", "notify.sh"]);
        for (const f of ["health-check.sh", "job.sh", "notify.sh", "metrics.sh"]) {
            const content = fs.readFileSync(path.join(__dirname, "..", "components", "scripts", f), "utf8");
            assert.equal(files[f], content, `${f} is installed byte for byte`);
            assert.match(create, new RegExp(`chmod 0755 "\\$staging"/${f.replace(".", "\\.")}`));
        }
        assert.match(create, /ExecStart|base64 -d/);
    });

    it("writes the checks, defaults and alert settings to the env file", async () => {
        const { env } = await build("hc-env");
        assert.deepEqual(env, {
            ALERT_PREFIX: "[shop/staging]",
            ALERT_REMINDER_MINUTES: "240",
            ALERT_WEBHOOK_FORMAT: "discord",
            ALERT_WEBHOOK_URL: "https://discord.example/api/webhooks/1/TOP-SECRET",
            HC_CONTAINERS: "shop-staging-backend shop-staging-frontend",
            HC_INSECURE_TLS: "0",
            HC_POSTGRES_CONTAINER: "shop-staging-postgres",
            HC_POSTGRES_USER: "shop",
            HC_REDIS_CONTAINER: "shop-staging-redis",
            HC_RESTART_BUDGET_PER_HOUR: "3",
            HC_RESTART_WAIT_SECONDS: "30",
            HC_STATE_DIR: "/var/lib/vps-jobs/shop-staging-health-check",
            HC_URLS:
                "https://staging.shop.example/|200|shop-staging-frontend https://api.staging.shop.example/health|200|shop-staging-backend",
        });
    });

    it("probes without verifying certificates only when told to (a staging ACME CA)", async () => {
        const { env } = await build("hc-insecure", { insecureTls: true });
        assert.equal(env.HC_INSECURE_TLS, "1");
    });

    it("restarts a run only when it died, never because checks failed: exit 1-4 are answers", () => {
        assert.deepEqual(HEALTH_CHECK_RESTART_POLICY.preventExitStatuses, [1, 2, 3, 4]);
        // The per-minute timer makes 5 starts in the window; the limit must leave room for them.
        assert.ok(HEALTH_CHECK_RESTART_POLICY.burst > 300 / 60);
    });

    it("keeps the webhook URL out of every command text and marks the env file secret", async () => {
        const { cmd } = await build("hc-secret");
        for (const field of ["create", "update", "delete"]) {
            assert.doesNotMatch(await unwrap<string>(cmd.props[field]), /TOP-SECRET/, field);
        }
        assert.equal(await pulumi.isSecret(pulumi.output(cmd.props.stdin)), true);
    });

    it("passes dependsOn to the install command", async () => {
        const dep = new pulumi.ComponentResource("test:index:Thing", "hc-dep-thing");
        const { cmd } = await build("hc-dep", { dependsOn: [dep] });
        assert.deepEqual(cmd.opts.dependsOn, [dep]);
    });

    it("rejects arguments that cannot make a working job, naming the argument", () => {
        assert.throws(() => new mod.HealthCheckJob("bad1", { ...args(), app: "Shop" }), /app "Shop"/);
        assert.throws(
            () => new mod.HealthCheckJob("bad2", { ...args(), urls: [{ url: "https://x/ y", expectStatus: 200, container: "c" }] }),
            /urls entry "https:\/\/x\/ y"/,
        );
        assert.throws(
            () => new mod.HealthCheckJob("bad3", { ...args(), urls: [{ url: "https://x/", expectStatus: 42, container: "c" }] }),
            /expectStatus/,
        );
        assert.throws(() => new mod.HealthCheckJob("bad4", { ...args(), containers: ["bad name"] }), /containers\[\] "bad name"/);
        assert.throws(() => new mod.HealthCheckJob("bad5", { ...args(), restartBudgetPerHour: -1 }), /restartBudgetPerHour/);
        assert.throws(() => new mod.HealthCheckJob("bad7", { ...args(), alerts: { ...args().alerts, reminderMinutes: 1.5 } }), /alerts\.reminderMinutes/);
        assert.throws(
            () => new mod.HealthCheckJob("bad6", { ...args(), urls: [], containers: [], postgres: undefined, redis: undefined }),
            /nothing to check/,
        );
    });
});
