/**
 * A stand-in resource provider plugin: `test/engine/plugins/pulumi-resource-<package>` runs
 * this file with the package's name. It serves Pulumi's ResourceProvider gRPC protocol
 * with the SDK's own generated stubs (`@pulumi/pulumi/proto`) on a loopback port and
 * prints the port, as every provider plugin does, then answers the engine with
 * {@link StandIn}.
 *
 * Why not `@pulumi/pulumi/provider`'s `main()`: its server hands `diff` the old OUTPUTS
 * and drops `DiffRequest.old_inputs`, and answers `configure` without preview support;
 * a stand-in built on it compares computed outputs the program never set and reports
 * false replacements. Everything else here is what that server does.
 *
 * Environment: VPS_STAND_IN_JOURNAL (journal file, JSON lines), VPS_STAND_IN_WORLD
 * (world directory). Diagnostics go to stderr: stdout carries only the port.
 */
import * as grpc from "@grpc/grpc-js";
import * as fs from "fs";
import * as path from "path";
import * as emptyproto from "google-protobuf/google/protobuf/empty_pb";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import { DEFAULTS_KEY, StandIn } from "./provider";
import { sameValue } from "./values";
import { World } from "./world";

/* eslint-disable @typescript-eslint/no-var-requires */
// The SDK's generated gRPC code ships without type declarations for these paths' values.
const provrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
const provproto = require("@pulumi/pulumi/proto/provider_pb");
const plugproto = require("@pulumi/pulumi/proto/plugin_pb");

const ROOT = path.resolve(__dirname, "..", "..", "..");
/** The provider packages the stand-in serves (one program, four plugins). */
export const PACKAGES = ["docker", "command", "aws", "cloudflare"] as const;

/**
 * The plugin version the SDK package asks the engine for: `pulumi.version` in its
 * package.json, else its own version (what the Node.js language host reports).
 */
export function pluginVersion(pkg: string): string {
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", "@pulumi", pkg, "package.json"), "utf8"));
    return String(manifest.pulumi?.version ?? manifest.version).replace(/^v/, "");
}

type Callback = (err: grpc.ServiceError | null, value?: unknown) => void;
const toJs = (s: structproto.Struct | undefined): Record<string, unknown> => (s ? (s.toJavaScript() as Record<string, unknown>) : {});
const toStruct = (v: Record<string, unknown>) => structproto.Struct.fromJavaScript(v as Record<string, structproto.JavaScriptValue>);

/** Wraps a handler: any exception becomes a gRPC error naming the call (and is printed on stderr). */
function handle(method: string, fn: (request: any) => unknown) {
    return (call: { request: unknown }, callback: Callback) => {
        try {
            callback(null, fn(call.request));
        } catch (err) {
            process.stderr.write(`stand-in ${method}: ${(err as Error).stack ?? err}\n`);
            callback({ code: grpc.status.UNKNOWN, details: `${method}: ${(err as Error).message}` } as grpc.ServiceError);
        }
    };
}

function diffResponse(changes: string[], replaces: string[], deleteBeforeReplace: boolean) {
    const resp = new provproto.DiffResponse();
    resp.setChanges(changes.length > 0 ? provproto.DiffResponse.DiffChanges.DIFF_SOME : provproto.DiffResponse.DiffChanges.DIFF_NONE);
    resp.setDiffsList(changes);
    resp.setReplacesList(replaces);
    resp.setDeletebeforereplace(deleteBeforeReplace);
    const detailed = resp.getDetaileddiffMap();
    for (const key of changes) {
        const d = new provproto.PropertyDiff();
        d.setKind(replaces.includes(key) ? provproto.PropertyDiff.Kind.UPDATE_REPLACE : provproto.PropertyDiff.Kind.UPDATE);
        d.setInputdiff(true);
        detailed.set(key, d);
    }
    resp.setHasdetaileddiff(true);
    return resp;
}

