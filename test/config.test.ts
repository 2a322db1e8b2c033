import { strict as assert } from "assert";
import { registryLookupHost } from "../config/host";
import { traefikVersionProblem } from "../config/proxy";
import { imageReferenceProblem, parseMemoryMb } from "../config/values";
import { assertIssue, issuesOf, parse } from "./helpers/config";
import { validValues } from "./fixtures/config";
import { isSecret, unwrap } from "./helpers/pulumi";

describe("config: a valid stack configuration", () => {
    it("parses with every default filled in", () => {
        const cfg = parse(validValues());
        assert.equal(cfg.host.sshPort, 22);
        assert.equal(cfg.host.platform, "linux/amd64");
        assert.equal(cfg.protectData, false);
        assert.equal(cfg.services.backend.memory, 512);
        assert.equal(cfg.services.backend.cpus, 0.5);
        assert.equal(cfg.services.backend.restart, "unless-stopped");
        assert.deepEqual(cfg.services.backend.logs, { maxSize: "10m", maxFile: 3 });
        assert.equal(cfg.services.backend.healthcheck.interval, "10s");
        assert.equal(cfg.proxy!.memory, 256);
        assert.equal(cfg.backup.schedule, "*-*-* 03:00:00 UTC");
        assert.equal(cfg.healthCheck.restartWaitSeconds, 30);
        assert.equal(cfg.healthCheck.restartBudgetPerHour, 3);
    });

    it("accepts structured values as the JSON text the Pulumi CLI passes", () => {
        const values = validValues();
        const asText = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
        assert.equal(parse(asText).services.frontend.port, 3000);
    });

    it("returns secrets as secret Outputs", async () => {
        const cfg = parse(validValues());
        assert.equal(await isSecret(cfg.postgres!.password), true);
        assert.equal(await isSecret(cfg.host.sshPrivateKey), true);
        assert.equal(await isSecret(cfg.services.backend.secretEnv.DATABASE_PASSWORD), true);
        assert.equal(await unwrap(cfg.services.backend.secretEnv.DATABASE_PASSWORD), "correct-horse-battery-staple");
    });
});

