/**
 * The command-line flags of the four monitoring programs, the same for their containers and
 * for the integration suite, which runs Debian's binaries with them on loopback (only the
 * paths and addresses differ). Every flag exists in Debian's versions (Prometheus 2.42,
 * Alertmanager 0.25, node-exporter 1.5, blackbox-exporter 0.23) and in current releases; no
 * feature flags (3.0 removed the 2.x ones).
 */

/** Paths and addresses a program runs with. */
export interface ProgramPaths {
    /** Its configuration file. */
    readonly configFile: string;
    /** Where it keeps its data. */
    readonly storagePath: string;
    /** `host:port` it listens on. */
    readonly listen: string;
    /** The URL people reach it at (links in notifications); omitted: none. */
    readonly externalUrl?: string;
}

/**
 * Prometheus: its retention as flags (2.x refuses it in the file), and `/-/reload` enabled,
 * which is how the component applies a changed configuration without recreating the
 * container (it also enables `/-/quit`: the port is published nowhere and reached only on the
 * monitoring network).
 */
export function prometheusFlags(p: ProgramPaths & { retentionTime: string; retentionSize: string }): string[] {
    return [
        `--config.file=${p.configFile}`,
        `--storage.tsdb.path=${p.storagePath}`,
        `--storage.tsdb.retention.time=${p.retentionTime}`,
        `--storage.tsdb.retention.size=${p.retentionSize}`,
        `--web.listen-address=${p.listen}`,
        "--web.enable-lifecycle",
        ...(p.externalUrl ? [`--web.external-url=${p.externalUrl}`] : []),
    ];
}

/** Alertmanager, alone: an empty cluster address turns off its gossip listener (0.0.0.0:9094 otherwise). */
export function alertmanagerFlags(p: ProgramPaths): string[] {
    return [
        `--config.file=${p.configFile}`,
        `--storage.path=${p.storagePath}`,
        `--web.listen-address=${p.listen}`,
        "--cluster.listen-address=",
        ...(p.externalUrl ? [`--web.external-url=${p.externalUrl}`] : []),
    ];
}

/** Where node-exporter reads the host from; unset, it reads its own (the test's) /proc, /sys and /. */
export interface HostPaths {
    readonly procfs: string;
    readonly sysfs: string;
    readonly rootfs: string;
}

/**
 * node-exporter: the host's /proc, /sys and / from read-only mounts (in the container), the
 * jobs' metrics from the textfile directory (which upstream turns off unless named; Debian's
 * build defaults it elsewhere), and no file systems of containers or the kernel.
 */
export function nodeExporterFlags(o: { listen: string; textfileDir: string; host?: HostPaths }): string[] {
    return [
        `--web.listen-address=${o.listen}`,
        `--collector.textfile.directory=${o.textfileDir}`,
        "--collector.filesystem.mount-points-exclude=^/(dev|proc|run|sys|var/lib/docker/.+)($|/)",
        ...(o.host ? [`--path.procfs=${o.host.procfs}`, `--path.sysfs=${o.host.sysfs}`, `--path.rootfs=${o.host.rootfs}`] : []),
    ];
}

/** blackbox-exporter. */
export function blackboxFlags(o: { configFile: string; listen: string }): string[] {
    return [`--config.file=${o.configFile}`, `--web.listen-address=${o.listen}`];
}