/** The gRPC service implementation for one package. */
export function serviceFor(pkg: string, standIn: StandIn): grpc.UntypedServiceImplementation {
    const version = pluginVersion(pkg);
    const unimplemented = (name: string) => (_call: unknown, callback: Callback) =>
        callback({ code: grpc.status.UNIMPLEMENTED, details: `${name} is not implemented by the ${pkg} stand-in` } as grpc.ServiceError);
    return {
        handshake: unimplemented("Handshake"),
        parameterize: unimplemented("Parameterize"),
        construct: unimplemented("Construct"),
        call: unimplemented("Call"),
        attach: unimplemented("Attach"),
        getMapping: unimplemented("GetMapping"),
        getMappings: unimplemented("GetMappings"),
        list: unimplemented("List"),
        getPluginInfo: handle("GetPluginInfo", () => {
            const info = new plugproto.PluginInfo();
            info.setVersion(version);
            return info;
        }),
        getSchema: handle("GetSchema", () => {
            const resp = new provproto.GetSchemaResponse();
            resp.setSchema(JSON.stringify({ name: pkg, version }));
            return resp;
        }),
        // Provider configuration: accepted as given; a change updates the provider in place.
        checkConfig: handle("CheckConfig", (req) => {
            const resp = new provproto.CheckResponse();
            resp.setInputs(req.getNews());
            return resp;
        }),
        diffConfig: handle("DiffConfig", (req) => {
            const olds = toJs(req.getOldInputs() ?? req.getOlds());
            const news = toJs(req.getNews());
            const keys = [...new Set([...Object.keys(olds), ...Object.keys(news)])].filter((k) => k !== DEFAULTS_KEY);
            return diffResponse(keys.filter((k) => !sameValue(olds[k], news[k])).sort(), [], false);
        }),
        configure: handle("Configure", () => {
            const resp = new provproto.ConfigureResponse();
            resp.setAcceptsecrets(true);
            resp.setSupportspreview(true);
            resp.setAcceptresources(false);
            resp.setAcceptoutputs(false);
            return resp;
        }),
        invoke: handle("Invoke", (req) => {
            const resp = new provproto.InvokeResponse();
            resp.setReturn(toStruct(standIn.invoke(req.getTok(), toJs(req.getArgs()))));
            return resp;
        }),
        check: handle("Check", (req) => {
            const seed = req.getRandomseed_asB64 ? Buffer.from(req.getRandomseed_asB64(), "base64").toString("hex") : "";
            const result = standIn.check(req.getUrn(), toJs(req.getOlds()), toJs(req.getNews()), seed);
            const resp = new provproto.CheckResponse();
            resp.setInputs(toStruct(result.inputs));
            resp.setFailuresList(
                result.failures.map((f) => {
                    const failure = new provproto.CheckFailure();
                    failure.setProperty(f.property);
                    failure.setReason(f.reason);
                    return failure;
                }),
            );
            return resp;
        }),
        diff: handle("Diff", (req) => {
            const decision = standIn.diff(req.getId(), req.getUrn(), toJs(req.getOldInputs()), toJs(req.getNews()), req.getIgnorechangesList());
            return diffResponse(decision.changes, decision.replaces, decision.deleteBeforeReplace);
        }),
        create: handle("Create", (req) => {
            const result = standIn.create(req.getUrn(), toJs(req.getProperties()), req.getPreview());
            const resp = new provproto.CreateResponse();
            resp.setId(result.id);
            resp.setProperties(toStruct(result.outputs));
            return resp;
        }),
        read: handle("Read", (req) => {
            const result = standIn.read(req.getId(), req.getUrn());
            const resp = new provproto.ReadResponse();
            // An empty response (no id, no properties) tells the engine the resource is gone.
            if (result.outputs) {
                resp.setId(result.id);
                resp.setProperties(toStruct(result.outputs));
                resp.setInputs(toStruct(result.inputs ?? {}));
            }
            return resp;
        }),
        update: handle("Update", (req) => {
            const outputs = standIn.update(req.getId(), req.getUrn(), toJs(req.getOlds()), toJs(req.getNews()), req.getPreview());
            const resp = new provproto.UpdateResponse();
            resp.setProperties(toStruct(outputs));
            return resp;
        }),
        delete: handle("Delete", (req) => {
            standIn.delete(req.getId(), req.getUrn());
            return new emptyproto.Empty();
        }),
        cancel: handle("Cancel", () => new emptyproto.Empty()),
    };
}

/** Serves one package's stand-in on a loopback port and prints the port (the plugin handshake). */
export async function serve(pkg: string): Promise<void> {
    if (!(PACKAGES as readonly string[]).includes(pkg)) throw new Error(`unknown package "${pkg}"; one of ${PACKAGES.join(", ")}`);
    const worldDir = process.env.VPS_STAND_IN_WORLD;
    if (!worldDir) throw new Error("VPS_STAND_IN_WORLD is not set: the stand-ins run under the engine suite (test/engine/harness.ts)");
    const standIn = new StandIn({ pkg, journal: process.env.VPS_STAND_IN_JOURNAL, world: new World(worldDir) });
    const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
    server.addService(provrpc.ResourceProviderService, serviceFor(pkg, standIn));
    const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    process.stdout.write(`${port}\n`);
}

if (require.main === module) {
    serve(process.argv[2] ?? "").catch((err) => {
        process.stderr.write(`stand-in: ${err.message}\n`);
        process.exit(1);
    });
}
