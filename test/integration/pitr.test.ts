import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { needCommand } from "../helpers/tools";
import { PitrLab, pitrScripts } from "./helpers/pitr-lab";
import { WebhookReceiver } from "./helpers/webhook-receiver";

/** Fails under CI, skips elsewhere, when the machine cannot run a scratch cluster as postgres. */
function needPitrTools(ctx: Mocha.Context): void {
    needCommand(ctx, "pgbackrest", "apt-get install pgbackrest (.ci/setup.d/27-pgbackrest.sh)");
    needCommand(ctx, "runuser", "apt-get install util-linux");
    needCommand(ctx, "openssl", "apt-get install openssl");
    if (process.getuid?.() !== 0) {
        if (process.env.CI) throw new Error("the PITR tests run clusters as the postgres user, which needs root; CI runs as root");
        ctx.skip();
    }
}

// Issue 17: WAL archiving and point-in-time recovery with pgBackRest 2.45 on a scratch
// cluster, through the job scripts the VPS runs (DB_ACCESS=local: only the exec prefix differs).
describe("point-in-time recovery with pgBackRest (scripts on a real cluster and a TLS S3 store)", function () {
    let lab: PitrLab;
    let receiver: WebhookReceiver;
    const env = (job: string, extra: Record<string, string> = {}) => lab.jobEnv(job, { ALERT_WEBHOOK_URL: receiver.url, ...extra });
    let fullLabel = "";
    let diffLabel = "";
    const markers: { id: number; at: number }[] = [];

    before(async function () {
        needPitrTools(this);
        receiver = await new WebhookReceiver().start();
        lab = await new PitrLab().start();
    });
    after(async () => {
        await lab?.stop();
        await receiver?.stop();
    });
    beforeEach(() => receiver?.clear());

    it("the marker job creates its database and writes a row (and the stanza is created by the lag check)", async () => {
        const lag = await lab.run(pitrScripts.lagCheck, [], env("lag"));
        assert.equal(lag.code, 0, lag.stderr);
        assert.match(lag.stderr, /stanza created/);
        const r = await lab.run(pitrScripts.marker, [], env("marker"));
        assert.equal(r.code, 0, r.stderr);
        assert.equal(await lab.psql("vps_pitr", "SELECT count(*) FROM marker"), "1");
        const check = await lab.asPostgres("pgbackrest", ["check", "--log-level-console=info"]);
        assert.match(check.stdout, /successfully archived/);
    });

    it("a full backup is taken, verified and counted (annotated), with no alert", async () => {
        const r = await lab.run(pitrScripts.backup, ["full"], env("full"));
        assert.equal(r.code, 0, r.stderr);
        fullLabel = /set (\S+F) \(full\) taken in \d+ s, verified and counted/.exec(r.stderr)?.[1] ?? "";
        assert.match(fullLabel, /^\d{8}-\d{6}F$/, r.stderr);
        const info = JSON.parse((await lab.asPostgres("pgbackrest", ["info", "--output=json"])).stdout);
        const set = info[0].backup.find((b: any) => b.label === fullLabel);
        assert.ok(set.annotation?.["vps-verified"], JSON.stringify(set));
        assert.equal(info[0].cipher, "aes-256-cbc");
        assert.deepEqual(receiver.texts(), []);
    });

    it("markers after the full, then a differential backup, verified and counted", async () => {
        for (let i = 0; i < 3; i++) {
            markers.push(await lab.marker(`after full ${i}`));
            await new Promise((r) => setTimeout(r, 1100));
        }
        const r = await lab.run(pitrScripts.backup, ["diff"], env("diff"));
        assert.equal(r.code, 0, r.stderr);
        diffLabel = new RegExp(`set (${fullLabel}_\\S+D) \\(diff\\) taken`).exec(r.stderr)?.[1] ?? "";
        assert.ok(diffLabel, r.stderr);
        for (let i = 0; i < 3; i++) {
            markers.push(await lab.marker(`after diff ${i}`));
            await new Promise((r) => setTimeout(r, 1100));
        }
    });

    it("the weekly restore check restores to T between two markers into a throwaway cluster, asserts them and removes it", async () => {
        const r = await lab.run(pitrScripts.restoreCheck, [], env("check"));
        assert.equal(r.code, 0, r.stderr);
        assert.equal(receiver.texts().length, 1);
        assert.match(receiver.texts()[0], new RegExp(`OK: PITR restore check: restored set ${diffLabel} \\(diff, .*\\) to .* in \\d+ s; marker \\d+ before T is there, marker \\d+ after T is not; WAL chain from [0-9A-F]{24} has no gap; removed shop-lab-pitr-check-[0-9a-f]{8}`));
        assert.deepEqual(lab.scratchLeft(), []);
    });

    it("restore.sh pitr to a T between the full and the diff uses the full, and has the markers before T only", async () => {
        const t = (markers[0].at + markers[1].at) / 2;
        const to = new Date(t * 1000).toISOString();
        const r = await lab.run(pitrScripts.restore, ["pitr", "--to", to, "--port", String(lab.scratchPort)], env("restore"));
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, new RegExp(`backup set ${fullLabel} \\(full`));
        const name = /^recovered: (\S+),/m.exec(r.stdout)?.[1] ?? "";
        assert.match(name, /^shop-lab-postgres-data-\d{8}t\d{6}$/);
        const rows = await scratchRows(name);
        assert.deepEqual(rows, [markers[0].id]);
        const discard = await lab.run(pitrScripts.restore, ["pitr-discard", name], env("restore"));
        assert.equal(discard.code, 0, discard.stderr);
        assert.deepEqual(lab.scratchLeft(), []);
    });

    it("a second restore to a later T (after the diff) uses the diff and has every marker before it", async () => {
        const t = (markers[4].at + markers[5].at) / 2;
        const r = await lab.run(pitrScripts.restore, ["pitr", "--to", new Date(t * 1000).toISOString(), "--port", String(lab.scratchPort)], env("restore"));
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, new RegExp(`backup set ${diffLabel} \\(diff`));
        const name = /^recovered: (\S+),/m.exec(r.stdout)?.[1] ?? "";
        assert.deepEqual(await scratchRows(name), markers.slice(0, 5).map((m) => m.id));
        // The explicit promote step: recovery settings reset, server stopped cleanly, the config change printed.
        const promote = await lab.run(pitrScripts.restore, ["pitr-promote", name], env("restore"));
        assert.equal(promote.code, 0, promote.stderr);
        assert.match(promote.stdout, new RegExp(`pulumi config set --path postgres.dataVolume ${name}`));
        const auto = fs.readFileSync(path.join(lab.root, "scratch", name, "pgdata", "postgresql.auto.conf"), "utf8");
        assert.doesNotMatch(auto, /restore_command|archive_mode/);
        await lab.run(pitrScripts.restore, ["pitr-discard", name], env("restore"));
    });

    /** The marker ids in a scratch cluster served on the lab's scratch port. */
    async function scratchRows(name: string): Promise<number[]> {
        const { stdout } = await lab.asPostgres("psql", ["-X", "-h", "127.0.0.1", "-p", String(lab.scratchPort), "-U", "postgres", "-d", "vps_pitr", "-qtAc", "SELECT id FROM marker WHERE note LIKE 'after %' ORDER BY id"]);
        void name;
        return stdout.trim().split("\n").filter(Boolean).map(Number);
    }
});

