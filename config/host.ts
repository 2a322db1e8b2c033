/**
 * The VPS (`host`) and the private registries its Docker provider pulls from (`registries`).
 */
import { z } from "zod";
import { SSH_PORT } from "../components/defaults";
import type { ConfigIssue } from "./types";
import { CrossFieldCheck, list, port, record } from "./values";

const HOST_KEY_TYPES = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"];

/**
 * Why a text is not an SSH public key line (`<type> <base64 blob> [comment]`) as
 * `ssh.ParseAuthorizedKey` (used by pulumi-command for `hostKey`) reads it, or undefined.
 * The blob must start with its own type name, as the SSH wire format has it.
 */
export function sshPublicKeyProblem(text: string): string | undefined {
    const [type, blob] = text.trim().split(/\s+/);
    if (!HOST_KEY_TYPES.includes(type)) {
        return `hostKey must start with the key type (${HOST_KEY_TYPES.join(", ")}), as \`ssh-keyscan -t ed25519 <host>\` prints it after the host name`;
    }
    const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(blob ?? "") ? Buffer.from(blob, "base64") : Buffer.alloc(0);
    const nameLength = bytes.length >= 4 ? bytes.readUInt32BE(0) : -1;
    if (nameLength !== type.length || bytes.subarray(4, 4 + nameLength).toString("latin1") !== type) {
        return `hostKey's key data is not a base64 ${type} public key (copy the whole line ssh-keyscan prints)`;
    }
    return undefined;
}

/** `host`: where the environment runs and how the program reaches it. */
export const hostSchema = z.strictObject({
    /** Address `ssh` connects to. */
    sshAddress: z.string().min(1, "sshAddress is required"),
    sshPort: port.default(SSH_PORT),
    /** Login user; must be in the `docker` group. */
    user: z.string().regex(/^[a-z_][a-z0-9_-]*$/, "user must be a Unix user name"),
    /** Directory the environment's files go to; must be writable by user. */
    deployDir: z.string().regex(/^\/[^\s]*$/, "deployDir must be an absolute path without spaces"),
    /** Extra `ssh` options for the Docker provider, e.g. ["-o", "StrictHostKeyChecking=yes"]. */
    sshOptions: z.array(z.string()).default([]),
    /**
     * The VPS's SSH host key as `ssh-keyscan` prints it without the host name
     * (`ssh-ed25519 AAAA...`). The remote commands verify the server with it; without one,
     * pulumi-command would accept any server and send it the jobs' secrets.
     */
    /**
     * The VPS's platform, for an image the stack builds on it (PostgreSQL with pgBackRest).
     * pulumi-docker's Image otherwise builds for the architecture of the machine running
     * Pulumi (provider/image.go Check: "linux/" + runtime.GOARCH): a run from an arm64 laptop
     * would rebuild for arm64 what CI built for amd64, and replace the database onto it.
     */
    platform: z.enum(["linux/amd64", "linux/arm64"], { message: 'platform must be "linux/amd64" or "linux/arm64" (the VPS\'s architecture: `uname -m` x86_64 or aarch64)' }).default("linux/amd64"),
    hostKey: z
        .string()
        .trim()
        .superRefine((key, ctx) => {
            const problem = sshPublicKeyProblem(key);
            if (problem) ctx.addIssue({ code: "custom", message: problem });
        }),
});

/** The `host` section, parsed. */
export type HostSection = z.output<typeof hostSchema>;

/**
 * The registry host the Docker provider looks credentials up by when it pulls an image:
 * kreuzwerker v4.5 keys `registry_auth` by the address's host name and, for an image
 * without a registry part, looks up "registry-1.docker.io" (resource_docker_image_funcs.go
 * pullImage/parseImageOptions). So Docker Hub's other names map to that one.
 */
export function registryLookupHost(address: string): string {
    const host = address.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
    return ["docker.io", "index.docker.io", "registry.hub.docker.com"].includes(host) ? "registry-1.docker.io" : host;
}

/** One entry of `registries`: a credential the Docker provider sends when it pulls from that registry. */
export const registrySchema = z.strictObject({
    /** Registry host (and port), e.g. ghcr.io, registry.example.com:5000, docker.io. No scheme, no path. */
    address: z
        .string()
        .regex(/^(localhost|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+)(:\d{1,5})?$/, "address must be a registry host name such as ghcr.io or registry.example.com:5000 (no https://, no path)"),
    /** Login user of the registry (a robot or bot account; a read-only token is enough). */
    username: z.string().min(1, "username is required"),
    /** Name of the secret config key holding the password or token (pulumi config set --secret <key>). */
    passwordKey: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, "passwordKey must name a config key, e.g. registryPassword"),
});

/**
 * `registries`: one entry per registry (the provider keys credentials by host), each password
 * a secret config key that is set.
 */
export const registryChecks: CrossFieldCheck = (raw, secretKeys) => {
    const issues: ConfigIssue[] = [];
    const registryHosts = new Map<string, string>();
    list(raw.registries).forEach((entry, i) => {
        const reg = record(entry);
        const at = `registries[${i}]`;
        if (typeof reg.address === "string") {
            const host = registryLookupHost(reg.address);
            const first = registryHosts.get(host);
            if (first) issues.push({ path: `${at}.address`, message: `"${reg.address}" is the same registry as ${first} (the provider keys credentials by host)` });
            else registryHosts.set(host, `${at}.address`);
        }
        if (typeof reg.passwordKey === "string") {
            const key = reg.passwordKey;
            if (raw[key] === undefined) {
                issues.push({ path: `${at}.passwordKey`, message: `references config key "${key}", which is not set (pulumi config set --secret ${key} ...)` });
            } else if (!secretKeys.has(key)) {
                issues.push({ path: key, message: `is used as a registry password by ${at}.passwordKey but is stored in plain text: set it with "pulumi config set --secret ${key}"` });
            }
        }
    });
    return issues;
};
