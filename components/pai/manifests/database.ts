import { PaiContext } from "../context";
import { paiFile } from "../files";
import { accessFor, configMap, container, hostPathVolume, httpProbe, K8sObject, onMaster, secretEnv, serviceAccount, ServiceAccess, sha256Annotation, statefulSet } from "../objects";
import { frameworkGroup } from "./frameworkcontroller";
import { databaseSecret, postgresDataRoot } from "./postgresql";

export { databaseSecret, postgresPort } from "./postgresql";
export const writeMergerPort = 9748;
/** The image's WORKDIR (src/database-controller/build/database-controller.common.dockerfile). */
const appDir = "/database-controller/src";
const watchedDisk = "/paiInternal/storage";

/**
 * Every Kubernetes call of database-controller v1.8.0 (src/database-controller/src/common/k8s.js,
 * namespace `default` in each): the write-merger and poller create a job's Secrets, PriorityClass
 * and Framework, give the Secrets the Framework as owner, and delete them (common/framework.js);
 * the watchers follow Frameworks and events. Upstream binds cluster-admin.
 */
export function databaseControllerAccess(ctx: PaiContext): ServiceAccess {
    return {
        // createPriorityClass, deletePriorityClass: PriorityClasses are cluster-scoped.
        cluster: [{ apiGroups: ["scheduling.k8s.io"], resources: ["priorityclasses"], verbs: ["create", "delete"] }],
        namespaces: {
            [ctx.namespace]: [
                // listFramework (initializer/index.js), getFrameworkInformer (watcher/framework/index.js),
                // createFramework, patchFramework, deleteFramework.
                { apiGroups: [frameworkGroup], resources: ["frameworks"], verbs: ["list", "watch", "create", "patch", "delete"] },
                // createSecret, patchSecretOwnerToFramework, deleteSecret.
                { apiGroups: [""], resources: ["secrets"], verbs: ["create", "patch", "delete"] },
                // patchSecretOwnerToFramework sets blockOwnerDeletion: where the OwnerReferencesPermissionEnforcement
                // admission plugin is on, that takes update on the owner's finalizers.
                { apiGroups: [frameworkGroup], resources: ["frameworks/finalizers"], verbs: ["update"] },
                // getEventInformer (watcher/cluster-event/index.js).
                { apiGroups: [""], resources: ["events"], verbs: ["list", "watch"] },
            ],
        },
    };
}

/**
 * OpenPAI's database-controller (src/database-controller/deploy/database-controller.yaml.template):
 * an init container that creates the tables (the only caller of synchronizeSchema in v1.8), the
 * write-merger rest-server sends every job to (it then creates the job's Secrets, PriorityClass
 * and Framework), the framework and cluster-event watchers, and the poller. Every variable below
 * is one the processes' joi schemas require (common/config.js and each process's config.js).
 */
export function databaseControllerManifests(ctx: PaiContext): K8sObject[] {
    const account = { name: "database-controller", namespace: ctx.namespace };
    const writeMergerUrl = `http://${ctx.master.hostip}:${writeMergerPort}`;
    const common = [
        { name: "K8S_CONNECTION_TIMEOUT_SECOND", value: "120" },
        { name: "WRITE_MERGER_CONNECTION_TIMEOUT_SECOND", value: "120" },
        // Retain mode keeps Frameworks the database does not know; off, as in OpenPAI.
        { name: "RETAIN_MODE_ENABLED", value: "false" },
        { name: "RBAC_IN_CLUSTER", value: "true" },
        { name: "LOG_LEVEL", value: "info" },
        secretEnv("DB_CONNECTION_STR", databaseSecret.name, databaseSecret.connection),
    ];
    const process = (name: string, script: string, env: { name: string; value: string }[], requests = { cpu: "100m", memory: "256Mi" }) => container({
        name, image: ctx.paiImage("database-controller"), requests,
        command: ["node", "--max-old-space-size=1024", script.startsWith("/") ? script : `${appDir}/${script}`],
        env: [...common, ...env],
    });
    const jobHistory = paiFile("job-history.js");
    return [
        serviceAccount(account.name, account.namespace),
        ...accessFor("pai-database-controller", account, databaseControllerAccess(ctx)),
        configMap("job-history", ctx.namespace, { "job-history.js": jobHistory }),
        statefulSet({
            name: "database-controller", namespace: ctx.namespace,
            podAnnotations: sha256Annotation(jobHistory),
            podSpec: {
                ...onMaster,
                hostNetwork: true,
                serviceAccountName: account.name,
                priorityClassName: "pai-daemon-priority",
                initContainers: [process("database-initializer", "initializer/index.js", [])],
                containers: [
                    {
                        ...process("write-merger", "write-merger/index.js", [
                            { name: "PORT", value: String(writeMergerPort) },
                            { name: "MAX_DB_CONNECTION", value: "40" },
                        ], { cpu: "200m", memory: "512Mi" }),
                        ports: [{ containerPort: writeMergerPort, hostPort: writeMergerPort }],
                        readinessProbe: httpProbe("/api/v1/ping", writeMergerPort),
                    },
                    process("framework-watcher", "watcher/framework/index.js", [
                        { name: "WRITE_MERGER_URL", value: writeMergerUrl },
                        { name: "MAX_RPC_CONCURRENCY", value: "150" },
                        { name: "WATCH_TIMEOUT_SECONDS", value: "86400" },
                    ]),
                    {
                        ...process("cluster-event-watcher", "watcher/cluster-event/index.js", [
                            { name: "MAX_DB_CONNECTION", value: "10" },
                            { name: "MAX_RPC_CONCURRENCY", value: "40" },
                            { name: "WATCH_TIMEOUT_SECONDS", value: "86400" },
                            // It exits when the database's disk is missing or fuller than this.
                            { name: "DISK_PATH", value: watchedDisk },
                            { name: "MAX_DISK_USAGE_PERCENT", value: String(ctx.services.databaseMaxDiskUsagePercent) },
                        ]),
                        volumeMounts: [{ name: "database-disk", mountPath: watchedDisk, readOnly: true }],
                    },
                    // Job and task attempt history, fluentd's part in OpenPAI v1.8 (files/job-history.js).
                    {
                        ...process("job-history", "/job-history/job-history.js", [
                            { name: "MAX_DB_CONNECTION", value: "5" },
                            { name: "WATCH_TIMEOUT_SECONDS", value: "86400" },
                        ], { cpu: "20m", memory: "256Mi" }),
                        volumeMounts: [{ name: "job-history", mountPath: "/job-history", readOnly: true }],
                    },
                    process("poller", "poller/index.js", [
                        { name: "WRITE_MERGER_URL", value: writeMergerUrl },
                        { name: "MAX_DB_CONNECTION", value: "10" },
                        { name: "MAX_RPC_CONCURRENCY", value: "50" },
                        { name: "INTERVAL_SECOND", value: "120" },
                    ]),
                ],
                volumes: [hostPathVolume("database-disk", postgresDataRoot, "DirectoryOrCreate"), { name: "job-history", configMap: { name: "job-history" } }],
            },
        }),
    ];
}
