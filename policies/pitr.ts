/**
 * Point-in-time recovery: an environment whose PostgreSQL archives WAL with pgBackRest (its
 * container runs `archive_command=pgbackrest ...`) has its five PITR jobs, and every volume
 * the recovery depends on is retained when the stack is destroyed. Archiving without the jobs
 * is WAL nobody verifies or can restore on schedule; a data or spool volume deleted with the
 * stack takes the live cluster (and the WAL not yet archived) with it.
 */
import { asArray, asRecord, asString, configSchema, definePolicy, environmentOf, isContainer, isType, isUnknown, labelsOf, PolicyResourceView, StackViolation, stringList } from "./vocabulary";
import { LABEL } from "../components/docker/labels";

/** The units a PITR environment must have, `<app>-<env>-<kind>` (components/naming.ts PITR_JOB_KINDS; a test holds them equal). */
export const PITR_UNIT_KINDS = ["pitr-full", "pitr-diff", "pitr-lag-check", "pitr-marker", "pitr-restore-check"];

const POINT_IN_TIME_RECOVERY = "vps:index:PointInTimeRecovery";
const SCHEDULED_JOB = "vps:index:ScheduledJob";

/** Whether a container archives WAL with pgBackRest: its command sets such an archive_command. */
export function archivesWithPgbackrest(r: PolicyResourceView): boolean {
    return isContainer(r) && asArray(r.props.command).some((arg) => /^archive_command=.*\bpgbackrest\b/.test(String(arg)));
}

const defaults = { exemptEnvironments: [] as string[] };
const schema = configSchema(defaults, { exemptEnvironments: stringList("Environments whose PITR setup is not checked.") });

export const pitrJobsPresent = definePolicy({
    name: "pitr-jobs-present",
    description:
        "An environment whose PostgreSQL archives WAL with pgBackRest has its five point-in-time-recovery jobs as `vps:index:ScheduledJob`s: `<app>-<env>-pitr-full`, `-pitr-diff`, `-pitr-lag-check`, `-pitr-marker` and `-pitr-restore-check` (backups counted after verify, the archive watched, markers written, a restore proven weekly).",
    enforcementLevel: "mandatory",
    defaults,
    configSchema: schema,
    validateStack(resources, config) {
        const jobs = resources.filter((r) => isType(r, SCHEDULED_JOB));
        if (jobs.some((j) => isUnknown(j.props.unitName))) return [];
        const units = new Set(jobs.map((j) => asString(j.props.unitName)).filter((u): u is string => u !== undefined));
        const out: StackViolation[] = [];
        for (const c of resources.filter(archivesWithPgbackrest)) {
            const env = environmentOf(c);
            const app = labelsOf(c)[LABEL.app];
            if (!env || !app || config.exemptEnvironments.includes(env)) continue;
            const missing = PITR_UNIT_KINDS.map((kind) => `${app}-${env}-${kind}`).filter((u) => !units.has(u));
            if (missing.length > 0) {
                out.push({
                    urn: c.urn,
                    message: `PostgreSQL archives WAL with pgBackRest, but environment '${env}' lacks the point-in-time-recovery job(s) ${missing.join(", ")}: keep \`postgres.pitr\` enabled with \`backupStorage\` set, which gives it a PointInTimeRecovery with all five, or stop archiving.`,
                });
            }
        }
        return out;
    },
});

export const pitrVolumesRetained = definePolicy({
    name: "pitr-volumes-retained",
    description:
        "Every volume an archiving PostgreSQL container mounts (its data, pgBackRest's spool) and every volume a `vps:index:PointInTimeRecovery` names (a recovered one, a kept one) is a volume of the stack with `retainOnDelete: true`. Runs in the offline synth only: `@pulumi/policy` does not expose `retainOnDelete`.",
    enforcementLevel: "mandatory",
    synthOnly: true,
    defaults,
    configSchema: schema,
    validateStack(resources, config) {
        const volumes = new Map<string, PolicyResourceView>();
        for (const v of resources.filter((r) => isType(r, "docker:index/volume:Volume"))) {
            const name = asString(v.props.name);
            if (name) volumes.set(name, v);
        }
        const needed = new Map<string, PolicyResourceView>();
        for (const c of resources.filter(archivesWithPgbackrest)) {
            if (config.exemptEnvironments.includes(environmentOf(c) ?? "")) continue;
            for (const m of asArray(c.props.volumes)) {
                const name = asString(asRecord(m)?.volumeName);
                if (name) needed.set(name, c);
            }
        }
        for (const p of resources.filter((r) => isType(r, POINT_IN_TIME_RECOVERY))) {
            if (config.exemptEnvironments.includes(asString(p.props.environment) ?? "")) continue;
            for (const v of asArray(p.props.volumes)) {
                const name = asString(v);
                if (name) needed.set(name, p);
            }
        }
        const out: StackViolation[] = [];
        for (const [name, owner] of needed) {
            const volume = volumes.get(name);
            if (!volume) {
                out.push({ urn: owner.urn, message: `Point-in-time recovery depends on volume '${name}', which is not a volume of this stack: nothing keeps it when the stack is destroyed; declare it as a DataVolume (retained).` });
            } else if (volume.options?.retainOnDelete !== true) {
                out.push({ urn: volume.urn, message: `Volume '${name}' holds point-in-time-recovery data (the live cluster, or WAL not yet archived) but is not retained on delete: set the resource option \`retainOnDelete: true\` on it, then run \`pulumi up\` once before any destroy.` });
            }
        }
        return out;
    },
});

export const pitrPolicies = [pitrJobsPresent, pitrVolumesRetained];
