import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

// s3rver 3.7.1 ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const S3rver = require("s3rver");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const S3Object = require("s3rver/lib/models/object");

/** A free TCP port on 127.0.0.1 (bound, then released). */
export async function freePort(): Promise<number> {
    const srv = net.createServer();
    await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
    const { port } = srv.address() as net.AddressInfo;
    await new Promise<void>((resolve) => srv.close(() => resolve()));
    return port;
}

/**
 * An S3-compatible server on loopback for the backup tests: s3rver (a devDependency)
 * with its files in a temporary directory, one bucket, and the credential S3RVER/S3RVER.
 * It speaks what rclone uses: PUT, multipart upload, server-side copy, ListObjects, GET,
 * HEAD and DELETE. Tests read objects back through its store, not through rclone, so a
 * check does not trust the client under test.
 */
export class S3Server {
    readonly bucket = "vps-backups-test";
    readonly accessKeyId = "S3RVER";
    readonly secretAccessKey = "S3RVER";
    readonly directory: string;
    port = 0;
    private server: any;

    constructor() {
        this.directory = fs.mkdtempSync(path.join(os.tmpdir(), "s3rver-"));
    }

    /** Starts (or restarts, on the same port and files) the server; a no-op while it runs. */
    async start(): Promise<this> {
        if (this.server?.httpServer?.listening) {
            return this;
        }
        if (this.port === 0) {
            this.port = await freePort();
        }
        this.server = new S3rver({
            address: "127.0.0.1",
            port: this.port,
            silent: true,
            directory: this.directory,
            configureBuckets: [{ name: this.bucket }],
        });
        await this.server.run();
        return this;
    }

    /** Stops listening and drops open keep-alive connections, as a crashed server would. */
    async stop(): Promise<void> {
        if (!this.server?.httpServer?.listening) {
            return;
        }
        const closed = this.server.close();
        this.server.httpServer.closeAllConnections();
        await closed;
    }

    /** Removes the server's files (after stop). */
    remove(): void {
        fs.rmSync(this.directory, { recursive: true, force: true });
    }

    get endpoint(): string {
        return `http://127.0.0.1:${this.port}`;
    }

    /** The S3_* environment of the job scripts (components/scripts/s3.sh) for this server. */
    env(prefix: string): Record<string, string> {
        return {
            S3_BUCKET: this.bucket,
            S3_PREFIX: prefix,
            S3_REGION: "us-east-1",
            S3_ENDPOINT: this.endpoint,
            S3_ACCESS_KEY_ID: this.accessKeyId,
            S3_SECRET_ACCESS_KEY: this.secretAccessKey,
        };
    }

    /** Every stored object key under a prefix, sorted (incomplete multipart uploads are not objects). */
    async keys(prefix = ""): Promise<string[]> {
        const store = this.server.store;
        const { objects } = await store.listObjects(this.bucket, { prefix });
        return objects.map((o: any) => o.key as string).sort();
    }

    /** The stored bytes of an object. */
    async read(key: string): Promise<Buffer> {
        const object = await this.server.store.getObject(this.bucket, key);
        if (!object) {
            throw new Error(`no object ${key}`);
        }
        const chunks: Buffer[] = [];
        for await (const chunk of object.content) {
            chunks.push(chunk as Buffer);
        }
        return Buffer.concat(chunks);
    }

    /** SHA-256 (hex) of a stored object. */
    async sha256(key: string): Promise<string> {
        return crypto.createHash("sha256").update(await this.read(key)).digest("hex");
    }

    /** Stores an object directly in the store, as a client that died before its sidecar would leave it. */
    async put(key: string, content: Buffer): Promise<void> {
        await this.server.store.putObject(new S3Object(this.bucket, key, content, { "content-length": String(content.length) }));
    }

    /** Number of multipart uploads started and not completed (their parts are on disk). */
    pendingUploadParts(): number {
        const uploads = path.join(this.directory, this.bucket, "._S3rver_uploads");
        if (!fs.existsSync(uploads)) {
            return 0;
        }
        return fs.readdirSync(uploads).reduce((n, id) => n + fs.readdirSync(path.join(uploads, id)).filter((f) => /^\d+$/.test(f)).length, 0);
    }
}
