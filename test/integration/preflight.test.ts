import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ensureDockerEngine } from "./helpers/docker";

const preflight = path.join(__dirname, "..", "..", "components", "scripts", "preflight.sh");

function runPreflight(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) =>
        execFile("bash", [preflight], { env: { ...process.env, ...env } }, (err, stdout, stderr) =>
            resolve({ code: err ? Number((err as any).code ?? 1) : 0, stdout, stderr }),
        ),
    );
}

// The VpsHost preflight, run for real against this machine's Docker engine.
describe("preflight.sh against a real Docker engine", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preflight-"));
    before(ensureDockerEngine);
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("passes and prints the Docker Engine and API versions the proxy must speak", async () => {
        const r = await runPreflight({ DEPLOY_DIR: path.join(dir, "srv"), REQUIRED_COMMANDS: "docker curl sha256sum", REQUIRE_SUDO: "0" });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^preflight ok: Docker Engine \d+\.\d+\.\d+\S* \(API 1\.\d+, minimum API 1\.\d+\) reachable, \S+\/srv writable$/m);
        assert.ok(fs.statSync(path.join(dir, "srv")).isDirectory(), "creates the deploy directory");
    });

    it("refuses daemon-wide json-file log-opts beyond max-size and max-file, which would replace every container on every up", async () => {
        const daemonJson = path.join(dir, "daemon.json");
        fs.writeFileSync(daemonJson, '{\n  "log-driver": "json-file",\n  "log-opts": {\n    "max-size": "50m",\n    "compress": "true",\n    "labels": "env"\n  }\n}\n');
        const r = await runPreflight({ DEPLOY_DIR: path.join(dir, "srv"), REQUIRED_COMMANDS: "docker", REQUIRE_SUDO: "0", DOCKER_DAEMON_JSON: daemonJson });
        assert.equal(r.code, 1, r.stdout);
        assert.match(r.stderr, /daemon\.json sets json-file log-opts compress labels: dockerd merges them/);
        fs.writeFileSync(daemonJson, '{ "log-opts": { "max-size": "50m", "max-file": "5" } }');
        const ok = await runPreflight({ DEPLOY_DIR: path.join(dir, "srv"), REQUIRED_COMMANDS: "docker", REQUIRE_SUDO: "0", DOCKER_DAEMON_JSON: daemonJson });
        assert.equal(ok.code, 0, ok.stderr);
    });

    it("fails with one line per problem: a missing command and an unwritable directory", async () => {
        const file = path.join(dir, "a-file");
        fs.writeFileSync(file, "");
        const r = await runPreflight({ DEPLOY_DIR: path.join(file, "sub"), REQUIRED_COMMANDS: "docker no-such-tool-xyz", REQUIRE_SUDO: "0" });
        assert.equal(r.code, 1);
        assert.match(r.stderr, /^preflight failed: command 'no-such-tool-xyz' is missing on .* \(needed by the scheduled jobs\)$/m);
        assert.match(r.stderr, /^preflight failed: deploy directory .*a-file\/sub is not writable/m);
        assert.equal(r.stdout, "");
    });
});
