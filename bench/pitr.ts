/**
 * Point-in-time recovery figures (issue 17), on the PITR integration suite's lab: a scratch
 * PostgreSQL cluster archiving WAL with Debian's pgBackRest 2.45 into an encrypted repository
 * on s3rver over TLS on loopback (test/integration/helpers/pitr-lab.ts), through the job
 * scripts the VPS runs (DB_ACCESS=local). Run as root (the cluster runs as postgres):
 *
 *   node --require sucrase/register/ts bench/pitr.ts        (npm run bench:pitr)
 *
 * Environment: BENCH_SAMPLES (RPO samples per mode, default 8), BENCH_ARCHIVE_TIMEOUT
 * (the lab's archive_timeout in seconds for the quiet-database RPO, default 10; the shipped
 * stacks use half the RPO target: 150 s for rpoMinutes 5), BENCH_SCALE (pgbench scale of the
 * restored database, default 10, about 150 MB).
 *
 * Figures printed:
 *   - RPO, busy database: a committed marker row until the WAL segment holding it is an
 *     object in the repository, with the segment closed right after the commit (as a busy
 *     database fills segments): archive-push latency alone; median and worst of N;
 *   - RPO, quiet database: the same with nothing closing the segment but archive_timeout,
 *     commits at random moments of the cycle: median and worst of N (the worst approaches
 *     archive_timeout + push);
 *   - PITR restore: restore.sh pitr --to T (set chosen, pgBackRest restore into a new
 *     directory, WAL replayed to T, server ready), wall time, beside a pg_dump of the same
 *     database and a pg_restore of that dump into a new database (local file: the nightly
 *     dump's download from the store is not included). PITR restores the whole cluster and
 *     replays the WAL written since the backup; pg_restore loads one database.
 * The store is on loopback: a real store's transfer time is not included in either figure.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { PitrLab, pitrScripts } from "../test/integration/helpers/pitr-lab";

const run = promisify(execFile);
const samples = Number(process.env.BENCH_SAMPLES ?? 8);
const archiveTimeout = Number(process.env.BENCH_ARCHIVE_TIMEOUT ?? 10);
const scale = Number(process.env.BENCH_SCALE ?? 10);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function stats(xs: number[]): string {
    const s = [...xs].sort((a, b) => a - b);
    const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    return `median ${median.toFixed(2)} s, worst ${s[s.length - 1].toFixed(2)} s (n=${s.length}; all: ${s.map((x) => x.toFixed(2)).join(", ")})`;
}

async function timed<T>(f: () => Promise<T>): Promise<[number, T]> {
    const t0 = process.hrtime.bigint();
    const result = await f();
    return [Number(process.hrtime.bigint() - t0) / 1e9, result];
}

/** Seconds from the commit of a marker row until its WAL segment is an object in the repository. */
async function rpoSample(lab: PitrLab, closeSegment: boolean): Promise<number> {
    await lab.psql("vps_pitr", "INSERT INTO marker (note) VALUES ('bench rpo')");
    const committed = Date.now();
    const segment = await lab.psql("postgres", "SELECT pg_walfile_name(pg_current_wal_insert_lsn())");
    if (closeSegment) await lab.psql("postgres", "SELECT pg_switch_wal()");
    const limit = committed + (archiveTimeout + 60) * 1000;
    while (!lab.archivedSegments().includes(segment)) {
        if (Date.now() > limit) throw new Error(`segment ${segment} not in the repository after ${(Date.now() - committed) / 1000} s`);
        await sleep(50);
    }
    return (Date.now() - committed) / 1000;
}

