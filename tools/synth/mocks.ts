/**
 * Pulumi mocks (`pulumi.runtime.setMocks`) shared by the offline synth and the tests.
 * `newResource` answers with the inputs as state plus the few outputs the program
 * reads back (image ids, generated names, ARNs), derived deterministically from the
 * resource's name so two synths of one stack are identical. A `call` token that is not
 * listed throws, so a new data-source lookup cannot slip through unmocked.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";

const digest = (text: string, length = 64) => createHash("sha256").update(text).digest("hex").slice(0, length);

/** Outputs a provider would compute, by resource type. */
function computedState(type: string, name: string, inputs: any): Record<string, unknown> {
    switch (type) {
        case "docker:index/remoteImage:RemoteImage":
            return { imageId: `sha256:${digest(inputs.name)}`, repoDigest: `${String(inputs.name).split(/[:@]/)[0]}@sha256:${digest(inputs.name)}` };
        case "docker:index/image:Image":
            // A local build (skipPush): repoDigest is the image id.
            return { repoDigest: `sha256:${digest(`${inputs.imageName}\0${JSON.stringify(inputs.build ?? {})}`)}`, baseImageName: inputs.imageName };
        case "docker:index/container:Container":
            // Pulumi auto-names an unnamed container `<resource name>-<random>`.
            return { name: inputs.name ?? `${name}-${digest(name, 7)}` };
        case "docker:index/network:Network":
        case "docker:index/volume:Volume":
            return { name: inputs.name ?? `${name}-${digest(name, 7)}` };
        case "aws:s3/bucket:Bucket": {
            const bucket = inputs.bucket ?? `${inputs.bucketPrefix ?? name}${digest(name, 12)}`;
            return { bucket, arn: `arn:aws:s3:::${bucket}`, bucketRegionalDomainName: `${bucket}.s3.amazonaws.com` };
        }
        case "aws:iam/user:User":
            return { arn: `arn:aws:iam::123456789012:user${inputs.path ?? "/"}${inputs.name ?? name}`, name: inputs.name ?? name };
        case "aws:iam/accessKey:AccessKey":
            return { id: `AKIA${digest(name, 16).toUpperCase()}`, secret: `synth-secret-${digest(name, 20)}` };
        case "aws:kms/key:Key":
            return { arn: `arn:aws:kms:us-east-1:123456789012:key/${digest(name, 36)}` };
        case "command:remote:Command":
            return { stdout: "", stderr: "" };
        default:
            return {};
    }
}

/** Data-source lookups the program makes, answered offline. */
function callResult(token: string, inputs: any): Record<string, unknown> {
    switch (token) {
        case "cloudflare:index/getZone:getZone": {
            const id = `zone-${digest(JSON.stringify(inputs), 32)}`;
            return { id, zoneId: id, name: inputs?.filter?.name ?? inputs?.name };
        }
        default:
            throw new Error(`unmocked call ${token}: add it to tools/synth/mocks.ts`);
    }
}

/** One `newResource` call as the mock monitor saw it. */
export interface RecordedResource {
    type: string;
    name: string;
    inputs: any;
    id: string;
}

/**
 * The outputs of the stack a `pulumi.StackReference` names (`<org>/<project>/<stack>`); the
 * offline synth resolves them by synthesizing that stack's file (tools/synth/stack-references.ts).
 */
export type StackOutputsResolver = (stack: string) => Promise<Record<string, unknown>>;

/** The type token of a stack reference, which the SDK reads as a resource of that type. */
export const STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference";

/** Mocks that record every resource; `resources` grows as the program runs. */
export class RecordingMocks implements pulumi.runtime.Mocks {
    readonly resources: RecordedResource[] = [];
    /** Why a stack reference could not be resolved, by stack name: the synth reports them after the run. */
    readonly referenceErrors = new Map<string, Error>();

    /** @param stackOutputs resolves a StackReference; without one, a reference is an error the synth reports. */
    constructor(private readonly stackOutputs?: StackOutputsResolver) {}

    async newResource(args: pulumi.runtime.MockResourceArgs): Promise<{ id: string; state: Record<string, any> }> {
        if (args.type === STACK_REFERENCE_TYPE) return this.stackReference(args);
        const id = `${args.name}-id`;
        this.resources.push({ type: args.type, name: args.name, inputs: args.inputs, id });
        return { id, state: { ...args.inputs, ...computedState(args.type, args.name, args.inputs) } };
    }

    /** A StackReference is read, not created: its state is the referenced stack's outputs. */
    private async stackReference(args: pulumi.runtime.MockResourceArgs): Promise<{ id: string; state: Record<string, any> }> {
        const stack = String(args.inputs.name ?? args.name);
        this.resources.push({ type: args.type, name: args.name, inputs: args.inputs, id: stack });
        let outputs: Record<string, unknown> = {};
        try {
            if (!this.stackOutputs) throw new Error(`no outputs are known for the stack reference "${stack}"`);
            outputs = await this.stackOutputs(stack);
        } catch (err) {
            this.referenceErrors.set(stack, err as Error);
        }
        return { id: stack, state: { name: stack, outputs, secretOutputNames: [] } };
    }

    call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        return callResult(args.token, args.inputs);
    }
}

/**
 * The URN the engine gives a resource: its type qualified by its parent's whole type chain,
 * without the root stack's type (`urn:pulumi:<stack>::<project>::<parent types>$<type>::<name>`,
 * as pulumi/pulumi pkg/resource/urn.go NewURN and the SDK's own `createUrn` build it).
 */
export function engineUrn(stack: string, project: string, parentUrn: string, type: string, name: string): string {
    const parentType = parentUrn ? parentUrn.split("::")[2] : "pulumi:pulumi:Stack";
    const qualified = parentType === "pulumi:pulumi:Stack" ? type : `${parentType}$${type}`;
    return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

/**
 * `pulumi.runtime.setMocks` with URNs as the engine makes them. The SDK's mock monitor
 * qualifies a type with its parent's last type only, and a top-level one with the stack's
 * (runtime/mocks.js newUrn), so a component's grandchildren would not change URN when the
 * component's type did, and aliases (which the SDK builds from the parent's URN, in the
 * engine's form) would not match the URNs they stand for.
 */
export async function setEngineMocks(mocks: pulumi.runtime.Mocks, project: string, stack: string): Promise<void> {
    await pulumi.runtime.setMocks(mocks, project, stack, false);
    const monitor = pulumi.runtime.getMonitor() as unknown as { newUrn(parent: string, type: string, name: string): string };
    monitor.newUrn = (parent, type, name) => engineUrn(stack, project, parent, type, name);
}
