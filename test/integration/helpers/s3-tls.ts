/**
 * An S3-compatible server over TLS on loopback for the PITR tests: s3rver in a process of its
 * own (s3-tls-process.ts, which says why), with a self-signed certificate for `localhost`
 * (pgBackRest 2.45 matches no IP address in a certificate), trusted by
 * `repo1-storage-ca-file`. `stop()` kills it as a store that drops would vanish; `start()`
 * brings it back on the same port with the same objects. Tests read and damage objects
 * through its files, not through a client under test.
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { freePort } from "./s3-server";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const SUFFIX = "._S3rver_object";

export class TlsS3Server {
    readonly bucket = "vps-backups-test";
    readonly accessKeyId = "S3RVER";
    readonly secretAccessKey = "S3RVER";
    readonly directory: string;
    readonly certDir: string;
    port = 0;
    private child?: ChildProcess;

    /** @param root a private directory; the server's files go in `<root>/s3`, the certificate in `<root>/tls` */
    constructor(root: string) {
        this.directory = path.join(root, "s3");
        this.certDir = path.join(root, "tls");
        fs.mkdirSync(this.directory, { recursive: true });
        fs.mkdirSync(this.certDir, { recursive: true });
        execFileSync("openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", this.keyFile, "-out", this.caFile,
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
        ], { stdio: "ignore" });
        fs.chmodSync(this.caFile, 0o644);
    }

    get keyFile(): string {
        return path.join(this.certDir, "key.pem");
    }

    /** The self-signed certificate, which is its own CA. */
    get caFile(): string {
        return path.join(this.certDir, "cert.pem");
    }

    get endpoint(): string {
        return `https://localhost:${this.port}`;
    }

    get running(): boolean {
        return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
    }

    async start(): Promise<this> {
        if (this.running) return this;
        if (this.port === 0) this.port = await freePort();
        const child = spawn(
            process.execPath,
            ["--openssl-legacy-provider", "--require", "sucrase/register/ts", path.join(__dirname, "s3-tls-process.ts"), String(this.port), this.directory, this.keyFile, this.caFile, this.bucket],
            { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
        );
        this.child = child;
        let err = "";
        child.stderr!.on("data", (d) => (err += d));
        await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`s3rver did not start within 20 s: ${err}`)), 20_000);
            child.stdout!.on("data", (d) => {
                if (String(d).includes("listening")) {
                    clearTimeout(timer);
                    resolve();
                }
            });
            child.on("exit", (code) => {
                clearTimeout(timer);
                reject(new Error(`s3rver exited ${code}: ${err}`));
            });
        });
        return this;
    }

    /** Kills the server (SIGKILL: connections drop as when a store goes away). */
    async stop(): Promise<void> {
        const child = this.child;
        if (!child || !this.running) return;
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.kill("SIGKILL");
        await exited;
    }

    /** The file holding an object's bytes. */
    objectFile(key: string): string {
        return path.join(this.directory, this.bucket, `${key}${SUFFIX}`);
    }

    /** Every stored key under a prefix, sorted. */
    keys(prefix = ""): string[] {
        const base = path.join(this.directory, this.bucket);
        const out: string[] = [];
        const walk = (dir: string) => {
            if (!fs.existsSync(dir)) return;
            for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
                const full = path.join(dir, entry.name);
                if (entry.isDirectory()) walk(full);
                else if (entry.name.endsWith(SUFFIX)) out.push(path.relative(base, full).slice(0, -SUFFIX.length));
            }
        };
        walk(base);
        return out.filter((k) => k.startsWith(prefix)).sort();
    }
}
