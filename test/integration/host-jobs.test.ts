/**
 * The host stack's job scripts (image-prune.sh, disk-usage.sh, edge-check.sh) run for real
 * against the suite's Docker engine, images made with `docker import`, and the webhook receiver
 * on loopback: what each keeps, removes or alerts, and the dedup, reminder and RESOLVED
 * behaviour they share with the other jobs (notify.sh's alerts_*).
 *
 * The engine is shared with other test runs, so the image prune sees only this run's
 * repositories (a docker wrapper filters `image ls` by reference), and every container and
 * edge name is unique to the run.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DOCKER, docker, ensureDockerEngine, ensureTestImage, removeTestContainers, RUN_ID, startContainer, testContainerName, waitForHealth } from "./helpers/docker";
import { runScript, scripts } from "./helpers/s3-scripts";
import { WebhookReceiver } from "./helpers/webhook-receiver";

describe("host jobs against a real Docker engine", function () {
    let receiver: WebhookReceiver;
    let work: string;
    const run = (script: string, env: Record<string, string>) =>
        runScript(script, [], { ALERT_WEBHOOK_URL: receiver.url, ALERT_PREFIX: "[vps1]", JOB_LOCK_DIR: work, ...env }, 120_000);

    before(async function () {
        await ensureDockerEngine();
        await ensureTestImage();
        receiver = await new WebhookReceiver().start();
    });
    after(async () => {
        await receiver?.stop();
        await removeTestContainers().catch(() => undefined);
    });
    beforeEach(() => {
        receiver.clear();
        work = fs.mkdtempSync(path.join(os.tmpdir(), "host-jobs-"));
    });
    afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

    describe("image-prune.sh", () => {
        const repo = `vps-test-prune-${RUN_ID}`;
        let wrapper: string;

        /** Imports an empty image as `<repo>/<name>:<tag>` (a new id each time: docker import stamps the time). */
        async function image(ref: string): Promise<string> {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prune-img-"));
            fs.writeFileSync(path.join(dir, "tag"), ref);
            try {
                const { execFileSync } = await import("child_process");
                const tar = execFileSync("tar", ["-C", dir, "-c", "."]);
                return execFileSync(DOCKER, ["import", "--message", ref, "-", `${repo}/${ref}`], { input: tar }).toString().trim();
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        }
        const present = async () =>
            (await docker(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "--filter", `reference=${repo}/*`])).split("\n").filter(Boolean).map((r) => r.replace(`${repo}/`, "")).sort();

        before(async () => {
            // The engine's images of other runs are none of this test's business: `image ls` sees this run's repositories only.
            wrapper = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "prune-docker-")), "docker");
            fs.writeFileSync(
                wrapper,
                [
                    "#!/usr/bin/env bash",
                    `if [ "$1 $2" = "image ls" ]; then shift 2; exec ${DOCKER} image ls --filter 'reference=${repo}/*' "$@"; fi`,
                    // FAIL_RM=<id>: the removal of that image fails, as a daemon error would.
                    'if [ "$1 $2" = "image rm" ] && [ -n "${FAIL_RM:-}" ] && [[ " $* " == *" $FAIL_RM "* ]]; then echo "Error response from daemon: simulated" >&2; exit 1; fi',
                    `exec ${DOCKER} "$@"`,
                    "",
                ].join("\n"),
                { mode: 0o755 },
            );
        });
        after(async () => {
            const ids = (await docker(["image", "ls", "--quiet", "--filter", `reference=${repo}/*`]).catch(() => "")).split("\n").filter(Boolean);
            if (ids.length) await docker(["image", "rm", "--force", ...new Set(ids)]).catch(() => undefined);
            fs.rmSync(path.dirname(wrapper), { recursive: true, force: true });
        });

        it("keeps every image a container uses and the newest N per repository, removes the rest, alerts nothing", async () => {
            for (const tag of ["v1", "v2", "v3", "v4", "v5"]) await image(`app:${tag}`);
            await image("other:v1");
            // A stopped container of the oldest release (a rollback target someone created) keeps it.
            const holder = testContainerName("prune-holder");
            await docker(["create", "--name", holder, "--label", `vps.test.run=${RUN_ID}`, `${repo}/app:v1`, "true"]);
            const t0 = Date.now();
            const r = await run(scripts.imagePrune, { PRUNE_KEEP_PER_REPOSITORY: "2", PRUNE_STATE_DIR: work, DOCKER: wrapper });
            const ms = Date.now() - t0;
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(await present(), ["app:v1", "app:v4", "app:v5", "other:v1"]);
            assert.match(r.stderr, /removed 2, freed/);
            assert.deepEqual(receiver.texts(), []);
            process.stdout.write(`      image prune of 6 images: ${ms} ms\n`);
            // Nothing left to do: a second run removes nothing.
            const again = await run(scripts.imagePrune, { PRUNE_KEEP_PER_REPOSITORY: "2", PRUNE_STATE_DIR: work, DOCKER: wrapper });
            assert.equal(again.code, 0, again.stderr);
            assert.match(again.stderr, /removed 0,/);
            await docker(["rm", holder]);
        });

        it("alerts an image it cannot remove once, not again within the reminder, and RESOLVED once it is gone", async () => {
            await image("app:v6");
            await image("app:v7");
            const stuck = await image("app:v0-stuck");
            // v0-stuck is the newest; keep 1 leaves v6 and v7 (and the earlier ones) to remove, one of which fails.
            const victim = (await docker(["image", "inspect", "--format", "{{.Id}}", `${repo}/app:v6`])).trim();
            void stuck;
            const env = { PRUNE_KEEP_PER_REPOSITORY: "1", PRUNE_STATE_DIR: work, DOCKER: wrapper };
            const first = await run(scripts.imagePrune, { ...env, FAIL_RM: victim });
            assert.equal(first.code, 1, first.stderr);
            assert.equal(receiver.texts().length, 1, receiver.texts().join("\n"));
            assert.match(receiver.texts()[0], /^\[vps1\] FAILURE: image prune: 1 image\(s\) could not be removed:\n- could not remove sha256:[0-9a-f]+ \(.*app:v6.*\): Error response from daemon: simulated/);
            const second = await run(scripts.imagePrune, { ...env, FAIL_RM: victim });
            assert.equal(second.code, 1);
            assert.equal(receiver.texts().length, 1, "the same problem is not alerted again within ALERT_REMINDER_MINUTES");
            const fixed = await run(scripts.imagePrune, env);
            assert.equal(fixed.code, 0, fixed.stderr);
            assert.equal(receiver.texts().length, 2);
            assert.match(receiver.texts()[1], /^\[vps1\] RESOLVED: image prune: no longer failing: - could not remove sha256:/);
            assert.deepEqual(await present(), ["app:v0-stuck", "other:v1"]);
        });

        it("alerts a Docker daemon that does not answer, and refuses a bad setting with exit 2", async () => {
            const down = await run(scripts.imagePrune, { PRUNE_STATE_DIR: work, DOCKER: "/bin/false" });
            assert.equal(down.code, 1);
            assert.match(receiver.texts()[0], /image prune not run: the Docker daemon does not work:\n- the Docker daemon cannot be reached/);
            const bad = await run(scripts.imagePrune, { PRUNE_STATE_DIR: work, PRUNE_KEEP_PER_REPOSITORY: "0", DOCKER: wrapper });
            assert.equal(bad.code, 2);
            assert.match(receiver.texts()[1], /image prune not run: PRUNE_KEEP_PER_REPOSITORY must be a whole number of at least 1/);
        });
    });

    describe("disk-usage.sh", () => {
        it("alerts a file system above the threshold once, reminds only after the interval, and says RESOLVED below it", async () => {
            const env = { DISK_STATE_DIR: work, DISK_PATHS: `/ ${work}` };
            const full = await run(scripts.diskUsage, { ...env, DISK_THRESHOLD_PERCENT: "1" });
            assert.equal(full.code, 1, full.stderr);
            assert.equal(receiver.texts().length, 1);
            assert.match(receiver.texts()[0], /^\[vps1\] FAILURE: disk usage above 1 %:\n- \/\S* is \d+ % full \(\d+ MiB of \d+ MiB free; threshold 1 %\)/);
            const again = await run(scripts.diskUsage, { ...env, DISK_THRESHOLD_PERCENT: "1" });
            assert.equal(again.code, 1);
            assert.equal(receiver.texts().length, 1, "deduplicated");
            // A reminder interval that has passed (1 minute, with the last alert moved back 2) alerts again.
            for (const f of fs.readdirSync(path.join(work, "alerts"))) {
                const file = path.join(work, "alerts", f);
                const [head, ...rest] = fs.readFileSync(file, "utf8").split("\n");
                const [first, last] = head.split(" ").map(Number);
                fs.writeFileSync(file, [`${first - 120} ${last - 120}`, ...rest].join("\n"));
            }
            const reminded = await run(scripts.diskUsage, { ...env, DISK_THRESHOLD_PERCENT: "1", ALERT_REMINDER_MINUTES: "1" });
            assert.equal(reminded.code, 1);
            assert.equal(receiver.texts().length, 2, "reminded after ALERT_REMINDER_MINUTES");
            const ok = await run(scripts.diskUsage, { ...env, DISK_THRESHOLD_PERCENT: "99" });
            assert.equal(ok.code, 0, ok.stderr);
            assert.equal(receiver.texts().length, 3);
            assert.match(receiver.texts()[2], /^\[vps1\] RESOLVED: disk usage: no longer failing: - \/\S* is \d+ % full/);
            assert.match(ok.stderr, /checked \d file system\(s\), 0 problem\(s\)/);
        });

        it("refuses a threshold that is not 1-99 and a CRLF env file with exit 2, and alerts a path it cannot check", async () => {
            const bad = await run(scripts.diskUsage, { DISK_STATE_DIR: work, DISK_THRESHOLD_PERCENT: "100" });
            assert.equal(bad.code, 2);
            // systemd keeps the \r of a CRLF env file: said as such, not as a path that cannot be checked.
            const crlf = await run(scripts.diskUsage, { DISK_STATE_DIR: work, DISK_THRESHOLD_PERCENT: "99", DISK_PATHS: "/\r" });
            assert.equal(crlf.code, 2, crlf.stderr);
            assert.match(receiver.texts().at(-1)!, /disk-usage check not run: DISK_PATHS ends with a carriage return/);
            const missing = await run(scripts.diskUsage, { DISK_STATE_DIR: work, DISK_THRESHOLD_PERCENT: "99", DISK_PATHS: "/nonexistent-vps-path" });
            assert.equal(missing.code, 1);
            assert.match(receiver.texts().at(-1)!, /- \/nonexistent-vps-path cannot be checked/);
        });
    });

    describe("edge-check.sh", () => {
        const edge = `edge-${RUN_ID}`.toLowerCase();
        const proxy = testContainerName("edge-proxy");
        /** A container routed on the edge: an environment's (app, env), or with `hostStack` one the host stack owns (its Grafana). */
        const routed = (name: string, app: string, env: string, host: string, hostStack?: string) =>
            startContainer(testContainerName(name), {
                extraArgs: [
                    "--label", `vps.edge=${edge}`,
                    ...(app ? ["--label", `vps.app=${app}`] : []),
                    ...(env ? ["--label", `vps.environment=${env}`] : []),
                    ...(hostStack ? ["--label", `vps.host=${hostStack}`] : []),
                    "--label", `traefik.http.routers.${hostStack ?? `${app}-${env}`}-web.rule=Host(\`${host}\`) || Host(\`www.${host}\`)`,
                ],
            });
        const env = () => ({ EDGE_NAME: edge, EDGE_PROXY_CONTAINER: proxy, EDGE_STATE_DIR: work });

        before(async () => {
            await startContainer(proxy);
            await waitForHealth(proxy, "healthy");
        });

        it("passes when every host has one owner and the proxy is healthy", async () => {
            await routed("edge-stg", "shop", "staging", "staging.shop.test");
            await routed("edge-prd", "shop", "production", "shop.test");
            // Two replicas of one environment (a create-before-delete replacement) are one owner.
            await routed("edge-prd2", "shop", "production", "shop.test");
            // The host stack's own Grafana: owned by vps.host, not by an environment.
            await routed("edge-grafana", "", "", "grafana.shop.test", edge);
            const r = await run(scripts.edgeCheck, env());
            assert.equal(r.code, 0, r.stderr);
            assert.match(r.stderr, /4 container\(s\) on edge .*, 6 host name\(s\), proxy healthy/);
            assert.deepEqual(receiver.texts(), []);
        });

        it("alerts a host routed by two environments and a container without ownership labels, then RESOLVED", async () => {
            await routed("edge-intruder", "blog", "production", "shop.test");
            await routed("edge-unowned", "", "", "x.test");
            // Owned by another host stack: not this one's.
            await routed("edge-other-host", "", "", "y.test", "vps9");
            const r = await run(scripts.edgeCheck, env());
            assert.equal(r.code, 1, r.stderr);
            assert.equal(receiver.texts().length, 1);
            const text = receiver.texts()[0];
            assert.match(text, /^\[vps1\] FAILURE: edge .*: 4 problem\(s\):/);
            assert.match(text, /- Host\(`shop\.test`\) is routed by 2 environments \((shop\/production blog\/production|blog\/production shop\/production)\)/);
            assert.match(text, /- Host\(`www\.shop\.test`\) is routed by 2 environments/);
            assert.match(text, new RegExp(`- container ${testContainerName("edge-unowned")} is labelled vps.edge=${edge} but lacks vps.app or vps.environment`));
            assert.match(text, new RegExp(`- container ${testContainerName("edge-other-host")} is labelled vps.edge=${edge} but lacks`));
            await docker(["rm", "--force", testContainerName("edge-intruder"), testContainerName("edge-unowned"), testContainerName("edge-other-host")]);
            const fixed = await run(scripts.edgeCheck, env());
            assert.equal(fixed.code, 0, fixed.stderr);
            assert.match(receiver.texts()[1], /^\[vps1\] RESOLVED: edge .*: no longer failing: /);
        });

        it("alerts an unhealthy proxy", async () => {
            await docker(["exec", proxy, "rm", "-f", "/tmp/ok"]);
            await waitForHealth(proxy, "unhealthy");
            const r = await run(scripts.edgeCheck, env());
            assert.equal(r.code, 1);
            assert.match(receiver.texts()[0], new RegExp(`- the proxy ${proxy} is unhealthy: no environment on this VPS is reachable`));
        });
    });
});
