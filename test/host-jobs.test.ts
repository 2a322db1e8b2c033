/**
 * The host stack's jobs (ImagePruneJob, DiskUsageCheck, EdgeCheck) under mocks: each a
 * ScheduledJob `<host>-<job>` installing its script with job.sh and notify.sh, its settings and
 * the alert variables in the root-only env file, and arguments that cannot work refused.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DISK_USAGE, EDGE_CHECK, IMAGE_PRUNE } from "../components/defaults";
import { installedEnv, installedFiles } from "./helpers/jobs";
import { capture, unwrap, useMocks } from "./helpers/pulumi";

describe("host jobs", () => {
    let prune: typeof import("../components/jobs/image-prune-job");
    let disk: typeof import("../components/jobs/disk-usage-check");
    let edge: typeof import("../components/jobs/edge-check");

    before(async () => {
        await useMocks();
        prune = await import("../components/jobs/image-prune-job");
        disk = await import("../components/jobs/disk-usage-check");
        edge = await import("../components/jobs/edge-check");
    });

    const common = () => ({
        connection: { host: "203.0.113.10", user: "root", privateKey: pulumi.secret("KEY") },
        host: "vps1",
        alerts: { webhookUrl: pulumi.secret("https://discord.example/api/webhooks/1/TOP-SECRET"), format: "discord" as const },
    });

    async function installed(make: (opts: pulumi.ComponentResourceOptions) => pulumi.ComponentResource) {
        const c = capture();
        make(c.opts);
        const [self] = c.resources;
        const job = c.resources.find((r) => r.type === "vps:index:ScheduledJob")!;
        const cmd = c.resources.find((r) => r.type === "command:remote:Command")!;
        const create = await unwrap<string>(cmd.props.create);
        const stdin = await unwrap<string>(cmd.props.stdin);
        return { self, job, files: installedFiles(create, stdin), env: installedEnv(stdin), create };
    }
    const script = (f: string) => fs.readFileSync(path.join(__dirname, "..", "components", "scripts", f), "utf8");

    it("ImagePruneJob: vps1-image-prune, daily, keeping 3 per repository by default", async () => {
        const { self, job, files, env } = await installed((o) => new prune.ImagePruneJob("p", common(), o));
        assert.equal(self.type, "vps:index:ImagePruneJob");
        assert.equal(job.props.unitName, "vps1-image-prune");
        assert.equal(job.props.onCalendar, IMAGE_PRUNE.schedule);
        assert.deepEqual(Object.keys(files).sort(), ["image-prune.sh", "job.sh", "notify.sh"]);
        assert.equal(files["image-prune.sh"], script("image-prune.sh"));
        assert.deepEqual(env, {
            ALERT_PREFIX: "[vps1]",
            ALERT_REMINDER_MINUTES: "240",
            ALERT_WEBHOOK_FORMAT: "discord",
            ALERT_WEBHOOK_URL: "https://discord.example/api/webhooks/1/TOP-SECRET",
            PRUNE_KEEP_PER_REPOSITORY: "3",
        });
    });

    it("DiskUsageCheck: vps1-disk-usage every 15 minutes, 80 % of / and /var/lib/docker by default", async () => {
        const { job, files, env } = await installed((o) => new disk.DiskUsageCheck("d", common(), o));
        assert.equal(job.props.unitName, "vps1-disk-usage");
        assert.equal(job.props.onCalendar, DISK_USAGE.schedule);
        assert.equal(files["disk-usage.sh"], script("disk-usage.sh"));
        assert.equal(env.DISK_THRESHOLD_PERCENT, "80");
        assert.equal(env.DISK_PATHS, "/ /var/lib/docker");
        const custom = await installed((o) => new disk.DiskUsageCheck("d2", { ...common(), thresholdPercent: 90, paths: ["/srv"] }, o));
        assert.equal(custom.env.DISK_THRESHOLD_PERCENT, "90");
        assert.equal(custom.env.DISK_PATHS, "/srv");
    });

    it("EdgeCheck: vps1-edge-check every 5 minutes, with the edge's name and its proxy's container", async () => {
        const { job, files, env } = await installed((o) => new edge.EdgeCheck("e", { ...common(), proxyContainer: "vps1-reverse-proxy" }, o));
        assert.equal(job.props.unitName, "vps1-edge-check");
        assert.equal(job.props.onCalendar, EDGE_CHECK.schedule);
        assert.equal(files["edge-check.sh"], script("edge-check.sh"));
        assert.equal(env.EDGE_NAME, "vps1");
        assert.equal(env.EDGE_PROXY_CONTAINER, "vps1-reverse-proxy");
    });

    it("keeps the webhook URL out of every command text", async () => {
        const { create } = await installed((o) => new disk.DiskUsageCheck("d3", common(), o));
        assert.doesNotMatch(create, /TOP-SECRET/);
    });

    it("refuses arguments that cannot make a working job, naming the argument", () => {
        assert.throws(() => prune.imagePruneSpec({ ...common(), keepPerRepository: 0 }), /ImagePruneJob vps1: keepPerRepository must be a whole number from 1 to 50, got 0/);
        assert.throws(() => disk.diskUsageSpec({ ...common(), thresholdPercent: 100 }), /DiskUsageCheck vps1: thresholdPercent/);
        assert.throws(() => disk.diskUsageSpec({ ...common(), paths: ["relative"] }), /paths must be absolute paths/);
        assert.throws(() => edge.edgeCheckSpec({ ...common(), proxyContainer: "bad name" }), /EdgeCheck vps1: proxyContainer "bad name"/);
        assert.throws(() => edge.edgeCheckSpec({ ...common(), host: "VPS1", proxyContainer: "x" }), /EdgeCheck: host "VPS1" must match/);
    });
});
