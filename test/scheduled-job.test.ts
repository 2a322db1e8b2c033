import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { installedEnv } from "./helpers/jobs";
import { capture, unwrap, useMocks } from "./helpers/pulumi";

describe("ScheduledJob", () => {
    let mod: typeof import("../components/jobs/scheduled-job");

    before(async () => {
        await useMocks();
        mod = await import("../components/jobs/scheduled-job");
    });

    const connection = { host: "203.0.113.10", user: "root", privateKey: pulumi.secret("KEY") };
    const baseArgs = () => ({
        connection,
        unitName: "shop-staging-backup",
        description: "shop staging backup",
        onCalendar: "*-*-* 03:00:00",
        files: { "backup.sh": "#!/usr/bin/env bash\necho backup\n", "notify.sh": "notify() { :; }\n" },
        entrypoint: "backup.sh",
        envVars: { ALERT_WEBHOOK_URL: pulumi.secret("https://hooks.example/very-secret-token"), APP: "shop" },
    });

    /** Builds a job, capturing every resource's options (test/helpers/pulumi.ts capture()). */
    async function build(name: string, overrides: Partial<ReturnType<typeof baseArgs>> = {}) {
        const { resources: captured, opts } = capture();
        const job = new mod.ScheduledJob(name, { ...baseArgs(), ...overrides }, opts);
        const cmd = captured.find((c) => c.type === "command:remote:Command");
        assert.ok(cmd, "the job creates a remote command");
        const inputs = cmd.props as any;
        return { job, captured, cmd, inputs };
    }

    it("exposes the unit, timer, install dir and env file names", async () => {
        const { job } = await build("j-names");
        assert.equal(job.unitName, "shop-staging-backup");
        assert.equal(job.timerName, "shop-staging-backup.timer");
        assert.equal(job.installDir, "/opt/vps-jobs/shop-staging-backup");
        assert.equal(job.envFile, "/etc/vps-jobs/shop-staging-backup.env");
    });

    it("gives every child the job as parent and a name derived from the job's", async () => {
        const { job, captured } = await build("j-parent");
        const children = captured.filter((c) => c.type !== "vps:index:ScheduledJob");
        assert.ok(children.length > 0);
        for (const c of children) {
            assert.equal(c.opts.parent, job, `${c.name} has the job as parent`);
            assert.ok(c.name.startsWith("j-parent-"), c.name);
        }
    });

    it("registers the component with type vps:index:ScheduledJob", async () => {
        const { captured } = await build("j-type");
        assert.deepEqual(captured.filter((c) => c.name === "j-type").map((c) => c.type), ["vps:index:ScheduledJob"]);
    });

    it("has a delete script that disables the timer and removes only the job's own files", async () => {
        const { inputs } = await build("j-delete");
        const del: string = await unwrap(inputs.delete);
        assert.match(del, /systemctl disable --now shop-staging-backup\.timer/);
        const removed = [...del.matchAll(/^rm -r?f (.*)$/gm)].flatMap((m) => m[1].split(" ")).map((p) => p.replace(/^"\$root"/, ""));
        assert.deepEqual(removed.sort(), [
            "/etc/systemd/system/shop-staging-backup.service",
            "/etc/systemd/system/shop-staging-backup.timer",
            "/etc/vps-jobs/shop-staging-backup.env",
            "/opt/vps-jobs/shop-staging-backup",
            "/var/lib/vps-jobs/shop-staging-backup",
        ]);
        assert.doesNotMatch(del, /\*/);
    });

    it("changes its triggers when a script changes, and keeps them when nothing changes", async () => {
        const a = await unwrap<any[]>((await build("j-trig-a")).inputs.triggers);
        const same = await unwrap<any[]>((await build("j-trig-b")).inputs.triggers);
        const changed = await unwrap<any[]>(
            (await build("j-trig-c", { files: { ...baseArgs().files, "backup.sh": "#!/usr/bin/env bash\necho v2\n" } })).inputs.triggers,
        );
        assert.deepEqual(a, same);
        assert.notDeepEqual(a, changed);
    });

    it("changes its triggers when the schedule changes", async () => {
        const a = await unwrap<any[]>((await build("j-cal-a")).inputs.triggers);
        const b = await unwrap<any[]>((await build("j-cal-b", { onCalendar: "*-*-* 04:00:00" })).inputs.triggers);
        assert.notDeepEqual(a, b);
    });

    it("deletes the old install before creating a replacement (same unit name)", async () => {
        const { cmd } = await build("j-dbr");
        assert.equal((cmd.opts as pulumi.CustomResourceOptions).deleteBeforeReplace, true);
    });

    it("keeps secrets out of the create command and passes the env file on stdin as a secret", async () => {
        const { inputs } = await build("j-secret");
        const create: string = await unwrap(inputs.create);
        const update: string = await unwrap(inputs.update);
        assert.doesNotMatch(create, /very-secret-token/);
        assert.doesNotMatch(update, /very-secret-token/);
        const stdin = pulumi.output(inputs.stdin);
        assert.equal(await pulumi.isSecret(stdin), true);
        assert.equal(installedEnv(await unwrap<string>(stdin)).ALERT_WEBHOOK_URL, "https://hooks.example/very-secret-token");
    });

    it("writes the env file 0600 under umask 077 from stdin", async () => {
        const { inputs } = await build("j-mode");
        const create: string = await unwrap(inputs.create);
        assert.match(create, /\(umask 077 && printf %s "\$env_line" \| base64 -d >"\$env_tmp"\)/);
        assert.match(create, /chmod 0600 "\$env_tmp"/);
        assert.match(create, /mv -f "\$env_tmp" "\$env_file"/);
    });

    it("waits for the resources in dependsOn", async () => {
        const dep = new pulumi.ComponentResource("test:index:Thing", "j-dep-thing");
        const { cmd } = await build("j-dep", { dependsOn: [dep] } as any);
        assert.deepEqual(cmd.opts.dependsOn, [dep]);
    });

    it("throws at construction for a bad env var name", () => {
        assert.throws(
            () => new mod.ScheduledJob("j-badenv", { ...baseArgs(), envVars: { "BAD-NAME": "x" } }),
            /env var name "BAD-NAME"/,
        );
    });
});
