/**
 * The value types every section of the config is made of (names, images, memory sizes, ports,
 * durations, calendar expressions, host names, addresses, CPU counts, log rotation), each a
 * zod schema whose message says what a good value looks like, and the readers the cross-field
 * checks use on the raw values.
 */
import { z } from "zod";
import { LOG_ROTATION } from "../components/defaults";
import { cpusProblem } from "../components/docker/docker-forms";
import { calendarExpressionProblem } from "./calendar";
import type { ConfigIssue } from "./types";

/** A name that goes into Docker names (`<app>-<env>-<role>`): 2–32 of a-z, 0-9 and "-", starting with a letter. */
export const resourceName = (what: string) =>
    z.string().regex(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/, `${what} must be 2–32 characters of a-z, 0-9 and "-", starting with a letter`);

/**
 * A container image reference that names one build: `repo:tag` with a tag other than
 * `latest`, or `repo@sha256:<64 hex>` (optionally with a tag before the digest).
 */
export function imageReferenceProblem(ref: string, requireDigest: boolean): string | undefined {
    const m = /^((?:[a-z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._\/-][a-z0-9]+)*)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(
        ref,
    );
    if (!m) return `"${ref}" is not an image reference (registry/repository:tag or @sha256:digest)`;
    const [, , tag, digest] = m;
    if (requireDigest && !digest) {
        return `"${ref}" must be pinned by digest (@sha256:...) because requireImageDigest is true`;
    }
    if (!tag && !digest) return `"${ref}" has no tag: pin a version tag or a digest`;
    if (tag === "latest" && !digest) return `"${ref}" uses the moving tag "latest": pin a version tag or a digest`;
    return undefined;
}

/** An image reference; whether it is pinned depends on requireImageDigest, so the cross-field checks judge it ({@link imageIssues}). */
export const image = z.string();

/**
 * Parses a memory size as Docker accepts it (`512m`, `1g`, `256MiB`, `1.5GB`) to whole
 * mebibytes, the unit of the Docker provider's `memory` argument. Returns undefined
 * when unparsable.
 */
export function parseMemoryMb(value: string): number | undefined {
    const m = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)$/i.exec(value.trim());
    if (!m) return undefined;
    const factor: Record<string, number> = { b: 1 / 1048576, k: 1 / 1024, m: 1, g: 1024 };
    const mb = Number(m[1]) * factor[m[2].toLowerCase()[0]];
    return Math.floor(mb);
}

/** A memory limit (`512m`, `1g`), parsed to MiB; at least Docker's minimum of 6 MiB. */
export const memory = z.string().transform((value, ctx) => {
    const mb = parseMemoryMb(value);
    if (mb === undefined) {
        ctx.addIssue({ code: "custom", message: `memory limit "${value}" is unparsable: use a number with a unit, e.g. 512m or 1g` });
        return z.NEVER;
    }
    // Docker refuses limits under 6 MiB (`Minimum memory limit allowed is 6MB`).
    if (mb < 6) {
        ctx.addIssue({ code: "custom", message: `memory limit "${value}" is below Docker's minimum of 6m` });
        return z.NEVER;
    }
    return mb;
});

/** A TCP port, 1–65535. */
export const port = z.number().int("port must be a whole number").min(1, "port must be 1–65535").max(65535, "port must be 1–65535");

/** A Docker duration: `10s`, `1m30s`, `500ms`. */
export const duration = z
    .string()
    .regex(/^(\d+(ms|s|m|h))+$/, 'duration must look like "10s", "1m30s" or "500ms"');

/** A systemd calendar expression (`OnCalendar=`), checked against systemd.time(7) (calendar.ts). */
export const calendar = z.string().superRefine((value, ctx) => {
    const problem = calendarExpressionProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: `bad systemd calendar expression "${value}": ${problem}` });
});

/** A lower-case DNS host name such as app.example.com. */
export const hostname = z
    .string()
    .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "must be a lower-case DNS host name such as app.example.com");

/** A dotted IPv4 address. */
export const ipv4 = z.string().regex(/^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)$/, "must be an IPv4 address");

/** A CPU limit in CPUs, in a form the Docker provider reads back unchanged (docker-forms.ts). */
export const cpus = z
    .number()
    .positive("cpus must be greater than 0")
    .max(256, "cpus must be at most 256")
    .superRefine((value, ctx) => {
        // The Docker provider forces a replacement on any cpus difference and reads some
        // values back as other numbers (0.05 as "0.1"): those would replace every update.
        const problem = cpusProblem(value);
        if (problem) ctx.addIssue({ code: "custom", message: `cpus ${problem}` });
    });

/** json-file log rotation of a container; default {@link LOG_ROTATION} (10m x 3). */
export const logRotation = z
    .strictObject({
        /** json-file `max-size`; Docker's default is unlimited, which fills disks. */
        maxSize: z.string().regex(/^\d+[kmg]$/, 'maxSize must look like "10m"').default(LOG_ROTATION.maxSize),
        maxFile: z.number().int().min(1).max(100).default(LOG_ROTATION.maxFile),
    })
    .default({ ...LOG_ROTATION });

// ---------------------------------------------------------------------------------------
// Reading the raw values in cross-field checks
// ---------------------------------------------------------------------------------------

/**
 * A cross-field check of one concept: the rules its schema cannot see because they span
 * fields or sections. It reads the decoded raw values defensively (a value of the wrong type
 * is the schema's to report, and is skipped here), so that one run reports schema and
 * cross-field problems together.
 */
export type CrossFieldCheck = (raw: RawValues, secretKeys: ReadonlySet<string>) => ConfigIssue[];

/** The decoded raw values of a stack, before the schema: any key may hold any type. */
export type RawValues = Readonly<Record<string, unknown>>;

/** A raw value as a map, or {} when it is not one. */
export function record(v: unknown): RawValues {
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as RawValues) : {};
}

/** A raw value as a list, or [] when it is not one. */
export function list(v: unknown): unknown[] {
    return Array.isArray(v) ? v : [];
}

/** A raw value when it is a string. */
export function text(v: unknown): string | undefined {
    return typeof v === "string" ? v : undefined;
}

/** The issue of an image reference at `path` (see {@link imageReferenceProblem}), if it is a string and not pinned. */
export function imageIssues(path: string, ref: unknown, raw: RawValues): ConfigIssue[] {
    if (typeof ref !== "string") return [];
    const problem = imageReferenceProblem(ref, raw.requireImageDigest === true);
    return problem ? [{ path, message: problem }] : [];
}
