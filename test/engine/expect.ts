/**
 * Journal queries the engine suite asserts with: which provider calls the engine made,
 * for which resources, in which order.
 */
import { JournalEntry, mutations, urnName } from "./stand-in/journal";

export const CONTAINER = "docker:index/container:Container";
export const IMAGE = "docker:index/remoteImage:RemoteImage";
export const NETWORK = "docker:index/network:Network";
export const VOLUME = "docker:index/volume:Volume";
export const COMMAND = "command:remote:Command";
export const DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord";
export const BUCKET = "aws:s3/bucket:Bucket";
/** The bucket and the settings resources that are retained with it. */
export const BUCKET_TYPES = [
    BUCKET,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
];
/** What a destroy of an environment must delete: the running service and its jobs. */
export const APPLICATION_TYPES = [CONTAINER, NETWORK, DNS_RECORD, COMMAND];

/** Calls of one method (previews left out for create and update). */
export function calls(entries: JournalEntry[], method: JournalEntry["method"], type?: string): JournalEntry[] {
    return entries.filter((e) => e.method === method && !e.preview && (type === undefined || e.type === type));
}

/** The calls for resources whose name (last URN part) is `name`. */
export function named(entries: JournalEntry[], name: string): JournalEntry[] {
    return entries.filter((e) => e.urn !== undefined && urnName(e.urn) === name);
}

/** Position of the first entry matching `pred`, -1 when none. */
export function indexOf(entries: JournalEntry[], pred: (e: JournalEntry) => boolean): number {
    return entries.findIndex(pred);
}

/** "create docker:index/... name" lines of the calls that changed something, for assertion messages. */
export function describeMutations(entries: JournalEntry[]): string[] {
    return mutations(entries).map((e) => `${e.method} ${e.type} ${e.urn ? urnName(e.urn) : ""}`);
}

/**
 * A resource's calls in `entries`, with the positions of the create of its replacement
 * and of the delete of the old one (`oldId`); -1 when absent.
 */
export function replacement(entries: JournalEntry[], name: string, oldId: string | undefined): { calls: JournalEntry[]; created: number; deleted: number } {
    const own = named(entries, name);
    return {
        calls: own,
        created: indexOf(own, (e) => e.method === "create" && !e.preview),
        deleted: indexOf(own, (e) => e.method === "delete" && e.id === oldId),
    };
}

/** Every create, update or delete of a Docker volume. */
export function volumeMutations(entries: JournalEntry[]): JournalEntry[] {
    return mutations(entries).filter((e) => e.type === VOLUME);
}
