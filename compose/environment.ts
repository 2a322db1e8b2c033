/**
 * Composition: one environment (a Pulumi stack) built from its parsed configuration.
 * Environment differences live in `Pulumi.<stack>.yaml`; nothing here branches on the
 * stack name.
 */
import * as pulumi from "@pulumi/pulumi";
import { AppNetwork } from "../components/docker/app-network";
import { DataServiceArgs } from "../components/services/data-service";
import { PostgresService } from "../components/services/postgres-service";
import { RedisService } from "../components/services/redis-service";
import { ReverseProxy } from "../components/services/reverse-proxy";
import { Service, ServiceNetwork } from "../components/docker/service";
import { BackupStorage } from "../components/cloud/backup-storage";
import { PitrRepository } from "../components/cloud/pitr-repository";
import { caaIssuerForAcme, DnsRecords, recordsForHosts } from "../components/cloud/dns-records";
import { BackupTarget } from "../components/jobs/backup-job";
import { DestroyGuard } from "../components/lifecycle/destroy-guard";
import { MONITORING_PATHS, namePrefix, splitHostEntry } from "../components/naming";
import { dependencyOrder } from "../config/dependency-order";
import { durationNanos } from "../components/docker/docker-forms";
import { EnvironmentConfig } from "../config/types";
import { attachToEdge } from "./edge";
import { buildJobs } from "./jobs";
import { publishMonitoringTargets } from "./monitoring";
import { vpsHost } from "./vps-host";

/** What a person needs after `pulumi up` (exported as stack outputs). */
export interface EnvironmentOutputs {
    /** https URL of every public host, sorted. */
    urls: string[];
    /** Names of the retained data volumes (`<app>-<env>-<role>`), sorted. */
    dataVolumeNames: string[];
    /** Names of the edge (the environment's own, or its host stack's) and internal networks. */
    networkNames: { edge: pulumi.Input<string>; internal: string };
    /** Container names of each application service, one per replica. */
    containerNames: Record<string, pulumi.Output<string>[]>;
    /** systemd timers of the environment's scheduled jobs. */
    jobTimers: string[];
    /** Host names with a DNS record managed by this stack, sorted (none without a dns section). */
    dnsRecords: string[];
    /** Name of the backup bucket (undefined without backupStorage). */
    backupBucket?: pulumi.Output<string>;
    /** Key prefix of this environment's backups in the bucket, `<app>/<env>/`. */
    backupPrefix?: string;
    /** Where the backup job uploads, with its credential: for composition, never a stack output. */
    backupTarget?: BackupTarget;
}

/** The host's CAA issuer, or a deployment error saying that dns.caaIssuer must name the issuer of the host's CA. */
function caaIssuerOf(issuer: pulumi.Output<string | undefined>, stack: string): pulumi.Output<string> {
    return issuer.apply((i) => {
        if (i === undefined) throw new pulumi.RunError(`dns.caaIssuer is required: the proxy of edge.stack "${stack}" does not use Let's Encrypt, so the CAA issuer cannot be derived`);
        return i;
    });
}

/** Service names in creation order: every service after the ones it depends on. */
function serviceOrder(services: EnvironmentConfig["services"]): string[] {
    const { order, cycle } = dependencyOrder(Object.fromEntries(Object.entries(services).map(([name, svc]) => [name, svc.dependsOn])));
    // The config rejects a cycle (config/services.ts); this guards a config built by hand.
    if (cycle) throw new Error(`services.${cycle[0]}.dependsOn: dependency cycle ${cycle.join(" -> ")}`);
    return order;
}

