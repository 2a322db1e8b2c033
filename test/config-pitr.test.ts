import { strict as assert } from "assert";
import { PITR } from "../components/defaults";
import { pgbackrestSizeBytes, versionAtLeast } from "../config/pitr";
import { validValues, VALID_SECRET_KEYS } from "./fixtures/config";
import { assertIssue, issuesOf, parse } from "./helpers/config";
import { isSecret, unwrap } from "./helpers/pulumi";

/** The valid values plus PITR: a bucket on AWS and a generated passphrase, as the shipped stacks have. */
function pitrValues(pitr: Record<string, unknown> = {}): Record<string, any> {
    return {
        ...validValues(),
        backupStorage: { region: "eu-central-1" },
        postgres: { ...validValues().postgres, pitr: { pgbackrestVersion: "2.54.0", ...pitr } },
        pitrPassphrase: "x3Jk9vQ2mR7tW1yZ5bN8cF4hL6pD0sGa",
    };
}
const SECRETS = [...VALID_SECRET_KEYS, "pitrPassphrase"];

describe("config: postgres.pitr", () => {
    it("parses with the documented defaults and returns the passphrase as a secret", async () => {
        const cfg = parse(pitrValues(), SECRETS);
        const pitr = cfg.postgres!.pitr!;
        assert.equal(pitr.enabled, true);
        assert.equal(pitr.rpoMinutes, PITR.rpoMinutes);
        assert.equal(pitr.retentionDays, PITR.retentionDays);
        assert.equal(pitr.queueMax, PITR.queueMax);
        assert.equal(pitr.fullSchedule, PITR.fullSchedule);
        assert.equal(pitr.restoreCheckSchedule, PITR.restoreCheckSchedule);
        assert.equal(await isSecret(pitr.passphrase), true);
        assert.equal(await unwrap(pitr.passphrase), "x3Jk9vQ2mR7tW1yZ5bN8cF4hL6pD0sGa");
    });

    it("reads the passphrase from the key passphraseKey names, which is then not an unknown key", async () => {
        const values = pitrValues({ passphraseKey: "walPassphrase" });
        values.walPassphrase = values.pitrPassphrase;
        delete values.pitrPassphrase;
        const cfg = parse(values, [...VALID_SECRET_KEYS, "walPassphrase"]);
        assert.equal(await unwrap(cfg.postgres!.pitr!.passphrase), "x3Jk9vQ2mR7tW1yZ5bN8cF4hL6pD0sGa");
    });

    it("needs neither backup storage nor a passphrase when it is disabled", () => {
        const values = pitrValues({ enabled: false });
        delete values.backupStorage;
        delete values.pitrPassphrase;
        assert.equal(parse(values).postgres!.pitr!.enabled, false);
    });

    const cases: [string, (v: Record<string, any>) => void, string, RegExp, string[]?][] = [
        ["an RPO of 0 minutes", (v) => (v.postgres.pitr.rpoMinutes = 0), "postgres.pitr.rpoMinutes", /1–60/],
        ["an RPO over an hour", (v) => (v.postgres.pitr.rpoMinutes = 90), "postgres.pitr.rpoMinutes", /1–60/],
        ["a fractional RPO", (v) => (v.postgres.pitr.rpoMinutes = 2.5), "postgres.pitr.rpoMinutes", /whole number/],
        ["a retention of 0 days", (v) => (v.postgres.pitr.retentionDays = 0), "postgres.pitr.retentionDays", /1–3650/],
        ["a retention as text", (v) => (v.postgres.pitr.retentionDays = "two weeks"), "postgres.pitr.retentionDays", /expected number/],
        ["a queue size pgBackRest cannot read", (v) => (v.postgres.pitr.queueMax = "4 gigs"), "postgres.pitr.queueMax", /not a pgBackRest size/],
        ["a queue smaller than four WAL segments", (v) => (v.postgres.pitr.queueMax = "32MiB"), "postgres.pitr.queueMax", /fewer than four WAL segments/],
        ["a passphrase key that is not a key name", (v) => (v.postgres.pitr.passphraseKey = "pitr passphrase"), "postgres.pitr.passphraseKey", /must name a config key/],
        ["a missing pgBackRest version", (v) => delete v.postgres.pitr.pgbackrestVersion, "postgres.pitr.pgbackrestVersion", /required|expected string/],
        ["a pgBackRest version that is not one", (v) => (v.postgres.pitr.pgbackrestVersion = "latest"), "postgres.pitr.pgbackrestVersion", /must look like "2\.54\.0"/],
        ["a pgBackRest older than 2.45", (v) => (v.postgres.pitr.pgbackrestVersion = "2.33"), "postgres.pitr.pgbackrestVersion", /older than 2\.45/],
        ["a full-backup schedule that never repeats", (v) => (v.postgres.pitr.fullSchedule = "2026-12-24 01:00"), "postgres.pitr.fullSchedule", /does not repeat/],
        ["an unparsable restore-check schedule", (v) => (v.postgres.pitr.restoreCheckSchedule = "weekly-ish"), "postgres.pitr.restoreCheckSchedule", /calendar/],
        ["a lag check rarer than the RPO", (v) => (v.postgres.pitr.lagCheckSchedule = "hourly"), "postgres.pitr.lagCheckSchedule", /60 min between two checks, longer than rpoMinutes \(5\)/],
        ["markers written only daily", (v) => (v.postgres.pitr.markerSchedule = "*-*-* 02:00:00"), "postgres.pitr.markerSchedule", /less often than hourly/],
        ["an unknown key", (v) => (v.postgres.pitr.rpo = 5), "postgres.pitr", /unknown key\(s\) "rpo"/],
        ["PITR without backup storage", (v) => delete v.backupStorage, "postgres.pitr.enabled", /needs backupStorage/],
        ["a missing passphrase", (v) => delete v.pitrPassphrase, "pitrPassphrase", /is required by postgres\.pitr .*openssl rand/],
        ["a passphrase in plain text", () => undefined, "pitrPassphrase", /plain text/, VALID_SECRET_KEYS],
        ["a short passphrase", (v) => (v.pitrPassphrase = "hunter2"), "pitrPassphrase", /shorter than 20 characters/],
        [
            "an http store (pgBackRest 2.45 speaks only HTTPS)",
            (v) => (v.backupStorage = { store: "s3-compatible", region: "minio", endpoint: "http://minio.example.com:9000", bucketName: "shop-backups" }),
            "backupStorage.endpoint",
            /must be https for point-in-time recovery/,
        ],
        [
            "a store named by an IP address",
            (v) => (v.backupStorage = { store: "s3-compatible", region: "minio", endpoint: "https://203.0.113.7:9000", bucketName: "shop-backups" }),
            "backupStorage.endpoint",
            /DNS name, not an IP address/,
        ],
        ["a data volume of another environment", (v) => (v.postgres.dataVolume = "shop-production-postgres-data"), "postgres.dataVolume", /must be "shop-staging-postgres-data" or a volume restore\.sh pitr recovered/],
        ["a kept volume that is not a PostgreSQL volume", (v) => (v.postgres.keptVolumes = ["shop-staging-redis-data"]), "postgres.keptVolumes[0]", /must be "shop-staging-postgres-data"/],
        [
            "the mounted volume also kept",
            (v) => {
                v.postgres.dataVolume = "shop-staging-postgres-data-20261201t140500";
                v.postgres.keptVolumes = ["shop-staging-postgres-data-20261201t140500"];
            },
            "postgres.keptVolumes[0]",
            /is postgres\.dataVolume, the volume the server mounts/,
        ],
        ["a kept volume listed twice", (v) => (v.postgres.keptVolumes = ["shop-staging-postgres-data-20261201t140500", "shop-staging-postgres-data-20261201t140500"]), "postgres.keptVolumes[1]", /listed twice/],
        ["the default volume listed as kept", (v) => (v.postgres.keptVolumes = ["shop-staging-postgres-data"]), "postgres.keptVolumes[0]", /is always kept/],
    ];
    for (const [what, mutate, path, reason, secretKeys] of cases) {
        it(`rejects ${what} at ${path}`, () => {
            const values = pitrValues();
            mutate(values);
            assertIssue(values, path, reason, secretKeys ?? SECRETS);
        });
    }

    it("accepts a recovered volume as the mounted one, with the default kept beside it", () => {
        const values = pitrValues();
        values.postgres.dataVolume = "shop-staging-postgres-data-20261201t140500";
        const cfg = parse(values, SECRETS);
        assert.equal(cfg.postgres!.dataVolume, "shop-staging-postgres-data-20261201t140500");
        assert.deepEqual(cfg.postgres!.keptVolumes, []);
    });

    it("reports every PITR problem at once", () => {
        const values = pitrValues({ rpoMinutes: 0, queueMax: "1MiB", pgbackrestVersion: "2.40" });
        delete values.pitrPassphrase;
        const paths = issuesOf(values, SECRETS).issues.map((i) => i.path).sort();
        assert.deepEqual(paths, ["pitrPassphrase", "postgres.pitr.pgbackrestVersion", "postgres.pitr.queueMax", "postgres.pitr.rpoMinutes"]);
    });

    it("reads pgBackRest's sizes (1024-based, KB and KiB alike) and compares versions numerically", () => {
        assert.equal(pgbackrestSizeBytes("4GiB"), 4 * 1024 ** 3);
        assert.equal(pgbackrestSizeBytes("64MB"), 64 * 1024 ** 2);
        assert.equal(pgbackrestSizeBytes("1048576"), 1024 ** 2);
        assert.equal(pgbackrestSizeBytes("4 GiB"), undefined);
        assert.equal(pgbackrestSizeBytes("4gb"), undefined);
        assert.equal(versionAtLeast("2.54.0", "2.45"), true);
        assert.equal(versionAtLeast("2.45", "2.45"), true);
        assert.equal(versionAtLeast("2.100", "2.45"), true);
        assert.equal(versionAtLeast("2.4", "2.45"), false);
        assert.equal(versionAtLeast("2.33", "2.45"), false);
    });
});
