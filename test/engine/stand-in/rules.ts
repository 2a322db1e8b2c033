/**
 * Per resource type, what the real provider decides and computes, as far as the engine
 * can see it: which input changes force a replacement, whether the provider asks for
 * delete-before-replace, which input it auto-names in `check`, the id and the outputs a
 * create returns. Each rule names the provider source it was read from; versions are the
 * plugins the SDK packages request (docker 5.2.0 = kreuzwerker/terraform-provider-docker
 * v4.5.0 bridged, command 1.2.1, aws 7.48.0 = hashicorp/terraform-provider-aws v6
 * bridged, cloudflare 6.22.1 = cloudflare/terraform-provider-cloudflare v5 bridged).
 *
 * Delete-before-replace: requested by pulumi-docker for every container (its
 * `DeleteBeforeReplace: true`), and by the bridge for a replacement whose auto-named
 * input the program set itself (a named volume or network). The program's own
 * `deleteBeforeReplace` option, when set, overrides either way (the engine's rule).
 *
 * Granularity: a top-level input. For a bridged provider a change anywhere inside a block
 * forces a replacement when the block or any field in it is `ForceNew`/`RequiresReplace`
 * (the bridge reports the top-level property); the rules below list top-level names.
 *
 * What is not here: how a real provider reads values back (normalised durations, CPU
 * strings, defaults it fills in). The stand-ins return the inputs as state; read-back is
 * the provider-correctness contract tests' job.
 */
import { digest, secret } from "./values";

/** What a create knows when it computes an id and outputs. */
export interface CreateContext {
    /** The resource name (last part of the URN). */
    name: string;
    /** The inputs, secrets unwrapped. */
    inputs: Record<string, any>;
    /** A fresh random hex string (a real provider's ids are not derived from inputs). */
    random: string;
}

/** The replacement and output rules of one resource type. */
export interface TypeRule {
    /** Where the rule was read, for a reviewer. */
    source: string;
    /**
     * Input keys whose change forces a replacement. "all" means every input except
     * `updatable` (providers whose schema is ForceNew almost everywhere).
     */
    replaceOn: string[] | "all";
    /** With `replaceOn: "all"`: the inputs the provider updates in place. */
    updatable?: string[];
    /** The provider asks for delete-before-replace on every replacement of this type. */
    deleteBeforeReplace?: boolean;
    /**
     * The input a bridged provider auto-names in `check` when the program leaves it unset
     * (and none of `conflictsWith` is set): `<resource name>-<7 random hex>`, kept across
     * updates, fresh on a replacement (the engine re-checks without old inputs first).
     * When the program sets it, a replacement is delete-before-replace: two resources
     * cannot share one name (pulumi-terraform-bridge `nameRequiresDeleteBeforeReplace`).
     */
    autoName?: { key: string; conflictsWith?: string[] };
    /** The id a create returns. */
    id(ctx: CreateContext): string;
    /** Outputs the provider computes beyond the inputs (only keys the inputs lack are added). */
    computed?(ctx: CreateContext): Record<string, unknown>;
    /** Computed outputs an update computes afresh (an image rebuilt gets a new id); the others keep their values. */
    recomputedOnUpdate?: string[];
}

const KREUZWERKER = "kreuzwerker/terraform-provider-docker v4.5.0 internal/provider/resource_docker_";
const AWS = "hashicorp/terraform-provider-aws v6 (pulumi-aws 7.48.0)";
const hex64 = (ctx: CreateContext) => digest(`${ctx.name}\0${ctx.random}`);
/** The bucket's name: as given, or the prefix (default the resource name) and a unique suffix, at most 63 characters. */
const bucketName = (ctx: CreateContext) => String(ctx.inputs.bucket ?? `${ctx.inputs.bucketPrefix ?? ctx.name}${digest(ctx.random, 26)}`.slice(0, 63));

