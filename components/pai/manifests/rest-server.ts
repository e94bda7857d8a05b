import * as yaml from "js-yaml";
import { hivedPort, PaiContext } from "../context";
import { paiFile } from "../files";
import { accessFor, configMap, container, daemonSet, httpProbe, K8sObject, onMaster, secretEnv, serviceAccount, ServiceAccess, sha256Annotation } from "../objects";
import { databaseSecret, writeMergerPort } from "./database";
import { restServerExitSpec } from "./exit-specs";
import { logManagerPort, logManagerSecret } from "./log-manager";
import { hivedConfigHashAnnotation } from "./hivedscheduler";
import { alertManagerPort } from "./monitoring";
import { storageConfigsByGroup } from "./storage";

/** Secret holding the generated admin credentials and JWT secret (created by PaiServices). */
export const restServerSecret = { name: "rest-server-secrets", adminUser: "admin-username", adminPassword: "admin-password", jwt: "jwt-secret" };
export const restServerPort = 9186;
export const webportalPort = 9286;

/** OpenPAI's own groups, always in group.yaml (src/rest-server/deploy/group-configmap/group.yaml.template). */
const openPaiGroups = [
    { name: "admingroup", description: "admin's group", admin: true, virtualClusters: [] as string[] },
    { name: "default", description: "group for default vc", admin: false, virtualClusters: ["default"] },
];

/** A group as rest-server keeps it (src/rest-server/src/utils/manager/group/crudK8sSecret.js), with the storages granted to it. */
interface RenderedGroup {
    groupname: string;
    description: string;
    externalName: string;
    extension: { acls: { virtualClusters: string[]; admin: boolean; storageConfigs: string[] } };
}

/** OpenPAI's groups, then the stack's, each with its storages (group.yaml's `extension.acls.storageConfigs`). */
function renderedGroups(ctx: PaiContext): RenderedGroup[] {
    const storages = storageConfigsByGroup(ctx);
    return [...openPaiGroups, ...ctx.groups].map(g => ({
        groupname: g.name, description: g.description, externalName: "",
        extension: { acls: { virtualClusters: g.virtualClusters, admin: g.admin, storageConfigs: storages.get(g.name) ?? [] } },
    }));
}

/**
 * group.yaml as rest-server reads it at start (src/rest-server/src/config/authn.js, shape of
 * src/rest-server/deploy/group-configmap/group.yaml.template; it crashes without the file):
 * OpenPAI's admin and default groups, then the stack's groups.
 */
export function groupConfiguration(ctx: PaiContext): string {
    const [adminGroup, defaultGroup, ...grouplist] = renderedGroups(ctx);
    return yaml.dump({ groupDataSource: "basic", adminGroup, defaultGroup, grouplist }, { lineWidth: -1 });
}

/**
 * What the group-sync init container writes before rest-server starts (files/group-sync.js).
 * rest-server creates a group of group.yaml only when it does not exist yet
 * (src/rest-server/src/models/v2/group.js createGroupIfNonExistent), so a storage granted, a VC
 * given or an admin flag set later would never reach a running cluster (OpenPAI's admins made
 * these changes by REST calls). Groups with `stack: true` are the stack's: their description and acls are
 * set; OpenPAI's own groups keep what rest-server and the admins gave them but their storages.
 */
export function groupSyncSpec(ctx: PaiContext): string {
    return JSON.stringify(renderedGroups(ctx).map((g, i) => ({ ...g, stack: i >= openPaiGroups.length })), null, 1);
}

/**
 * Every Kubernetes call of rest-server v1.8.0 (src/rest-server/src; it writes jobs through the
 * write-merger, not the API). Users, groups and tokens are Secrets of their own namespaces
 * (utils/manager/{user,group}/crudK8sSecret.js, models/token.js). Upstream's rbac.yaml gave
 * cluster-wide write on Secrets, ConfigMaps, Namespaces, PriorityClasses and Frameworks. Not
 * granted although called: creating the namespace pai-user-token at start (models/token.js; the
 * program creates it, and the refused call is only logged), and reading the Secret a storage
 * PersistentVolume names (models/v2/storage.js convertVolumeDetail), which would open every
 * Secret of the PAI namespace; such storage needs a Role for that one Secret.
 */
