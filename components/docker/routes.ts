/**
 * The Traefik labels of a service's routes beyond one `Host()` router: host entries with a
 * path prefix, middlewares (basic auth, IP allow-list, rate limit, redirect, strip prefix) and
 * private paths the proxy refuses. Traefik facts this follows (measured on Traefik v3.7.13):
 *
 * - ``PathPrefix(`/admin`)`` also matches `/administrator`, so a prefix is matched as
 *   ``Path(`/admin`) || PathPrefix(`/admin/`)``;
 * - middlewares belong to routers, not hosts: every router of the service carries the
 *   service's middlewares, and a private path gets a router of its own with the highest
 *   priority, so no other router of that host (this service's or another's) serves it;
 * - one bad `traefik.*` label drops the container's whole configuration, so every key here is
 *   one Traefik knows and every name is `<app>-<env>-<service>[-suffix]`.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
// bcryptjs: plain JavaScript, no dependencies, no install scripts.
import * as bcrypt from "bcryptjs";
import { splitHostEntry } from "../naming";

/** Label form of the Docker provider. */
export type Label = { label: string; value: pulumi.Input<string> };

/** The middlewares of a service's routes and its private paths. */
export interface RouteMiddlewares {
    /** One `user:password` per line (a secret); hashed with bcrypt here, so only hashes reach the proxy. */
    readonly basicAuthUsers?: pulumi.Input<string>;
    /** Source addresses or CIDR ranges served; others get 403. */
    readonly ipAllowList?: string[];
    /** Average requests per period per client, burst, period (Traefik duration; default 1s). */
    readonly rateLimit?: { average: number; burst?: number; period?: string };
    /** A redirectRegex middleware. */
    readonly redirect?: { regex: string; replacement: string; permanent: boolean };
    /** Strip each path router's prefix before the service sees the request. */
    readonly stripPrefix?: boolean;
    /** Paths refused with 403 on every host of the service (`/metrics` and `/metrics/...`). */
    readonly privatePaths?: string[];
}

/** Priority of a router for a path prefix: above any `Host()`-only router (whose default is its rule's length), longer paths first. */
export const PATH_ROUTER_PRIORITY = 10_000;
/** Priority of the private-path router: above every other router of the host. */
export const PRIVATE_ROUTER_PRIORITY = 100_000;
/**
 * The only source the deny middleware admits: no TCP client has the address 0.0.0.0, so
 * every request to a private path gets 403 (Traefik has no deny middleware of its own).
 */
export const DENY_SOURCE_RANGE = "0.0.0.0/32";
/** bcrypt cost of basic-auth hashes (Traefik verifies one per request). */
export const BASIC_AUTH_BCRYPT_COST = 10;

/** `Host(a) || Host(b)`, parenthesised when it is combined with a path. */
function hostRule(hosts: string[], combined: boolean): string {
    const rule = hosts.map((h) => `Host(\`${h}\`)`).join(" || ");
    return combined && hosts.length > 1 ? `(${rule})` : rule;
}

/** A path prefix as Traefik should match it: the path itself and what is below it, not `/adminx`. */
export function pathRule(paths: string[]): string {
    return paths.map((p) => `Path(\`${p}\`) || PathPrefix(\`${p}/\`)`).join(" || ");
}

/** The routers of a service's host entries: the hosts without a path, and one per path prefix. */
export function routerGroups(entries: string[]): { path: string; hosts: string[] }[] {
    const groups = new Map<string, string[]>();
    for (const e of entries) {
        const { host, path } = splitHostEntry(e);
        if (!groups.has(path)) groups.set(path, []);
        groups.get(path)!.push(host);
    }
    // The whole-host router first: it keeps the name <app>-<env>-<service>.
    return [...groups.entries()].sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))).map(([path, hosts]) => ({ path, hosts }));
}

/** A router's rule for its group. */
export function groupRule(group: { path: string; hosts: string[] }): string {
    return group.path === "" ? hostRule(group.hosts, false) : `${hostRule(group.hosts, true)} && (${pathRule([group.path])})`;
}

/**
 * bcrypt hashes of basic-auth users as Traefik's `basicauth.users` takes them
 * (`user:$2b$...,user2:$2b$...`). The salt is derived from `context` (the router name) and the
 * user, not from the password, and never random: the same users give the same label on every
 * `pulumi up` (a changed label would replace the containers), and the hash reveals nothing a
 * random salt would hide.
 */
export function hashBasicAuthUsers(users: string, context: string): string {
    return users
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l !== "")
        .map((line) => {
            const i = line.indexOf(":");
            const user = line.slice(0, i);
            const seed = crypto.createHash("sha256").update(`vps-stacks basic auth\0${context}\0${user}`).digest();
            const salt = `$2b$${String(BASIC_AUTH_BCRYPT_COST).padStart(2, "0")}$${bcrypt.encodeBase64(seed, 16)}`;
            return `${user}:${bcrypt.hashSync(line.slice(i + 1), salt)}`;
        })
        .join(",");
}

/**
 * The labels of the middlewares, the path routers and the private-path router, and the
 * changes to the main router's labels (its rule, its middlewares). `main` holds the main
 * router's labels as `traefikLabels` made them: the extra routers copy its entrypoint, TLS
 * resolver and service.
 *
 * @param base the main router and service name, `<app>-<env>-<service>`
 * @param entries the service's host entries (`host` or `host/path`)
 */
