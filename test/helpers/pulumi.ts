/**
 * Test helpers for building components under Pulumi's mocks: install the shared
 * RecordingMocks, capture every child's type, name, props and explicitly set options
 * through the `transformations` resource option (the mock monitor itself never sees
 * options), and await Outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { RecordingMocks, setEngineMocks } from "../../tools/synth/mocks";

/** A resource as a transformation saw it. */
export interface CapturedResource {
    type: string;
    name: string;
    props: any;
    opts: pulumi.CustomResourceOptions & pulumi.ComponentResourceOptions;
    resource: pulumi.Resource;
}

/** Installs fresh recording mocks for `stack`; call in `before`/`beforeEach`. */
export async function useMocks(stack = "test"): Promise<RecordingMocks> {
    const mocks = new RecordingMocks();
    await setEngineMocks(mocks, "vps-stacks", stack);
    return mocks;
}

/** A capture list and the transformation that fills it; pass `opts` to the component under test. */
export function capture(): { resources: CapturedResource[]; opts: { transformations: pulumi.ResourceTransformation[] } } {
    const resources: CapturedResource[] = [];
    return {
        resources,
        opts: {
            transformations: [
                (args) => {
                    resources.push({ type: args.type, name: args.name, props: args.props, opts: args.opts as any, resource: args.resource });
                    return undefined;
                },
            ],
        },
    };
}

/** The value of an Output (or plain value), awaited. */
export function unwrap<T>(value: pulumi.Input<T>): Promise<T> {
    return new Promise((resolve) => pulumi.output(value).apply((v) => resolve(v as T)));
}

/** Whether an Output is marked secret. */
export function isSecret(value: unknown): Promise<boolean> {
    return pulumi.Output.isInstance(value) ? (value as any).isSecret : Promise.resolve(false);
}

/** The one captured resource of `type` whose name ends with `suffix`; throws with the list when absent. */
export function find(resources: CapturedResource[], type: string, suffix = ""): CapturedResource {
    const matches = resources.filter((r) => r.type === type && r.name.endsWith(suffix));
    if (matches.length !== 1) {
        throw new Error(`expected one ${type} ending "${suffix}", found ${matches.length}: ${resources.map((r) => `${r.type} ${r.name}`).join(", ")}`);
    }
    return matches[0];
}
