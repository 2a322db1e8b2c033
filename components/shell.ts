/**
 * Shell text the program sends to the VPS (job installs, service files, release commands):
 * quoting and the `bash -c` wrapper of a remote command. Dependency-free, so every component
 * module can use it.
 */

/** Single-quotes a string for bash. */
export function shellQuote(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Wraps a script for the SSH session, whatever the login shell: `bash -c '<script>'`; stdin passes through. */
export function remoteShell(script: string, sudo = false): string {
    return `${sudo ? "sudo -n " : ""}bash -c ${shellQuote(script)}`;
}