/** Rules by type token. A type missing here is refused by the stand-in's check, so a new type cannot slip through. */
export const RULES: Record<string, TypeRule> = {
    "docker:index/container:Container": {
        source:
            `${KREUZWERKER}container.go (every attribute ForceNew except those updatable; resourceDockerContainerUpdate), ` +
            "pulumi-docker provider/resources.go (DeleteBeforeReplace: true; SetAutonaming(255, \"-\"))",
        replaceOn: "all",
        updatable: [
            "attach",
            "containerReadRefreshTimeoutMilliseconds",
            "cpuPeriod",
            "cpuQuota",
            "cpuSet",
            "cpuShares",
            "destroyGraceSeconds",
            "deviceReadBps",
            "deviceReadIops",
            "deviceWriteBps",
            "deviceWriteIops",
            "healthcheck",
            "init",
            "logs",
            "maxRetryCount",
            "memory",
            "memoryReservation",
            "memorySwap",
            "mustRun",
            "removeVolumes",
            "restart",
            "rm",
            "start",
            "tmpfs",
            "wait",
            "waitTimeout",
        ],
        deleteBeforeReplace: true,
        autoName: { key: "name" },
        id: hex64,
        computed: () => ({ exitCode: 0, networkData: [] }),
    },
    "docker:index/remoteImage:RemoteImage": {
        source: `${KREUZWERKER}image.go (name, pullTriggers, triggers, platform, build ForceNew; name not auto-named: a Fields override in pulumi-docker)`,
        replaceOn: ["name", "pullTriggers", "triggers", "platform", "build"],
        // The image id is the content's, so the same reference gives the same id on every pull.
        id: (ctx) => `sha256:${digest(String(ctx.inputs.name))}${ctx.inputs.name}`,
        computed: (ctx) => {
            const ref = String(ctx.inputs.name);
            const repo = ref.split("@")[0].replace(/:[^/:]+$/, "");
            return { imageId: `sha256:${digest(ref)}`, repoDigest: `${repo}@sha256:${digest(`${ref}\0digest`)}` };
        },
    },
    "docker:index/image:Image": {
        source:
            "pulumi/pulumi-docker 237b7899 provider/provider.go (a native resource, not bridged: Diff reports every changed input as an update, never a replacement; Update builds again) " +
            "and provider/image.go (dockerBuild returns imageName as the id; with skipPush, repoDigest is the built image's id from docker inspect)",
        replaceOn: [],
        id: (ctx) => String(ctx.inputs.imageName),
        // A build of the same context and arguments gives the same image (the builder's cache).
        computed: (ctx) => ({ repoDigest: `sha256:${digest(JSON.stringify([ctx.inputs.imageName, ctx.inputs.build ?? {}]))}`, baseImageName: ctx.inputs.imageName }),
        recomputedOnUpdate: ["repoDigest"],
    },
    "docker:index/network:Network": {
        source: `${KREUZWERKER}network.go (every input ForceNew)`,
        replaceOn: "all",
        autoName: { key: "name" },
        id: hex64,
        computed: () => ({ scope: "local", driver: "bridge" }),
    },
    "docker:index/volume:Volume": {
        source: `${KREUZWERKER}volume.go (every input ForceNew)`,
        replaceOn: "all",
        autoName: { key: "name" },
        // A Docker volume's id is its name.
        id: (ctx) => String(ctx.inputs.name),
        computed: (ctx) => ({ driver: "local", mountpoint: `/var/lib/docker/volumes/${ctx.inputs.name}/_data` }),
    },
    "command:remote:Command": {
        source: "pulumi/pulumi-command v1.2.1 provider/pkg/provider/common/inputs.go (only triggers is replaceOnChanges); remote/commandController.go",
        replaceOn: ["triggers"],
        id: (ctx) => `${ctx.name}${ctx.random.slice(0, 8)}`,
        computed: () => ({ stdout: "", stderr: "" }),
    },
    "cloudflare:index/dnsRecord:DnsRecord": {
        source: "cloudflare/terraform-provider-cloudflare v5 internal/services/dns_record/schema.go (zone_id and type RequiresReplace)",
        replaceOn: ["zoneId", "type"],
        id: (ctx) => digest(`${ctx.name}\0${ctx.random}`, 32),
        computed: () => ({ proxiable: true, createdOn: "2026-01-01T00:00:00Z", modifiedOn: "2026-01-01T00:00:00Z" }),
    },
    "aws:s3/bucket:Bucket": {
        source: `${AWS} aws_s3_bucket: bucket, bucket_prefix, bucket_namespace, object_lock_enabled, region ForceNew; bucket auto-named unless bucketPrefix is set`,
        replaceOn: ["bucket", "bucketPrefix", "bucketNamespace", "objectLockEnabled", "region"],
        autoName: { key: "bucket", conflictsWith: ["bucketPrefix"] },
        id: bucketName,
        computed: (ctx) => {
            const bucket = bucketName(ctx);
            return {
                bucket,
                arn: `arn:aws:s3:::${bucket}`,
                bucketDomainName: `${bucket}.s3.amazonaws.com`,
                bucketRegionalDomainName: `${bucket}.s3.${ctx.inputs.region ?? "us-east-1"}.amazonaws.com`,
                hostedZoneId: "Z21DNDUVLTQW6Q",
            };
        },
    },
    ...bucketSettings("bucketOwnershipControls:BucketOwnershipControls", "aws_s3_bucket_ownership_controls", []),
    ...bucketSettings("bucketPublicAccessBlock:BucketPublicAccessBlock", "aws_s3_bucket_public_access_block", []),
    ...bucketSettings("bucketVersioning:BucketVersioning", "aws_s3_bucket_versioning"),
    ...bucketSettings("bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "aws_s3_bucket_server_side_encryption_configuration"),
    ...bucketSettings("bucketPolicy:BucketPolicy", "aws_s3_bucket_policy", []),
    ...bucketSettings("bucketLifecycleConfiguration:BucketLifecycleConfiguration", "aws_s3_bucket_lifecycle_configuration"),
    ...bucketSettings("bucketObjectLockConfiguration:BucketObjectLockConfiguration", "aws_s3_bucket_object_lock_configuration", ["expectedBucketOwner", "objectLockEnabled"]),
    "aws:iam/user:User": {
        source: `${AWS} aws_iam_user: no ForceNew input (name and path are renamed in place)`,
        replaceOn: [],
        id: (ctx) => String(ctx.inputs.name),
        computed: (ctx) => ({
            arn: `arn:aws:iam::123456789012:user${ctx.inputs.path ?? "/"}${ctx.inputs.name}`,
            uniqueId: `AIDA${digest(ctx.random, 17).toUpperCase()}`,
        }),
    },
    "aws:iam/userPolicy:UserPolicy": {
        source: `${AWS} aws_iam_user_policy: name, name_prefix, user ForceNew; name auto-named`,
        replaceOn: ["name", "namePrefix", "user"],
        autoName: { key: "name", conflictsWith: ["namePrefix"] },
        id: (ctx) => `${ctx.inputs.user}:${ctx.inputs.name ?? ctx.name}`,
    },
    "aws:iam/accessKey:AccessKey": {
        source: `${AWS} aws_iam_access_key: user, pgp_key ForceNew; secret is Sensitive (a secret output)`,
        replaceOn: ["user", "pgpKey"],
        id: (ctx) => `AKIA${digest(ctx.random, 16).toUpperCase()}`,
        computed: (ctx) => ({
            status: "Active",
            secret: secret(`stand-in-secret-${digest(`${ctx.random}\0secret`, 32)}`),
            sesSmtpPasswordV4: secret(`stand-in-smtp-${digest(`${ctx.random}\0smtp`, 32)}`),
            createDate: "2026-01-01T00:00:00Z",
        }),
    },
};

/**
 * The rule shared by the bucket's settings resources: one per bucket, id = bucket name;
 * `bucket` and `region` force a replacement, and so do `forceNew` (by default
 * `expectedBucketOwner`, which some of them lack).
 */
function bucketSettings(token: string, tfName: string, forceNew = ["expectedBucketOwner"]): Record<string, TypeRule> {
    const replaceOn = ["bucket", "region", ...forceNew];
    return {
        [`aws:s3/${token}`]: {
            source: `${AWS} ${tfName}: ${replaceOn.join(", ")} ForceNew`,
            replaceOn,
            id: (ctx) => String(ctx.inputs.bucket),
        },
    };
}

/**
 * Packages served by pulumi-terraform-bridge: their check lists the inputs the provider
 * filled itself under `__defaults`, which the bridge's delete-before-replace rule reads.
 */
export const BRIDGED_PACKAGES = ["docker", "aws", "cloudflare"];

/** Function results the program asks for (invokes), by token. */
export const INVOKES: Record<string, (args: Record<string, any>) => Record<string, unknown>> = {
    // cloudflare 6.x getZone: by zoneId or by filter.name; the zone id is 32 hex characters.
    "cloudflare:index/getZone:getZone": (args) => {
        const name = args.filter?.name ?? `zone-${args.zoneId}`;
        const id = args.zoneId ?? digest(`zone\0${name}`, 32);
        return { id, zoneId: id, name, status: "active", paused: false, type: "full", nameServers: [], permissions: [] };
    },
};

/** Whether a change of input `key` replaces a resource of this rule. */
export function forcesReplacement(rule: TypeRule, key: string): boolean {
    return rule.replaceOn === "all" ? !(rule.updatable ?? []).includes(key) : rule.replaceOn.includes(key);
}

/**
 * Whether the provider asks for delete-before-replace when replacing with these (checked)
 * inputs: always for some types, and for a bridged type whose auto-named input the
 * program set itself (the bridge only knows that from `__defaults`).
 */
export function requestsDeleteBeforeReplace(rule: TypeRule, news: Record<string, unknown>, defaultsKey: string): boolean {
    if (rule.deleteBeforeReplace) return true;
    const defaults = news[defaultsKey];
    if (!rule.autoName || !Array.isArray(defaults)) return false;
    return news[rule.autoName.key] !== undefined && !defaults.includes(rule.autoName.key);
}