async function main(): Promise<void> {
    if (process.getuid?.() !== 0) throw new Error("run as root: the lab's cluster runs as the postgres user");
    const lab = await new PitrLab({ archiveTimeoutSeconds: archiveTimeout }).start();
    const env = (job: string) => lab.jobEnv(job);
    const pg = ["-h", lab.root, "-p", String(lab.port), "-U", "postgres"];
    try {
        for (const [script, job] of [[pitrScripts.lagCheck, "lag"], [pitrScripts.marker, "marker"]] as const) {
            const r = await lab.run(script, [], env(job));
            if (r.code !== 0) throw new Error(`${job}: ${r.stderr}`);
        }
        console.log(`pgBackRest ${(await run("pgbackrest", ["version"])).stdout.trim().split(" ")[1]}, PostgreSQL ${await lab.psql("postgres", "SHOW server_version")}, archive_timeout ${archiveTimeout} s`);

        const busy: number[] = [];
        for (let i = 0; i < samples; i++) busy.push(await rpoSample(lab, true));
        console.log(`RPO, busy database (segment closed at the commit): ${stats(busy)}`);
        const quiet: number[] = [];
        for (let i = 0; i < samples; i++) {
            await sleep(Math.random() * archiveTimeout * 1000);
            quiet.push(await rpoSample(lab, false));
        }
        console.log(`RPO, quiet database (archive_timeout ${archiveTimeout} s closes the segment): ${stats(quiet)}`);

        await run("createdb", [...pg, "bench"]);
        await run("pgbench", [...pg, "-i", "-q", "-s", String(scale), "bench"], { maxBuffer: 16 * 1024 * 1024 });
        const size = await lab.psql("postgres", "SELECT pg_size_pretty(pg_database_size('bench')) || ' (cluster ' || pg_size_pretty(sum(pg_database_size(datname))) || ')' FROM pg_database");
        console.log(`database bench: pgbench scale ${scale}, ${size}`);
        const [backupSeconds, backup] = await timed(() => lab.run(pitrScripts.backup, ["full"], env("full"), 1_800_000));
        if (backup.code !== 0) throw new Error(`full backup: ${backup.stderr}`);
        console.log(`full backup, verified and counted (pitr-backup.sh full): ${backupSeconds.toFixed(1)} s`);
        // WAL to replay after the backup, then the target.
        await run("pgbench", [...pg, "-n", "-T", "15", "-c", "2", "bench"]);
        const accounts = await lab.psql("bench", "SELECT sum(abalance) FROM pgbench_accounts");
        const target = new Date(Date.now()).toISOString();
        await sleep(1100);
        await lab.marker("after the target");
        await lab.switchAndWaitArchived();

        const [pitrSeconds, restored] = await timed(() => lab.run(pitrScripts.restore, ["pitr", "--to", target, "--port", String(lab.scratchPort)], env("restore"), 1_800_000));
        if (restored.code !== 0) throw new Error(`restore.sh pitr: ${restored.stderr}`);
        const name = /^recovered: (\S+),/m.exec(restored.stdout)?.[1];
        const check = (await run("psql", ["-X", "-h", "127.0.0.1", "-p", String(lab.scratchPort), "-U", "postgres", "-d", "bench", "-qtAc", "SELECT sum(abalance) FROM pgbench_accounts"])).stdout.trim();
        if (check !== accounts) throw new Error(`the recovered cluster's pgbench_accounts sum is ${check}, the live one's at T was ${accounts}`);
        console.log(`PITR restore (restore.sh pitr --to T: set chosen, restored, WAL replayed, server ready): ${pitrSeconds.toFixed(1)} s; data at T checked`);
        if (name) await lab.run(pitrScripts.restore, ["pitr-discard", name], env("restore"));

        const dump = path.join(lab.root, "bench.dump");
        const [dumpSeconds] = await timed(() => run("pg_dump", [...pg, "-Fc", "-f", dump, "bench"]));
        await run("createdb", [...pg, "bench_restored"]);
        const [restoreSeconds] = await timed(() => run("pg_restore", [...pg, "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges", "-d", "bench_restored", dump]));
        console.log(`pg_dump -Fc of the same database: ${dumpSeconds.toFixed(1)} s (${(fs.statSync(dump).size / 1024 ** 2).toFixed(1)} MB); pg_restore of it into a new database: ${restoreSeconds.toFixed(1)} s`);
        console.log(`ratio PITR restore / pg_restore: ${(pitrSeconds / restoreSeconds).toFixed(2)}`);
    } finally {
        await lab.stop();
    }
}

main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
});
