/**
 * Services (issue 11): what the pack guarantees for the shapes a service can now take. Every
 * replica of a service exists and is checked (a healthcheck and `wait`), a release runs in a
 * container hardened like the service's own, and a service's own volumes are backed up. The
 * storage policies (retained, protected in production) already judge those volumes as they
 * judge every volume.
 */
import { containerDockerSocket, containerLogRotation, containerMemoryLimit, containerNoHostNetwork, containerNotPrivileged } from "./containers";
import { asArray, asRecord, asString, configSchema, definePolicy, environmentOf, isType, isUnknown, PolicyResourceView, StackViolation, stringList, T } from "./vocabulary";

const replicaDefaults = { exemptServices: [] as string[] };
export const serviceReplicasHealthy = definePolicy({
    name: "service-replicas-healthy",
    description:
        "Every `vps:index:Service` has as many containers as its `replicas` say, and each of them has a healthcheck and is created with `wait: true`: a load balancer in front of one replica without a healthcheck would send traffic to a container nobody waited for.",
    enforcementLevel: "mandatory",
    defaults: replicaDefaults,
    configSchema: configSchema(replicaDefaults, { exemptServices: stringList("`vps.role` values of services this policy does not apply to.") }),
    validateStack(resources, config) {
        const out: StackViolation[] = [];
        for (const svc of resources.filter((r) => isType(r, T.service))) {
            if (config.exemptServices.includes(String(svc.props.role))) continue;
            const replicas = svc.props.replicas;
            if (typeof replicas !== "number") continue;
            const containers = resources.filter((r) => isType(r, T.container) && r.options?.parent === svc.urn);
            // Under `pulumi preview` a parent may be unknown to the view: judge only what is seen.
            if (containers.length === 0) continue;
            if (containers.length !== replicas) {
                out.push({ urn: svc.urn, message: `Service '${svc.name}' declares ${replicas} replica(s) but has ${containers.length} container(s): every replica is a container of the service.` });
            }
            for (const c of containers) {
                const tests = asArray(asRecord(c.props.healthcheck)?.tests);
                if (!isUnknown(c.props.healthcheck) && (tests.length === 0 || tests[0] === "NONE")) {
                    out.push({ urn: c.urn, message: `Replica '${c.name}' of service '${svc.name}' has no healthcheck: every replica needs one, or the load balancer sends traffic to a container nobody checked.` });
                }
                if (!isUnknown(c.props.wait) && c.props.wait !== true) {
                    out.push({ urn: c.urn, message: `Replica '${c.name}' of service '${svc.name}' is not created with \`wait: true\`: a rollout would move on before it is healthy.` });
                }
            }
        }
        return out;
    },
});

/** The container policies a release container must pass, as the service's containers do. */
const HARDENING = [containerMemoryLimit, containerNotPrivileged, containerNoHostNetwork, containerLogRotation, containerDockerSocket];

const releaseDefaults = { exemptServices: [] as string[] };
export const releaseContainerHardened = definePolicy({
    name: "release-container-hardened",
    description:
        "The one-shot container of every `vps:index:ReleaseCommand` is hardened like every other container: a memory limit without swap, never privileged, never the host network, log rotation, no Docker socket, all capabilities dropped but those listed, and `no-new-privileges`.",
    enforcementLevel: "mandatory",
    defaults: releaseDefaults,
    configSchema: configSchema(releaseDefaults, { exemptServices: stringList("Services (`services.<name>`) whose release command this policy does not apply to.") }),
    validateResource(r, config, ctx) {
        if (!isType(r, T.releaseCommand) || isUnknown(r.props.container)) return [];
        if (config.exemptServices.includes(String(r.props.service))) return [];
        const c = asRecord(r.props.container);
        if (!c) return ["Release command has no container settings: it must run in a container hardened like the service's."];
        const networks = asArray(c.networks).map(asString);
        const view: PolicyResourceView = {
            type: T.container,
            name: r.name,
            urn: r.urn,
            props: { ...c, networkMode: networks.includes("host") ? "host" : undefined },
            options: r.options,
        };
        const out = HARDENING.flatMap((p) => p.validateResource!(view, p.defaults as never, ctx)).map((m) => `Release container: ${m}`);
        if (typeof c.memory === "number" && c.memorySwap !== c.memory) out.push("Release container: memorySwap must equal memory (no swap).");
        if (!asArray(asRecord(c.capabilities)?.drops).includes("ALL")) out.push("Release container does not drop all capabilities (`--cap-drop ALL`).");
        if (!asArray(c.securityOpts).includes("no-new-privileges:true")) out.push("Release container lacks `no-new-privileges:true`.");
        return out;
    },
});

const volumeBackupDefaults = { exemptServices: [] as string[] };
export const serviceVolumesBackedUp = definePolicy({
    name: "service-volumes-backed-up",
    description:
        "Every volume a `vps:index:Service` owns (its `volumes` prop, `<app>-<env>-<service>-<role>`) is listed in the `volumes` of a `vps:index:BackupJob` of the same environment, so a service's own data (uploads, object storage) is backed up like a database.",
    enforcementLevel: "mandatory",
    defaults: volumeBackupDefaults,
    configSchema: configSchema(volumeBackupDefaults, { exemptServices: stringList("`vps.role` values of services whose volumes need no backup.") }),
    validateStack(resources, config) {
        const jobs = resources.filter((r) => isType(r, T.backupJob));
        const out: StackViolation[] = [];
        for (const svc of resources.filter((r) => isType(r, T.service))) {
            if (config.exemptServices.includes(String(svc.props.role))) continue;
            const env = environmentOf(svc) ?? resources.map(environmentOf).find((e) => e !== undefined);
            for (const volume of asArray(svc.props.volumes).filter((v): v is string => typeof v === "string")) {
                const covered = jobs.some((j) => {
                    const jobEnv = j.props.environment;
                    const sameEnv = env === undefined || jobEnv === env || jobEnv === undefined || isUnknown(jobEnv);
                    return sameEnv && (isUnknown(j.props.volumes) || asArray(j.props.volumes).includes(volume));
                });
                if (!covered) {
                    out.push({ urn: svc.urn, message: `Volume '${volume}' of service '${svc.name}' is not covered by any backup job: set \`backupStorage\` in the stack config, which gives the environment a backup job that archives every service volume.` });
                }
            }
        }
        return out;
    },
});

export const servicePolicies = [serviceReplicasHealthy, releaseContainerHardened, serviceVolumesBackedUp];
