/**
 * The fault matrix of issue 10: runs every fault scenario of
 * test/integration/helpers/faults.ts against the real services (the machine's PostgreSQL and
 * Redis, an S3-compatible server on loopback, a webhook receiver, a Docker client) and prints
 * one row per fault:
 *
 *   fault | exit codes | complete-looking objects that do not verify | alerts | data lost | false OK | what happened
 *
 * Every row must read "data lost: no" and "false OK: no"; the script exits 1 when one does not.
 *
 *   node --require sucrase/register/ts bench/fault-matrix.ts
 *   VPS_JOBS_SCRIPTS_DIR=/path/to/older/components/scripts node ... bench/fault-matrix.ts   # the same faults on other scripts
 *
 * Needs root (a tmpfs is mounted for the full-disk fault; without root that row is skipped)
 * and the services of .ci/setup.d (PostgreSQL, Redis, the Docker client). Takes about a minute.
 */
import { FaultLab, FaultOutcome } from "../test/integration/helpers/faults";
import { scriptsDir } from "../test/integration/helpers/s3-scripts";

async function main(): Promise<void> {
    const lab = await new FaultLab().start();
    const rows: FaultOutcome[] = [];
    const scenarios: [string, () => Promise<FaultOutcome>][] = [
        ["full temp file system", () => lab.fullTmp()],
        ["restore --replace interrupted", () => lab.interruptedReplace()],
        ["two runs, same time", () => lab.sameTime()],
        ["future stamp", () => lab.futureStamp()],
        ["hung Docker daemon", () => lab.hungDocker()],
        ["SIGTERM mid-run", () => lab.sigterm()],
        ["world-writable env file", () => lab.envFile()],
        ["webhook 5xx / slow", () => lab.failingWebhook()],
        ["store down 2 s", () => lab.storeOutage()],
    ];
    try {
        for (const [name, run] of scenarios) {
            if (name === "full temp file system" && process.getuid?.() !== 0) {
                process.stderr.write(`skipping "${name}": mounting a tmpfs needs root\n`);
                continue;
            }
            process.stderr.write(`running: ${name}...\n`);
            rows.push(await run());
        }
    } finally {
        await lab.stop();
    }
    const yesNo = (b: boolean) => (b ? "YES" : "no");
    const table = [
        ["fault", "exit codes", "complete-looking, not verifying", "alerts", "data lost", "false OK", "what happened"],
        ...rows.map((r) => [r.fault, r.exitCodes.join(","), String(r.badCompleteObjects), String(r.alerts), yesNo(r.dataLost), yesNo(r.falseOk), r.notes.join("; ")]),
    ];
    const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
    const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
    console.log(`scripts: ${scriptsDir}`);
    console.log(line(table[0]));
    console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
    for (const row of table.slice(1)) console.log(line(row));
    const bad = rows.filter((r) => r.dataLost || r.falseOk || r.badCompleteObjects > 0);
    if (bad.length) {
        console.log(`${bad.length} fault(s) lost data or told an untruth: ${bad.map((r) => r.fault).join(", ")}`);
        process.exit(1);
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
