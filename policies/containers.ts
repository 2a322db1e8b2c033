/**
 * Containers: what makes `pulumi up` fail on an unhealthy release instead of shipping it
 * (healthcheck, wait, restart policy), what keeps one container from starving or owning the
 * host (log rotation, memory limit, no privileged mode, no host network, host ports and the
 * Docker socket for the reverse proxy only, few capabilities). Images are in images.ts.
 */
import { asArray, asRecord, asString, configKeyOf, configSchema, definePolicy, durationSeconds, isContainer, isUnknown, roleOf, stringList } from "./vocabulary";

const rolesSchema = (what: string) => stringList(`\`vps.role\` values of containers allowed to ${what}.`);

const healthcheckDefaults = { maxIntervalSeconds: 300, minRetries: 1 };
export const containerHealthcheck = definePolicy({
    name: "container-healthcheck",
    description: "Every container has a healthcheck (a test command, an interval no longer than the threshold, at least the minimum retries), so `wait` has something to wait for.",
    enforcementLevel: "mandatory",
    defaults: healthcheckDefaults,
    configSchema: configSchema(healthcheckDefaults, {
        maxIntervalSeconds: { type: "number", minimum: 1, description: "Longest accepted healthcheck interval, in seconds." },
        minRetries: { type: "integer", minimum: 1, description: "Fewest accepted retries before a container counts as unhealthy." },
    }),
    validateResource(r, config) {
        if (!isContainer(r) || isUnknown(r.props.healthcheck)) return [];
        const hc = asRecord(r.props.healthcheck);
        const tests = asArray(hc?.tests);
        if (!hc || tests.length === 0 || tests[0] === "NONE") {
            return ["Container has no healthcheck: set `healthcheck: { tests: [\"CMD\", ...], interval, timeout, retries, startPeriod }` so a deploy waits until it is healthy."];
        }
        const out: string[] = [];
        const interval = durationSeconds(hc.interval);
        if (interval !== undefined && interval > config.maxIntervalSeconds) {
            out.push(`Healthcheck interval ${String(hc.interval)} exceeds ${config.maxIntervalSeconds}s: shorten \`${configKeyOf(r, "healthcheck.interval")}\` so an unhealthy container is noticed in time.`);
        }
        if (typeof hc.retries === "number" && hc.retries < config.minRetries) {
            out.push(`Healthcheck retries ${hc.retries} is below ${config.minRetries}: raise \`${configKeyOf(r, "healthcheck.retries")}\` so one slow probe does not mark the container unhealthy.`);
        }
        return out;
    },
});

const waitDefaults = { minTimeoutSeconds: 10, maxTimeoutSeconds: 900 };
export const containerWait = definePolicy({
    name: "container-wait",
    description:
        "Every container is created with `wait: true` and a `waitTimeout` (seconds; the provider's default is 60) within the thresholds, so `pulumi up` fails when a new version does not become healthy.",
    enforcementLevel: "mandatory",
    defaults: waitDefaults,
    configSchema: configSchema(waitDefaults, {
        minTimeoutSeconds: { type: "integer", minimum: 1, description: "Shortest accepted `waitTimeout`, in seconds." },
        maxTimeoutSeconds: { type: "integer", minimum: 1, description: "Longest accepted `waitTimeout`, in seconds." },
    }),
    validateResource(r, config) {
        if (!isContainer(r) || isUnknown(r.props.wait)) return [];
        if (r.props.wait !== true) {
            return ["Container is not created with `wait: true`: set it (with `waitTimeout`) so `pulumi up` fails when the container does not become healthy."];
        }
        const timeout = r.props.waitTimeout;
        if (typeof timeout === "number" && (timeout < config.minTimeoutSeconds || timeout > config.maxTimeoutSeconds)) {
            return [`Container \`waitTimeout\` ${timeout}s is outside ${config.minTimeoutSeconds}-${config.maxTimeoutSeconds}s: set \`${configKeyOf(r, "healthTimeoutSeconds")}\` to the healthcheck's start period plus a few intervals.`];
        }
        return [];
    },
});