export function restServerAccess(ctx: PaiContext): ServiceAccess {
    const userSecrets = { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "create", "update", "delete"] };
    return {
        cluster: [
            // models/kubernetes/kubernetes.js getNodes and getPods (all namespaces): the VC
            // resources (models/v2/virtual-cluster/k8s.js) and the admin's /kubernetes API (routes/kubernetes.js).
            { apiGroups: [""], resources: ["nodes", "pods"], verbs: ["list"] },
            // models/v2/storage.js convertVolumeDetail.
            { apiGroups: [""], resources: ["persistentvolumes"], verbs: ["get"] },
        ],
        namespaces: {
            [ctx.namespace]: [
                // models/v2/utils/frameworkConverter.js getContainerGpus: a job's pod.
                { apiGroups: [""], resources: ["pods"], verbs: ["get"] },
                // config/paiConfig.js fetchPAIVersion.
                { apiGroups: [""], resources: ["configmaps"], resourceNames: ["pai-version"], verbs: ["get"] },
                // models/v2/storage.js list and get.
                { apiGroups: [""], resources: ["persistentvolumeclaims"], verbs: ["get", "list"] },
            ],
            // utils/manager/user/crudK8sSecret.js read, readAll, create, update, remove.
            "pai-user-v2": [userSecrets],
            // utils/manager/group/crudK8sSecret.js, the same calls.
            "pai-group": [userSecrets],
            // models/token.js through models/kubernetes/k8s-secret.js get, create, replace.
            "pai-user-token": [{ apiGroups: [""], resources: ["secrets"], verbs: ["get", "create", "update"] }],
        },
    };
}

