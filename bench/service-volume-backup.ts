/**
 * Backup of a service's own Docker volume (issue 11) by components/scripts/backup.sh, against a
 * bare `tar | sha256sum` of the same directory, on the machine's Docker engine and an
 * S3-compatible server (s3rver) on loopback.
 *
 *   node --require sucrase/register/ts bench/service-volume-backup.ts
 *
 * Environment: BENCH_VOLUME_MB (size of the volume's data, default 200), BENCH_RUNS (timed runs
 * of each, default 3; the median is reported).
 *
 * Figures printed:
 *   - bare: `tar -C <mountpoint> -cf - . | sha256sum` wall time (the floor: the same archive,
 *     hashed, written nowhere);
 *   - backup job: backup.sh wall time for the volume (its running container paused while tar
 *     writes the archive to the work directory, unpaused, then streamed through sha256sum and
 *     wc into a multipart upload, size check, manifest, sidecar, OK report), and the ratio
 *     job / bare;
 *   - pause: how long the container that mounts the volume was paused (the service's only
 *     cost: frozen, not stopped), from `docker events`.
 * The data is half random (incompressible) and half text, in files of 1 to 8 MB and many small
 * ones. The S3 server is on loopback, so a real store's network time is not included.
 */
import { execFile, spawn } from "child_process";
import { promisify } from "util";
import { docker, ensureDockerEngine, ensureTestImage, removeTestContainers, RUN_ID, startContainer, testContainerName } from "../test/integration/helpers/docker";
import { S3Server } from "../test/integration/helpers/s3-server";
import { runScript, scripts } from "../test/integration/helpers/s3-scripts";
import { WebhookReceiver } from "../test/integration/helpers/webhook-receiver";

const run = promisify(execFile);
const volumeMb = Number(process.env.BENCH_VOLUME_MB ?? 200);
const runs = Number(process.env.BENCH_RUNS ?? 3);

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
}

async function timed(f: () => Promise<unknown>): Promise<number> {
    const t0 = process.hrtime.bigint();
    await f();
    return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function main(): Promise<void> {
    await ensureDockerEngine();
    await ensureTestImage();
    const volume = `bench-${RUN_ID}-data`;
    const writer = testContainerName("bench-writer");
    const receiver = await new WebhookReceiver().start();
    const s3 = await new S3Server().start();
    try {
        await docker(["volume", "create", volume]);
        const half = Math.floor(volumeMb / 2);
        await docker(
            ["run", "--rm", "-v", `${volume}:/data`, "vps-test/busybox:local", "sh", "-c",
                `i=0; while [ $i -lt ${half} ]; do head -c 1048576 /dev/urandom >/data/blob-$i.bin; i=$((i+1)); done; ` +
                `mkdir -p /data/text; j=0; while [ $j -lt ${half * 16} ]; do yes "line $j of a text file the service wrote" | head -c 65536 >/data/text/t-$j.txt; j=$((j+1)); done`],
            { timeoutMs: 600_000 },
        );
        const mountpoint = await docker(["volume", "inspect", "--format", "{{.Mountpoint}}", volume]);
        const { stdout: du } = await run("du", ["-sm", mountpoint]);
        await startContainer(writer, { extraArgs: ["-v", `${volume}:/data`] });
        const env = { ...s3.env("bench/volume/"), DB_ACCESS: "docker", BACKUP_POSTGRES: "", BACKUP_REDIS: "", BACKUP_VOLUMES: volume, ALERT_WEBHOOK_URL: receiver.url };

        const bare: number[] = [];
        const job: number[] = [];
        const paused: number[] = [];
        for (let i = 0; i < runs; i++) {
            bare.push(await timed(() => run("bash", ["-c", `tar -C '${mountpoint}' -cf - . | sha256sum >/dev/null`], { maxBuffer: 1 << 20 })));
            const since = Math.floor(Date.now() / 1000);
            const t = await timed(async () => {
                const r = await runScript(scripts.backup, [], env, 900_000);
                if (r.code !== 0) throw new Error(`backup.sh exited ${r.code}: ${r.stderr}`);
            });
            job.push(t);
            const events = await new Promise<string>((resolve) => {
                const p = spawn("docker", ["events", "--since", String(since), "--until", String(Math.floor(Date.now() / 1000) + 1), "--filter", `container=${writer}`, "--format", "{{.Action}} {{.TimeNano}}"]);
                let out = "";
                p.stdout.on("data", (d) => (out += d));
                p.on("exit", () => resolve(out));
            });
            const pause = /pause (\d+)/.exec(events);
            const unpause = /unpause (\d+)/.exec(events);
            if (pause && unpause) paused.push((Number(unpause[1]) - Number(pause[1])) / 1e9);
        }
        const [b, j] = [median(bare), median(job)];
        console.log(`service volume: ${du.split("\t")[0]} MB on disk (${volumeMb} MB of data: half random, half text), ${runs} runs, medians`);
        console.log(`bare tar | sha256sum:  ${b.toFixed(2)} s`);
        console.log(`backup job:            ${j.toFixed(2)} s (tar to the work directory with the writer paused, then sha256 + upload + checks)`);
        console.log(`ratio job / bare:      ${(j / b).toFixed(2)}`);
        if (paused.length) console.log(`writer paused for:     ${median(paused).toFixed(2)} s (median of ${paused.length})`);
    } finally {
        await removeTestContainers();
        await docker(["volume", "rm", "--force", volume]).catch(() => undefined);
        await receiver.stop();
        await s3.stop();
        s3.remove();
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
