import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PGBACKREST_CONFIG_FILE, PGBACKREST_VOLUME_PATH } from "../../components/pgbackrest";
import { PGBACKREST_IMAGE_CONTEXT, pgbackrestImageBuildArgs } from "../../components/services/postgres-service";
import { docker, ensureDockerEngine, ensureTestImage, RUN_ID } from "./helpers/docker";

const ROOT = path.resolve(__dirname, "..", "..");

/**
 * A stand-in for an official PostgreSQL image: busybox with a `postgres` user and a package
 * manager (apk or apt-get) that "carries" one pgBackRest version and records what it was asked.
 * The real images cannot be pulled here (no registry), so this proves the Dockerfile and its
 * install script, built by a real Docker engine, not the distributions' packages.
 */
async function stubBase(tag: string, manager: "apk" | "apt-get", carried: string): Promise<void> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vps-pg-stub-"));
    try {
        const pgbackrest = `#!/bin/sh\necho "pgBackRest ${carried.replace(/-.*$/, "")}"\n`;
        const apk = [
            "#!/bin/sh",
            'echo "apk $*" >>/var/log/pkg.log',
            'for a in "$@"; do case "$a" in pgbackrest~*) want=${a#pgbackrest~} ;; esac; done',
            // apk's fuzzy match: the carried version must start with the one asked for.
            `case "${carried}" in "$want"*) ;; *) echo "ERROR: unable to select packages: pgbackrest~$want" >&2; exit 1 ;; esac`,
            "cp /stub/pgbackrest /usr/bin/pgbackrest",
        ].join("\n");
        const aptGet = [
            "#!/bin/sh",
            'echo "apt-get $*" >>/var/log/pkg.log',
            '[ "$1" = update ] && exit 0',
            'for a in "$@"; do case "$a" in pgbackrest=*) want=${a#pgbackrest=} ;; esac; done',
            // apt's version glob.
            `case "${carried}" in $want) ;; *) echo "E: Version '$want' for 'pgbackrest' was not found" >&2; exit 100 ;; esac`,
            "cp /stub/pgbackrest /usr/bin/pgbackrest",
        ].join("\n");
        fs.mkdirSync(path.join(dir, "stub"));
        fs.writeFileSync(path.join(dir, "stub", "pgbackrest"), pgbackrest, { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "stub", manager), manager === "apk" ? apk : aptGet, { mode: 0o755 });
        fs.writeFileSync(
            path.join(dir, "Dockerfile"),
            [
                "FROM vps-test/busybox:local",
                "COPY stub /stub",
                `RUN mkdir -p /usr/bin /var/log /etc && cp /stub/${manager} /bin/${manager} && echo 'postgres:x:70:70::/var/lib/postgresql:/bin/sh' >>/etc/passwd && echo 'postgres:x:70:' >>/etc/group`,
            ].join("\n"),
        );
        await docker(["build", "--network", "none", "-q", "-t", tag, dir], { timeoutMs: 120_000 });
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** Builds the derived image as the provider does (context, Dockerfile, build args), here with the engine's own builder. */
async function buildDerived(tag: string, base: string, version: string): Promise<{ ok: boolean; log: string }> {
    const args = pgbackrestImageBuildArgs(base, version);
    const buildArgs = Object.entries(args).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]);
    try {
        const log = await docker(["build", "--network", "none", "-t", tag, ...buildArgs, "-f", path.join(ROOT, PGBACKREST_IMAGE_CONTEXT, "Dockerfile"), path.join(ROOT, PGBACKREST_IMAGE_CONTEXT)], { timeoutMs: 120_000 });
        return { ok: true, log };
    } catch (e: any) {
        return { ok: false, log: `${e.stdout ?? ""}${e.stderr ?? ""}${e.message}` };
    }
}

// The derived image of issue 17: the Dockerfile and install-pgbackrest.sh, built for real on
// the local Docker engine over stand-in bases (the official images cannot be pulled here).
describe("the derived PostgreSQL image with pgBackRest (Dockerfile on a real Docker engine, stand-in bases)", function () {
    const tags: string[] = [];
    const tag = (what: string) => {
        const t = `vps-test/${what}:${RUN_ID}`;
        tags.push(t);
        return t;
    };

    before(async function () {
        await ensureDockerEngine();
        await ensureTestImage();
    });
    after(async () => {
        for (const t of tags) await docker(["image", "rm", "-f", t]).catch(() => undefined);
    });

    it("on an Alpine-like base: apk installs exactly the pinned version with ca-certificates, and the image carries the config file, dirs and label", async () => {
        const base = tag("pg-alpine-stub");
        await stubBase(base, "apk", "2.54.0-r0");
        const image = tag("pg-alpine-pitr");
        const built = await buildDerived(image, base, "2.54.0");
        assert.ok(built.ok, built.log);
        const check = await docker([
            "run", "--rm", "--network", "none", "--entrypoint", "sh", image, "-c",
            `cat /var/log/pkg.log; stat -c '%U %a %n' ${PGBACKREST_CONFIG_FILE} ${PGBACKREST_VOLUME_PATH} ${PGBACKREST_VOLUME_PATH}/spool ${PGBACKREST_VOLUME_PATH}/log; echo "config=$PGBACKREST_CONFIG"; pgbackrest version`,
        ]);
        assert.match(check, /^apk add --no-cache pgbackrest~2\.54\.0 ca-certificates$/m);
        assert.match(check, new RegExp(`^postgres 640 ${PGBACKREST_CONFIG_FILE}$`, "m"));
        assert.match(check, new RegExp(`^postgres 750 ${PGBACKREST_VOLUME_PATH}/spool$`, "m"));
        assert.match(check, new RegExp(`^config=${PGBACKREST_CONFIG_FILE}$`, "m"));
        assert.match(check, /^pgBackRest 2\.54\.0$/m);
        const label = await docker(["image", "inspect", "--format", '{{index .Config.Labels "vps.pgbackrest-version"}}', image]);
        assert.equal(label.trim(), "2.54.0");
    });

    it("on a Debian-like base: apt-get installs pgbackrest=<version>-* (Debian's build, not PGDG's newest) with ca-certificates", async () => {
        const base = tag("pg-debian-stub");
        await stubBase(base, "apt-get", "2.45-1");
        const image = tag("pg-debian-pitr");
        const built = await buildDerived(image, base, "2.45");
        assert.ok(built.ok, built.log);
        const log = await docker(["run", "--rm", "--network", "none", "--entrypoint", "cat", image, "/var/log/pkg.log"]);
        assert.match(log, /^apt-get update$/m);
        assert.match(log, /^apt-get install -y --no-install-recommends pgbackrest=2\.45-\* ca-certificates$/m);
    });

    it("fails the build when the base's distribution does not carry the pinned version", async () => {
        const base = tag("pg-alpine-old-stub");
        await stubBase(base, "apk", "2.51-r0");
        const built = await buildDerived(tag("pg-alpine-wrong"), base, "2.54.0");
        assert.equal(built.ok, false);
        assert.match(built.log, /unable to select packages: pgbackrest~2\.54\.0/);
    });

    it("fails the build on a base with neither apk nor apt-get, naming why", async () => {
        const built = await buildDerived(tag("pg-busybox-pitr"), "vps-test/busybox:local", "2.54.0");
        assert.equal(built.ok, false);
        assert.match(built.log, /neither apk \(Alpine\) nor apt-get \(Debian\): use an official postgres image/);
    });
});
