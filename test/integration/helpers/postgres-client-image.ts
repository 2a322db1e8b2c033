import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";

const run = promisify(execFile);

/**
 * A Docker image holding this machine's PostgreSQL client programs (pg_dump, pg_restore,
 * psql, createdb, dropdb), redis-cli, redis-check-rdb and redis-server (the weekly Redis load test
 * runs a scratch server from the Redis container's image) and a static busybox (sh, mktemp,
 * cat, rm, sleep, grep, tail), with
 * the shared libraries they load: what the scripts `docker exec` into on the VPS, built
 * here with `docker import` because no image registry is reachable. A container of it on
 * the host network, with PGHOST=127.0.0.1 in its environment, reaches the machine's
 * PostgreSQL and Redis the way a database container reaches its own server.
 */
export async function buildDbClientImage(tag: string): Promise<void> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "db-client-image-"));
    try {
        const pgBin = path.join("/usr/lib/postgresql", fs.readdirSync("/usr/lib/postgresql").sort((a, b) => Number(a) - Number(b)).pop()!, "bin");
        const programs = [
            ...["pg_dump", "pg_restore", "psql", "createdb", "dropdb"].map((p) => path.join(pgBin, p)),
            "/usr/bin/redis-cli",
            "/usr/bin/redis-check-rdb",
            "/usr/bin/redis-server",
        ];
        for (const dir of ["bin", "usr/bin", "etc", "tmp"]) {
            fs.mkdirSync(path.join(root, dir), { recursive: true });
        }
        fs.chmodSync(path.join(root, "tmp"), 0o1777);
        fs.copyFileSync("/bin/busybox", path.join(root, "bin", "busybox"));
        fs.chmodSync(path.join(root, "bin", "busybox"), 0o755);
        for (const applet of ["sh", "mktemp", "cat", "rm", "sleep", "grep", "tail"]) {
            fs.symlinkSync("busybox", path.join(root, "bin", applet));
        }
        const libs = new Set<string>();
        for (const p of programs) {
            fs.copyFileSync(p, path.join(root, "usr", "bin", path.basename(p)));
            fs.chmodSync(path.join(root, "usr", "bin", path.basename(p)), 0o755);
            const { stdout } = await run("ldd", [p]);
            for (const m of stdout.matchAll(/(\/\S+)/g)) {
                libs.add(m[1]);
            }
        }
        for (const lib of libs) {
            fs.mkdirSync(path.join(root, path.dirname(lib)), { recursive: true });
            fs.copyFileSync(fs.realpathSync(lib), path.join(root, lib));
        }
        fs.writeFileSync(path.join(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
        await run("bash", ["-c", 'set -o pipefail; tar -C "$1" -c . | docker import - "$2" >/dev/null', "-", root, tag]);
    } finally {
        fs.rmSync(root, { recursive: true, force: true });
    }
}

/** Starts a container of the image on the host network that just sleeps (the scripts exec into it). */
export async function startDbClientContainer(name: string, tag: string): Promise<void> {
    await run("docker", ["rm", "-f", name]).catch(() => undefined);
    await run("docker", ["run", "-d", "--name", name, "--network", "host", "-e", "PGHOST=127.0.0.1", "-e", "PGPORT=5432", tag, "/bin/sleep", "3600"]);
}

export async function removeDbClientContainer(name: string, tag: string): Promise<void> {
    await run("docker", ["rm", "-f", name]).catch(() => undefined);
    await run("docker", ["rmi", tag]).catch(() => undefined);
}
