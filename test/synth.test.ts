import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import type { SynthResource, SynthResult } from "../tools/synth/synthesize";
import { runPolicyPack } from "../policies/synth-check";
import { runScript, SynthRun, synthOnce, synthShippedStack, synthTmp } from "./helpers/synth";

const ROOT = path.resolve(__dirname, "..");
const results: Record<string, SynthResult> = {};
const runs: Record<string, SynthRun> = {};

async function record(label: string, run: Promise<SynthRun>) {
    runs[label] = await run;
    if (runs[label].result) results[label] = runs[label].result!;
}

const ofType = (r: SynthResult, type: string) => r.resources.filter((x) => x.type === type);
const containers = (r: SynthResult) => ofType(r, "docker:index/container:Container");
const label = (c: SynthResource, key: string) => (c.props.labels as { label: string; value: string }[]).find((l) => l.label === key)?.value;

describe("offline synth of the shipped stacks", function () {
    before(async function () {
        this.timeout(120000);
        await Promise.all([
            record("staging", synthShippedStack("staging")),
            record("staging-again", synthOnce("staging-again", ["--stack", "staging", "--quiet"])),
            record("production-file", synthOnce("production-file", ["--config-file", path.join(ROOT, "Pulumi.production.yaml"), "--quiet"])),
            record("production", synthShippedStack("production")),
        ]);
    });

    it("succeeds for both stacks and names the stack from --stack or the file name", () => {
        for (const label of ["staging", "production", "production-file"]) {
            assert.equal(runs[label].code, 0, runs[label].stderr);
            assert.equal(results[label].stack, label.replace("-file", ""));
            assert.equal(results[label].project, "vps-stacks");
        }
    });

    it("prints the component tree with lifecycle options", () => {
        const out = runs.staging.stdout;
        assert.match(out, /stack vps-stacks\/staging \(\d+ resources\)/);
        assert.match(out, /vps:index:PostgresService {2}shop-staging-postgres/);
        assert.match(out, /│ {2}│ {2}└─ docker:index\/volume:Volume {2}shop-staging-postgres-data-volume {2}\[retainOnDelete\]/);
    });

    it("writes every resource with urn, type, name, parent, props and options", () => {
        for (const r of results.staging.resources) {
            assert.match(r.urn, /^urn:pulumi:staging::vps-stacks::/);
            for (const key of ["protect", "retainOnDelete", "dependsOn", "deleteBeforeReplace"]) assert.ok(key in r.options, `${r.urn} lacks ${key}`);
            assert.ok(r.parent === null || r.parent.startsWith("urn:pulumi:"), r.urn);
        }
    });

    it("retains every staging volume on delete and protects none", () => {
        const volumes = ofType(results.staging, "docker:index/volume:Volume");
        assert.ok(volumes.length >= 2);
        for (const v of volumes) {
            assert.equal(v.options.retainOnDelete, true, v.name);
            assert.equal(v.options.protect, false, v.name);
        }
        assert.ok(results.staging.resources.every((r) => !r.options.protect), "nothing in staging is protected: destroy must pass");
    });

    it("retains and protects every production volume", () => {
        const volumes = ofType(results.production, "docker:index/volume:Volume");
        assert.ok(volumes.length >= 2);
        for (const v of volumes) {
            assert.equal(v.options.retainOnDelete, true, v.name);
            assert.equal(v.options.protect, true, v.name);
        }
    });

    it("gives volumes the same deterministic names in two synths of one stack", () => {
        const names = (r: SynthResult) => ofType(r, "docker:index/volume:Volume").map((v) => v.props.name).sort();
        assert.deepEqual(names(results["staging-again"]), names(results.staging));
        // The certificates are the host stack's (vps1-acme): an attached environment has none;
        // pgbackrest: the spool and log of point-in-time recovery (postgres.pitr).
        assert.deepEqual(names(results.staging), ["shop-staging-pgbackrest", "shop-staging-postgres-data", "shop-staging-redis-data"]);
        assert.deepEqual(results.staging.outputs.dataVolumeNames, names(results.staging));
    });

    it("keeps the two environments apart: no shared volume or network name", () => {
        const names = (r: SynthResult, type: string) => ofType(r, type).map((x) => x.props.name);
        for (const type of ["docker:index/volume:Volume", "docker:index/network:Network"]) {
            const overlap = names(results.staging, type).filter((n) => names(results.production, type).includes(n));
            assert.deepEqual(overlap, [], type);
        }
    });

    it("gives each environment one health-check job and a backup job covering every database volume", () => {
        for (const stack of ["staging", "production"]) {
            const r = results[stack];
            assert.equal(ofType(r, "vps:index:HealthCheckJob").length, 1, stack);
            const backups = ofType(r, "vps:index:BackupJob");
            assert.equal(backups.length, 1, stack);
            assert.deepEqual((backups[0].props.volumes as string[]).sort(), [`shop-${stack}-postgres-data`, `shop-${stack}-redis-data`]);
        }
    });

    it("matches a bucket with a generated name to its settings by parent, so the bucket policies still pass", () => {
        const graph: SynthResult = JSON.parse(JSON.stringify(results.staging));
        const bucket = ofType(graph, "aws:s3/bucket:Bucket")[0];
        const generated = "shop-staging-backups-20261121abcdef";
        const literal = bucket.props.bucket;
        delete bucket.props.bucket;
        bucket.props.bucketPrefix = "shop-staging-backups-";
        for (const r of graph.resources) if (r.props.bucket === literal) r.props.bucket = generated;
        const bucketPolicies = (v: { policyName: string }) => v.policyName.startsWith("backup-bucket-");
        assert.deepEqual(runPolicyPack(graph.resources, { stack: "staging" }).violations.filter(bucketPolicies), []);
        // Without the parent link the settings belong to no bucket, and the policies say so.
        for (const r of graph.resources) if (r.props.bucket === generated) r.parent = null;
        assert.ok(runPolicyPack(graph.resources, { stack: "staging" }).violations.filter(bucketPolicies).length >= 4);
    });

    for (const stack of ["staging", "production"]) {
        it(`publishes no host port: the host stack's proxy routes it (${stack})`, () => {
            const publishing = containers(results[stack]).filter((c) => Array.isArray(c.props.ports) && c.props.ports.length > 0);
            assert.deepEqual(publishing.map((c) => c.name), []);
        });

        it(`keeps data services on the internal network only, PostgreSQL also on its route to the PITR store (${stack})`, () => {
            const data = containers(results[stack]).filter((c) => ["postgres", "redis"].includes(label(c, "vps.role")!));
            assert.equal(data.length, 2);
            for (const c of data) {
                const expected = label(c, "vps.role") === "postgres" ? [`shop-${stack}-internal`, `shop-${stack}-pitr`] : [`shop-${stack}-internal`];
                assert.deepEqual((c.props.networksAdvanced as any[]).map((n) => n.name), expected);
            }
            // Reaching the store takes a network that is not internal; only PostgreSQL joins it.
            const pitr = ofType(results[stack], "docker:index/network:Network").find((n) => n.props.name === `shop-${stack}-pitr`)!;
            assert.notEqual(pitr.props.internal, true);
            const onPitr = containers(results[stack]).filter((c) => (c.props.networksAdvanced as any[]).some((n) => n.name === `shop-${stack}-pitr`));
            assert.deepEqual(onPitr.map((c) => label(c, "vps.role")), ["postgres"]);
            const internal = ofType(results[stack], "docker:index/network:Network").find((n) => n.props.name === `shop-${stack}-internal`)!;
            assert.equal(internal.props.internal, true);
        });

        it(`gives every container a healthcheck, wait, limits and log rotation (${stack})`, () => {
            const list = containers(results[stack]);
            assert.equal(list.length, 4);
            for (const c of list) {
                const p = c.props as any;
                assert.ok(p.healthcheck?.tests?.length >= 2, `${c.name} healthcheck`);
                assert.equal(p.wait, true, `${c.name} wait`);
                assert.ok(p.waitTimeout > 0, `${c.name} waitTimeout`);
                assert.ok(p.memory > 0, `${c.name} memory`);
                assert.ok(Number(p.cpus) > 0, `${c.name} cpus`);
                assert.equal(p.logDriver, "json-file", `${c.name} log driver`);
                assert.deepEqual(Object.keys(p.logOpts).sort(), ["max-file", "max-size"], `${c.name} log rotation`);
                assert.equal(p.privileged, false, `${c.name} privileged`);
                assert.notEqual(p.networkMode, "host", `${c.name} host network`);
            }
        });

        it(`never writes a secret value in plain text (${stack})`, () => {
            const text = runs[stack].text!;
            // Every secure value of the stack file becomes a placeholder; none may leak.
            assert.doesNotMatch(text, /synth-placeholder-/);
            // Nor the backup credential's secret access key the mocks hand out.
            assert.doesNotMatch(text, /synth-secret-/);
            assert.match(text, /"DATABASE_PASSWORD=\[secret\]"/);
            assert.match(text, /"POSTGRES_PASSWORD=\[secret\]"/);
        });
    }
});

