/**
 * The provider stand-ins' own tests: their update-versus-replace decision per resource
 * type (the rules read from the real providers' sources), auto-naming, computed outputs,
 * the world, the journal, and the gRPC wiring the engine talks to. No CLI needed.
 */
import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as grpc from "@grpc/grpc-js";
import * as os from "os";
import * as path from "path";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import { synthShippedStack } from "../helpers/synth";
import { appendEntry, JournalEntry, mutations, readJournal, replacements, urnName } from "./stand-in/journal";
import { DEFAULTS_KEY, parseUrn, StandIn } from "./stand-in/provider";
import { RULES } from "./stand-in/rules";
import { PACKAGES, pluginVersion } from "./stand-in/server";
import { isSecret, REDACTED, secret, UNKNOWN } from "./stand-in/values";
import { World } from "./stand-in/world";

/* eslint-disable @typescript-eslint/no-var-requires */
const provrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
const provproto = require("@pulumi/pulumi/proto/provider_pb");
const plugproto = require("@pulumi/pulumi/proto/plugin_pb");
const emptyproto = require("google-protobuf/google/protobuf/empty_pb");

const PLUGINS = path.resolve(__dirname, "plugins");
const urn = (type: string, name: string, parents = "vps:index:Service") => `urn:pulumi:test::vps-stacks::${parents}$${type}::${name}`;
const CONTAINER = "docker:index/container:Container";

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function sandbox() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stand-in-test-"));
    dirs.push(dir);
    const journal = path.join(dir, "journal.jsonl");
    const world = new World(path.join(dir, "world"));
    let n = 0;
    const standIn = (pkg = "docker") => new StandIn({ pkg, journal, world, random: () => `random${++n}` });
    return { dir, journal, world, standIn };
}

/** Creates a resource as the engine would (check, then create) and returns its checked inputs and id. */
function created(s: StandIn, u: string, inputs: Record<string, unknown>) {
    const checked = s.check(u, {}, inputs, "seed").inputs;
    const { id, outputs } = s.create(u, checked, false);
    return { inputs: checked, id, outputs };
}