const restartDefaults = { allowedPolicies: ["unless-stopped", "always", "on-failure"] };
export const containerRestartPolicy = definePolicy({
    name: "container-restart-policy",
    description: "Every container has a restart policy from the allow-list (Docker's default is `no`), so a crash or a host reboot does not leave the service down.",
    enforcementLevel: "mandatory",
    defaults: restartDefaults,
    configSchema: configSchema(restartDefaults, { allowedPolicies: stringList("Accepted `restart` values.") }),
    validateResource(r, config) {
        if (!isContainer(r) || isUnknown(r.props.restart)) return [];
        const restart = asString(r.props.restart) ?? "no";
        const policy = restart.split(":")[0];
        return config.allowedPolicies.includes(policy)
            ? []
            : [`Container restart policy is '${restart}': set \`${configKeyOf(r, "restart")}\` to one of ${config.allowedPolicies.join(", ")}.`];
    },
});

/** Parses a Docker size ("10m", "1g", "500k") into megabytes. */
function sizeMb(v: unknown): number | undefined {
    const m = /^(\d+(?:\.\d+)?)([kmg]?)b?$/i.exec(asString(v) ?? "");
    if (!m) return undefined;
    const unit = m[2].toLowerCase();
    const n = Number(m[1]);
    return unit === "g" ? n * 1024 : unit === "m" ? n : unit === "k" ? n / 1024 : n / (1024 * 1024);
}

const logDefaults = { allowedDrivers: ["json-file", "local"], maxSizeMb: 100, maxFiles: 10 };
export const containerLogRotation = definePolicy({
    name: "container-log-rotation",
    description:
        "Every container logs through a rotating driver: `json-file` with `max-size` (and `max-file`) within the thresholds, or `local`, so logs cannot fill the VPS disk.",
    enforcementLevel: "mandatory",
    defaults: logDefaults,
    configSchema: configSchema(logDefaults, {
        allowedDrivers: stringList("Accepted `logDriver` values; `json-file` must also set `max-size`."),
        maxSizeMb: { type: "number", minimum: 1, description: "Largest accepted `max-size` per log file, in MB." },
        maxFiles: { type: "integer", minimum: 1, description: "Most accepted `max-file` log files kept." },
    }),
    validateResource(r, config) {
        if (!isContainer(r) || isUnknown(r.props.logDriver) || isUnknown(r.props.logOpts)) return [];
        const driver = asString(r.props.logDriver);
        if (driver === undefined) {
            return ["Container sets no `logDriver` (the daemon default may not rotate): set `logDriver: \"json-file\"` with `logOpts: { \"max-size\": \"10m\", \"max-file\": \"3\" }`."];
        }
        if (!config.allowedDrivers.includes(driver)) {
            return [`Container log driver '${driver}' is not allowed: use one of ${config.allowedDrivers.join(", ")} with rotation options.`];
        }
        if (driver !== "json-file") return [];
        const opts = asRecord(r.props.logOpts) ?? {};
        const size = sizeMb(opts["max-size"]);
        if (size === undefined) {
            return ["Container logs with `json-file` but without rotation: set `logOpts[\"max-size\"]` (e.g. \"10m\") and `logOpts[\"max-file\"]`."];
        }
        const out: string[] = [];
        if (size > config.maxSizeMb) out.push(`Log \`max-size\` ${String(opts["max-size"])} exceeds ${config.maxSizeMb} MB: lower \`${configKeyOf(r, "logs.maxSize")}\`.`);
        const files = Number(opts["max-file"] ?? 1);
        if (!Number.isFinite(files) || files > config.maxFiles) out.push(`Log \`max-file\` ${String(opts["max-file"])} exceeds ${config.maxFiles}: lower \`${configKeyOf(r, "logs.maxFile")}\`.`);
        return out;
    },
});

