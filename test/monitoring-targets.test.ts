import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { capture, unwrap, useMocks } from "./helpers/pulumi";

describe("MonitoringTargets: an environment's targets on the host's monitoring", () => {
    let mod: typeof import("../components/monitoring/monitoring-targets");

    before(async () => {
        await useMocks();
        mod = await import("../components/monitoring/monitoring-targets");
    });

    const args = (): import("../components/monitoring/monitoring-targets").MonitoringTargetsArgs => ({
        app: "shop",
        environment: "staging",
        connection: { host: "203.0.113.10", user: "deploy", privateKey: pulumi.secret("KEY") },
        sudo: true,
        monitoringDir: pulumi.output("/srv/vps1/monitoring"),
        probes: [{ url: "https://shop.example.com/health", service: "frontend" }],
        scrapes: [{ service: "backend", container: pulumi.output("shop-staging-backend-1a2b"), port: 3000, path: "/metrics" }],
        backupMaxAgeHours: 26,
    });

    /** The script of `[sudo -n ]bash -c '<script>'`, unquoted. */
    const inner = (c: string) => c.replace(/^(sudo -n )?bash -c '/, "").replace(/'$/, "").split("'\\''").join("'");

    async function build(name: string, over: Partial<ReturnType<typeof args>> = {}) {
        const { resources, opts } = capture();
        const targets = new mod.MonitoringTargets(name, { ...args(), ...over }, opts);
        const cmd = resources.find((r) => r.type === "command:remote:Command")!;
        return { targets, resources, cmd };
    }

    it("is one vps:index:MonitoringTargets with one remote command, parented to it", async () => {
        const { targets, resources, cmd } = await build("mt-tree");
        assert.deepEqual(resources.map((r) => r.type), ["vps:index:MonitoringTargets", "command:remote:Command"]);
        assert.equal(cmd.name, "mt-tree-files");
        assert.equal(cmd.opts.parent, targets);
    });

    it("writes the environment's own set on create and update, and removes exactly that set on delete", async () => {
        const { cmd } = await build("mt-cmds");
        const create: string = await unwrap(cmd.props.create);
        assert.equal(create, await unwrap(cmd.props.update));
        assert.match(create, /^sudo -n bash -c /);
        assert.match(create, /set -- write/);
        assert.match(inner(create), /^export MON_DIR='\/srv\/vps1\/monitoring' MON_SET='shop-staging' MON_RELOAD=''$/m);
        const del: string = await unwrap(cmd.props.delete);
        assert.match(del, /set -- remove/);
        assert.match(inner(del), /MON_SET='shop-staging'/);
        assert.equal(cmd.props.triggers, undefined, "a change updates the files, never replaces the command");
    });

    it("sends its probe, scrape, dashboard and expectations files on stdin, the scrape target by the container's name", async () => {
        const { targets, cmd } = await build("mt-files");
        assert.deepEqual(await unwrap(targets.files), [
            "prometheus/targets/shop-staging-probe.json",
            "prometheus/targets/shop-staging-scrape.json",
            "grafana/dashboards/environments/shop-staging.json",
            "textfile/shop-staging-expectations.prom",
        ]);
        const lines: string[] = (await unwrap<string>(cmd.props.stdin)).trim().split("\n");
        const scrape = JSON.parse(Buffer.from(lines[1].split(" ")[3], "base64").toString("utf8"));
        assert.deepEqual(scrape[0].targets, ["shop-staging-backend-1a2b:3000"]);
    });

    it("refuses a probe URL the file could not carry, naming the component", () => {
        assert.throws(() => new mod.MonitoringTargets("mt-bad", { ...args(), probes: [{ url: "ftp://x", service: "web" }] }), /MonitoringTargets mt-bad: probe URL "ftp:\/\/x"/);
    });

    it("runs as written: its write and remove commands keep and drop only its own files", async () => {
        const { cmd } = await build("mt-run", { sudo: false });
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "monitoring-targets-"));
        try {
            const local = (command: string) => command.replace("/srv/vps1/monitoring", dir);
            const write = spawnSync("bash", ["-c", local(await unwrap<string>(cmd.props.create))], { input: await unwrap<string>(cmd.props.stdin), encoding: "utf8" });
            assert.equal(write.status, 0, write.stderr);
            fs.writeFileSync(path.join(dir, "prometheus/targets/shop-production-probe.json"), "[]\n");
            assert.match(fs.readFileSync(path.join(dir, "textfile/shop-staging-expectations.prom"), "utf8"), /^vps_backup_expected_since_timestamp_seconds\{app="shop",environment="staging"\} \d+$/m);
            const remove = spawnSync("bash", ["-c", local(await unwrap<string>(cmd.props.delete))], { encoding: "utf8" });
            assert.equal(remove.status, 0, remove.stderr);
            assert.deepEqual(fs.readdirSync(path.join(dir, "prometheus/targets")), ["shop-production-probe.json"]);
            assert.deepEqual(fs.readdirSync(path.join(dir, "textfile")), []);
            assert.deepEqual(fs.readdirSync(path.join(dir, "grafana/dashboards/environments")), [], "its dashboard goes with it");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