describe("config: bad input is reported with its key path", () => {
    const cases: [string, (v: Record<string, any>) => void, string, RegExp, string[]?][] = [
        ["a missing required key", (v) => delete v.app, "app", /required/],
        ["a wrong type", (v) => (v.services.backend.port = "8080"), "services.backend.port", /expected number/],
        ["a port above 65535", (v) => (v.services.backend.port = 70000), "services.backend.port", /1–65535/],
        ["a port of 0", (v) => (v.host.sshPort = 0), "host.sshPort", /1–65535/],
        ["a fractional port", (v) => (v.services.frontend.port = 80.5), "services.frontend.port", /whole number/],
        ["an unparsable memory limit", (v) => (v.services.backend.memory = "lots"), "services.backend.memory", /unparsable/],
        ["a memory limit under Docker's minimum", (v) => (v.redis.memory = "4m"), "redis.memory", /minimum of 6m/],
        ["an image on latest", (v) => (v.services.backend.image = "ghcr.io/acme/shop-api:latest"), "services.backend.image", /latest/],
        ["an image without a tag", (v) => (v.postgres.image = "postgres"), "postgres.image", /no tag/],
        ["a tag-only image when digests are required", (v) => (v.requireImageDigest = true), "proxy.image", /digest/],
        ["an unknown service referenced", (v) => (v.services.frontend.dependsOn = ["api"]), "services.frontend.dependsOn[0]", /unknown service "api"/],
        ["a duplicate host name", (v) => (v.services.frontend.hosts = ["api-staging.example.com"]), "services.frontend.hosts[0]", /duplicate host name/],
        ["a bad calendar expression", (v) => (v.backup = { schedule: "every day at 3" }), "backup.schedule", /calendar/],
        ["a weekly backup with a max age under a week", (v) => (v.backup = { schedule: "Sun *-*-* 03:00:00 UTC", maxAgeHours: 26 }), "backup.maxAgeHours", /longest gap .* \(168 h\).*default 170/],
        ["a backup schedule that never repeats", (v) => (v.backup = { schedule: "2026-12-24 03:00" }), "backup.schedule", /does not repeat/],
        ["a calendar hour out of range", (v) => (v.healthCheck = { schedule: "*-*-* 24:00:00" }), "healthCheck.schedule", /hour 24/],
        ["a password in plain text", (v) => v, "databasePassword", /plain text/, ["sshPrivateKey", "alertWebhookUrl"]],
        ["a secret-looking env var in plain text", (v) => (v.services.backend.env.API_TOKEN = "abc"), "services.backend.env.API_TOKEN", /secretEnv/],
        ["a secretEnv referencing an unset key", (v) => (v.services.backend.secretEnv.STRIPE_KEY = "stripeKey"), "services.backend.secretEnv.STRIPE_KEY", /not set/],
        ["a secretEnv referencing a plain key", (v) => ((v.services.backend.secretEnv.STRIPE_KEY = "stripeKey"), (v.stripeKey = "sk_live")), "stripeKey", /plain text/],
        ["an unknown key (a typo)", (v) => (v.services.backend.imgae = "x"), "services.backend", /unknown key\(s\) "imgae"/],
        ["an unknown top-level key", (v) => (v.databasePasword = "x"), "(top level)", /"databasePasword"/],
        ["a healthcheck that is not CMD", (v) => (v.services.backend.healthcheck.test = ["curl", "-f", "x"]), "services.backend.healthcheck.test", /CMD/],
        ["a missing healthcheck", (v) => delete v.services.frontend.healthcheck, "services.frontend.healthcheck", /required/],
        ["a bad duration", (v) => (v.services.backend.healthcheck.interval = "10 seconds"), "services.backend.healthcheck.interval", /duration/],
        ["an upper-case app name", (v) => (v.app = "Shop"), "app", /a-z/],
        ["a relative deploy directory", (v) => (v.host.deployDir = "srv/shop"), "host.deployDir", /absolute/],
        ["a proxy address that is not IPv4", (v) => (v.proxy.publicAddress = "300.1.1.1"), "proxy.publicAddress", /IPv4/],
        ["a bad acme e-mail", (v) => (v.proxy.acmeEmail = "ops"), "proxy.acmeEmail", /e-mail/],
        ["a host name that is not a DNS name", (v) => (v.services.frontend.hosts = ["App_Staging"]), "services.frontend.hosts[0]", /DNS host name/],
        ["a reserved service name", (v) => (v.services.postgres = v.services.frontend), "services.postgres", /reserved/],
        ["a service depending on itself", (v) => (v.services.frontend.dependsOn = ["frontend"]), "services.frontend.dependsOn[0]", /itself/],
        ["a dependency cycle", (v) => (v.services.backend.dependsOn = ["frontend"]), "services.backend.dependsOn", /cycle/],
        ["postgres without a password", (v) => delete v.databasePassword, "databasePassword", /required when postgres/],
        ["a short database password", (v) => (v.databasePassword = "hunter2"), "databasePassword", /shorter than 16/],
        ["no services at all", (v) => (v.services = {}), "services", /at least one/],
        ["a negative cpu limit", (v) => (v.services.backend.cpus = -1), "services.backend.cpus", /greater than 0/],
        ["a cpu limit the Docker provider reads back as another number", (v) => (v.services.backend.cpus = 0.05), "services.backend.cpus", /read back .* as "0\.1"/],
        ["a postgres cpu limit that does not round-trip", (v) => (v.postgres.cpus = 10.05), "postgres.cpus", /as "10\.1"/],
        ["a Traefik release that cannot talk to Docker Engine 29", (v) => (v.proxy.image = "traefik:v3.3.4"), "proxy.image", /v3\.6\.1 or newer/],
        ["Let's Encrypt's staging CA, which no client trusts", (v) => (v.proxy.acmeCaServer = "https://acme-staging-v02.api.letsencrypt.org/directory"), "proxy.acmeCaServer", /staging CA/],
        ["a registry address with a scheme", (v) => ((v.registries = [{ address: "https://ghcr.io", username: "bot", passwordKey: "ghcrToken" }]), (v.ghcrToken = "t")), "registries[0].address", /no https/, ["sshPrivateKey", "databasePassword", "alertWebhookUrl", "ghcrToken"]],
        ["a registry password key that is not set", (v) => (v.registries = [{ address: "ghcr.io", username: "bot", passwordKey: "ghcrToken" }]), "registries[0].passwordKey", /"ghcrToken", which is not set/],
        ["a registry password in plain text", (v) => ((v.registries = [{ address: "ghcr.io", username: "bot", passwordKey: "ghcrToken" }]), (v.ghcrToken = "t")), "ghcrToken", /registry password .* plain text/],
        ["Docker Hub listed twice under two names", (v) => ((v.registries = [{ address: "docker.io", username: "a", passwordKey: "hubToken" }, { address: "registry-1.docker.io", username: "b", passwordKey: "hubToken" }]), (v.hubToken = "t")), "registries[1].address", /same registry/, ["sshPrivateKey", "databasePassword", "alertWebhookUrl", "hubToken"]],
        ["a missing host key", (v) => delete v.host.hostKey, "host.hostKey", /required/],
        ["a platform Docker's names do not have (x86_64 is uname's word)", (v) => (v.host.platform = "x86_64"), "host.platform", /"linux\/amd64" or "linux\/arm64"/],
        ["a host key with the host name in front (a known_hosts line)", (v) => (v.host.hostKey = `vps1.example.com ${v.host.hostKey}`), "host.hostKey", /start with the key type/],
        ["a host key whose data is not a key of its type", (v) => (v.host.hostKey = "ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ=="), "host.hostKey", /not a base64 ssh-ed25519 public key/],
        ["an http webhook URL", (v) => (v.alertWebhookUrl = "http://discord.example/api/webhooks/1/abc"), "alertWebhookUrl", /must be an https URL \(it is http\)/],
        ["a webhook URL with a stray quote", (v) => (v.alertWebhookUrl = 'https://discord.example/api/webhooks/1/abc"'), "alertWebhookUrl", /quote/],
        ["a webhook that is not a URL", (v) => (v.alertWebhookUrl = "discord webhook"), "alertWebhookUrl", /whitespace|not a URL/],
        ["a reminder interval of zero", (v) => (v.alerts = { reminderMinutes: 0 }), "alerts.reminderMinutes", /1–10080/],
        ["a bad alert format", (v) => (v.alerts = { format: "teams" }), "alerts.format", /discord|slack/],
        ["an unknown restart policy", (v) => (v.services.backend.restart = "sometimes"), "services.backend.restart", /unless-stopped/],
    ];
    for (const [what, mutate, path, reason, secretKeys] of cases) {
        it(`rejects ${what} at ${path}`, () => {
            const values = validValues();
            mutate(values);
            assertIssue(values, path, reason, secretKeys);
        });
    }

    it("lists every problem in one error, schema and cross-field together", () => {
        const values = validValues();
        values.services.backend.port = 0;
        values.services.backend.memory = "lots";
        values.services.frontend.image = "ghcr.io/acme/shop-web:latest";
        values.services.frontend.hosts = ["api-staging.example.com"];
        const { issues } = issuesOf(values);
        assert.deepEqual(
            issues.map((i) => i.path).sort(),
            ["services.backend.memory", "services.backend.port", "services.frontend.hosts[0]", "services.frontend.image"],
        );
    });
});