/** One row of the PITR fault table (printed after the faults, kept in the closing note). */
interface FaultRow {
    fault: string;
    exit: string;
    alerts: string;
    lost: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Issue 17's faults, each on the real services: the store away, the queue limit exceeded, a
// damaged repository file, and targets the archive cannot reach.
describe("point-in-time recovery under faults", function () {
    let lab: PitrLab;
    let receiver: WebhookReceiver;
    const table: FaultRow[] = [];
    const env = (job: string, extra: Record<string, string> = {}) => lab.jobEnv(job, { ALERT_WEBHOOK_URL: receiver.url, ...extra });
    const texts = (re: RegExp) => receiver.texts().filter((t) => re.test(t));
    let first: { id: number; at: number };

    before(async function () {
        needPitrTools(this);
        receiver = await new WebhookReceiver().start();
        lab = await new PitrLab({ archiveTimeoutSeconds: 5, pushTimeoutSeconds: 5 }).start();
        assert.equal((await lab.run(pitrScripts.lagCheck, [], env("lag"))).code, 0);
        assert.equal((await lab.run(pitrScripts.marker, [], env("marker"))).code, 0);
        first = await lab.marker("before the first backup");
        await sleep(1100);
        const full = await lab.run(pitrScripts.backup, ["full"], env("full"));
        assert.equal(full.code, 0, full.stderr);
    });
    after(async function () {
        if (table.length > 0) {
            const line = (r: FaultRow) => `| ${r.fault} | ${r.exit} | ${r.alerts} | ${r.lost} |`;
            console.log(["", "| fault | exit code | alerts | data lost |", "| --- | --- | --- | --- |", ...table.map(line)].join("\n"));
        }
        await lab?.stop();
        await receiver?.stop();
    });
    beforeEach(() => receiver?.clear());

    it("a target before the first backup is refused with a clear error, and nothing is created", async () => {
        const r = await lab.run(pitrScripts.restore, ["pitr", "--to", new Date(first.at * 1000).toISOString()], env("restore"));
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /no verified backup set ends before the target: the oldest ends at .*\nrestore: nothing was started/);
        assert.deepEqual(lab.scratchLeft(), []);
        table.push({ fault: "target before the first backup", exit: "2 (restore.sh pitr)", alerts: "none (a person's command: the message says why)", lost: "no (nothing created)" });
    });

    it("a target after the last archived WAL (in the future) is refused, and nothing is created", async () => {
        const r = await lab.run(pitrScripts.restore, ["pitr", "--to", new Date(Date.now() + 3600_000).toISOString()], env("restore"));
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /is after the last archived WAL .*: nothing was started/);
        assert.deepEqual(lab.scratchLeft(), []);
        table.push({ fault: "target after the last archived WAL (in the future)", exit: "2 (restore.sh pitr)", alerts: "none (the message says why)", lost: "no (nothing created)" });
    });