/** Builds every resource of one environment from its configuration. */
export function buildEnvironment(cfg: EnvironmentConfig): EnvironmentOutputs {
    const { app, environment } = cfg;
    const prefix = namePrefix(cfg);

    // What the job scripts run on the VPS (see the headers of components/scripts/*.sh); tar
    // archives the services' own volumes, jq reads pgBackRest's JSON in the PITR jobs.
    const usesTar = Object.values(cfg.services).some((s) => Object.keys(s.volumes).length > 0);
    const usesJq = cfg.postgres?.pitr?.enabled === true;
    const host = vpsHost(`${prefix}-host`, cfg, ["docker", "curl", "sha256sum", "systemctl", "rclone", ...(usesTar ? ["tar"] : []), ...(usesJq ? ["jq"] : [])]);
    const onHost: pulumi.ComponentResourceOptions = { provider: host.provider, dependsOn: [host.preflight] };

    // Where public traffic comes in: the host stack's shared edge (edge.stack), or a proxy of
    // the environment's own (proxy), with an edge network of its own.
    const attached = cfg.edge ? attachToEdge(`${prefix}-edge`, cfg.edge.stack) : undefined;
    const network = new AppNetwork(`${prefix}-network`, { app, environment, edge: attached === undefined }, onHost);
    const edgeNetwork: pulumi.Input<string> = attached?.network ?? network.edge!.name;

    // Where the backup job uploads: the environment's bucket on AWS, or an S3-compatible store.
    const storage = cfg.backupStorage
        ? new BackupStorage(`${prefix}-backups`, {
              app,
              environment,
              store: cfg.backupStorage.store,
              region: cfg.backupStorage.region,
              endpoint: cfg.backupStorage.endpoint,
              bucketName: cfg.backupStorage.bucketName,
              adoptExisting: cfg.backupStorage.adoptExisting,
              kmsKeyArn: cfg.backupStorage.kmsKeyArn,
              retention: cfg.backupStorage.retention,
              objectLock: cfg.backupStorage.objectLock,
              protect: cfg.protectData,
              credentials: cfg.backupStorage.credentials,
          })
        : undefined;
    // The PITR repository (postgres.pitr): its own prefix in that bucket, its own credential.
    const pitrConfig = cfg.postgres?.pitr?.enabled ? cfg.postgres.pitr : undefined;
    const pitrRepository =
        pitrConfig && storage && cfg.backupStorage
            ? new PitrRepository(`${prefix}-pitr-repository`, {
                  app,
                  environment,
                  store: cfg.backupStorage.store,
                  bucket: storage.bucketName,
                  bucketArn: storage.bucket?.arn,
                  region: cfg.backupStorage.region,
                  endpoint: cfg.backupStorage.endpoint,
                  kmsKeyArn: cfg.backupStorage.kmsKeyArn,
                  credentials: cfg.backupStorage.credentials,
              })
            : undefined;

    const dependencies: Record<string, pulumi.Resource> = {};
    const dataVolumeNames: string[] = [];
    const dataServiceArgs = (svc: NonNullable<EnvironmentConfig["redis"]>): DataServiceArgs => ({
        app,
        environment,
        image: svc.image,
        internalNetwork: network.internal.name,
        memoryMb: svc.memory,
        cpus: svc.cpus,
        protectData: cfg.protectData,
        logs: svc.logs,
        healthTimeoutSeconds: svc.healthTimeoutSeconds,
    });
    let postgres: PostgresService | undefined;
    if (cfg.postgres) {
        const { database, user, password, dataVolume, keptVolumes } = cfg.postgres;
        postgres = new PostgresService(
            `${prefix}-postgres`,
            {
                ...dataServiceArgs(cfg.postgres),
                database,
                user,
                password,
                dataVolumeName: dataVolume,
                keptVolumeNames: keptVolumes,
                pitr:
                    pitrConfig && pitrRepository
                        ? {
                              pgbackrestVersion: pitrConfig.pgbackrestVersion,
                              platform: cfg.host.platform,
                              rpoMinutes: pitrConfig.rpoMinutes,
                              retentionDays: pitrConfig.retentionDays,
                              queueMax: pitrConfig.queueMax,
                              repository: pitrRepository.repository,
                              passphrase: pitrConfig.passphrase,
                              accessKeyId: pitrRepository.accessKeyId,
                              secretAccessKey: pitrRepository.secretAccessKey,
                          }
                        : undefined,
            },
            onHost,
        );
        dependencies.postgres = postgres.service.container;
        dataVolumeNames.push(...postgres.dataVolumes.map((v) => v.volumeName));
        if (postgres.pgbackrestVolume) dataVolumeNames.push(postgres.pgbackrestVolume.volumeName);
    }
    let redis: RedisService | undefined;
    if (cfg.redis) {
        const auth = cfg.redis.password && { password: cfg.redis.password, remote: { connection: host.connection, deployDir: cfg.host.deployDir } };
        redis = new RedisService(`${prefix}-redis`, { ...dataServiceArgs(cfg.redis), ...auth }, onHost);
        dependencies.redis = redis.service.container;
        dataVolumeNames.push(redis.data.volumeName);
    }

    const proxy = cfg.proxy
        ? new ReverseProxy(
              `${prefix}-proxy`,
              {
                  app,
                  environment,
                  image: cfg.proxy.image,
                  publicAddress: cfg.proxy.publicAddress,
                  acmeEmail: cfg.proxy.acmeEmail,
                  acmeCaServer: cfg.proxy.acmeCaServer,
                  acmeChallenge: cfg.proxy.acmeChallenge,
                  edgeNetwork,
                  memoryMb: cfg.proxy.memory,
                  cpus: cfg.proxy.cpus,
                  protectData: cfg.protectData,
                  logs: cfg.proxy.logs,
              },
              onHost,
          )
        : undefined;
    if (proxy) dataVolumeNames.push(proxy.acme.volumeName);

    const services: Record<string, Service> = {};
    for (const name of serviceOrder(cfg.services)) {
        const svc = cfg.services[name];
        const usesData = svc.dependsOn.some((d) => d === "postgres" || d === "redis");
        // On a host stack's shared edge network a service answers to no name (staging's
        // "backend" must not answer for production's): the services of an attached environment
        // find each other on its own internal network.
        const networks: ServiceNetwork[] = attached
            ? [{ name: edgeNetwork }, { name: network.internal.name, aliases: [name] }]
            : [{ name: edgeNetwork, aliases: [name] }];
        if (usesData && !attached) networks.push({ name: network.internal.name, aliases: [name] });
        services[name] = new Service(
            `${prefix}-${name}`,
            {
                app,
                environment,
                role: name,
                image: svc.image,
                env: svc.env,
                secretEnv: svc.secretEnv,
                healthcheck: svc.healthcheck,
                healthTimeoutSeconds: svc.healthTimeoutSeconds,
                memoryMb: svc.memory,
                cpus: svc.cpus,
                restart: svc.restart,
                logs: svc.logs,
                capAdd: svc.capAdd,
                command: svc.command,
                readOnlyRootFilesystem: svc.readOnlyRootFilesystem,
                entrypoint: svc.entrypoint,
                user: svc.user,
                workingDir: svc.workingDir,
                init: svc.init,
                stopSignal: svc.stopSignal,
                stopGraceSeconds: svc.stopGracePeriod === undefined ? undefined : Number(durationNanos(svc.stopGracePeriod)! / 1_000_000_000n),
                shmSizeMb: svc.shmSize,
                tmpfs: Object.keys(svc.tmpfs).length > 0 ? svc.tmpfs : undefined,
                ulimits: svc.ulimits as Record<string, { soft: number; hard: number }>,
                replicas: svc.replicas,
                serviceVolumes: svc.volumes,
                sharedVolumes: svc.sharedVolumes,
                protectVolumes: cfg.protectData,
                files: svc.files,
                release: svc.release,
                remote: { connection: host.connection, deployDir: cfg.host.deployDir },
                networks,
                route:
                    svc.port !== undefined && svc.hosts.length > 0
                        ? {
                              hosts: svc.hosts,
                              port: svc.port,
                              network: edgeNetwork,
                              middlewares: svc.routes,
                              ...(attached && { entrypoint: attached.entrypoint, certResolver: attached.certResolver, edge: attached.name }),
                          }
                        : undefined,
                dependsOn: svc.dependsOn.map((d) => dependencies[d] ?? services[d].containers[services[d].containers.length - 1]),
            },
            onHost,
        );
        // A dependent starts after the last replica: after every one of them is healthy.
        dependencies[name] = services[name].containers[services[name].containers.length - 1];
        dataVolumeNames.push(...services[name].volumes.map((v) => v.volumeName));
    }

    // One record per host the proxy routes: services.<name>.hosts is the one list of public names.
    const dns = cfg.dns
        ? new DnsRecords(`${prefix}-dns`, {
              zone: cfg.dns.zone,
              zoneId: cfg.dns.zoneId,
              records: recordsForHosts(
                  Object.values(cfg.services).flatMap((s) => s.hosts.map((h) => splitHostEntry(h).host)),
                  { address: attached?.publicAddress ?? cfg.proxy!.publicAddress, proxied: cfg.dns.proxied, ttl: cfg.dns.ttl },
                  cfg.dns.records,
              ),
              caaIssuer: cfg.dns.caa ? (cfg.dns.caaIssuer ?? (attached ? caaIssuerOf(attached.caaIssuer, cfg.edge!.stack) : caaIssuerForAcme(cfg.proxy!.acmeCaServer))) : undefined,
              comment: `${app}/${environment}, managed by Pulumi (vps-stacks)`,
          })
        : undefined;

    const backupTarget: BackupTarget | undefined = storage?.target;
    // Attached to a host stack, the environment is watched by the host's monitoring: its jobs
    // report to node-exporter's textfile directory, and it publishes its targets.
    const metricsDir = attached && pulumi.interpolate`${attached.monitoringDir}/${MONITORING_PATHS.textfile}`;
    const jobs = buildJobs(cfg, { host, postgres, redis, proxy: proxy?.service, services, backupTarget, metricsDir });
    const monitoringTargets = attached
        ? publishMonitoringTargets(cfg, { connection: host.connection, sudo: host.sudo, monitoringDir: attached.monitoringDir, services, backups: jobs.backup !== undefined }, onHost)
        : undefined;

    // With protected data (production), an accidental `pulumi destroy` must delete nothing,
    // not the whole service before it stops at the protected volumes: see DestroyGuard.
    if (cfg.protectData) {
        const covers: (pulumi.Resource | undefined)[] = [
            ...[host, network, postgres, redis, proxy, ...Object.values(services), dns, storage, pitrRepository],
            ...[jobs.backup, jobs.restoreCheck, jobs.freshnessCheck, jobs.healthCheck, jobs.pitr, monitoringTargets],
        ];
        new DestroyGuard(`${prefix}-destroy-guard`, { covers: covers.filter((r): r is pulumi.Resource => r !== undefined) });
    }

    const urls = Object.values(cfg.services)
        .flatMap((s) => s.hosts)
        .map((h) => `https://${h}`)
        .sort();
    return {
        urls,
        dataVolumeNames: dataVolumeNames.sort(),
        networkNames: { edge: network.edgeName ?? attached!.network, internal: network.internalName },
        containerNames: Object.fromEntries(Object.entries(services).map(([n, s]) => [n, s.containerNames])),
        jobTimers: [
            ...(jobs.backup ? [jobs.backup.timerName] : []),
            ...(jobs.restoreCheck ? [jobs.restoreCheck.timerName] : []),
            ...(jobs.freshnessCheck ? [jobs.freshnessCheck.timerName] : []),
            jobs.healthCheck.timerName,
            ...(jobs.pitr?.timerNames ?? []),
        ],
        dnsRecords: dns?.hostnames ?? [],
        backupBucket: storage?.bucketName,
        backupPrefix: storage?.prefix,
        backupTarget,
    };
}