describe("offline synth of a bad configuration", function () {
    this.timeout(60000);

    it("exits 1 listing every bad key path, without a stack trace", async () => {
        const bad = path.join(synthTmp, "Pulumi.broken.yaml");
        const text = fs
            .readFileSync(path.join(ROOT, "Pulumi.staging.yaml"), "utf8")
            .replace("port: 8080", "port: 80800")
            .replace("memory: 512m", "memory: lots")
            .replace("shop-web:sha-3f2c1e7", "shop-web:latest");
        fs.writeFileSync(bad, text);
        const run = await runScript("tools/synth/cli.ts", ["--config-file", bad]);
        assert.equal(run.code, 1);
        assert.match(run.stderr, /Invalid configuration for stack "broken"/);
        assert.match(run.stderr, /services\.backend\.port: /);
        assert.match(run.stderr, /services\.backend\.memory: /);
        assert.match(run.stderr, /services\.frontend\.image: /);
        assert.doesNotMatch(run.stderr, /^\s+at /m);
    });

    it("exits 2 with usage for a missing stack file or bad arguments", async () => {
        const missing = await runScript("tools/synth/cli.ts", ["--stack", "nonexistent"]);
        assert.equal(missing.code, 2);
        assert.match(missing.stderr, /Pulumi\.nonexistent\.yaml: no such stack config file/);
        const both = await runScript("tools/synth/cli.ts", []);
        assert.equal(both.code, 2);
        assert.match(both.stderr, /usage: npm run synth/);
    });
});