    it("the store away: WAL piles up in pg_wal, the lag alert fires once, archiving catches up with no WAL lost, then RESOLVED", async () => {
        const lagEnv = env("lag", { PITR_LAG_LIMIT_SECONDS: "6" });
        const before = lab.archivedSegments().length;
        await lab.s3.stop();
        // The minute: long enough for pgBackRest's own push timeout (5 s here) to fail
        // many times and for the lag check to run on it every few seconds, alerting once.
        const outageMs = 60_000;
        const codes: number[] = [];
        let most = 0;
        let refused = "";
        const until = Date.now() + outageMs;
        while (Date.now() < until) {
            await lab.walSegment("during the outage");
            most = Math.max(most, await lab.readyCount());
            codes.push((await lab.run(pitrScripts.lagCheck, [], lagEnv)).code);
            if (!refused && Date.now() > until - 8000) {
                // A target in the past whose WAL is still waiting in pg_wal: refused, nothing created.
                const to = new Date(Date.now() - 2000).toISOString();
                const r = await lab.run(pitrScripts.restore, ["pitr", "--to", to], env("restore", { PITR_ARCHIVE_WAIT_SECONDS: "3" }));
                assert.equal(r.code, 2, r.stderr);
                assert.match(r.stderr, /the WAL after .* is not in the repository yet.*: nothing was started/);
                assert.deepEqual(lab.scratchLeft(), []);
                refused = "yes";
                table.push({ fault: "target in the past whose WAL is not archived yet (store down)", exit: "2 (restore.sh pitr)", alerts: "none (the message says why)", lost: "no (nothing created)" });
            }
            await sleep(3000);
        }
        assert.ok(most >= 5, `WAL piled up in pg_wal: at most ${most} segments waiting`);
        assert.ok(codes.includes(1), `the lag check found the problem: ${codes}`);
        await lab.s3.start();
        const back = Date.now();
        while ((await lab.readyCount()) > 0) {
            assert.ok(Date.now() - back < 90_000, "archiving caught up within 90 s");
            await sleep(250);
        }
        const caughtUp = (Date.now() - back) / 1000;
        const after = await lab.run(pitrScripts.lagCheck, [], lagEnv);
        assert.equal(after.code, 0, after.stderr);
        const failures = texts(/FAILURE: PITR archiving is not healthy/);
        assert.equal(failures.length, 1, receiver.texts().join("\n---\n"));
        assert.match(failures[0], /WAL not archived for \d+ s \(limit 6 s, from the RPO target\): \d+ segment\(s\) waiting in pg_wal/);
        const resolved = texts(/RESOLVED: PITR archiving: no longer failing: - WAL not archived/);
        assert.equal(resolved.length, 1, receiver.texts().join("\n---\n"));
        assert.deepEqual(lab.archiveGaps(), [], "no WAL segment missing from the archive");
        assert.ok(lab.archivedSegments().length >= before + most, "every segment of the outage reached the store");
        table.push({
            fault: `store down ${outageMs / 1000} s (WAL: ${most} segments waited in pg_wal; caught up ${caughtUp.toFixed(1)} s after it returned)`,
            exit: `lag check 1 while late, 0 after; restore.sh pitr to a T not yet archived: 2`,
            alerts: `${failures.length} FAILURE (lag), ${resolved.length} RESOLVED`,
            lost: "no (archive contiguous; the restore check below replays it)",
        });
    });

