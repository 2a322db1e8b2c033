/**
 * The stand-ins' journal: one JSON line per provider call, appended by every stand-in
 * process of a test (the file named by `VPS_STAND_IN_JOURNAL`), read by the engine suite
 * to assert what the engine decided. Secret values are recorded as "[secret]".
 *
 * Lines are appended with one `write` each (O_APPEND), so the lines of concurrent
 * stand-in processes never interleave, and their order is the order the engine made the
 * calls in when one call finished before the next began (a replacement's create and
 * delete, a destroy's deletes along the dependency graph).
 */
import * as fs from "fs";

/** The provider calls the journal records. */
export type JournalMethod = "check" | "diff" | "create" | "read" | "update" | "delete" | "invoke";

/** One provider call. */
export interface JournalEntry {
    /** Milliseconds since the epoch when the call was answered. */
    time: number;
    /** The stand-in process (one per provider instance). */
    pid: number;
    /** The provider package: docker, command, aws, cloudflare. */
    package: string;
    method: JournalMethod;
    /** The resource's URN (absent for an invoke). */
    urn?: string;
    /** The resource type token, e.g. `docker:index/container:Container`. */
    type?: string;
    /** The resource's id (diff, read, update, delete; the new id for create). */
    id?: string;
    /** A preview call (create or update with preview=true): nothing was changed. */
    preview?: boolean;
    /** The inputs the call received (check: the checked inputs; create/update: the new inputs). */
    inputs?: Record<string, unknown>;
    /** diff: the input keys that differ. */
    changes?: string[];
    /** diff: the keys that force a replacement (empty: an update, or no change). */
    replaces?: string[];
    /** diff: what the stand-in told the engine: "none", "update" or "replace". */
    decision?: "none" | "update" | "replace";
    /** diff: the provider's delete-before-replace request (the program's option can override it). */
    deleteBeforeReplace?: boolean;
    /** create: a resource with the same type and id already existed in the stand-ins' world. */
    existed?: boolean;
    /** read: whether the resource exists in the stand-ins' world. */
    found?: boolean;
    /** invoke: the function token. */
    token?: string;
}

/** Appends one entry to the journal file (one write: lines of concurrent processes never mix). */
export function appendEntry(file: string, entry: JournalEntry): void {
    fs.appendFileSync(file, `${JSON.stringify(entry)}\n`);
}

/** Every entry of a journal file, in order; an absent file is an empty journal. */
export function readJournal(file: string): JournalEntry[] {
    if (!fs.existsSync(file)) return [];
    return fs
        .readFileSync(file, "utf8")
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => JSON.parse(line) as JournalEntry);
}

/** The resource name part of a URN (`...::<type>::<name>`). */
export function urnName(urn: string): string {
    return urn.slice(urn.lastIndexOf("::") + 2);
}

/** Calls that changed something: create, update and delete that were not previews. */
export function mutations(entries: JournalEntry[]): JournalEntry[] {
    return entries.filter((e) => (e.method === "create" || e.method === "update" || e.method === "delete") && !e.preview);
}

/** Diffs that asked for a replacement. */
export function replacements(entries: JournalEntry[]): JournalEntry[] {
    return entries.filter((e) => e.method === "diff" && e.decision === "replace");
}