describe("provider stand-ins", () => {
    describe("diff: update or replace, by the real providers' rules", () => {
        const cases: { type: string; base: Record<string, unknown>; change: Record<string, unknown>; expect: "update" | "replace"; why: string }[] = [
            { type: CONTAINER, base: { image: "sha256:a", memory: 512 }, change: { image: "sha256:b" }, expect: "replace", why: "image is ForceNew" },
            { type: CONTAINER, base: { image: "sha256:a", cpus: "0.5" }, change: { cpus: "1" }, expect: "replace", why: "cpus is ForceNew" },
            { type: CONTAINER, base: { image: "sha256:a", envs: ["A=1"] }, change: { envs: ["A=2"] }, expect: "replace", why: "env is ForceNew" },
            { type: CONTAINER, base: { image: "sha256:a", memory: 512 }, change: { memory: 1024 }, expect: "update", why: "memory is updated in place" },
            { type: CONTAINER, base: { image: "sha256:a", restart: "always" }, change: { restart: "unless-stopped" }, expect: "update", why: "restart is updated in place" },
            { type: CONTAINER, base: { image: "sha256:a", healthcheck: { tests: ["CMD", "a"] } }, change: { healthcheck: { tests: ["CMD", "b"] } }, expect: "update", why: "healthcheck has no ForceNew field" },
            { type: "docker:index/volume:Volume", base: { name: "v", labels: [] }, change: { labels: [{ label: "a", value: "b" }] }, expect: "replace", why: "every volume input is ForceNew" },
            { type: "docker:index/network:Network", base: { name: "n", internal: false }, change: { internal: true }, expect: "replace", why: "every network input is ForceNew" },
            { type: "docker:index/remoteImage:RemoteImage", base: { name: "a:1", keepLocally: false }, change: { keepLocally: true }, expect: "update", why: "keepLocally is updatable" },
            { type: "docker:index/remoteImage:RemoteImage", base: { name: "a:1" }, change: { name: "a:2" }, expect: "replace", why: "name is ForceNew" },
            { type: "docker:index/remoteImage:RemoteImage", base: { name: "a:1" }, change: { build: { context: "." } }, expect: "replace", why: "build's fields are ForceNew" },
            { type: "docker:index/image:Image", base: { imageName: "p:1", build: { args: { V: "1" } } }, change: { build: { args: { V: "2" } } }, expect: "update", why: "the native Image is rebuilt in place" },
            { type: "docker:index/image:Image", base: { imageName: "p:1", skipPush: true }, change: { imageName: "p:2" }, expect: "update", why: "the native Image never asks for a replacement" },
            { type: "command:remote:Command", base: { create: "a", triggers: ["1"] }, change: { triggers: ["2"] }, expect: "replace", why: "triggers is replaceOnChanges" },
            { type: "command:remote:Command", base: { create: "a", stdin: "x" }, change: { create: "b", stdin: "y" }, expect: "update", why: "only triggers replaces" },
            { type: "cloudflare:index/dnsRecord:DnsRecord", base: { zoneId: "z", type: "A", content: "1.2.3.4" }, change: { content: "1.2.3.5" }, expect: "update", why: "content is updated in place" },
            { type: "cloudflare:index/dnsRecord:DnsRecord", base: { zoneId: "z", type: "A", content: "1.2.3.4" }, change: { type: "AAAA" }, expect: "replace", why: "type RequiresReplace" },
            { type: "aws:s3/bucket:Bucket", base: { bucket: "b", tags: {} }, change: { tags: { a: "b" } }, expect: "update", why: "tags are updated in place" },
            { type: "aws:s3/bucket:Bucket", base: { bucket: "b", objectLockEnabled: false }, change: { objectLockEnabled: true }, expect: "replace", why: "object_lock_enabled is ForceNew" },
            { type: "aws:s3/bucketPolicy:BucketPolicy", base: { bucket: "b", policy: "{}" }, change: { policy: "{\"a\":1}" }, expect: "update", why: "policy is updated in place" },
            { type: "aws:s3/bucketVersioning:BucketVersioning", base: { bucket: "b" }, change: { bucket: "c" }, expect: "replace", why: "bucket is ForceNew" },
            { type: "aws:iam/user:User", base: { name: "u" }, change: { name: "v" }, expect: "update", why: "an IAM user is renamed in place" },
            { type: "aws:iam/userPolicy:UserPolicy", base: { user: "u", policy: "{}" }, change: { user: "v" }, expect: "replace", why: "user is ForceNew" },
            { type: "aws:iam/accessKey:AccessKey", base: { user: "u" }, change: { user: "v" }, expect: "replace", why: "user is ForceNew" },
        ];
        for (const c of cases) {
            it(`${c.type}: ${Object.keys(c.change).join(", ")} → ${c.expect} (${c.why})`, () => {
                const s = sandbox().standIn();
                const d = s.diff("id", urn(c.type, "r"), c.base, { ...c.base, ...c.change });
                assert.deepEqual(d.changes, Object.keys(c.change).sort());
                assert.deepEqual(d.replaces, c.expect === "replace" ? Object.keys(c.change).sort() : []);
            });
        }

        it("gives a rebuilt image a new id on update, and keeps the id of an unchanged one", () => {
            const s = sandbox().standIn();
            const type = "docker:index/image:Image";
            const inputs = { imageName: "p:1", skipPush: true, build: { args: { V: "1" } } };
            const created = s.create(urn(type, "img"), inputs, false).outputs;
            const same = s.update("p:1", urn(type, "img"), created, inputs, false);
            assert.equal(same.repoDigest, created.repoDigest);
            const rebuilt = s.update("p:1", urn(type, "img"), created, { ...inputs, build: { args: { V: "2" } } }, false);
            assert.notEqual(rebuilt.repoDigest, created.repoDigest);
            assert.match(String(rebuilt.repoDigest), /^sha256:[0-9a-f]+$/);
        });

        it("asks for delete-before-replace as the real providers do: every container, a volume or network the program named, never an update", () => {
            const s = sandbox().standIn();
            const checked = (type: string, inputs: Record<string, unknown>) => s.check(urn(type, "r"), {}, inputs, "seed").inputs;
            const dbr = (type: string, olds: Record<string, unknown>, news: Record<string, unknown>) =>
                s.diff("id", urn(type, "r"), checked(type, olds), checked(type, news)).deleteBeforeReplace;
            assert.equal(dbr(CONTAINER, { image: "a" }, { image: "b" }), true, "pulumi-docker: DeleteBeforeReplace on docker_container");
            assert.equal(dbr(CONTAINER, { image: "a", memory: 1 }, { image: "a", memory: 2 }), false, "an update is never a replacement");
            assert.equal(dbr("docker:index/volume:Volume", { name: "v", labels: [] }, { name: "v", labels: [{ label: "a", value: "b" }] }), true, "a named volume");
            assert.equal(dbr("docker:index/network:Network", { name: "n", internal: false }, { name: "n", internal: true }), true, "a named network");
            assert.equal(dbr("docker:index/remoteImage:RemoteImage", { name: "a:1" }, { name: "a:2" }), false, "an image's name is not auto-named");
            assert.equal(dbr("cloudflare:index/dnsRecord:DnsRecord", { zoneId: "z", type: "A" }, { zoneId: "z", type: "AAAA" }), false, "DNS records replace create-first");
            const cmd = sandbox().standIn("command");
            assert.equal(cmd.diff("id", urn("command:remote:Command", "c"), { triggers: ["1"] }, { triggers: ["2"] }).deleteBeforeReplace, false, "the command provider leaves it to the program");
        });

        it("auto-names a bucket unless the program gives a name or a prefix", () => {
            const s = sandbox().standIn("aws");
            const u = urn("aws:s3/bucket:Bucket", "shop-backups");
            assert.match(String(s.check(u, {}, {}, "seed").inputs.bucket), /^shop-backups-[0-9a-f]{7}$/);
            assert.equal(s.check(u, {}, { bucketPrefix: "shop-" }, "seed").inputs.bucket, undefined);
            assert.equal(s.check(u, {}, { bucket: "mine" }, "seed").inputs.bucket, "mine");
        });

        it("compares the old inputs, so computed outputs and auto-names never show as changes", () => {
            const { standIn } = sandbox();
            const s = standIn();
            const u = urn(CONTAINER, "app-container");
            const { inputs, id, outputs } = created(s, u, { image: "sha256:a", memory: 512 });
            assert.notEqual(outputs.exitCode, undefined, "the outputs hold a computed value the inputs lack");
            // The next deployment: the program sends the same inputs (no name), check keeps the auto-name.
            const again = s.check(u, inputs, { image: "sha256:a", memory: 512 }, "another-seed").inputs;
            assert.deepEqual(s.diff(id, u, inputs, again), { changes: [], replaces: [], deleteBeforeReplace: false });
        });

        it("treats an unknown value (preview) as a change, and a replacement when the key forces one", () => {
            const s = sandbox().standIn();
            const d = s.diff("id", urn(CONTAINER, "c"), { image: "sha256:a", memory: 1 }, { image: UNKNOWN, memory: 1 });
            assert.deepEqual(d.replaces, ["image"]);
        });

        it("leaves out the properties the program ignores (ignoreChanges)", () => {
            const s = sandbox().standIn();
            const d = s.diff("id", urn(CONTAINER, "c"), { image: "a", envs: ["A=1"] }, { image: "a", envs: ["A=2"] }, ["envs[0]"]);
            assert.deepEqual(d.changes, []);
        });

        it("compares a secret by its value: marking a value secret is not a change", () => {
            const s = sandbox().standIn();
            const d = s.diff("id", urn("command:remote:Command", "c"), { stdin: "x" }, { stdin: secret("x") });
            assert.deepEqual(d.changes, []);
        });
    });

    describe("check: auto-naming as the bridge does for docker `name`", () => {
        it("names an unnamed container <resource name>-<7 hex> from the engine's seed, and lists it in __defaults", () => {
            const s = sandbox().standIn();
            const u = urn(CONTAINER, "shop-staging-backend-container");
            const a = s.check(u, {}, { image: "x" }, "seed-1").inputs;
            assert.match(String(a.name), /^shop-staging-backend-container-[0-9a-f]{7}$/);
            assert.deepEqual(a[DEFAULTS_KEY], ["name"]);
            assert.equal(s.check(u, {}, { image: "x" }, "seed-1").inputs.name, a.name, "the same seed gives the same name");
        });

        it("keeps the old auto-name on an update and draws a new one when re-checked for a replacement (no old inputs)", () => {
            const s = sandbox().standIn();
            const u = urn(CONTAINER, "c");
            const first = s.check(u, {}, { image: "x" }, "seed-1").inputs;
            assert.equal(s.check(u, first, { image: "y" }, "seed-2").inputs.name, first.name);
            assert.notEqual(s.check(u, {}, { image: "y" }, "seed-2").inputs.name, first.name);
        });

        it("leaves a name the program set alone (fixed-name containers, volumes, networks)", () => {
            const s = sandbox().standIn();
            const a = s.check(urn("docker:index/volume:Volume", "v"), {}, { name: "shop-staging-postgres-data" }, "seed").inputs;
            assert.equal(a.name, "shop-staging-postgres-data");
            assert.deepEqual(a[DEFAULTS_KEY], []);
        });

        it("adds __defaults for the bridged packages only (the command provider is native)", () => {
            const { standIn } = sandbox();
            assert.deepEqual(standIn("cloudflare").check(urn("cloudflare:index/dnsRecord:DnsRecord", "r"), {}, { type: "A" }, "").inputs[DEFAULTS_KEY], []);
            assert.equal(DEFAULTS_KEY in standIn("command").check(urn("command:remote:Command", "c"), {}, { create: "x" }, "").inputs, false);
        });

        it("fails a type it has no rule for, naming the file to add it to", () => {
            const s = sandbox().standIn("aws");
            const r = s.check(urn("aws:ec2/instance:Instance", "i"), {}, {}, "");
            assert.match(r.failures[0].reason, /no rule for aws:ec2\/instance:Instance: add one to test\/engine\/stand-in\/rules\.ts/);
        });
    });

    describe("create, update, read, delete and the world", () => {
        it("returns the inputs plus the computed outputs a program reads (image id, bucket arn, access key secret)", () => {
            const { standIn } = sandbox();
            const image = created(standIn(), urn("docker:index/remoteImage:RemoteImage", "img"), { name: "postgres:16.6-alpine" });
            assert.match(String(image.outputs.imageId), /^sha256:[0-9a-f]{64}$/);
            assert.match(String(image.outputs.repoDigest), /^postgres@sha256:[0-9a-f]{64}$/);
            const again = created(standIn(), urn("docker:index/remoteImage:RemoteImage", "img2"), { name: "postgres:16.6-alpine" });
            assert.equal(again.outputs.imageId, image.outputs.imageId, "an image id is the content's");
            const bucket = created(standIn("aws"), urn("aws:s3/bucket:Bucket", "b"), { bucket: "my-backups" });
            assert.equal(bucket.id, "my-backups");
            assert.equal(bucket.outputs.arn, "arn:aws:s3:::my-backups");
            const key = created(standIn("aws"), urn("aws:iam/accessKey:AccessKey", "k"), { user: "u" });
            assert.match(key.id, /^AKIA/);
            assert.ok(isSecret(key.outputs.secret), "the secret access key is a secret output, as the Sensitive attribute of the real provider");
        });

        it("computes nothing during a preview: computed outputs are unknown, the world is untouched, the journal says preview", () => {
            const { standIn, world, journal } = sandbox();
            const s = standIn("aws");
            const u = urn("aws:s3/bucket:Bucket", "b");
            const { id, outputs } = s.create(u, { bucket: "x" }, true);
            assert.equal(id, "");
            assert.equal(outputs.arn, UNKNOWN);
            assert.equal(world.all().length, 0);
            assert.equal(readJournal(journal).at(-1)!.preview, true);
            assert.deepEqual(mutations(readJournal(journal)), []);
        });

        it("keeps computed outputs across an update (an access key's secret does not change when its status does)", () => {
            const s = sandbox().standIn("aws");
            const u = urn("aws:iam/accessKey:AccessKey", "k");
            const { id, outputs } = created(s, u, { user: "u" });
            const updated = s.update(id, u, outputs, { user: "u", status: "Inactive" }, false);
            assert.deepEqual(updated.secret, outputs.secret);
            assert.equal(updated.status, "Inactive");
        });

        it("reads what create left in the world (refresh, import) and nothing once it is deleted", () => {
            const { standIn, world } = sandbox();
            const s = standIn();
            const u = urn("docker:index/volume:Volume", "v");
            const { id, inputs } = created(s, u, { name: "shop-staging-postgres-data" });
            assert.deepEqual(s.read(id, u).inputs, inputs);
            s.delete(id, u);
            assert.deepEqual(s.read(id, u), {});
            assert.equal(world.get("docker:index/volume:Volume", id), undefined);
        });

        it("notes in the journal when a create finds a resource of the same id (a retained volume re-attached)", () => {
            const { standIn, journal } = sandbox();
            created(standIn(), urn("docker:index/volume:Volume", "v"), { name: "data" });
            created(standIn(), urn("docker:index/volume:Volume", "v"), { name: "data" });
            assert.deepEqual(
                readJournal(journal).filter((e) => e.method === "create").map((e) => e.existed),
                [false, true],
            );
        });

        it("answers cloudflare getZone by name and refuses an unknown invoke", () => {
            const s = sandbox().standIn("cloudflare");
            const zone = s.invoke("cloudflare:index/getZone:getZone", { filter: { name: "example.com" } });
            assert.match(String(zone.id), /^[0-9a-f]{32}$/);
            assert.equal(zone.name, "example.com");
            assert.throws(() => s.invoke("cloudflare:index/getZones:getZones", {}), /does not answer cloudflare:index\/getZones:getZones/);
        });
    });

    describe("the journal", () => {
        it("records every call with its URN, redacting secrets", () => {
            const { standIn, journal } = sandbox();
            const s = standIn("command");
            const u = urn("command:remote:Command", "job", "vps:index:ScheduledJob");
            const { id, inputs } = created(s, u, { create: "install", stdin: secret("PASSWORD=hunter2") });
            s.diff(id, u, inputs, { ...inputs, create: "install v2" });
            s.update(id, u, inputs, { ...inputs, create: "install v2" }, false);
            s.read(id, u);
            s.delete(id, u);
            const entries = readJournal(journal);
            assert.deepEqual(entries.map((e) => e.method), ["check", "create", "diff", "update", "read", "delete"]);
            assert.ok(entries.every((e) => e.urn === u && e.package === "command"));
            assert.equal(entries[1].inputs!.stdin, REDACTED);
            assert.ok(!fs.readFileSync(journal, "utf8").includes("hunter2"));
            assert.deepEqual(entries[2].changes, ["create"]);
            assert.equal(entries[2].decision, "update");
            assert.equal(urnName(u), "job");
        });

        it("keeps the lines of concurrent writers whole (one append per line, as four stand-in processes write)", async () => {
            const { journal } = sandbox();
            const writer = `const { appendEntry } = require(${JSON.stringify(path.join(__dirname, "stand-in", "journal"))});
                for (let i = 0; i < 300; i++) appendEntry(process.argv[1], { time: i, pid: process.pid, package: "x".repeat(2000), method: "check" });`;
            await Promise.all(
                [1, 2, 3, 4].map(
                    () =>
                        new Promise<void>((resolve, reject) =>
                            spawn(process.execPath, ["--require", "sucrase/register/ts", "-e", writer, journal], { stdio: "inherit" }).on("exit", (code) =>
                                code === 0 ? resolve() : reject(new Error(`writer exited with ${code}`)),
                            ),
                        ),
                ),
            );
            const entries = readJournal(journal);
            assert.equal(entries.length, 1200);
            assert.equal(new Set(entries.map((e) => e.pid)).size, 4);
        });

        it("reads back the entries in order and filters mutations and replacements", () => {
            const { journal } = sandbox();
            const base = { time: 0, pid: 1, package: "docker" };
            const entries: JournalEntry[] = [
                { ...base, method: "diff", urn: "a", decision: "replace", replaces: ["image"] },
                { ...base, method: "create", urn: "a", preview: true },
                { ...base, method: "create", urn: "a", id: "1" },
                { ...base, method: "delete", urn: "a", id: "0" },
            ];
            for (const e of entries) appendEntry(journal, e);
            assert.deepEqual(readJournal(journal), entries);
            assert.deepEqual(mutations(readJournal(journal)).map((e) => e.method), ["create", "delete"]);
            assert.equal(replacements(readJournal(journal)).length, 1);
        });
    });

    describe("coverage and versions", () => {
        it("parses the type and name of a URN with parent types", () => {
            assert.deepEqual(parseUrn("urn:pulumi:s::p::vps:index:Service$docker:index/container:Container::shop-x"), {
                type: CONTAINER,
                name: "shop-x",
            });
        });

        it("has a rule for every custom resource type of the shipped stacks", async function () {
            this.timeout(120000);
            for (const stack of ["staging", "production", "vps1"] as const) {
                const run = await synthShippedStack(stack);
                assert.equal(run.code, 0, run.stderr);
                // A StackReference is the engine's own read of another stack: no provider serves it.
                const own = (t: string) => t.startsWith("vps:") || t.startsWith("pulumi:providers:") || t === "pulumi:pulumi:StackReference";
                const types = new Set(run.result!.resources.map((r) => r.type).filter((t) => !own(t)));
                assert.deepEqual([...types].filter((t) => !RULES[t]), [], `${stack}: types without a stand-in rule`);
            }
        });

        it("reports the plugin version each SDK package requests (the engine asks for exactly that)", () => {
            for (const pkg of PACKAGES) {
                const manifest = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../node_modules/@pulumi", pkg, "package.json"), "utf8"));
                assert.equal(pluginVersion(pkg), manifest.pulumi?.version ?? manifest.version);
                assert.match(pluginVersion(pkg), /^\d+\.\d+\.\d+$/);
            }
        });
    });

    describe("the plugin over gRPC (what the engine sees)", function () {
        this.timeout(30000);
        let child: ChildProcess;
        let client: any;
        let dir: string;

        before(async () => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "stand-in-grpc-"));
            child = spawn(path.join(PLUGINS, "pulumi-resource-docker"), ["127.0.0.1:1"], {
                env: { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`, VPS_STAND_IN_WORLD: path.join(dir, "world"), VPS_STAND_IN_JOURNAL: path.join(dir, "j.jsonl") },
                stdio: ["ignore", "pipe", "inherit"],
            });
            const port = await new Promise<string>((resolve, reject) => {
                let out = "";
                child.stdout!.on("data", (d) => {
                    out += d;
                    if (out.includes("\n")) resolve(out.trim());
                });
                child.on("exit", (code) => reject(new Error(`stand-in exited with ${code}`)));
            });
            assert.match(port, /^\d+$/, "the plugin prints only its port on stdout");
            client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        });

        after(() => {
            client?.close();
            child?.kill();
        });

        const call = (method: string, req: unknown) =>
            new Promise<any>((resolve, reject) => client[method](req, (err: Error | null, resp: unknown) => (err ? reject(err) : resolve(resp))));
        const struct = (v: Record<string, unknown>) => structproto.Struct.fromJavaScript(v as any);

        it("reports the docker plugin version the SDK asks for", async () => {
            const info = await call("getPluginInfo", new emptyproto.Empty());
            assert.ok(info instanceof plugproto.PluginInfo);
            assert.equal(info.getVersion(), pluginVersion("docker"));
        });

        it("accepts secrets and supports previews (Configure)", async () => {
            const resp = await call("configure", new provproto.ConfigureRequest());
            assert.equal(resp.getAcceptsecrets(), true);
            assert.equal(resp.getSupportspreview(), true);
        });

        it("diffs DiffRequest.old_inputs against the news, not the old outputs", async () => {
            const u = urn(CONTAINER, "app");
            const oldInputs = { image: "sha256:a", name: "app-1234567", [DEFAULTS_KEY]: ["name"] };
            const req = new provproto.DiffRequest();
            req.setId("c1");
            req.setUrn(u);
            req.setOldInputs(struct(oldInputs));
            req.setOlds(struct({ image: "sha256:a", name: "app-1234567", exitCode: 0, networkData: [] }));
            req.setNews(struct(oldInputs));
            const same = await call("diff", req);
            assert.equal(same.getChanges(), provproto.DiffResponse.DiffChanges.DIFF_NONE);
            req.setNews(struct({ ...oldInputs, image: "sha256:b" }));
            const changed = await call("diff", req);
            assert.equal(changed.getChanges(), provproto.DiffResponse.DiffChanges.DIFF_SOME);
            assert.deepEqual(changed.getReplacesList(), ["image"]);
            assert.equal(changed.getDeletebeforereplace(), true);
            assert.equal(changed.getDetaileddiffMap().get("image").getKind(), provproto.PropertyDiff.Kind.UPDATE_REPLACE);
        });
    });
});
