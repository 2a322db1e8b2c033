import { strict as assert } from "assert";
import { credentialInUrl, looksLikeSecretName } from "../policies/secret-names";
import { NOT_SECRET_LOOKING, SECRET_LOOKING } from "./fixtures/secret-names";
import { issuesOf, parse } from "./helpers/config";
import { validValues } from "./fixtures/config";
import { synthViolations } from "./policies/harness";
import { changed } from "./policies/fixtures";

const S = "staging";
const backend = (env: string) => `shop-${env}-backend`;

/** Whether the config check refuses `NAME=value` in services.backend.env. */
function configRefuses(name: string, value: string): boolean {
    const values = validValues();
    values.services.backend.env[name] = value;
    try {
        parse(values);
        return false;
    } catch {
        return issuesOf(values).issues.some((i) => i.path === `services.backend.env.${name}`);
    }
}

/** Whether the policy pack (as the synth runs it) reports `NAME=value` on the back end. */
function policyRefuses(name: string, value: string): boolean {
    return synthViolations(changed(S, backend(S), "props.envs", [`${name}=${value}`]), "no-plain-secret-env").length > 0;
}

describe("secret-looking names: one definition for the config check and the policy pack", () => {
    for (const name of SECRET_LOOKING) {
        it(`${name} looks like a secret to both`, () => {
            assert.equal(looksLikeSecretName(name), true);
            assert.equal(configRefuses(name, "plain-value-long-enough"), true, "config");
            assert.equal(policyRefuses(name, "plain-value-long-enough"), true, "policy");
        });
    }
    for (const name of NOT_SECRET_LOOKING) {
        it(`${name} does not look like a secret to either`, () => {
            assert.equal(looksLikeSecretName(name), false);
            assert.equal(configRefuses(name, "plain-value"), false, "config");
            assert.equal(policyRefuses(name, "plain-value"), false, "policy");
        });
    }
});

describe("a password embedded in a plain URL", () => {
    const url = "postgres://shop:hunter2hunter2@postgres:5432/shop";

    it("is found in the URL's user-info, and a URL without a password is not", () => {
        assert.equal(credentialInUrl(url), "shop");
        assert.equal(credentialInUrl("redis://:s3cret@redis:6379/0"), "(no user)");
        assert.equal(credentialInUrl("redis://redis:6379/0"), undefined);
        assert.equal(credentialInUrl("https://user@example.com/"), undefined);
        assert.equal(credentialInUrl("not a url"), undefined);
    });

    it("is refused by the config check, with the key named and secretEnv as the fix", () => {
        const values = validValues();
        values.services.backend.env.DATABASE_URL = url;
        const { issues } = issuesOf(values);
        const issue = issues.find((i) => i.path === "services.backend.env.DATABASE_URL");
        assert.ok(issue, JSON.stringify(issues));
        assert.match(issue.message, /URL with a password .*secretEnv\.DATABASE_URL/);
    });

    it("is refused by the policy pack in the synth, naming the variable and secretEnv", () => {
        const [v] = synthViolations(changed(S, backend(S), "props.envs", [`DATABASE_URL=${url}`]), "no-plain-secret-env");
        assert.match(v?.message ?? "", /DATABASE_URL holds a URL with a password .*services\.backend\.secretEnv/);
    });

    it("passes the policy pack when it came from a secret (the synth shows it redacted)", () => {
        assert.deepEqual(synthViolations(changed(S, backend(S), "props.envs", ["DATABASE_URL=[secret]"]), "no-plain-secret-env"), []);
    });
});
