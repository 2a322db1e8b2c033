import * as crypto from "crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { remoteShell, shellQuote } from "../shell";

/** Where a service's files are written on the VPS, and how to get there. */
export interface ServiceHost {
    /** SSH connection to the VPS (VpsHost.connection). */
    readonly connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /** The environment's deploy directory (`host.deployDir`); files go under `<deployDir>/files/<role>/`. */
    readonly deployDir: string;
}

/** Arguments of {@link ServiceFiles}. */
export interface ServiceFilesArgs extends ServiceHost {
    /** The service's role (its name): the directory `<deployDir>/files/<role>/`. */
    readonly role: string;
    /** Container path -> content; a secret content keeps the whole payload secret. */
    readonly files: Record<string, pulumi.Input<string>>;
    /** Resources to wait for (the preflight, which creates the deploy directory). */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** The host path a container path's file is written to. */
export function hostFilePath(deployDir: string, role: string, containerPath: string): string {
    return `${deployDir.replace(/\/+$/, "")}/files/${role}${containerPath}`;
}

/**
 * The script that writes a service's files: reads `<base64 path> <base64 content>` lines from
 * standard input (so no content, secret or not, is ever in the command text, the state's
 * command or `ps`), writes each to a new file (0644: the container's user must read it; the
 * directory is 0700, so no other user of the VPS can) and renames it into place. A rename
 * gives the file a new inode: a running container keeps the content it was started with until
 * it is replaced, and the new container mounts the new file. Files no longer listed are removed.
 */
export function renderFilesScript(dir: string): string {
    return [
        "set -euo pipefail",
        "umask 077",
        `dir=${shellQuote(dir)}`,
        'mkdir -p "$dir" && chmod 0700 "$dir"',
        'incoming=$(mktemp -d "$dir/.incoming.XXXXXX")',
        "trap 'rm -rf \"$incoming\"' EXIT",
        "keep=()",
        "while read -r p c; do",
        '  path=$(printf %s "$p" | base64 -d)',
        '  case "$path" in /* ) ;; *) echo "files: bad path $path" >&2; exit 2 ;; esac',
        '  case "/$path/" in */../* | */./* ) echo "files: bad path $path" >&2; exit 2 ;; esac',
        '  mkdir -p "$incoming$(dirname "$path")" "$dir$(dirname "$path")"',
        '  printf %s "$c" | base64 -d >"$incoming$path"',
        '  chmod 0644 "$incoming$path"',
        '  mv -f "$incoming$path" "$dir$path"',
        '  keep+=("$dir$path")',
        "done",
        'find "$dir" -path "$dir/.incoming.*" -prune -o -type f -print | while IFS= read -r f; do',
        '  listed=0; for k in "${keep[@]}"; do [ "$k" = "$f" ] && listed=1; done',
        '  [ "$listed" = 1 ] || rm -f "$f"',
        "done",
        'echo "files: wrote ${#keep[@]} file(s) to $dir"',
    ].join("\n");
}

/** The payload of {@link renderFilesScript}: one `<base64 path> <base64 content>` line per file. */
export function filesPayload(files: Record<string, string>): string {
    const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
    return Object.keys(files)
        .sort()
        .map((p) => `${b64(p)} ${b64(files[p])}\n`)
        .join("");
}

/** sha256 of the files (paths and contents): a container label, so a changed file replaces the container. */
export function filesHash(files: Record<string, string>): string {
    return crypto.createHash("sha256").update(filesPayload(files)).digest("hex");
}

/**
 * The configuration files of a service (`services.<name>.files`), written to the VPS under
 * `<deployDir>/files/<role>/` by one remote command, for the service's containers to mount
 * read-only. `hash` goes into a container label: a changed file replaces the containers (the
 * provider never restarts a container for a changed bind-mounted file), and it is secret when a
 * content is.
 */
export class ServiceFiles extends pulumi.ComponentResource {
    /** The remote command that writes the files: the containers depend on it. */
    readonly command: command.remote.Command;
    /** sha256 of paths and contents (secret when a content is). */
    readonly hash: pulumi.Output<string>;
    /** Host path -> container path of each file, for read-only bind mounts. */
    readonly mounts: { hostPath: string; containerPath: string }[];

    constructor(name: string, args: ServiceFilesArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("vps:index:ServiceFiles", name, { role: args.role, paths: Object.keys(args.files).sort() }, opts);
        if (!args.deployDir.startsWith("/")) throw new Error(`ServiceFiles ${name}: deployDir "${args.deployDir}" must be an absolute path`);
        const dir = hostFilePath(args.deployDir, args.role, "");
        const contents = pulumi.all(args.files);
        this.hash = contents.apply(filesHash);
        this.mounts = Object.keys(args.files)
            .sort()
            .map((p) => ({ hostPath: hostFilePath(args.deployDir, args.role, p), containerPath: p }));
        this.command = new command.remote.Command(
            `${name}-write`,
            {
                connection: args.connection,
                create: remoteShell(renderFilesScript(dir)),
                delete: remoteShell(`rm -rf ${shellQuote(dir)}`),
                stdin: contents.apply(filesPayload),
                // See VpsHost: no PULUMI_COMMAND_STDOUT/STDERR `setenv` requests to sshd.
                addPreviousOutputInEnv: false,
            },
            { parent: this, dependsOn: args.dependsOn },
        );
        this.registerOutputs({ hash: this.hash });
    }
}