/** rest-server with the environment, files and permissions OpenPAI v1.8's code reads. */
export function restServerManifests(ctx: PaiContext): K8sObject[] {
    const account = { name: "rest-server", namespace: ctx.namespace };
    const master = ctx.master.hostip;
    // Required by src/rest-server/src/config/*.js (joi schemas read at module load).
    const env = [
        { name: "LAUNCHER_TYPE", value: "k8s" },
        { name: "LAUNCHER_PRIORITY_CLASS", value: "true" },
        { name: "LAUNCHER_RUNTIME_IMAGE", value: ctx.paiImage("openpai-runtime") },
        { name: "LAUNCHER_RUNTIME_IMAGE_PULL_SECRETS", value: "pai-secret" },
        { name: "LAUNCHER_SCHEDULER", value: "hivedscheduler" },
        // On the pod network rest-server reaches HiveD's Service by name; it exits when HiveD does not answer at start.
        { name: "HIVED_WEBSERVICE_URI", value: `http://hivedscheduler-hs.${ctx.namespace}.svc:${hivedPort}` },
        { name: "LOG_SERVER", value: "log_manager" },
        { name: "LOG_MANAGER_PORT", value: String(logManagerPort) },
        secretEnv("LOG_MANAGER_ADMIN_NAME", logManagerSecret.name, logManagerSecret.adminName),
        secretEnv("LOG_MANAGER_ADMIN_PASSWORD", logManagerSecret.name, logManagerSecret.adminPassword),
        // Required even when alert-manager is off (src/config/launcher.js).
        { name: "ALERT_MANAGER_URL", value: `http://${master}:${alertManagerPort}` },
        { name: "SCHEDULE_PORT_START", value: "15000" },
        { name: "SCHEDULE_PORT_END", value: "40000" },
        // OpenPAI's values (src/rest-server/config/rest-server.yaml); the code's defaults are lower.
        { name: "RATE_LIMIT_API_PER_MIN", value: "600" },
        { name: "RATE_LIMIT_LIST_JOB_PER_MIN", value: "120" },
        { name: "RATE_LIMIT_SUBMIT_JOB_PER_HOUR", value: "3600" },
        { name: "JWT_TOKEN_EXPIRE_TIME", value: "7d" },
        { name: "WEBPORTAL_URL", value: ctx.portalUrl },
        { name: "REST_SERVER_URI", value: `${ctx.portalUrl}rest-server` },
        { name: "AUTHN_METHOD", value: "basic" },
        { name: "SQL_MAX_CONNECTION", value: "50" },
        { name: "JOB_HISTORY", value: "true" },
        { name: "WRITE_MERGER_URL", value: `http://${master}:${writeMergerPort}` },
        { name: "DEFAULT_COMPUTING_DEVICE_TYPE", value: "nvidia.com/gpu" },
        { name: "HIVED_COMPUTING_DEVICE_ENVS", value: "NVIDIA_VISIBLE_DEVICES,HIVED_VISIBLE_DEVICES" },
        { name: "RBAC_IN_CLUSTER", value: "true" },
        secretEnv("JWT_SECRET", restServerSecret.name, restServerSecret.jwt),
        secretEnv("DEFAULT_PAI_ADMIN_USERNAME", restServerSecret.name, restServerSecret.adminUser),
        secretEnv("DEFAULT_PAI_ADMIN_PASSWORD", restServerSecret.name, restServerSecret.adminPassword),
        secretEnv("SQL_CONNECTION_STR", databaseSecret.name, databaseSecret.connection),
    ];
    // Files it reads, at the paths src/rest-server/deploy/rest-server.yaml.template mounts them.
    const files = [
        { name: "pai-configuration", mountPath: "/pai-cluster-config", configMap: "pai-configuration" },
        { name: "group-configuration", mountPath: "/group-configuration", configMap: "group-configuration" },
        { name: "hived-spec", mountPath: "/hived-spec", configMap: "hivedscheduler-config" },
        { name: "exit-spec", mountPath: "/k8s-job-exit-spec-configuration", configMap: "k8s-job-exit-spec-configuration" },
    ];
    const groupYaml = groupConfiguration(ctx);
    const groupSync = { "group-sync.js": paiFile("group-sync.js"), "groups.json": groupSyncSpec(ctx) };
    return [
        configMap("group-configuration", ctx.namespace, { "group.yaml": groupYaml }),
        configMap("group-sync", ctx.namespace, groupSync),
        configMap("k8s-job-exit-spec-configuration", ctx.namespace, { "k8s-job-exit-spec.yaml": yaml.dump(restServerExitSpec(), { lineWidth: -1 }) }),
        serviceAccount(account.name, account.namespace),
        ...accessFor("pai-rest-server", account, restServerAccess(ctx)),
        daemonSet({
            name: "rest-server", namespace: ctx.namespace,
            // rest-server reads group.yaml at start only: a group or storage change rolls it, and the
            // init container writes the groups first. It reads the hived config at start too
            // (src/rest-server/src/config/vc.js: the SKU types and VCs it checks jobs against), so a
            // VC change rolls it with HiveD.
            podAnnotations: {
                ...sha256Annotation(`${groupYaml}${groupSync["group-sync.js"]}${groupSync["groups.json"]}`),
                [hivedConfigHashAnnotation]: ctx.hived.hash,
            },
            podSpec: {
                ...onMaster,
                serviceAccountName: account.name,
                priorityClassName: "pai-daemon-priority",
                initContainers: [container({
                    name: "group-sync", image: ctx.paiImage("rest-server"),
                    requests: { cpu: "10m", memory: "64Mi" },
                    command: ["node", "/group-sync/group-sync.js", "/group-sync/groups.json"],
                    volumeMounts: [{ name: "group-sync", mountPath: "/group-sync", readOnly: true }],
                })],
                containers: [container({
                    name: "rest-server", image: ctx.paiImage("rest-server"),
                    requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "2", memory: "2Gi" },
                    ports: [{ containerPort: 8080, hostPort: restServerPort }],
                    env,
                    readinessProbe: httpProbe("/api/v2/info", 8080),
                    volumeMounts: files.map(f => ({ name: f.name, mountPath: f.mountPath })),
                })],
                volumes: [...files, { name: "group-sync", configMap: "group-sync" }].map(f => ({ name: f.name, configMap: { name: f.configMap } })),
            },
        }),
    ];
}
