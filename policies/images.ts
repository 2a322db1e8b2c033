/**
 * Images: every image a stack pulls is pinned to one build (a release tag, or a digest), by
 * `@sha256:` digest in production, so a preview shows exactly what will run and production
 * runs byte for byte what staging ran.
 */
import { configKeyOf, configSchema, DEFAULT_PRODUCTION_ENVIRONMENTS, definePolicy, isContainer, isProductionResource, isType, PolicyResourceView, productionEnvironmentsSchema, roleOf, stackEnvironments, StackViolation, stringList, T } from "./vocabulary";

/** A parsed image reference: `[registry/]repository[:tag][@digest]`. */
export interface ImageReference {
    repository: string;
    tag?: string;
    digest?: string;
}

export function parseImageReference(ref: string): ImageReference {
    const at = ref.indexOf("@");
    const digest = at >= 0 ? ref.slice(at + 1) : undefined;
    const nameTag = at >= 0 ? ref.slice(0, at) : ref;
    const lastSlash = nameTag.lastIndexOf("/");
    const colon = nameTag.indexOf(":", lastSlash + 1);
    return colon >= 0
        ? { repository: nameTag.slice(0, colon), tag: nameTag.slice(colon + 1), digest }
        : { repository: nameTag, digest };
}

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;
/** A Container's `image` is normally the RemoteImage's `imageId` (a local `sha256:` id): pinned by construction. */
const IMAGE_ID_RE = /^sha256:[0-9a-f]{64}$/;

/** The image references a resource pulls: a RemoteImage's `name`, a Container's `image` unless it is an image id. */
function imageReferences(r: PolicyResourceView): string[] {
    if (isType(r, T.remoteImage)) {
        const name = r.props.name;
        return typeof name === "string" ? [name] : [];
    }
    if (isContainer(r)) {
        const image = r.props.image;
        return typeof image === "string" && !IMAGE_ID_RE.test(image) ? [image] : [];
    }
    return [];
}

/** The config key that sets a resource's image: from a container's role, or the list of image keys for a RemoteImage. */
function imageKey(r: PolicyResourceView): string {
    return isContainer(r) && roleOf(r) ? `\`${configKeyOf(r, "image")}\`` : "its image key in the stack config (`services.<name>.image`, `postgres.image`, `redis.image` or `proxy.image`)";
}

const pinnedDefaults = { forbiddenTags: ["latest", "stable", "edge", "nightly", "main", "master", "develop"] };
export const imagePinned = definePolicy({
    name: "image-pinned",
    description:
        "Every image reference (a RemoteImage `name`, or a Container `image` that is not an image id) has a tag that is not a moving one such as `latest`, or a `sha256` digest, so a preview shows exactly what will run.",
    enforcementLevel: "mandatory",
    defaults: pinnedDefaults,
    configSchema: configSchema(pinnedDefaults, {
        forbiddenTags: stringList("Tags that move and therefore do not pin an image."),
    }),
    validateResource(r, config) {
        const key = imageKey(r);
        return imageReferences(r).flatMap((ref) => {
            const { tag, digest } = parseImageReference(ref);
            if (digest !== undefined) {
                return DIGEST_RE.test(digest) ? [] : [`Image '${ref}' has a malformed digest: use \`@sha256:<64 hex digits>\` in ${key}.`];
            }
            if (tag === undefined || tag === "") {
                return [`Image '${ref}' has no tag (Docker pulls \`latest\`): pin ${key} to a release tag or a \`@sha256:\` digest.`];
            }
            if (config.forbiddenTags.includes(tag.toLowerCase())) {
                return [`Image '${ref}' uses the moving tag '${tag}': pin ${key} to a release or commit tag, or a \`@sha256:\` digest.`];
            }
            return [];
        });
    },
});

const digestDefaults = { productionEnvironments: DEFAULT_PRODUCTION_ENVIRONMENTS };

/** A policy that every image of the production (or of the other) environments is pinned by digest. */
function imageDigestPolicy(production: boolean, name: string, description: string, enforcementLevel: "mandatory" | "advisory") {
    return definePolicy({
        name,
        description,
        enforcementLevel,
        defaults: digestDefaults,
        configSchema: configSchema(digestDefaults, { productionEnvironments: productionEnvironmentsSchema }),
        validateStack(resources, config, ctx) {
            const stackEnvs = stackEnvironments(resources, ctx);
            const out: StackViolation[] = [];
            for (const r of resources) {
                if (isProductionResource(r, stackEnvs, config.productionEnvironments) !== production) continue;
                for (const ref of imageReferences(r)) {
                    if (parseImageReference(ref).digest === undefined) {
                        out.push({ urn: r.urn, message: `Image '${ref}' is not pinned by digest: append \`@sha256:<digest>\` (e.g. from \`docker buildx imagetools inspect\`) to ${imageKey(r)}.` });
                    }
                }
            }
            return out;
        },
    });
}

export const imageDigestProduction = imageDigestPolicy(
    true,
    "image-digest-production",
    "In production every image is pinned by `@sha256:` digest, so the release that ran in staging is byte-for-byte the one deployed.",
    "mandatory",
);

export const imageDigestNonProduction = imageDigestPolicy(
    false,
    "image-digest-non-production",
    "Outside production (staging) images should be pinned by digest too; a commit tag is accepted, so this is advisory.",
    "advisory",
);

export const imagePolicies = [imagePinned, imageDigestProduction, imageDigestNonProduction];
