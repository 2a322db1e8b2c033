import { strict as assert } from "assert";
import {
    backupWriterName,
    bucketKeyPrefix,
    bucketNamePrefix,
    dockerName,
    isBucketName,
    isContainerName,
    isInZone,
    jobUnitName,
    letsEncryptDirectory,
    networkName,
    validateUnitNameParts,
} from "../components/naming";

const shop = { app: "shop", environment: "staging" };

describe("naming: the one home of every name", () => {
    it("names Docker objects <app>-<env>-<role> and the networks <app>-<env>-edge and -internal", () => {
        assert.equal(dockerName({ ...shop, role: "postgres-data" }), "shop-staging-postgres-data");
        assert.equal(networkName(shop, "edge"), "shop-staging-edge");
        assert.equal(networkName(shop, "internal"), "shop-staging-internal");
    });

    it("names the jobs' units <app>-<env>-<job> and refuses app or environment names systemd would not take", () => {
        assert.equal(jobUnitName(shop, "backup-freshness"), "shop-staging-backup-freshness");
        assert.throws(() => validateUnitNameParts("BackupJob", { app: "shop", environment: "prod_1" }), /BackupJob: environment "prod_1" must match/);
        assert.throws(() => validateUnitNameParts("BackupJob", { app: "Shop", environment: "staging" }), /BackupJob: app "Shop" must match/);
    });

    it("names the bucket prefix, key prefix and IAM user of an environment's backups", () => {
        assert.equal(bucketNamePrefix(shop), "shop-staging-backups-");
        assert.equal(bucketKeyPrefix(shop), "shop/staging/");
        assert.equal(backupWriterName(shop), "shop-staging-backup");
    });

    it("applies Docker's container-name rule and S3's bucket-name rules", () => {
        assert.equal(isContainerName("shop-staging-postgres"), true);
        assert.equal(isContainerName("-x"), false);
        assert.equal(isContainerName("bad name"), false);
        assert.equal(isBucketName("acme-shop-backups"), true);
        for (const bad of ["a/b", "ab", "a..b", "192.168.1.1", "Upper"]) assert.equal(isBucketName(bad), false, bad);
    });

    it("treats the apex and names inside the zone as in the zone, and a look-alike domain as outside", () => {
        assert.equal(isInZone("example.com", "example.com"), true);
        assert.equal(isInZone("a.b.example.com", "example.com"), true);
        assert.equal(isInZone("badexample.com", "example.com"), false);
    });

    it("tells Let's Encrypt's production and staging directories from any other CA", () => {
        assert.equal(letsEncryptDirectory("https://acme-v02.api.letsencrypt.org/directory"), "production");
        assert.equal(letsEncryptDirectory("https://acme-staging-v02.api.letsencrypt.org/directory"), "staging");
        assert.equal(letsEncryptDirectory("https://acme.zerossl.com/v2/DV90"), undefined);
    });
});
