/**
 * Jobs: every environment is watched by exactly one health-check job (two would double alerts
 * and race each other's auto-heal).
 */
import { asString, configSchema, definePolicy, environmentOf, isType, isUnknown, PolicyResourceView, StackViolation, T } from "./vocabulary";

const defaults = { exemptEnvironments: [] as string[] };

export const healthCheckJobPerEnvironment = definePolicy({
    name: "health-check-job-per-environment",
    description:
        "Each environment found in the `vps.environment` labels of the stack's resources has exactly one `vps:index:HealthCheckJob` with that `environment`: none leaves outages unnoticed, two double the alerts and race each other's auto-heal.",
    enforcementLevel: "advisory",
    defaults,
    configSchema: configSchema(defaults, {
        exemptEnvironments: { type: "array", items: { type: "string" }, description: "Environments that need no health-check job." },
    }),
    validateStack(resources, config) {
        const envs = new Set<string>();
        for (const r of resources) {
            if (isType(r, [T.healthCheckJob, T.backupJob])) continue;
            const env = environmentOf(r);
            if (env) envs.add(env);
        }
        const jobs = resources.filter((r) => isType(r, T.healthCheckJob));
        if (jobs.some((j) => isUnknown(j.props.environment))) return [];
        // A job whose props do not say its environment (e.g. registered outputs under `pulumi
        // preview`) belongs to the stack's environment when there is only one; otherwise skip.
        const only = envs.size === 1 ? [...envs][0] : undefined;
        const jobEnv = (j: PolicyResourceView) => asString(j.props.environment) ?? only;
        if (jobs.some((j) => jobEnv(j) === undefined)) return [];
        const out: StackViolation[] = [];
        for (const env of [...envs].sort()) {
            if (config.exemptEnvironments.includes(env)) continue;
            const mine = jobs.filter((j) => jobEnv(j) === env);
            if (mine.length === 0) {
                out.push({ message: `Environment '${env}' has no health-check job: add a HealthCheckJob with \`environment: "${env}"\` to its stack.` });
            } else if (mine.length > 1) {
                for (const extra of mine.slice(1)) {
                    out.push({ urn: extra.urn, message: `Environment '${env}' has ${mine.length} health-check jobs: keep one and remove this one.` });
                }
            }
        }
        return out;
    },
});

export const jobPolicies = [healthCheckJobPerEnvironment];
