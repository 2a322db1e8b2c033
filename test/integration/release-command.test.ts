import { strict as assert } from "assert";
import { spawn } from "child_process";
import { ReleaseContainer, releaseEnvFile, renderReleaseScript } from "../../components/docker/release-command";
import { ownershipLabels } from "../../components/docker/labels";
import { needCommand } from "../helpers/tools";
import { docker, ensureDockerEngine, ensureTestImage, freePort, removeTestContainers, RUN_ID, startContainer, TEST_IMAGE, testContainerName } from "./helpers/docker";

/** Runs a rendered release script as the SSH session would (`bash -c`), with the env file on stdin. */
function runRelease(script: string, stdin: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        const p = spawn("bash", ["-c", script], { stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        p.stdout.on("data", (d) => (stdout += d));
        p.stderr.on("data", (d) => (stderr += d));
        p.on("exit", (code) => resolve({ code: code ?? 1, stdout, stderr }));
        p.stdin.end(stdin);
    });
}

async function httpStatus(port: number): Promise<number> {
    const res = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
    return res?.status ?? 0;
}

// Issue 11: the release command's real mechanism (the script ReleaseCommand runs over SSH) on
// the suite's Docker engine: a failing release exits with the command's code and its last
// lines, and the running version is untouched; a passing one sees the service's secrets.
describe("a release command in a one-shot container of the new image", function () {
    const network = `rt-${RUN_ID}-edge`;
    const old = testContainerName("api-old");
    const name = `rt-${RUN_ID}-api-release`;
    let port: number;

    const container = (): ReleaseContainer => ({
        memory: 64,
        memorySwap: 64,
        cpus: "0.5",
        privileged: false,
        capabilities: { drops: ["ALL"], adds: [] },
        securityOpts: ["no-new-privileges:true"],
        logDriver: "json-file",
        logOpts: { "max-size": "10m", "max-file": "3" },
        readOnly: true,
        volumes: [],
        networks: [network],
        labels: [...ownershipLabels({ app: "rt", environment: RUN_ID, role: "api-release" }), { label: "vps.test.run", value: RUN_ID }],
    });
    const script = (command: string[]) => renderReleaseScript({ name, image: TEST_IMAGE, command, container: container(), timeoutSeconds: 60 });
    const leftovers = async () => (await docker(["ps", "--all", "--quiet", "--filter", `name=${name}`])).split("\n").filter(Boolean);

    before(async function () {
        this.timeout(120_000);
        needCommand(this, "docker", "bash .ci/setup.d/30-docker-engine.sh");
        await ensureDockerEngine();
        await ensureTestImage();
        await docker(["network", "create", "--label", `vps.test.run=${RUN_ID}`, network]);
        port = await freePort();
        // The old version, serving.
        await startContainer(old, { httpPort: port });
        const end = Date.now() + 20_000;
        while ((await httpStatus(port)) !== 200) {
            assert.ok(Date.now() < end, "the old version did not start serving");
            await new Promise((r) => setTimeout(r, 100));
        }
    });

    after(async () => {
        await removeTestContainers();
        for (const id of await leftovers().catch(() => [])) await docker(["rm", "--force", id]).catch(() => undefined);
        await docker(["network", "rm", network]).catch(() => undefined);
    });

    it("a failing release exits with its code and its last lines, leaves no container behind, and the old version keeps serving", async () => {
        const failing = ["sh", "-c", "echo migrating; i=1; while [ $i -le 60 ]; do echo step $i; i=$((i+1)); done; echo 'relation users already exists' >&2; exit 3"];
        const r = await runRelease(script(failing), releaseEnvFile({ NODE_ENV: "production" }));
        assert.equal(r.code, 3, r.stderr);
        assert.match(r.stderr, /the release command exited 3; the new version was not started and the running one keeps serving/);
        assert.match(r.stderr, /step 60\n/);
        assert.match(r.stderr, /relation users already exists/);
        assert.doesNotMatch(r.stderr, /step 1\n/, "only the last lines");
        assert.deepEqual(await leftovers(), []);
        assert.equal(await docker(["inspect", "--format", "{{.State.Status}}", old]), "running");
        assert.equal(await httpStatus(port), 200, "the old version still serves");
    });

    it("a passing release sees the service's env and secrets from the env file, runs hardened, and exits 0", async () => {
        // The expected value arrives through the env file too: nothing secret is in the command.
        const check = ["sh", "-c", 'test "$DATABASE_URL" = "$EXPECTED" && ! touch /probe 2>/dev/null && echo migrated'];
        const r = await runRelease(script(check), releaseEnvFile({ DATABASE_URL: "postgres://u:s3cret-pw@db/x", EXPECTED: "postgres://u:s3cret-pw@db/x" }));
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /migrated/);
        assert.doesNotMatch(r.stderr + r.stdout, /s3cret-pw/, "the secret is in no output");
        assert.deepEqual(await leftovers(), []);
    });

    it("a release that runs too long is stopped, fails with 124, and leaves no container", async () => {
        const slow = renderReleaseScript({ name, image: TEST_IMAGE, command: ["sh", "-c", "echo started; sleep 30"], container: container(), timeoutSeconds: 2 });
        const r = await runRelease(slow, "");
        assert.equal(r.code, 124, r.stderr);
        assert.match(r.stderr, /did not finish within 2 s/);
        assert.deepEqual(await leftovers(), []);
    });

    it("refuses an env value with a line break, which docker's --env-file cannot carry", () => {
        assert.throws(() => releaseEnvFile({ CERT: "a\nb" }), /CERT holds a line break/);
    });
});