const memoryDefaults = { maxMemoryMb: 8192 };
export const containerMemoryLimit = definePolicy({
    name: "container-memory-limit",
    description: "Every container has a memory limit (`memory`, MB) no larger than the threshold, so one leaking service cannot starve the others on the shared VPS.",
    enforcementLevel: "mandatory",
    defaults: memoryDefaults,
    configSchema: configSchema(memoryDefaults, {
        maxMemoryMb: { type: "integer", minimum: 6, description: "Largest accepted `memory` limit, in MB." },
    }),
    validateResource(r, config) {
        if (!isContainer(r) || isUnknown(r.props.memory)) return [];
        const memory = r.props.memory;
        if (typeof memory !== "number" || memory <= 0) {
            return ["Container has no memory limit: set `memory` (MB) from the service's measured peak plus headroom."];
        }
        return memory > config.maxMemoryMb ? [`Container memory limit ${memory} MB exceeds ${config.maxMemoryMb} MB: lower \`${configKeyOf(r, "memory")}\` or raise the pack's \`maxMemoryMb\`.`] : [];
    },
});

/**
 * A mandatory policy that refuses one container setting (`prop` equal to `value`) except on the
 * roles of its `allowedRoles` (none by default): privileged, the host's network, the host's
 * process namespace.
 */
function forbiddenSetting(p: { name: string; description: string; prop: string; value: unknown; allowedTo: string; message: string }) {
    const defaults = { allowedRoles: [] as string[] };
    return definePolicy({
        name: p.name,
        description: p.description,
        enforcementLevel: "mandatory",
        defaults,
        configSchema: configSchema(defaults, { allowedRoles: rolesSchema(p.allowedTo) }),
        validateResource(r, config) {
            if (!isContainer(r) || r.props[p.prop] !== p.value) return [];
            const role = roleOf(r);
            if (role && config.allowedRoles.includes(role)) return [];
            return [p.message];
        },
    });
}

export const containerNotPrivileged = forbiddenSetting({
    name: "container-not-privileged",
    description: "No container runs `privileged` (full access to the host's devices and kernel).",
    prop: "privileged",
    value: true,
    allowedTo: "run privileged",
    message: "Container runs privileged: remove `privileged: true` and add only the capability it needs (see container-capabilities).",
});

export const containerNoHostNetwork = forbiddenSetting({
    name: "container-no-host-network",
    description: "No container uses the host's network namespace (`networkMode: host`), which bypasses the per-environment Docker network and publishes every port it opens.",
    prop: "networkMode",
    value: "host",
    allowedTo: "use the host network",
    message: "Container uses `networkMode: \"host\"`: attach it to the environment's Docker network instead and route to it through the reverse proxy.",
});

const portsDefaults = { allowedRoles: ["reverse-proxy"], allowedPorts: [80, 443], requireBindAddress: true };
export const containerHostPortsProxyOnly = definePolicy({
    name: "container-host-ports-proxy-only",
    description:
        "Only the reverse proxy publishes host ports (a host stack's, the one on the VPS's address; or a self-contained environment's, on an address of its own), only the allowed ones, and (by default) bound to an explicit address; an environment attached to a host stack publishes none. Other containers are reached through the proxy, so a replacement can start beside the old one.",
    enforcementLevel: "mandatory",
    defaults: portsDefaults,
    configSchema: configSchema(portsDefaults, {
        allowedRoles: rolesSchema("publish host ports"),
        allowedPorts: { type: "array", items: { type: "integer" }, description: "Host (external) ports those containers may publish." },
        requireBindAddress: { type: "boolean", description: "Require each published port to set `ip` (the environment's public IP) instead of binding every address." },
    }),
    validateResource(r, config) {
        if (!isContainer(r) || isUnknown(r.props.ports)) return [];
        const ports = asArray(r.props.ports).map((p) => asRecord(p) ?? {});
        if (ports.length === 0) return [];
        const role = roleOf(r);
        if (!role || !config.allowedRoles.includes(role)) {
            const list = ports.map((p) => `${String(p.external ?? "random")}->${String(p.internal)}`).join(", ");
            return [`Container (role '${role ?? "none"}') publishes host ports ${list}: remove \`ports\` and route to it through the reverse proxy by labels.`];
        }
        const out: string[] = [];
        for (const p of ports) {
            if (isUnknown(p.external)) continue;
            if (typeof p.external !== "number" || !config.allowedPorts.includes(p.external)) {
                out.push(`Reverse proxy publishes host port ${String(p.external ?? "(random)")}: publish only ${config.allowedPorts.join(", ")} with an explicit \`external\`.`);
            }
            if (config.requireBindAddress && !isUnknown(p.ip) && (typeof p.ip !== "string" || p.ip === "" || p.ip === "0.0.0.0" || p.ip === "::")) {
                out.push(`Reverse proxy port ${String(p.external)} binds every address: bind it to this environment's public IP (\`proxy.publicAddress\`) so the other environment's proxy can bind its own.`);
            }
        }
        return out;
    },
});

