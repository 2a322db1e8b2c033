/**
 * The PITR tests' lab: a scratch PostgreSQL cluster of its own (Debian's server, as the
 * postgres user, on a free port and a private directory: the machine's cluster on 5432 is
 * never touched), WAL archived by Debian's pgBackRest 2.45 into an encrypted repository on
 * an S3-compatible server over TLS (TlsS3Server), and the environment the job scripts run
 * with. The archiving settings are the program's own: the server arguments of
 * `archivingCommand` and the options of `pgbackrestOptions` (components/services/
 * pgbackrest.ts), with only the paths, the port, the store and the test's short timeouts
 * changed. The jobs run with DB_ACCESS=local: their exec prefix is `runuser -u postgres --`
 * instead of `docker exec -u postgres <container>`, nothing else differs.
 */
import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { archivingCommand, pgbackrestEnv, pgbackrestOptions, PgbackrestOption } from "../../../components/pgbackrest";
import { freePort } from "./s3-server";
import { runScript, ScriptResult, scriptsDir } from "./s3-scripts";
import { TlsS3Server } from "./s3-tls";

const exec = promisify(execFile);

/** The installed PostgreSQL server's programs (Debian: /usr/lib/postgresql/<major>/bin), newest major. */
export function postgresBinDir(): string | undefined {
    if (!fs.existsSync("/usr/lib/postgresql")) return undefined;
    const majors = fs.readdirSync("/usr/lib/postgresql").filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    return majors.map((v) => `/usr/lib/postgresql/${v}/bin`).find((d) => fs.existsSync(path.join(d, "pg_ctl")));
}

/** The PITR job scripts under test. */
export const pitrScripts = {
    backup: path.join(scriptsDir, "pitr-backup.sh"),
    marker: path.join(scriptsDir, "pitr-marker.sh"),
    lagCheck: path.join(scriptsDir, "pitr-lag-check.sh"),
    restoreCheck: path.join(scriptsDir, "pitr-restore-check.sh"),
    restore: path.join(scriptsDir, "restore.sh"),
};

export interface PitrLabOptions {
    /** The cluster's archive_timeout, seconds (default 10: quick tests). */
    archiveTimeoutSeconds?: number;
    /** pgBackRest's archive-push-queue-max (default 1GiB). */
    queueMax?: string;
    /** pgBackRest's archive-timeout: how long the archiver waits on the async push before it fails (default 10 s). */
    pushTimeoutSeconds?: number;
}

export class PitrLab {
    readonly root: string;
    readonly s3: TlsS3Server;
    readonly stanza = "shop-lab";
    readonly repoPath = "/shop/lab/pitr";
    readonly bin: string;
    port = 0;
    scratchPort = 0;
    /** The cipher passphrase (the secret `pitrPassphrase` on a VPS). */
    readonly passphrase = "correct-horse-battery-staple-lab";
    readonly options: PitrLabOptions;

    constructor(options: PitrLabOptions = {}) {
        this.options = { ...options };
        const bin = postgresBinDir();
        if (!bin) throw new Error("no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql)");
        this.bin = bin;
        this.root = fs.mkdtempSync(path.join("/var/tmp", "vps-pitr-lab-"));
        fs.chmodSync(this.root, 0o755);
        this.s3 = new TlsS3Server(this.root);
    }

    get pgdata(): string {
        return path.join(this.root, "pg");
    }

    /** The repository's pgBackRest options as the program renders them, with the lab's paths, store and timeouts. */
    pgbackrestEnv(): Record<string, string> {
        const options: Partial<Record<PgbackrestOption, string>> = {
            ...pgbackrestOptions({
                stanza: this.stanza,
                pgUser: "postgres",
                repository: { bucket: this.s3.bucket, path: this.repoPath, region: "us-east-1", endpoint: this.s3.endpoint },
                retentionDays: 7,
                queueMax: this.options.queueMax ?? "1GiB",
            }),
            config: path.join(this.root, "pgbackrest.conf"),
            "pg1-path": this.pgdata,
            "pg1-port": String(this.port),
            "pg1-socket-path": this.root,
            "repo1-storage-ca-file": this.s3.caFile,
            "spool-path": path.join(this.root, "pgbackrest", "spool"),
            "log-path": path.join(this.root, "pgbackrest", "log"),
            "lock-path": path.join(this.root, "pgbackrest", "lock"),
            "archive-timeout": String(this.options.pushTimeoutSeconds ?? 10),
            "repo1-cipher-pass": this.passphrase,
            "repo1-s3-key": this.s3.accessKeyId,
            "repo1-s3-key-secret": this.s3.secretAccessKey,
        };
        return pgbackrestEnv(options) as Record<string, string>;
    }