    it("after the outage the weekly restore check replays the whole chain and passes", async () => {
        const r = await lab.run(pitrScripts.restoreCheck, [], env("check"));
        assert.equal(r.code, 0, r.stderr);
        assert.match(receiver.texts()[0], /OK: PITR restore check: restored set \S+F \(full, .*no gap/);
    });

    it("the queue limit exceeded: the dropped WAL is alerted, the weekly check fails loudly on the gap, and a full backup mends it", async () => {
        await lab.restartCluster({ queueMax: "32MiB" });
        await lab.s3.stop();
        for (let i = 0; i < 6; i++) await lab.walSegment("queue");
        await sleep(6000);
        const waiting = await lab.readyCount();
        await lab.s3.start();
        const back = Date.now();
        while ((await lab.readyCount()) > 0) {
            assert.ok(Date.now() - back < 90_000, "the queue drained within 90 s");
            await sleep(250);
        }
        await lab.walSegment("after the drop");
        await lab.switchAndWaitArchived();
        const gaps = lab.archiveGaps();
        assert.ok(gaps.length > 0, `pgBackRest dropped WAL (${waiting} segments waited, queue max 32MiB)`);

        const lag = await lab.run(pitrScripts.lagCheck, [], env("lag"));
        assert.equal(lag.code, 1, lag.stderr);
        const dropped = texts(/FAILURE: PITR archiving is not healthy:\n- WAL was DROPPED by pgBackRest at .*archive-push-queue-max exceeded/);
        assert.equal(dropped.length, 1, receiver.texts().join("\n---\n"));

        const check = await lab.run(pitrScripts.restoreCheck, [], env("check"));
        assert.equal(check.code, 1, check.stderr);
        const loud = texts(/FAILURE: PITR restore check FAILED: the WAL archive has a GAP after set \S+, so no point in time after it can be restored: GAP [0-9A-F]{24} \.\. [0-9A-F]{24} \(\d+ segments\)/);
        assert.equal(loud.length, 1, receiver.texts().join("\n---\n"));
        assert.deepEqual(lab.scratchLeft(), [], "the check created nothing before it found the gap");

        receiver.clear();
        await lab.restartCluster({ queueMax: "1GiB" });
        const full = await lab.run(pitrScripts.backup, ["full"], env("full"));
        assert.equal(full.code, 0, full.stderr);
        const mended = await lab.run(pitrScripts.lagCheck, [], env("lag"));
        assert.equal(mended.code, 0, mended.stderr);
        assert.equal(texts(/RESOLVED: PITR archiving: no longer failing: - WAL was DROPPED/).length, 1, receiver.texts().join("\n---\n"));
        const again = await lab.run(pitrScripts.restoreCheck, [], env("check"));
        assert.equal(again.code, 0, again.stderr);
        assert.equal(texts(/RESOLVED: PITR restore check: no longer failing/).length, 1, receiver.texts().join("\n---\n"));
        table.push({
            fault: `archive-push-queue-max exceeded (32MiB, ${waiting} segments waited; ${gaps.join(", ")} dropped)`,
            exit: "lag check 1; weekly restore check 1 (GAP); after a full backup both 0",
            alerts: "1 FAILURE (WAL dropped), 1 FAILURE (restore check: GAP), then 2 RESOLVED",
            lost: "no live data; the PITR window has a hole from the drop to the next full (alerted until that full)",
        });
    });

    it("a damaged file in the repository: verify fails, the new set is not counted and the damaged one stops counting", async () => {
        const info = JSON.parse((await lab.asPostgres("pgbackrest", ["info", "--output=json"])).stdout);
        const full = info[0].backup.filter((b: any) => b.type === "full").pop().label as string;
        const files = lab.s3.keys(`${lab.repoPath.slice(1)}/backup/${lab.stanza}/${full}/pg_data/base/`).filter((k) => !k.endsWith(".md5"));
        const victim = lab.s3.objectFile(files[Math.floor(files.length / 2)]);
        const bytes = fs.readFileSync(victim);
        bytes[Math.floor(bytes.length / 2)] ^= 0xff;
        fs.writeFileSync(victim, bytes);
        await lab.marker("before the diff over a damaged full");
        const r = await lab.run(pitrScripts.backup, ["diff"], env("diff"));
        assert.equal(r.code, 1, r.stderr);
        const alert = texts(/FAILURE: PITR diff backup FAILED: set \S+D \(diff\) did not verify \(verify: status error, set invalid\): .*checksum invalid: 1.* It is not counted; no longer counted either: /);
        assert.equal(alert.length, 1, receiver.texts().join("\n---\n"));
        const after = JSON.parse((await lab.asPostgres("pgbackrest", ["info", "--output=json"])).stdout)[0].backup as any[];
        const counted = after.filter((b) => b.annotation?.["vps-verified"]).map((b) => b.label);
        assert.ok(!counted.includes(full), `the damaged full ${full} stopped counting: ${counted}`);
        assert.ok(!counted.some((l: string) => l.startsWith(`${full}_`)), `the diff over it is not counted: ${counted}`);
        table.push({ fault: "one byte flipped in a file of the full set", exit: "1 (pitr-backup.sh diff)", alerts: "1 FAILURE (not counted, names the damaged sets)", lost: "no (the damaged set is no longer restored from; the earlier full still is)" });
    });
});