const socketDefaults = { socketPaths: ["/var/run/docker.sock", "/run/docker.sock"], allowedRoles: ["reverse-proxy"] };
export const containerDockerSocket = definePolicy({
    name: "container-docker-socket",
    description:
        "No container mounts the Docker socket (root on the host) except the allow-listed reverse proxy, which reads it to discover routes, and then only read-only.",
    enforcementLevel: "mandatory",
    defaults: socketDefaults,
    configSchema: configSchema(socketDefaults, {
        socketPaths: stringList("Host paths that are the Docker socket."),
        allowedRoles: rolesSchema("mount the Docker socket read-only"),
    }),
    validateResource(r, config) {
        if (!isContainer(r)) return [];
        const mounts: { source: unknown; readOnly: unknown }[] = [
            ...asArray(r.props.volumes).map((v) => asRecord(v) ?? {}).map((v) => ({ source: v.hostPath, readOnly: v.readOnly })),
            ...asArray(r.props.mounts).map((m) => asRecord(m) ?? {}).map((m) => ({ source: m.source, readOnly: m.readOnly })),
        ];
        const socket = mounts.filter((m) => typeof m.source === "string" && config.socketPaths.includes(m.source.replace(/\/+$/, "")));
        if (socket.length === 0) return [];
        const role = roleOf(r);
        if (!role || !config.allowedRoles.includes(role)) {
            return [`Container (role '${role ?? "none"}') mounts the Docker socket: remove the mount; only ${config.allowedRoles.join(", ")} may read it.`];
        }
        return socket.some((m) => m.readOnly !== true && !isUnknown(m.readOnly))
            ? ["Reverse proxy mounts the Docker socket writable: set `readOnly: true` on the mount."]
            : [];
    },
});

const hostPathDefaults = {
    sensitivePaths: ["/", "/proc", "/sys", "/dev", "/etc", "/boot", "/var/lib/docker", "/run", "/var/run", "/root/.ssh"],
    exemptPaths: ["/var/run/docker.sock", "/run/docker.sock"],
    allowedRoles: ["node-exporter"],
};

/** The host paths a container bind-mounts, with whether read-only (`volumes[].hostPath` and bind `mounts`). */
function hostMounts(r: { props: Record<string, unknown> }): { path: string; readOnly: unknown }[] {
    return [
        ...asArray(r.props.volumes).map((v) => asRecord(v) ?? {}).map((v) => ({ path: v.hostPath, readOnly: v.readOnly })),
        ...asArray(r.props.mounts).map((m) => asRecord(m) ?? {}).filter((m) => m.type === "bind").map((m) => ({ path: m.source, readOnly: m.readOnly })),
    ].filter((m): m is { path: string; readOnly: unknown } => typeof m.path === "string");
}

