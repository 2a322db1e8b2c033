/**
 * Benchmark: detection-to-healthy time of the health-check job for a failed container.
 *
 * Run (needs the local Docker engine of .ci/setup.d/30-docker-engine.sh, as root):
 *     node --require sucrase/register/ts bench/health-check-heal.ts [iterations]
 *
 * What it does, per iteration (default 5): starts from a healthy test container (busybox image
 * built locally, Docker healthcheck every 1 s, 1 retry), breaks it, waits until Docker reports
 * it "unhealthy", then runs components/scripts/health-check.sh once with its defaults
 * (HC_RESTART_WAIT_SECONDS=30, HC_POLL_SECONDS=2, budget 3/hour) and times:
 *   - the job run from its start (the detection) until it exits having verified the heal;
 *   - from the run's start until Docker itself reports the container "healthy" again
 *     (watched from outside, every 100 ms).
 * These are MEASURED. The timer's share is DERIVED, not measured: the job runs on a systemd
 * timer (default every minute, AccuracySec=1s), so a failure waits a uniformly distributed
 * 0-60 s for the next run: 30 s on average, 60 s at worst.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    breakContainer,
    ensureDockerEngine,
    ensureTestImage,
    healthStatus,
    removeTestContainers,
    startContainer,
    testContainerName,
    waitForHealth,
} from "../test/integration/helpers/docker";

const script = path.join(__dirname, "..", "components", "scripts", "health-check.sh");
const TIMER_INTERVAL_S = 60;

function runJob(env: Record<string, string>): Promise<{ code: number; out: string }> {
    return new Promise((resolve) => {
        execFile(script, [], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, timeout: 300_000 }, (err, stdout, stderr) => {
            resolve({ code: err ? Number((err as any).code) : 0, out: stdout + stderr });
        });
    });
}

/** Resolves with the ms since `t0` at which the container is first seen healthy (polls every 100 ms). */
async function watchHealthy(name: string, t0: number, timeoutMs: number): Promise<number> {
    while (Date.now() - t0 < timeoutMs) {
        if ((await healthStatus(name).catch(() => "")) === "healthy") return Date.now() - t0;
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${name} not healthy within ${timeoutMs} ms`);
}

const stats = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    return { min: s[0], median, mean: s.reduce((a, b) => a + b, 0) / s.length, max: s[s.length - 1] };
};
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<void> {
    const iterations = Number(process.argv[2] ?? 5);
    await ensureDockerEngine();
    await ensureTestImage();
    const name = testContainerName("bench");
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "hc-bench-"));
    const dockerDetect: number[] = [];
    const runMs: number[] = [];
    const healthyMs: number[] = [];
    try {
        await startContainer(name);
        await waitForHealth(name, "healthy");
        for (let i = 0; i < iterations; i++) {
            // A fresh ledger each time: the benchmark measures a heal, not the restart budget.
            fs.rmSync(path.join(stateDir, `restarts-${name}`), { force: true });
            await breakContainer(name);
            dockerDetect.push(await waitForHealth(name, "unhealthy"));
            const t0 = Date.now();
            const [job, healthy] = await Promise.all([
                runJob({ HC_CONTAINERS: name, HC_STATE_DIR: stateDir }),
                watchHealthy(name, t0, 120_000),
            ]);
            const took = Date.now() - t0;
            if (job.code !== 0 || !/healed/.test(job.out)) {
                throw new Error(`iteration ${i + 1}: the job did not heal the container (exit ${job.code}):\n${job.out}`);
            }
            runMs.push(took);
            healthyMs.push(healthy);
            console.log(`iteration ${i + 1}: job run ${sec(took)}, container healthy ${sec(healthy)} after the run started`);
        }
    } finally {
        await removeTestContainers().catch(() => undefined);
        fs.rmSync(stateDir, { recursive: true, force: true });
    }

    const run = stats(runMs);
    const healthy = stats(healthyMs);
    const detect = stats(dockerDetect);
    console.log("");
    console.log(`MEASURED (${iterations} iterations, local Docker engine, container healthcheck every 1 s):`);
    console.log(`  run start -> container healthy (Docker):  median ${sec(healthy.median)}  min ${sec(healthy.min)}  max ${sec(healthy.max)}`);
    console.log(`  run start -> job exits, heal verified:    median ${sec(run.median)}  min ${sec(run.min)}  max ${sec(run.max)}`);
    console.log(`  break -> Docker reports unhealthy:         median ${sec(detect.median)}  (depends on the container's own healthcheck interval x retries)`);
    console.log("");
    console.log(`DERIVED (not measured) for the default timer, every ${TIMER_INTERVAL_S} s:`);
    console.log(`  timer wait: mean ${TIMER_INTERVAL_S / 2} s, worst ${TIMER_INTERVAL_S} s (uniform over the interval)`);
    console.log(`  failure seen by Docker -> healthy, mean:  ${sec((TIMER_INTERVAL_S / 2) * 1000 + healthy.median)}  (30 s + measured median)`);
    console.log(`  failure seen by Docker -> healthy, worst: ${sec(TIMER_INTERVAL_S * 1000 + healthy.max)}  (60 s + measured max)`);
    console.log(`  same with the replaced setups' 15-minute cron: mean ${sec(450_000 + healthy.median)}, worst ${sec(900_000 + healthy.max)}`);
}

main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