export function routeLabels(base: string, entries: string[], middlewares: RouteMiddlewares, main: Label[]): Label[] {
    const groups = routerGroups(entries);
    const r = (name: string) => `traefik.http.routers.${name}`;
    const m = (name: string) => `traefik.http.middlewares.${name}`;
    const copied = (suffix: string) => main.find((l) => l.label === `${r(base)}.${suffix}`)?.value;
    const mw: Label[] = [];
    const chain: string[] = [];
    if (middlewares.redirect) {
        chain.push(`${base}-redirect`);
        mw.push(
            { label: `${m(`${base}-redirect`)}.redirectregex.regex`, value: middlewares.redirect.regex },
            { label: `${m(`${base}-redirect`)}.redirectregex.replacement`, value: middlewares.redirect.replacement },
            { label: `${m(`${base}-redirect`)}.redirectregex.permanent`, value: String(middlewares.redirect.permanent) },
        );
    }
    if (middlewares.ipAllowList && middlewares.ipAllowList.length > 0) {
        chain.push(`${base}-allow`);
        mw.push({ label: `${m(`${base}-allow`)}.ipallowlist.sourcerange`, value: middlewares.ipAllowList.join(",") });
    }
    if (middlewares.basicAuthUsers !== undefined) {
        chain.push(`${base}-auth`);
        // Secret: the hashes are kept encrypted in the state, as the passwords are.
        const users = pulumi.secret(pulumi.output(middlewares.basicAuthUsers).apply((u) => hashBasicAuthUsers(u, base)));
        mw.push({ label: `${m(`${base}-auth`)}.basicauth.users`, value: users });
    }
    if (middlewares.rateLimit) {
        chain.push(`${base}-ratelimit`);
        mw.push({ label: `${m(`${base}-ratelimit`)}.ratelimit.average`, value: String(middlewares.rateLimit.average) });
        if (middlewares.rateLimit.burst !== undefined) mw.push({ label: `${m(`${base}-ratelimit`)}.ratelimit.burst`, value: String(middlewares.rateLimit.burst) });
        if (middlewares.rateLimit.period !== undefined) mw.push({ label: `${m(`${base}-ratelimit`)}.ratelimit.period`, value: middlewares.rateLimit.period });
    }
    const pathPrefixes = groups.filter((g) => g.path !== "").map((g) => g.path);
    const strip = middlewares.stripPrefix === true && pathPrefixes.length > 0;
    if (strip) mw.push({ label: `${m(`${base}-strip`)}.stripprefix.prefixes`, value: pathPrefixes.join(",") });

    const out: Label[] = [...mw];
    const routerLabels = (name: string, rule: string, priority: number | undefined, chainOf: string[]) => {
        const labels: Label[] = [{ label: `${r(name)}.rule`, value: rule }];
        if (priority !== undefined) labels.push({ label: `${r(name)}.priority`, value: String(priority) });
        if (chainOf.length > 0) labels.push({ label: `${r(name)}.middlewares`, value: chainOf.join(",") });
        return labels;
    };
    groups.forEach((g, i) => {
        const name = i === 0 ? base : `${base}-path-${i}`;
        const priority = g.path === "" ? undefined : PATH_ROUTER_PRIORITY + g.path.length;
        const own = g.path !== "" && strip ? [...chain, `${base}-strip`] : chain;
        if (i === 0) {
            // The main router's rule is in `main` (see mainRouterLabels).
            out.push(...routerLabels(name, groupRule(g), priority, own).filter((l) => !l.label.endsWith(".rule")));
            return;
        }
        out.push(...routerLabels(name, groupRule(g), priority, own));
        for (const suffix of ["entrypoints", "tls.certresolver", "service"]) {
            const value = copied(suffix);
            if (value !== undefined) out.push({ label: `${r(name)}.${suffix}`, value });
        }
    });
    const privatePaths = middlewares.privatePaths ?? [];
    if (privatePaths.length > 0) {
        const hosts = [...new Set(entries.map((e) => splitHostEntry(e).host))];
        const name = `${base}-private`;
        out.push(
            { label: `${m(`${base}-deny`)}.ipallowlist.sourcerange`, value: DENY_SOURCE_RANGE },
            ...routerLabels(name, `${hostRule(hosts, true)} && (${pathRule(privatePaths)})`, PRIVATE_ROUTER_PRIORITY, [`${base}-deny`]),
        );
        for (const suffix of ["entrypoints", "tls.certresolver", "service"]) {
            const value = copied(suffix);
            if (value !== undefined) out.push({ label: `${r(name)}.${suffix}`, value });
        }
    }
    return out;
}

/**
 * The main router's labels: `traefikLabels` for the hosts of the first router group, with its
 * rule replaced when that group is a path prefix (a service routed only under paths).
 */
export function mainRouterLabels(base: string, entries: string[], traefik: (hosts: string[]) => Label[]): Label[] {
    const [first] = routerGroups(entries);
    const main = traefik(first.hosts);
    if (first.path === "") return main;
    return main.map((l) => (l.label === `traefik.http.routers.${base}.rule` ? { label: l.label, value: groupRule(first) } : l));
}