export const containerHostPaths = definePolicy({
    name: "container-host-paths",
    description:
        "No container bind-mounts a sensitive host path (the root file system, /proc, /sys, /dev, /etc, Docker's data, ...) except the allow-listed roles, and those only read-only: node-exporter reads the host's /proc, /sys and / to report its disks, memory and CPU. The Docker socket is container-docker-socket's.",
    enforcementLevel: "mandatory",
    defaults: hostPathDefaults,
    configSchema: configSchema(hostPathDefaults, {
        sensitivePaths: stringList("Host paths no container mounts: the path itself, everything under it (except under `/`), and every directory above it."),
        exemptPaths: stringList("Host paths this policy leaves to another (the Docker socket)."),
        allowedRoles: rolesSchema("mount sensitive host paths read-only"),
    }),
    validateResource(r, config) {
        if (!isContainer(r) || isUnknown(r.props.volumes) || isUnknown(r.props.mounts)) return [];
        const clean = (p: string) => (p === "/" ? p : p.replace(/\/+$/, ""));
        // The path, below it (except below "/", where everything is), or above it (a mount of /var holds /var/lib/docker).
        const sensitive = (p: string) => config.sensitivePaths.some((s) => p === s || (s !== "/" && p.startsWith(`${s}/`)) || (p !== "/" && s.startsWith(`${p}/`)));
        const found = hostMounts(r).map((m) => ({ ...m, path: clean(m.path) })).filter((m) => !config.exemptPaths.includes(m.path) && sensitive(m.path));
        if (found.length === 0) return [];
        const role = roleOf(r);
        if (!role || !config.allowedRoles.includes(role)) {
            return [`Container (role '${role ?? "none"}') mounts the host path${found.length > 1 ? "s" : ""} ${found.map((m) => m.path).join(", ")}: remove the mount; only ${config.allowedRoles.join(", ") || "no role"} may read such paths.`];
        }
        return found
            .filter((m) => m.readOnly !== true && !isUnknown(m.readOnly))
            .map((m) => `Container (role '${role}') mounts the host path ${m.path} writable: set \`readOnly: true\`; it may only read the host.`);
    },
});

export const containerNoHostPid = forbiddenSetting({
    name: "container-no-host-pid",
    description: "No container shares the host's process namespace (`pidMode: host`), which lets it see and signal every process of the VPS.",
    prop: "pidMode",
    value: "host",
    allowedTo: "use the host's process namespace",
    message: "Container uses `pidMode: \"host\"`: remove it; the host's process metrics come from its /proc, mounted read-only by node-exporter.",
});

const capabilitiesDefaults = { allowedCapabilities: ["NET_BIND_SERVICE", "CHOWN", "SETUID", "SETGID", "DAC_OVERRIDE", "FOWNER"] };
export const containerCapabilities = definePolicy({
    name: "container-capabilities",
    description: "Containers add no Linux capabilities beyond the allow-list (`CAP_` prefix optional); advisory, because some images need one more to start.",
    enforcementLevel: "advisory",
    defaults: capabilitiesDefaults,
    configSchema: configSchema(capabilitiesDefaults, {
        allowedCapabilities: stringList("Capabilities a container may add, without the `CAP_` prefix."),
    }),
    validateResource(r, config) {
        if (!isContainer(r) || isUnknown(r.props.capabilities)) return [];
        const adds = asArray(asRecord(r.props.capabilities)?.adds).filter((c): c is string => typeof c === "string");
        const allowed = config.allowedCapabilities.map((c) => c.toUpperCase().replace(/^CAP_/, ""));
        const extra = adds.filter((c) => !allowed.includes(c.toUpperCase().replace(/^CAP_/, "")));
        return extra.length
            ? [`Container adds capabilities ${extra.join(", ")} beyond the allow-list: remove them from \`${configKeyOf(r, "capAdd")}\`, or add them to the pack's \`allowedCapabilities\` with a reason.`]
            : [];
    },
});

export const containerPolicies = [
    containerHealthcheck,
    containerWait,
    containerRestartPolicy,
    containerLogRotation,
    containerMemoryLimit,
    containerNotPrivileged,
    containerNoHostNetwork,
    containerHostPortsProxyOnly,
    containerDockerSocket,
    containerHostPaths,
    containerNoHostPid,
    containerCapabilities,
];