    /** Runs a command as postgres with the pgBackRest environment (what `docker exec -u postgres` gives on a VPS). */
    async asPostgres(cmd: string, args: string[], timeoutMs = 120_000): Promise<{ stdout: string; stderr: string }> {
        return exec("runuser", ["-u", "postgres", "--", cmd, ...args], {
            cwd: "/tmp",
            env: { ...process.env, ...this.pgbackrestEnv() },
            timeout: timeoutMs,
            maxBuffer: 64 * 1024 * 1024,
        });
    }

    async start(): Promise<this> {
        await this.s3.start();
        this.port = await freePort();
        this.scratchPort = await freePort();
        for (const dir of ["pgbackrest/spool", "pgbackrest/log", "pgbackrest/lock", "scratch", "state"]) {
            fs.mkdirSync(path.join(this.root, dir), { recursive: true });
        }
        fs.writeFileSync(path.join(this.root, "pgbackrest.conf"), "");
        execFileSync("chown", ["-R", "postgres:postgres", this.root]);
        await this.asPostgres(path.join(this.bin, "initdb"), ["-D", this.pgdata, "-A", "trust", "-U", "postgres", "--no-sync"]);
        // The server arguments the container runs with (archivingCommand), as configuration lines.
        const args = archivingCommand(1);
        const settings: Record<string, string> = {};
        for (let i = 1; i < args.length; i += 2) {
            const [key, ...value] = args[i + 1].split("=");
            settings[key] = value.join("=");
        }
        Object.assign(settings, {
            archive_timeout: String(this.options.archiveTimeoutSeconds ?? 10),
            port: String(this.port),
            listen_addresses: "",
            unix_socket_directories: this.root,
            fsync: "off",
            max_wal_size: "64MB",
            min_wal_size: "32MB",
        });
        const conf = Object.entries(settings).map(([k, v]) => `${k} = '${v.replace(/'/g, "''")}'`).join("\n");
        fs.appendFileSync(path.join(this.pgdata, "postgresql.conf"), `\n# PITR lab (test/integration/helpers/pitr-lab.ts)\n${conf}\n`);
        await this.startCluster();
        return this;
    }

    async startCluster(): Promise<void> {
        await this.asPostgres(path.join(this.bin, "pg_ctl"), ["-D", this.pgdata, "-l", path.join(this.root, "pg.log"), "-w", "-t", "60", "start"]);
    }

    /** Restarts the live cluster with other archiving options (archive_command reads them from the postmaster's environment). */
    async restartCluster(options: PitrLabOptions): Promise<void> {
        await this.asPostgres(path.join(this.bin, "pg_ctl"), ["-D", this.pgdata, "-m", "fast", "-w", "-t", "60", "stop"]);
        Object.assign(this.options, options);
        await this.startCluster();
    }

    /** How many WAL segments wait to be archived (archive_status/*.ready). */
    async readyCount(): Promise<number> {
        return Number(await this.psql("postgres", "SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'"));
    }

    /** Writes a little WAL (a marker) and closes the segment, so one more segment is to be archived. */
    async walSegment(note = "wal"): Promise<void> {
        await this.marker(note);
        await this.psql("postgres", "SELECT pg_switch_wal()");
    }

    /** Holes in the archived WAL per timeline: "<from>..<to>" of each missing run. */
    archiveGaps(): string[] {
        const gaps: string[] = [];
        let prev: { tl: string; n: number } | undefined;
        for (const seg of this.archivedSegments()) {
            const tl = seg.slice(0, 8);
            const n = parseInt(seg.slice(8, 16), 16) * 256 + parseInt(seg.slice(16), 16);
            if (prev && prev.tl === tl && n > prev.n + 1) gaps.push(`${tl}:${prev.n + 1}..${n - 1}`);
            prev = { tl, n };
        }
        return gaps;
    }

