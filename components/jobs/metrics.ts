/**
 * Where a job tells the host's monitoring how it went: the METRICS_* env vars of
 * components/scripts/metrics.sh, which writes `<app>-<env>-<job>.prom` into node-exporter's
 * textfile directory. Without a directory (the environment's host has no monitoring) the job
 * writes nothing.
 */
import * as pulumi from "@pulumi/pulumi";
import { EnvironmentName, metricsFileName, MetricsSource } from "../naming";

/** METRICS_FILE and METRICS_LABELS for one job of an environment, or none without `metricsDir`. */
export function metricsEnvVars(env: EnvironmentName, source: MetricsSource, metricsDir: pulumi.Input<string> | undefined): Record<string, pulumi.Input<string>> {
    if (metricsDir === undefined) return {};
    return {
        METRICS_FILE: pulumi.interpolate`${metricsDir}/${metricsFileName(env, source)}`,
        // app and environment are [a-z0-9-] (validateUnitNameParts): safe inside the quotes.
        METRICS_LABELS: `app="${env.app}",environment="${env.environment}"`,
    };
}
