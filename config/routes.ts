/**
 * How the proxy routes to a service (`services.<name>.hosts` and `services.<name>.routes`):
 * host entries that may carry a path prefix (`api.example.com/v1`), and the middlewares every
 * router of the service gets: basic auth (users from a secret config key), an IP allow-list,
 * a rate limit, a redirect, stripping the path prefix, and private paths the proxy refuses.
 */
import { z } from "zod";
import { splitHostEntry } from "../components/naming";
import { duration } from "./values";

/** A lower-case DNS host name, as `values.ts` `hostname` accepts it. */
const HOST = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
/** A URL path prefix: "/" and segments of URL-safe characters, no trailing "/", no "." or ".." segment. */
const PATH = /^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/;

/** Why a URL path prefix is not one, or undefined. */
export function pathProblem(path: string): string | undefined {
    if (!PATH.test(path)) return `"${path}" is not a path prefix such as /api or /v1/admin (no trailing "/", no spaces or quotes)`;
    if (path.split("/").some((seg) => seg === "." || seg === "..")) return `"${path}" has a "." or ".." segment`;
    return undefined;
}

/**
 * `services.<name>.hosts[]`: a host name, optionally followed by a path prefix
 * (`api.example.com/v1`): the proxy then routes only `/v1` and `/v1/...` of that host here.
 */
export const hostEntry = z.string().superRefine((value, ctx) => {
    const { host, path } = splitHostEntry(value);
    if (!HOST.test(host)) {
        ctx.addIssue({ code: "custom", message: "must be a lower-case DNS host name such as app.example.com, optionally with a path prefix (app.example.com/api)" });
        return;
    }
    const problem = path === "" ? undefined : pathProblem(path);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** A URL path prefix (`/metrics`). */
const pathPrefix = z.string().superRefine((value, ctx) => {
    const problem = pathProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** An IPv4 or IPv6 address or CIDR range, as Traefik's ipAllowList takes it. */
const sourceRange = z
    .string()
    .regex(
        /^((\d{1,3}\.){3}\d{1,3}(\/(3[0-2]|[12]?\d))?|[0-9a-fA-F:]*:[0-9a-fA-F:.]*(\/(12[0-8]|1[01]\d|\d?\d))?)$/,
        "must be an IP address or CIDR range such as 10.0.0.0/8 or 2001:db8::/32",
    );

/** `services.<name>.routes`: the middlewares of every router of the service. */
export const routesSchema = z.strictObject({
    /**
     * Basic auth: `usersKey` names a secret config key holding one `user:password` per line;
     * the program hashes each password (bcrypt) when it runs, so only hashes reach the proxy.
     */
    basicAuth: z.strictObject({ usersKey: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, "usersKey must name a config key") }).optional(),
    /** Only these source addresses or ranges are served; others get 403. */
    ipAllowList: z.array(sourceRange).min(1, "ipAllowList needs at least one address or range").optional(),
    /** Requests per `period` on average per client IP, with bursts up to `burst`; over it: 429. */
    rateLimit: z
        .strictObject({
            average: z.number().int().min(1, "average must be at least 1"),
            burst: z.number().int().min(1, "burst must be at least 1").optional(),
            period: duration.optional(),
        })
        .optional(),
    /** A redirect of matching URLs (Traefik redirectRegex): `regex` on the whole URL, `replacement` with $1... */
    redirect: z
        .strictObject({
            regex: z.string().min(1).refine((r) => { try { new RegExp(r); return true; } catch { return false; } }, "regex is not a regular expression"),
            replacement: z.string().min(1),
            permanent: z.boolean().default(false),
        })
        .optional(),
    /** Strip each host entry's path prefix before the request reaches the service. */
    stripPrefix: z.boolean().default(false),
    /** Paths the proxy refuses (403) on every host of the service, e.g. /metrics; `/metrics` also covers `/metrics/...`, not `/metricsx`. */
    privatePaths: z.array(pathPrefix).default([]),
});

/** `services.<name>.routes`, parsed. */
export type RoutesSection = z.output<typeof routesSchema>;

/** The users of a basic-auth secret: one `user:password` per line; blank lines ignored. */
export function basicAuthUsers(text: string): { user: string; password: string }[] {
    return text
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l !== "")
        .map((l) => {
            const i = l.indexOf(":");
            return { user: i < 0 ? l : l.slice(0, i), password: i < 0 ? "" : l.slice(i + 1) };
        });
}

/** Why a basic-auth secret cannot be used, or undefined; never repeats a password. */
export function basicAuthProblem(text: string): string | undefined {
    const users = basicAuthUsers(text);
    if (users.length === 0) return "holds no user: one user:password per line";
    for (const [n, u] of users.entries()) {
        if (!/^[A-Za-z0-9._@-]{1,64}$/.test(u.user)) return `line ${n + 1}: the user name must be 1-64 of A-Z a-z 0-9 . _ @ - (one user:password per line)`;
        if (u.password.length < 12) return `line ${n + 1}: the password of "${u.user}" is shorter than 12 characters`;
    }
    const names = users.map((u) => u.user);
    const dup = names.find((x, i) => names.indexOf(x) !== i);
    return dup ? `lists the user "${dup}" twice` : undefined;
}

/** A public URL an environment answers on, and what it answers when it is up. */
export interface PublicHealthUrl {
    readonly service: string;
    readonly url: string;
    /** 200, or 401 behind the proxy's basic auth. */
    readonly expectStatus: 200 | 401;
}

/**
 * The URLs the health-check job checks and the host's blackbox-exporter probes: each host entry
 * of a service with `healthPath`, at that path. A host entry may carry a path prefix
 * (api.example.com/v1): the URL is under it. Behind basic auth the proxy answers 401 to a
 * request without credentials, which proves the router and a healthy server are there (with
 * none, Traefik drops the router: 404).
 */
export function publicHealthUrls(services: Record<string, { hosts: string[]; healthPath?: string; routes?: { basicAuthUsers?: unknown } }>): PublicHealthUrl[] {
    return Object.entries(services).flatMap(([service, svc]) =>
        svc.healthPath === undefined
            ? []
            : svc.hosts.map((host): PublicHealthUrl => ({ service, url: `https://${host}${svc.healthPath}`, expectStatus: svc.routes?.basicAuthUsers !== undefined ? 401 : 200 })),
    );
}
