import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import * as defaults from "../components/defaults";
import { HOST_CONFIG_KEYS } from "../config/host-stack";
import { CONFIG_KEYS } from "../config/parse";
import { withPolicyTable } from "../policies/readme-table";

const ROOT = path.resolve(__dirname, "..");
const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");

describe("README", () => {
    it("lists every policy of the pack with its level and config, as generated from the pack", () => {
        assert.equal(readme, withPolicyTable(readme), "run: node -r sucrase/register/ts policies/readme-table.ts --write");
    });

    it("documents every config key the schema accepts and every key Pulumi.yaml declares", () => {
        const project = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
        for (const key of new Set([...CONFIG_KEYS, ...HOST_CONFIG_KEYS, ...Object.keys(project.config)])) {
            assert.match(readme, new RegExp("`" + key + "`|### `" + key + "`|`" + key + "\\.|, `" + key + "`"), `README documents ${key}`);
        }
    });

    it("names in its layout table only paths that exist, and every source folder and module", () => {
        const table = readme.slice(readme.indexOf("## Layout\n"), readme.indexOf("## How an environment is built"));
        const rows = [...table.matchAll(/^\| (.+?) \| (.+) \|$/gm)].map((m) => ({ paths: [...m[1].matchAll(/`([^`]+)`/g)].map((p) => p[1]), holds: m[2] }));
        const listed = rows.flatMap((r) => r.paths);
        for (const row of rows) {
            for (const p of row.paths) assert.ok(fs.existsSync(path.join(ROOT, p)), `the layout names ${p}, which does not exist`);
            // Files named in a folder's row are files of that folder.
            const dir = row.paths.length === 1 && row.paths[0].endsWith("/") ? row.paths[0] : undefined;
            if (!dir || ["test/", "bench/", ".github/workflows/", "docs/"].includes(dir)) continue;
            for (const [, name] of row.holds.matchAll(/`([\w.-]+\.(?:ts|sh|yaml))`/g)) {
                assert.ok(fs.existsSync(path.join(ROOT, dir, name)), `${dir} holds ${name}, says the layout; it does not`);
            }
        }
        const folders = fs.readdirSync(ROOT, { withFileTypes: true }).filter((e) => e.isDirectory() && !["node_modules", "bin", ".git"].includes(e.name));
        for (const folder of folders) assert.ok(listed.some((p) => p === `${folder.name}/` || p.startsWith(`${folder.name}/`)), `the layout does not name ${folder.name}/`);
        for (const mod of fs.readdirSync(path.join(ROOT, "components"), { withFileTypes: true }).filter((e) => e.isDirectory())) {
            assert.ok(listed.includes(`components/${mod.name}/`), `the layout does not name components/${mod.name}/`);
        }
    });

    it("maps every component type to its file, in the layout table and in ARCHITECTURE.md", () => {
        const architecture = fs.readFileSync(path.join(ROOT, "ARCHITECTURE.md"), "utf8");
        const files = (dir: string): string[] =>
            fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.posix.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.posix.join(dir, e.name)] : []));
        let types = 0;
        for (const file of files("components")) {
            for (const [, type] of fs.readFileSync(path.join(ROOT, file), "utf8").matchAll(/super\(\s*"vps:index:(\w+)"/g)) {
                types++;
                assert.ok(architecture.includes(`| \`vps:index:${type}\` | \`${file}\` |`), `ARCHITECTURE.md maps vps:index:${type} to ${file}`);
                const row = `| \`${path.posix.dirname(file)}/\` |`;
                const line = readme.split("\n").find((l) => l.startsWith(row));
                assert.ok(line?.includes(`\`${path.posix.basename(file)}\` (${type})`), `the README's layout row of ${path.posix.dirname(file)}/ names ${path.posix.basename(file)} (${type})`);
            }
        }
        assert.equal(types, 25);
    });

    it("states in the configuration reference, and Pulumi.yaml in its descriptions, the defaults of components/defaults.ts", () => {
        const d = defaults;
        /** The default column of key `key` in the table under the heading that starts with `heading`. */
        const defaultOf = (heading: string, key: string): string => {
            const section = readme.slice(readme.indexOf(`\n${heading}`));
            const row = section.split("\n").find((l) => l.startsWith(`| \`${key}\` |`));
            assert.ok(row, `no row ${key} under ${heading}`);
            return row.split(" | ")[2];
        };
        const logs = `\`{${d.LOG_ROTATION.maxSize}, ${d.LOG_ROTATION.maxFile}}\``;
        const expected: [string, string, string][] = [
            ["### `host`", "sshPort", `\`${d.SSH_PORT}\``],
            ["### `proxy`", "acmeChallenge", `\`${d.ACME_CHALLENGE}\``],
            ["### `proxy`", "memory", `\`${d.PROXY_LIMITS.memoryMb}m\``],
            ["### `proxy`", "cpus", `\`${d.PROXY_LIMITS.cpus}\``],
            ["### `proxy`", "logs", logs],
            ["### `services.<name>`", "cpus", `\`${d.SERVICE_CPUS}\``],
            ["### `services.<name>`", "restart", `\`${d.CONTAINER_RESTART}\``],
            ["### `services.<name>`", "healthTimeoutSeconds", `\`${d.HEALTH_TIMEOUT_SECONDS}\``],
            ["### `services.<name>`", "logs", logs],
            ["### `postgres`, `redis`", "cpus", `\`${d.DATA_SERVICE_CPUS}\``],
            ["### `postgres`, `redis`", "logs", logs],
            ["### `postgres`, `redis`", "healthTimeoutSeconds", `\`${d.HEALTH_TIMEOUT_SECONDS}\``],
            ["### `alerts`", "alerts.format", `\`${d.ALERTS.format}\``],
            ["### `alerts`", "alerts.reminderMinutes", `\`${d.ALERTS.reminderMinutes}\``],
            ["### `alerts`", "backup.schedule", `\`${d.BACKUP_SCHEDULES.schedule}\``],
            ["### `alerts`", "backup.restoreCheckSchedule", `\`${d.BACKUP_SCHEDULES.restoreCheckSchedule}\``],
            ["### `alerts`", "backup.freshnessCheckSchedule", `\`${d.BACKUP_SCHEDULES.freshnessCheckSchedule}\``],
            ["### `alerts`", "backup.maxAgeHours", `+ ${d.BACKUP_AGE_SLACK_HOURS} (\`${d.MAX_BACKUP_AGE_HOURS}\` for a daily one)`],
            ["### `alerts`", "healthCheck.schedule", `\`${d.HEALTH_CHECK.schedule}\``],
            ["### `alerts`", "healthCheck.restartWaitSeconds", `\`${d.HEALTH_CHECK.restartWaitSeconds}\``],
            ["### `alerts`", "healthCheck.restartBudgetPerHour", `\`${d.HEALTH_CHECK.restartBudgetPerHour}\``],
            ["### `alerts`", "healthCheck.insecureTls", `\`${d.HEALTH_CHECK.insecureTls}\``],
            ["### `dns`", "ttl", `\`${d.DNS_TTL}\``],
            ["### Host stack", "jobs.imagePrune.schedule", `\`${d.IMAGE_PRUNE.schedule}\``],
            ["### Host stack", "jobs.imagePrune.keepPerRepository", `\`${d.IMAGE_PRUNE.keepPerRepository}\``],
            ["### Host stack", "jobs.diskUsage.schedule", `\`${d.DISK_USAGE.schedule}\``],
            ["### Host stack", "jobs.diskUsage.thresholdPercent", `\`${d.DISK_USAGE.thresholdPercent}\``],
            ["### Host stack", "jobs.diskUsage.paths", `\`${JSON.stringify(d.DISK_USAGE.paths).replace(/,/g, ", ")}\``],
            ["### Host stack", "jobs.edgeCheck.schedule", `\`${d.EDGE_CHECK.schedule}\``],
            ...(["enabled", "rpoMinutes", "retentionDays", "queueMax", "fullSchedule", "diffSchedule", "lagCheckSchedule", "markerSchedule", "restoreCheckSchedule", "passphraseKey"] as const).map(
                (key): [string, string, string] => ["### `postgres.pitr`", key, `\`${d.PITR[key]}\``],
            ),
        ];
        for (const [heading, key, value] of expected) assert.ok(defaultOf(heading, key).includes(value), `README ${heading} ${key}: ${defaultOf(heading, key)} lacks ${value}`);
        const r = d.BACKUP_RETENTION;
        assert.equal(
            defaultOf("### `backupStorage`", "retention"),
            `daily ${r.dailyDays}, weekly ${r.weeklyDays}, monthly ${r.monthlyDays}, noncurrent ${r.noncurrentVersionDays}, incomplete uploads ${r.abortIncompleteUploadDays} (days)`,
        );
        const hc = d.SERVICE_HEALTHCHECK;
        const healthcheckRow = readme.split("\n").find((l) => l.startsWith("| `healthcheck` | map |"))!;
        for (const [k, v] of Object.entries(hc)) assert.ok(healthcheckRow.includes(`\`${k}\` (\`${v}\`)`), `README healthcheck ${k} (${v})`);
        const declared = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")).config;
        assert.match(declared.host.description, new RegExp(`sshPort \\(${d.SSH_PORT}\\)`));
    });

    it("gives the test command .ci/run runs", () => {
        const ci = fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8");
        const command = /^\((npm ci && npm run test:all)\) 2>&1 \| tee "\$log"/m.exec(ci)?.[1];
        assert.ok(command, ".ci/run runs npm ci && npm run test:all");
        assert.ok(readme.includes(`\n${command}\n`), "the README shows the same command on a line of its own");
    });
});
