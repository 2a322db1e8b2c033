/**
 * The S3-compatible server of the PITR tests, as a process of its own (started by
 * `TlsS3Server`, s3-tls.ts): s3rver 3.7.1 over TLS on 127.0.0.1, for pgBackRest 2.45, which
 * speaks only HTTPS to S3 and checks the certificate's DNS name (`localhost`).
 *
 *   node --openssl-legacy-provider -r sucrase/register/ts s3-tls-process.ts <port> <dir> <key.pem> <cert.pem> <bucket>
 *
 * Two s3rver bugs break pgBackRest and are worked around here:
 * - a listing with a delimiter does not report a "directory" that holds only
 *   sub-directories as a CommonPrefix (`archive/<stanza>/15-1/` holds only
 *   `0000000100000000/`), so verify found no archive and expire no archive id: the listing is
 *   made without the delimiter and folded into prefixes here;
 * - a listing of more than 1000 keys makes a continuation token with DES, which Node 20 and
 *   22 refuse under OpenSSL 3 (ERR_OSSL_EVP_UNSUPPORTED; expire of a full set hung, then
 *   failed): hence --openssl-legacy-provider, for this process only.
 * Prints "listening <port>" once it serves.
 */
import * as fs from "fs";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const S3rver = require("s3rver");

async function main(): Promise<void> {
    const [port, directory, keyFile, certFile, bucket] = process.argv.slice(2);
    const server = new S3rver({
        address: "127.0.0.1",
        port: Number(port),
        silent: true,
        directory,
        key: fs.readFileSync(keyFile),
        cert: fs.readFileSync(certFile),
        configureBuckets: [{ name: bucket }],
    });
    const list = server.store.listObjects.bind(server.store);
    server.store.listObjects = async (name: string, options: any) => {
        const { delimiter = "", prefix = "", maxKeys = Infinity } = options;
        if (!delimiter) return list(name, options);
        const all = await list(name, { ...options, delimiter: "", maxKeys: Infinity });
        const prefixes = new Set<string>();
        const objects: any[] = [];
        let isTruncated = false;
        for (const o of all.objects) {
            const i = o.key.slice(prefix.length).indexOf(delimiter);
            if (i !== -1) {
                prefixes.add(o.key.slice(0, prefix.length + i + delimiter.length));
                continue;
            }
            if (objects.length < maxKeys) objects.push(o);
            else {
                isTruncated = true;
                break;
            }
        }
        return { objects, commonPrefixes: [...prefixes].sort(), isTruncated };
    };
    await server.run();
    process.stdout.write(`listening ${port}\n`);
}

main().catch((e) => {
    process.stderr.write(`${e?.stack ?? e}\n`);
    process.exit(1);
});