describe("config: alerts and the health check", () => {
    it("defaults the reminder interval to 240 minutes and never repeats the webhook URL in a message", () => {
        assert.equal(parse(validValues()).alerts.reminderMinutes, 240);
        const values = validValues();
        values.alertWebhookUrl = "http://hooks.example/secret-token-123";
        assert.doesNotMatch(issuesOf(values).message, /secret-token-123/);
    });

    it("accepts Let's Encrypt's staging CA only when the health check is told not to verify certificates", () => {
        const values = validValues();
        values.proxy.acmeCaServer = "https://acme-staging-v02.api.letsencrypt.org/directory";
        values.healthCheck = { insecureTls: true };
        assert.equal(parse(values).healthCheck.insecureTls, true);
        assert.equal(parse(validValues()).healthCheck.insecureTls, false);
    });
});

describe("config: backup age derived from the schedule", () => {
    it("defaults maxAgeHours to the longest gap between backups plus 2 hours", () => {
        const daily = parse(validValues());
        assert.equal(daily.backup.maxAgeHours, 26);
        const values = validValues();
        values.backup = { schedule: "Mon,Wed,Fri 02:00" };
        assert.equal(parse(values).backup.maxAgeHours, 74);
        values.backup = { schedule: "*-*-* 0/6:00:00" };
        assert.equal(parse(values).backup.maxAgeHours, 8);
    });

    it("keeps an explicit maxAgeHours longer than the gap", () => {
        const values = validValues();
        values.backup = { schedule: "weekly", maxAgeHours: 200 };
        assert.equal(parse(values).backup.maxAgeHours, 200);
    });
});

