import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { PITR } from "../components/defaults";
import { PITR_JOB_KINDS } from "../components/naming";
import { archivingCommand, PGBACKREST_VOLUME_PATH } from "../components/pgbackrest";
import { PITR_UNIT_KINDS } from "../policies/pitr";
import { installedEnv, installedFiles } from "./helpers/jobs";
import { capture, CapturedResource, find, isSecret, unwrap, useMocks } from "./helpers/pulumi";

const owner = { app: "shop", environment: "staging" };
const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";
const COMMAND = "command:remote:Command";

// Issue 17 under Pulumi's mocks: what the PITR components declare, before anything runs.
describe("point-in-time recovery components under mocks", () => {
    let jobs: typeof import("../components/jobs/point-in-time-recovery");
    let repo: typeof import("../components/cloud/pitr-repository");
    let pg: typeof import("../components/services/postgres-service");

    before(async () => {
        await useMocks();
        jobs = await import("../components/jobs/point-in-time-recovery");
        repo = await import("../components/cloud/pitr-repository");
        pg = await import("../components/services/postgres-service");
    });

    describe("PointInTimeRecovery", () => {
        const args = (): import("../components/jobs/point-in-time-recovery").PointInTimeRecoveryArgs => ({
            ...owner,
            connection: { host: "203.0.113.10", user: "root", privateKey: pulumi.secret("KEY") },
            container: "shop-staging-postgres",
            pgUser: "shop",
            rpoMinutes: 5,
            memoryMb: 512,
            dataVolume: "shop-staging-postgres-data",
            volumes: ["shop-staging-postgres-data", "shop-staging-pgbackrest"],
            alerts: { webhookUrl: pulumi.secret("https://discord.example/api/webhooks/1/TOP-SECRET"), format: "discord" },
        });
        const build = (name: string, overrides: Partial<ReturnType<typeof args>> = {}) => {
            const c = capture();
            const component = new jobs.PointInTimeRecovery(name, { ...args(), ...overrides }, c.opts);
            return { component, resources: c.resources };
        };
        const job = (resources: CapturedResource[], kind: string) => resources.find((r) => r.type === "vps:index:ScheduledJob" && r.props.unitName === `shop-staging-${kind}`)!;
        const installOf = (resources: CapturedResource[], kind: string) => resources.find((r) => r.type === COMMAND && r.opts.parent === job(resources, kind).resource)!;

        it("is a vps:index:PointInTimeRecovery whose props name the volumes and the five units the policy pack checks", () => {
            const { resources } = build("p-type");
            const self = resources.find((r) => r.name === "p-type")!;
            assert.equal(self.type, "vps:index:PointInTimeRecovery");
            assert.deepEqual(self.props.volumes, ["shop-staging-postgres-data", "shop-staging-pgbackrest"]);
            assert.deepEqual(self.props.units, PITR_JOB_KINDS.map((k) => `shop-staging-${k}`));
        });

        it("the policy pack expects exactly the job kinds the component installs", () => {
            assert.deepEqual([...PITR_UNIT_KINDS], [...PITR_JOB_KINDS]);
        });

        it("installs five ScheduledJobs, parented, on the default schedules", () => {
            const { component, resources } = build("p-jobs");
            const scheduled = resources.filter((r) => r.type === "vps:index:ScheduledJob");
            assert.deepEqual(scheduled.map((r) => r.props.unitName).sort(), PITR_JOB_KINDS.map((k) => `shop-staging-${k}`).sort());
            for (const s of scheduled) assert.equal(s.opts.parent, component);
            assert.equal(job(resources, "pitr-full").props.onCalendar, PITR.fullSchedule);
            assert.equal(job(resources, "pitr-diff").props.onCalendar, PITR.diffSchedule);
            assert.equal(job(resources, "pitr-lag-check").props.onCalendar, PITR.lagCheckSchedule);
            assert.equal(job(resources, "pitr-marker").props.onCalendar, PITR.markerSchedule);
            assert.equal(job(resources, "pitr-restore-check").props.onCalendar, PITR.restoreCheckSchedule);
            assert.deepEqual(component.timerNames.sort(), PITR_JOB_KINDS.map((k) => `shop-staging-${k}.timer`).sort());
        });

        it("takes the schedules from config", () => {
            const { resources } = build("p-sched", { schedules: { fullSchedule: "Sat *-*-* 02:00:00 UTC", markerSchedule: "*-*-* *:00/5:00" } });
            assert.equal(job(resources, "pitr-full").props.onCalendar, "Sat *-*-* 02:00:00 UTC");
            assert.equal(job(resources, "pitr-marker").props.onCalendar, "*-*-* *:00/5:00");
            assert.equal(job(resources, "pitr-diff").props.onCalendar, PITR.diffSchedule);
        });

        it("installs each job's script with pitr.sh and the alerting library; the restore check also carries restore.sh pitr", async () => {
            const { resources } = build("p-files");
            for (const kind of PITR_JOB_KINDS) {
                const install = installOf(resources, kind);
                const files = Object.keys(installedFiles(await unwrap<string>(install.props.create), await unwrap<string>(install.props.stdin)));
                for (const lib of ["pitr.sh", "job.sh", "notify.sh"]) assert.ok(files.includes(lib), `${kind} installs ${lib}: ${files}`);
            }
            const checkInstall = installOf(resources, "pitr-restore-check");
            const check = installedFiles(await unwrap<string>(checkInstall.props.create), await unwrap<string>(checkInstall.props.stdin));
            assert.ok(check["restore.sh"] && check["pitr-restore.sh"] && check["pitr-restore-check.sh"]);
        });

        it("gives the jobs their settings in the env file: docker exec into the container, the lag limit from the RPO, full or diff", async () => {
            const { resources } = build("p-env");
            const env = async (kind: string) => installedEnv(await unwrap<string>(installOf(resources, kind).props.stdin));
            const full = await env("pitr-full");
            assert.equal(full.DB_ACCESS, "docker");
            assert.equal(full.PITR_CONTAINER, "shop-staging-postgres");
            assert.equal(full.PITR_PG_USER, "shop");
            assert.equal(full.PITR_BACKUP_TYPE, "full");
            // RPO 5 min, archive_timeout 150 s: a segment older than the other 150 s misses the RPO.
            assert.equal(full.PITR_LAG_LIMIT_SECONDS, "150");
            assert.equal(full.PITR_NETWORK, "shop-staging-pitr");
            assert.equal(full.PITR_VOLUME_PREFIX, "shop-staging-postgres-data");
            assert.equal((await env("pitr-diff")).PITR_BACKUP_TYPE, "diff");
            assert.equal((await env("pitr-lag-check")).PITR_BACKUP_TYPE, undefined);
        });

        it("keeps the webhook URL out of the install command and in the secret env file", async () => {
            const { resources } = build("p-secret");
            const install = installOf(resources, "pitr-lag-check");
            assert.doesNotMatch(await unwrap<string>(install.props.create), /TOP-SECRET/);
            assert.equal(await isSecret(install.props.stdin), true);
        });

        it("starts the full backup at once, after the jobs are installed, and again when the mounted data volume changes (a promote)", async () => {
            const { resources } = build("p-now");
            const now = find(resources, COMMAND, "p-now-full-now");
            assert.equal(await unwrap(now.props.create), "bash -c 'systemctl start --no-block shop-staging-pitr-full.service'");
            assert.deepEqual(now.props.triggers, ["shop-staging-postgres-data"]);
            assert.equal((now.opts.dependsOn as pulumi.Resource[]).length, 5);
            const { resources: promoted } = build("p-now2", { dataVolume: "shop-staging-postgres-data-20261201t140500" });
            assert.deepEqual(find(promoted, COMMAND, "p-now2-full-now").props.triggers, ["shop-staging-postgres-data-20261201t140500"]);
        });

        it("installs with sudo -n when the SSH user is not root", async () => {
            const { resources } = build("p-sudo", { sudo: true });
            assert.equal(await unwrap(find(resources, COMMAND, "p-sudo-full-now").props.create), "sudo -n bash -c 'systemctl start --no-block shop-staging-pitr-full.service'");
        });

        const invalid: [string, Partial<ReturnType<typeof args>>, RegExp][] = [
            ["an RPO of 0", { rpoMinutes: 0 }, /rpoMinutes must be a whole number 1-60, got 0/],
            ["a container name Docker refuses", { container: "shop staging" }, /container "shop staging" is not a Docker container name/],
            ["a role name with a quote", { pgUser: "shop'; drop" }, /pgUser "shop'; drop" must be a role name/],
            ["no volumes", { volumes: [] }, /volumes must name the data volume at least/],
            ["a memory limit under Docker's minimum", { memoryMb: 4 }, /memoryMb must be a whole number of MiB, at least 6, got 4/],
        ];
        for (const [what, overrides, message] of invalid) {
            it(`refuses ${what}, naming the argument`, () => {
                assert.throws(() => build(`p-bad-${what.replace(/\W+/g, "-")}`, overrides), (e: Error) => /PointInTimeRecovery shop-staging/.test(e.message) && message.test(e.message));
            });
        }
    });

    describe("PitrRepository", () => {
        it("on AWS: its own IAM user may list, put, get and delete under <app>/<env>/pitr/ only, with the bucket key", async () => {
            const c = capture();
            const r = new repo.PitrRepository("r", { ...owner, store: "aws", bucket: "shop-staging-backups-abc", bucketArn: "arn:aws:s3:::shop-staging-backups-abc", region: "eu-central-1", kmsKeyArn: "arn:aws:kms:eu-central-1:1:key/k" }, c.opts);
            const user = find(c.resources, "aws:iam/user:User");
            assert.equal(await unwrap(user.props.name), "shop-staging-pitr");
            assert.equal(user.props.path, "/vps-stacks/");
            assert.equal(user.opts.parent, r);
            const policy = JSON.parse(await unwrap<string>(find(c.resources, "aws:iam/userPolicy:UserPolicy").props.policy));
            const resources = policy.Statement.flatMap((s: any) => [s.Resource].flat());
            assert.deepEqual(resources, ["arn:aws:s3:::shop-staging-backups-abc", "arn:aws:s3:::shop-staging-backups-abc/shop/staging/pitr/*", "arn:aws:kms:eu-central-1:1:key/k"]);
            assert.deepEqual(policy.Statement[0].Condition, { StringLike: { "s3:prefix": ["shop/staging/pitr/", "shop/staging/pitr/*"] } });
            assert.ok(!JSON.stringify(policy).includes("s3:PutBucket"), "no bucket-level write");
            assert.equal(r.repository.path, "/shop/staging/pitr");
            assert.equal(await isSecret(r.secretAccessKey), true);
        });

        it("on an S3-compatible store: no IAM resources, the configured credential as secrets, and it is required", async () => {
            const c = capture();
            const r = new repo.PitrRepository("s", { ...owner, store: "s3-compatible", bucket: "shop-backups", region: "eu-central-003", endpoint: "https://s3.example.com", credentials: { accessKeyId: "AK", secretAccessKey: "SK" } }, c.opts);
            assert.deepEqual(c.resources.filter((x) => x.type.startsWith("aws:")), []);
            assert.equal(await isSecret(r.accessKeyId), true);
            assert.equal(r.repository.endpoint, "https://s3.example.com");
            assert.throws(() => new repo.PitrRepository("s2", { ...owner, store: "s3-compatible", bucket: "b", region: "x" }), /credentials are required for an s3-compatible store/);
            assert.throws(() => new repo.PitrRepository("s3", { ...owner, store: "aws", bucket: "b", region: "x" }), /bucketArn is required with AWS/);
        });
    });

    describe("PostgresService with pitr", () => {
        const pitr = (): import("../components/services/postgres-service").PostgresPitrArgs => ({
            pgbackrestVersion: "2.54.0",
            platform: "linux/arm64",
            rpoMinutes: 5,
            retentionDays: 14,
            queueMax: "4GiB",
            repository: { bucket: "shop-staging-backups-abc", path: "/shop/staging/pitr", region: "eu-central-1" },
            passphrase: pulumi.secret("passphrase-passphrase-passphrase"),
            accessKeyId: pulumi.secret("AKIAEXAMPLE"),
            secretAccessKey: pulumi.secret("SECRETEXAMPLE"),
        });
        const base = { ...owner, image: "postgres:16.6-alpine", database: "shop", user: "shop", password: pulumi.secret("x".repeat(20)), internalNetwork: "shop-staging-internal", memoryMb: 512, cpus: 1, protectData: false };
        const build = (name: string, extra: Partial<import("../components/services/postgres-service").PostgresServiceArgs> = {}) => {
            const c = capture();
            const service = new pg.PostgresService(name, { ...base, pitr: pitr(), ...extra }, c.opts);
            return { service, resources: c.resources, container: find(c.resources, CONTAINER).props };
        };

        it("runs the image built on the VPS from the configured one plus the pinned pgBackRest, without a registry", async () => {
            const { service, resources, container } = build("pg-img");
            const image = find(resources, "docker:index/image:Image");
            assert.equal(image.props.skipPush, true);
            assert.deepEqual(image.props.build.args, { BASE_IMAGE: "postgres:16.6-alpine", PGBACKREST_VERSION: "2.54.0" });
            assert.equal(image.props.build.context, pg.PGBACKREST_IMAGE_CONTEXT);
            // Set, never the provider's default (the architecture of the machine running Pulumi).
            assert.equal(image.props.build.platform, "linux/arm64");
            assert.match(image.props.imageName, /^shop-staging-postgres-pgbackrest:[0-9a-f]{12}$/);
            assert.equal(image.opts.parent, service);
            // The container runs the built image, not the pulled base.
            assert.equal(await unwrap(container.image), await unwrap(service.pitrImage!.repoDigest));
        });

        it("archives WAL with pgBackRest, archive_timeout half the RPO", () => {
            const { container } = build("pg-cmd");
            assert.deepEqual(container.command, archivingCommand(5));
            assert.ok(container.command.includes("archive_timeout=150"));
        });

        it("carries the repository's options as PGBACKREST_* variables, its passphrase and keys only as secrets", async () => {
            const { container } = build("pg-env");
            // One entry per variable: each secret one is secret on its own, the rest stay readable.
            const entries = await Promise.all((container.envs as pulumi.Input<string>[]).map(async (e) => ({ text: await unwrap(e), secret: await isSecret(e) })));
            const plain = entries.filter((e) => !e.secret).map((e) => e.text);
            const secret = entries.filter((e) => e.secret).map((e) => e.text.split("=")[0]);
            for (const v of ["PGBACKREST_STANZA=shop-staging", "PGBACKREST_REPO1_PATH=/shop/staging/pitr", "PGBACKREST_REPO1_CIPHER_TYPE=aes-256-cbc"]) assert.ok(plain.includes(v), `${v} in ${plain.join("\n")}`);
            assert.deepEqual(secret.sort(), ["PGBACKREST_REPO1_CIPHER_PASS", "PGBACKREST_REPO1_S3_KEY", "PGBACKREST_REPO1_S3_KEY_SECRET", "POSTGRES_PASSWORD"]);
            assert.ok(!plain.some((e) => /passphrase-passphrase|SECRETEXAMPLE|AKIAEXAMPLE/.test(e)), "no secret value in a plain entry");
        });

        it("joins a bridge network of its own to reach the store, replaced delete-first under its fixed name", async () => {
            const { resources, container } = build("pg-net");
            assert.deepEqual(await Promise.all(container.networksAdvanced.map((n: any) => unwrap(n.name))), ["shop-staging-internal", "shop-staging-pitr"]);
            const network = find(resources, "docker:index/network:Network", "-pitr-network");
            assert.equal(await unwrap(network.props.name), "shop-staging-pitr");
            assert.notEqual(network.props.internal, true);
            assert.equal(network.opts.deleteBeforeReplace, true);
        });

        it("mounts pgBackRest's spool and log on a retained <app>-<env>-pgbackrest volume (protected with protectData)", async () => {
            const { resources, container } = build("pg-vol", { protectData: true });
            const spool = container.volumes.find((v: any) => v.containerPath === PGBACKREST_VOLUME_PATH);
            assert.equal(await unwrap(spool.volumeName), "shop-staging-pgbackrest");
            const volume = resources.filter((r) => r.type === VOLUME).find((r) => r.name.startsWith("pg-vol-pgbackrest"))!;
            assert.equal(volume.opts.retainOnDelete, true);
            assert.equal(volume.opts.protect, true);
        });

        it("mounts a recovered volume after a promote and keeps the old one in the stack under its unchanged resource name", async () => {
            const recovered = "shop-staging-postgres-data-20261201t140500";
            const { service, resources, container } = build("pg-promote", { dataVolumeName: recovered });
            const data = container.volumes.find((v: any) => v.containerPath === "/var/lib/postgresql/data");
            assert.equal(await unwrap(data.volumeName), recovered);
            const volumes = resources.filter((r) => r.type === "vps:index:DataVolume");
            const byName = Object.fromEntries(volumes.map((v) => [v.name, v.props.role]));
            // The default volume keeps its resource name (and so its URN), now with the kept role.
            assert.equal(byName["pg-promote-data"], "postgres-data-kept");
            assert.equal(byName["pg-promote-data-20261201t140500"], "postgres-data");
            assert.deepEqual(service.dataVolumes.map((v) => v.volumeName).sort(), ["shop-staging-postgres-data", recovered].sort());
            for (const v of resources.filter((r) => r.type === VOLUME)) assert.equal(v.opts.retainOnDelete, true);
        });

        it("without pitr: the pulled image, no archiving, no extra network or volume", async () => {
            const c = capture();
            new pg.PostgresService("pg-plain", base, c.opts);
            const container = find(c.resources, CONTAINER).props;
            assert.equal(container.command, undefined);
            assert.deepEqual(c.resources.filter((r) => r.type === "docker:index/image:Image"), []);
            assert.deepEqual(container.networksAdvanced.map((n: any) => n.name), ["shop-staging-internal"]);
        });
    });
});
