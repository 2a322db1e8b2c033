/**
 * Backup throughput and restore time (RTO) of components/scripts/backup.sh and restore.sh
 * on a PostgreSQL database of about 500 MB, against the machine's PostgreSQL
 * (127.0.0.1:5432, user postgres) and an S3-compatible server (s3rver) on loopback.
 *
 *   node --require sucrase/register/ts bench/backup-throughput.ts
 *
 * Environment: BENCH_DB_MB (target pg_database_size in MB, default 500), BENCH_RUNS (timed
 * runs of each command, default 3; the median is reported), BENCH_KEEP=1 keeps the source
 * database (bench_backup_src) for the next run instead of dropping it.
 *
 * Figures printed:
 *   - bare pg_dump: `pg_dump --format=custom <db> > /dev/null` wall time (the floor: the
 *     same dump, compressed the same way, written nowhere);
 *   - backup job: backup.sh wall time for that database (dump | sha256 | multipart upload,
 *     size check, sidecar, OK report to a webhook on loopback), and the ratio
 *     job / bare pg_dump (goal: at most 1.2);
 *   - S3 server CPU: CPU seconds the loopback s3rver (in this process) spent during each job
 *     run, which a remote store would not take from the machine's CPUs;
 *   - RTO: restore.sh wall time, newest backup into a new database (list, download hashed
 *     as it arrives, SHA-256 check, createdb, pg_restore --single-transaction into a new
 *     database, rename), against a bare `createdb` + `pg_restore` of the same dump from a
 *     local file (the floor: the same restore, with nothing fetched or checked), and the
 *     ratio restore.sh / bare pg_restore (goal: at most 1.15).
 * The S3 server is on loopback, so network transfer time of a real store is not included.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { S3Server } from "../test/integration/helpers/s3-server";
import { runScript, scripts } from "../test/integration/helpers/s3-scripts";
import { WebhookReceiver } from "../test/integration/helpers/webhook-receiver";
import { createDatabase, databaseExists, dropDatabase, pgEnv, pgUser, psql } from "../test/integration/helpers/postgres";

const run = promisify(execFile);
const targetMb = Number(process.env.BENCH_DB_MB ?? 500);
const runs = Number(process.env.BENCH_RUNS ?? 3);
const source = "bench_backup_src";
const restored = "bench_backup_rto";
const bareRestored = "bench_backup_rto_bare";

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
}

async function timed<T>(f: () => Promise<T>): Promise<[number, T]> {
    const t0 = process.hrtime.bigint();
    const result = await f();
    return [Number(process.hrtime.bigint() - t0) / 1e9, result];
}

async function sizeMb(db: string): Promise<number> {
    return Number(await psql("postgres", `SELECT pg_database_size('${db}')`)) / 1024 / 1024;
}

/** An orders-like table: numbers, timestamps, short and random text, jsonb; grown to the target size. */
async function seed(): Promise<void> {
    await createDatabase(source);
    await psql(
        source,
        `CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, amount numeric(12,2) NOT NULL,
            created timestamptz NOT NULL, state text NOT NULL, note text, data jsonb NOT NULL)`,
    );
    let next = 1;
    const batch = 500_000;
    while ((await sizeMb(source)) < targetMb) {
        await psql(
            source,
            `INSERT INTO orders SELECT g, 1 + (g * 7919) % 100000, round(((g * 104729) % 1000000) / 100.0, 2),
                timestamptz '2024-01-01' + g * interval '7 seconds',
                (ARRAY['new','paid','shipped','cancelled'])[1 + g % 4],
                CASE WHEN g % 5 = 0 THEN NULL ELSE 'order ' || g || ' ' || md5(g::text) || md5(random()::text) END,
                jsonb_build_object('sku', 'SKU-' || (g % 5000), 'qty', 1 + g % 9, 'gift', g % 11 = 0)
             FROM generate_series(${next}::bigint, ${next + batch - 1}) g`,
        );
        next += batch;
    }
    await psql(source, "VACUUM ANALYZE orders");
}