describe("config: registry credentials", () => {
    it("hands the provider each registry under the host its pull looks up, the password a secret", async () => {
        const values = validValues();
        values.registries = [
            { address: "ghcr.io", username: "acme-bot", passwordKey: "ghcrToken" },
            { address: "docker.io", username: "acme", passwordKey: "hubToken" },
        ];
        values.ghcrToken = "ghp_x";
        values.hubToken = "dckr_pat_x";
        const cfg = parse(values, ["sshPrivateKey", "databasePassword", "alertWebhookUrl", "ghcrToken", "hubToken"]);
        assert.deepEqual(cfg.registries.map((r) => [r.address, r.username]), [["ghcr.io", "acme-bot"], ["registry-1.docker.io", "acme"]]);
        assert.equal(await unwrap(cfg.registries[0].password), "ghp_x");
        assert.equal(await isSecret(cfg.registries[0].password), true);
    });

    it("maps Docker Hub's names to registry-1.docker.io and keeps other hosts", () => {
        assert.equal(registryLookupHost("index.docker.io"), "registry-1.docker.io");
        assert.equal(registryLookupHost("registry.example.com:5000"), "registry.example.com:5000");
    });
});

describe("config: value parsers", () => {
    it("judges Traefik releases by the Docker API fix of v3.6.1", () => {
        assert.match(traefikVersionProblem("traefik:v3.3.4")!, /Docker Engine 29/);
        assert.match(traefikVersionProblem("docker.io/library/traefik:v3.6.0@sha256:" + "a".repeat(64))!, /v3\.6\.1/);
        assert.match(traefikVersionProblem("traefik:2.11")!, /2\.11\.0/);
        assert.equal(traefikVersionProblem("traefik:v3.6.1"), undefined);
        assert.equal(traefikVersionProblem("traefik:v3.7.13@sha256:" + "b".repeat(64)), undefined);
        assert.equal(traefikVersionProblem("traefik:v4.0.0"), undefined);
        assert.equal(traefikVersionProblem("ghcr.io/acme/proxy:1.0.0"), undefined, "not Traefik");
    });

    it("parses memory sizes to MiB", () => {
        assert.equal(parseMemoryMb("512m"), 512);
        assert.equal(parseMemoryMb("1g"), 1024);
        assert.equal(parseMemoryMb("1.5GiB"), 1536);
        assert.equal(parseMemoryMb("2048k"), 2);
        assert.equal(parseMemoryMb("12 parsecs"), undefined);
    });

    it("accepts pinned image references and rejects moving ones", () => {
        assert.equal(imageReferenceProblem("ghcr.io/acme/api:1.2.3", false), undefined);
        assert.equal(imageReferenceProblem("registry.example.com:5000/team/api:sha-abc", false), undefined);
        assert.equal(imageReferenceProblem(`traefik:v3.3.4@sha256:${"a".repeat(64)}`, true), undefined);
        assert.equal(imageReferenceProblem(`postgres@sha256:${"b".repeat(64)}`, true), undefined);
        assert.match(imageReferenceProblem("api:latest", false)!, /latest/);
        assert.match(imageReferenceProblem("api", false)!, /no tag/);
        assert.match(imageReferenceProblem("api:1.0", true)!, /digest/);
        assert.match(imageReferenceProblem("Not An Image", false)!, /not an image reference/);
    });
});