    /** SQL on the live cluster as postgres; unaligned rows. */
    async psql(database: string, sql: string): Promise<string> {
        const { stdout } = await exec("psql", ["-X", "-h", this.root, "-p", String(this.port), "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-qtAc", sql], {
            timeout: 60_000,
        });
        return stdout.trim();
    }

    /** The environment of a PITR job script in this lab (as its env file on a VPS, with DB_ACCESS=local). */
    jobEnv(job: string, extra: Record<string, string> = {}): Record<string, string> {
        const state = path.join(this.root, "state", job);
        fs.mkdirSync(state, { recursive: true });
        return {
            ...this.pgbackrestEnv(),
            DB_ACCESS: "local",
            PITR_LOCAL_USER: "postgres",
            PITR_PG_BINDIR: this.bin,
            PITR_PG_USER: "postgres",
            PGHOST: this.root,
            PGPORT: String(this.port),
            PITR_SCRATCH_DIR: path.join(this.root, "scratch"),
            PITR_SCRATCH_PORT: String(this.scratchPort),
            PITR_SCRATCH_PREFIX: "shop-lab-pitr-check",
            PITR_VOLUME_PREFIX: "shop-lab-postgres-data",
            PITR_TIMEOUT_SECONDS: "60",
            PITR_BACKUP_TIMEOUT_SECONDS: "300",
            PITR_VERIFY_TIMEOUT_SECONDS: "300",
            PITR_RESTORE_TIMEOUT_SECONDS: "300",
            PITR_ARCHIVE_WAIT_SECONDS: "60",
            PITR_READY_TIMEOUT_SECONDS: "120",
            PITR_LAG_LIMIT_SECONDS: "20",
            STATE_DIRECTORY: state,
            JOB_LOCK_DIR: state,
            ALERT_PREFIX: "[shop/lab]",
            ALERT_REMINDER_MINUTES: "240",
            ...extra,
        };
    }

    /** Runs a PITR script with a job's environment. */
    run(script: string, args: string[], env: Record<string, string>, timeoutMs = 300_000): Promise<ScriptResult> {
        return runScript(script, args, env, timeoutMs);
    }

    /** Inserts a marker row (the marker job's table must exist) and returns its id and time (epoch seconds). */
    async marker(note = "test"): Promise<{ id: number; at: number }> {
        const row = await this.psql("vps_pitr", `INSERT INTO marker (note) VALUES ('${note}') RETURNING id || '|' || extract(epoch FROM at)`);
        const [id, at] = row.split("|");
        return { id: Number(id), at: Number(at) };
    }

    /** Switches WAL and waits until that segment is archived. */
    async switchAndWaitArchived(timeoutMs = 60_000): Promise<string> {
        const wal = await this.psql("postgres", "SELECT pg_walfile_name(pg_switch_wal())");
        const end = Date.now() + timeoutMs;
        for (;;) {
            const last = await this.psql("postgres", "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
            if (last >= wal) return wal;
            if (Date.now() > end) throw new Error(`${wal} not archived within ${timeoutMs} ms (last ${last})`);
            await new Promise((r) => setTimeout(r, 200));
        }
    }

    /** The names of the WAL segments in the repository (from the store's files), sorted. */
    archivedSegments(): string[] {
        return this.s3
            .keys(`${this.repoPath.slice(1)}/archive/`)
            .map((k) => /\/([0-9A-F]{24})-[0-9a-f]{40}/.exec(k)?.[1])
            .filter((s): s is string => s !== undefined)
            .sort()
            .filter((s, i, all) => all.indexOf(s) === i);
    }

    /** Leftover scratch clusters (directories under scratch/). */
    scratchLeft(): string[] {
        return fs.readdirSync(path.join(this.root, "scratch"));
    }

    async stop(): Promise<void> {
        for (const dir of [path.join(this.root, "pg"), ...this.scratchLeft().map((d) => path.join(this.root, "scratch", d, "pgdata"))]) {
            if (fs.existsSync(path.join(dir, "postmaster.pid"))) {
                await this.asPostgres(path.join(this.bin, "pg_ctl"), ["-D", dir, "-m", "immediate", "-w", "stop"]).catch(() => undefined);
            }
        }
        await this.s3.stop();
        fs.rmSync(this.root, { recursive: true, force: true });
    }
}
