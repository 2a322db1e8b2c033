import { execFile, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";

const exec = promisify(execFile);

/**
 * Test containers on the local Docker engine that .ci/setup.d/30-docker-engine.sh starts.
 * No registry is reachable, so the one image is made here: `docker import` of a root
 * filesystem holding Debian's busybox-static (every applet as a symlink) and the `/lib`
 * symlinks a merged-/usr host's binaries need when /usr is mounted in.
 */

/** The docker client the tests and the health-check script use. */
export const DOCKER = process.env.DOCKER ?? "docker";
/** The image every test container runs. */
export const TEST_IMAGE = "vps-test/busybox:local";
/** Label on every test container, so a test run can clean up after an aborted one. */
export const TEST_LABEL = "vps.test=health-check";
/**
 * This process's own label value: several test runs may share one engine (engineers and CI on
 * one machine), so each names and removes only its own containers.
 */
export const RUN_ID = `${process.pid}-${Date.now().toString(36)}`;

/** A container name unique to this test run: `hc-<run>-<role>`. */
export function testContainerName(role: string): string {
    return `hc-${RUN_ID}-${role}`;
}

/** A free TCP port on 127.0.0.1 (for a container's httpd on the host network). */
export async function freePort(): Promise<number> {
    const net = await import("net");
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const { port } = srv.address() as import("net").AddressInfo;
            srv.close(() => resolve(port));
        });
    });
}

export async function docker(args: string[], opts: { timeoutMs?: number } = {}): Promise<string> {
    const { stdout } = await exec(DOCKER, args, { timeout: opts.timeoutMs ?? 120_000, maxBuffer: 16 << 20 });
    return stdout.trim();
}

/** Throws with the fix when no engine answers. */
export async function ensureDockerEngine(): Promise<void> {
    try {
        await docker(["info", "--format", "{{.ServerVersion}}"], { timeoutMs: 20_000 });
    } catch (e) {
        throw new Error(`no Docker engine answers (${(e as Error).message.split("\n")[0]}): run .ci/setup.d/30-docker-engine.sh as root`);
    }
}

/** Builds TEST_IMAGE once (kept between runs). */
export async function ensureTestImage(): Promise<string> {
    try {
        await docker(["image", "inspect", TEST_IMAGE]);
        return TEST_IMAGE;
    } catch {
        // not built yet
    }
    const busybox = "/bin/busybox";
    if (!fs.existsSync(busybox)) {
        throw new Error("/bin/busybox is missing: install Debian's busybox-static (.ci/setup.d/30-docker-engine.sh)");
    }
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "vps-busybox-root-"));
    try {
        for (const d of ["bin", "tmp", "proc", "sys", "dev", "etc", "www", "run", "var/run"]) {
            fs.mkdirSync(path.join(root, d), { recursive: true });
        }
        fs.copyFileSync(busybox, path.join(root, "bin", "busybox"));
        fs.chmodSync(path.join(root, "bin", "busybox"), 0o755);
        const { stdout } = await exec(busybox, ["--list"]);
        for (const applet of stdout.split("\n").filter((a) => a && a !== "busybox")) {
            fs.symlinkSync("busybox", path.join(root, "bin", applet));
        }
        // With the host's /usr mounted read-only, its dynamically linked tools (pg_isready,
        // redis-cli) find their loader and libraries through these.
        fs.symlinkSync("usr/lib", path.join(root, "lib"));
        fs.symlinkSync("usr/lib64", path.join(root, "lib64"));
        fs.writeFileSync(path.join(root, "etc", "passwd"), "root:x:0:0:root:/:/bin/sh\n");
        await new Promise<void>((resolve, reject) => {
            const tar = spawn("tar", ["-C", root, "-c", "."], { stdio: ["ignore", "pipe", "inherit"] });
            const imp = spawn(DOCKER, ["import", "-", TEST_IMAGE], { stdio: ["pipe", "ignore", "inherit"] });
            tar.stdout.pipe(imp.stdin);
            imp.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`docker import exited ${code}`))));
            tar.on("error", reject);
            imp.on("error", reject);
        });
    } finally {
        fs.rmSync(root, { recursive: true, force: true });
    }
    return TEST_IMAGE;
}

/**
 * The container's main process: makes the health marker (so a restart heals a container whose
 * marker was removed), serves /www with busybox httpd when a port is given, and exits at once
 * on SIGTERM so `docker restart` takes milliseconds rather than its 10 s kill timeout.
 */
function mainScript(httpPort?: number): string {
    const serve = httpPort
        ? `echo ok >/www/index.html; httpd -f -p 127.0.0.1:${httpPort} -h /www & `
        : "";
    return `trap 'exit 0' TERM; touch /tmp/ok; ${serve}while :; do sleep 1 & wait $!; done`;
}

export interface TestContainerOptions {
    /** Healthcheck command run by Docker every second; default `test -e /tmp/ok`. */
    readonly healthCmd?: string;
    /** Serve /www/index.html on 127.0.0.1:<port> (host network) with busybox httpd. */
    readonly httpPort?: number;
    /** Share the host's network namespace (loopback services); implied by httpPort. */
    readonly hostNetwork?: boolean;
    /** Extra `docker run` arguments (mounts, env). */
    readonly extraArgs?: string[];
}

/** Starts a detached test container with a 1 s healthcheck (1 retry). */
export async function startContainer(name: string, opts: TestContainerOptions = {}): Promise<void> {
    await removeContainer(name);
    await docker([
        "run", "--detach", "--name", name, "--label", TEST_LABEL, "--label", `vps.test.run=${RUN_ID}`,
        "--network", opts.httpPort || opts.hostNetwork ? "host" : "none",
        "--health-cmd", opts.healthCmd ?? "test -e /tmp/ok",
        "--health-interval", "1s", "--health-timeout", "2s", "--health-retries", "1",
        ...(opts.extraArgs ?? []),
        TEST_IMAGE, "sh", "-c", mainScript(opts.httpPort),
    ]);
}

/** Docker's health status of a container ("healthy", "unhealthy", "starting"). */
export async function healthStatus(name: string): Promise<string> {
    return docker(["inspect", "--format", "{{.State.Health.Status}}", name]);
}

/** Polls until the container's health is `status`; returns the milliseconds it took. */
export async function waitForHealth(name: string, status: string, timeoutMs = 30_000): Promise<number> {
    const t0 = Date.now();
    let last = "";
    while (Date.now() - t0 < timeoutMs) {
        last = await healthStatus(name);
        if (last === status) return Date.now() - t0;
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${name} did not become ${status} within ${timeoutMs} ms (last: ${last})`);
}

/** Makes a container started with the default healthcheck fail it (until restarted). */
export async function breakContainer(name: string): Promise<void> {
    await docker(["exec", name, "rm", "-f", "/tmp/ok"]);
}

/** When the container's main process last started: changes on every `docker restart`. */
export async function startedAt(name: string): Promise<string> {
    return docker(["inspect", "--format", "{{.State.StartedAt}}", name]);
}

export async function removeContainer(name: string): Promise<void> {
    await docker(["rm", "--force", name]).catch(() => undefined);
}

/** Removes every container this test run started. */
export async function removeTestContainers(): Promise<void> {
    const ids = (await docker(["ps", "--all", "--quiet", "--filter", `label=vps.test.run=${RUN_ID}`])).split("\n").filter(Boolean);
    if (ids.length) await docker(["rm", "--force", ...ids]);
}