async function main(): Promise<void> {
    const receiver = await new WebhookReceiver().start();
    const s3 = await new S3Server().start();
    try {
        if ((await databaseExists(source)) && (await sizeMb(source)) < targetMb * 0.95) {
            await dropDatabase(source); // left over from an interrupted seed
        }
        if (!(await databaseExists(source))) {
            process.stderr.write(`seeding ${source} to ${targetMb} MB...\n`);
            await seed();
        }
        const dbMb = await sizeMb(source);
        const rows = Number(await psql(source, "SELECT count(*) FROM orders"));
        const env = {
            ...s3.env("bench/"),
            ...pgEnv,
            DB_ACCESS: "local",
            BACKUP_POSTGRES: `local-postgres:${source}:${pgUser}`,
            BACKUP_REDIS: "",
            ALERT_WEBHOOK_URL: receiver.url,
        };

        const bare: number[] = [];
        const job: number[] = [];
        const storeCpu: number[] = [];
        let dumpBytes = 0;
        // Interleaved, so that a slower or faster phase of the machine touches both alike.
        for (let i = 0; i < runs; i++) {
            const [tBare] = await timed(() =>
                run("bash", ["-c", 'pg_dump --format=custom --no-password --username="$1" --dbname="$2" >/dev/null', "-", pgUser, source], {
                    env: { ...process.env, ...pgEnv },
                }),
            );
            bare.push(tBare);
            // A weekday: daily/ only, as on six days of seven.
            // s3rver runs inside this process: its CPU time is this process's during the job.
            const cpuBefore = process.cpuUsage();
            const [tJob, r] = await timed(() => runScript(scripts.backup, [], { ...env, BACKUP_TIME: `2026-11-0${3 + i}T03:00:00Z` }));
            const cpu = process.cpuUsage(cpuBefore);
            storeCpu.push((cpu.user + cpu.system) / 1e6);
            if (r.code !== 0) {
                throw new Error(`backup.sh exited ${r.code}: ${r.stderr}`);
            }
            job.push(tJob);
            const keys = (await s3.keys("bench/daily/")).filter((k) => k.endsWith(".dump"));
            dumpBytes = (await s3.read(keys[keys.length - 1])).length;
        }

        // The newest dump as a local file, for the bare pg_restore.
        const keys = (await s3.keys("bench/daily/")).filter((k) => k.endsWith(".dump"));
        const dumpFile = path.join(os.tmpdir(), `bench-rto-${process.pid}.dump`);
        fs.writeFileSync(dumpFile, await s3.read(keys[keys.length - 1]));
        const rto: number[] = [];
        const bareRestore: number[] = [];
        try {
            // Interleaved, as above.
            for (let i = 0; i < runs; i++) {
                await dropDatabase(bareRestored);
                const [tBare] = await timed(() =>
                    run(
                        "bash",
                        [
                            "-c",
                            'createdb --no-password --username="$1" --template=template0 "$2" && pg_restore --no-password --username="$1" --dbname="$2" --single-transaction --exit-on-error --no-owner --no-privileges "$3"',
                            "-",
                            pgUser,
                            bareRestored,
                            dumpFile,
                        ],
                        { env: { ...process.env, ...pgEnv } },
                    ),
                );
                bareRestore.push(tBare);
                await dropDatabase(restored);
                const [t, r] = await timed(() => runScript(scripts.restore, ["postgres", source, "--into", restored], env));
                if (r.code !== 0) {
                    throw new Error(`restore.sh exited ${r.code}: ${r.stderr}`);
                }
                rto.push(t);
            }
        } finally {
            fs.rmSync(dumpFile, { force: true });
            await dropDatabase(bareRestored);
        }
        const restoredRows = Number(await psql(restored, "SELECT count(*) FROM orders"));
        if (restoredRows !== rows) {
            throw new Error(`restored ${restoredRows} rows, expected ${rows}`);
        }
        await dropDatabase(restored);

        const mb = (n: number) => n.toFixed(1);
        const s = (xs: number[]) => `${median(xs).toFixed(2)} s (runs: ${xs.map((x) => x.toFixed(2)).join(", ")})`;
        console.log(`machine: ${os.cpus().length} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; PostgreSQL ${await psql("postgres", "SHOW server_version")}`);
        console.log(`database: ${source}, ${mb(dbMb)} MB (pg_database_size), ${rows} rows; dump ${mb(dumpBytes / 1024 / 1024)} MB (custom format)`);
        console.log(`bare pg_dump -Fc > /dev/null:  ${s(bare)}`);
        console.log(`backup job (backup.sh):        ${s(job)}`);
        console.log(`ratio job / bare pg_dump:      ${(median(job) / median(bare)).toFixed(3)} (goal <= 1.2)`);
        console.log(
            `S3 server CPU during the job:  ${s(storeCpu)} — s3rver shares this machine's ${os.cpus().length} CPUs with pg_dump; a remote store would not`,
        );
        console.log(`backup throughput:             ${mb(dbMb / median(job))} MB/s of database`);
        console.log(`bare createdb + pg_restore of the same dump: ${s(bareRestore)}`);
        console.log(`RTO (restore.sh, newest backup into a new database): ${s(rto)}`);
        console.log(`ratio restore.sh / bare pg_restore: ${(median(rto) / median(bareRestore)).toFixed(3)} (goal <= 1.15)`);
    } finally {
        if (process.env.BENCH_KEEP !== "1") {
            await dropDatabase(source);
        }
        await dropDatabase(restored);
        await receiver.stop();
        await s3.stop();
        s3.remove();
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
