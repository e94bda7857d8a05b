import * as yaml from "js-yaml";
import { hivedPort, PaiContext, PaiGroup } from "../context";
import { clusterRoleFor, configMap, container, daemonSet, httpProbe, K8sObject, onMaster, secretEnv, serviceAccount } from "../objects";
import { databaseSecret, writeMergerPort } from "./database";
import { restServerExitSpec } from "./exit-specs";
import { logManagerPort, logManagerSecret } from "./log-manager";
import { alertManagerPort } from "./monitoring";

/** Secret holding the generated admin credentials and JWT secret (created by PaiServices). */
export const restServerSecret = { name: "rest-server-secrets", adminUser: "admin-username", adminPassword: "admin-password", jwt: "jwt-secret" };
export const restServerPort = 9186;
export const webportalPort = 9286;

/**
 * group.yaml as rest-server reads it at start (src/rest-server/src/config/authn.js, shape of
 * src/rest-server/deploy/group-configmap/group.yaml.template; it crashes without the file):
 * OpenPAI's admin and default groups, then the stack's groups.
 */
export function groupConfiguration(groups: PaiGroup[]): string {
    const group = (name: string, description: string, admin: boolean, virtualClusters: string[]) =>
        ({ groupname: name, description, externalName: "", extension: { acls: { virtualClusters, admin } } });
    return yaml.dump({
        groupDataSource: "basic",
        adminGroup: group("admingroup", "admin's group", true, []),
        defaultGroup: group("default", "group for default vc", false, ["default"]),
        grouplist: groups.map(g => group(g.name, g.description, g.admin, g.virtualClusters)),
    }, { lineWidth: -1 });
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
    return [
        configMap("group-configuration", ctx.namespace, { "group.yaml": groupConfiguration(ctx.groups) }),
        configMap("k8s-job-exit-spec-configuration", ctx.namespace, { "k8s-job-exit-spec.yaml": yaml.dump(restServerExitSpec(), { lineWidth: -1 }) }),
        serviceAccount(account.name, account.namespace),
        // src/rest-server/deploy/rbac.yaml: users, groups and tokens are Secrets; jobs are Frameworks.
        ...clusterRoleFor("pai-rest-server", [
            { apiGroups: [""], resources: ["nodes", "pods", "persistentvolumes", "persistentvolumeclaims"], verbs: ["get", "list", "watch"] },
            { apiGroups: [""], resources: ["configmaps", "namespaces", "secrets"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
            { apiGroups: ["scheduling.k8s.io"], resources: ["priorityclasses"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
            { apiGroups: ["frameworkcontroller.microsoft.com"], resources: ["frameworks"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
        ], account),
        daemonSet({
            name: "rest-server", namespace: ctx.namespace,
            podSpec: {
                ...onMaster,
                serviceAccountName: account.name,
                priorityClassName: "pai-daemon-priority",
                containers: [container({
                    name: "rest-server", image: ctx.paiImage("rest-server"),
                    requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "2", memory: "2Gi" },
                    ports: [{ containerPort: 8080, hostPort: restServerPort }],
                    env,
                    readinessProbe: httpProbe("/api/v2/info", 8080),
                    volumeMounts: files.map(f => ({ name: f.name, mountPath: f.mountPath })),
                })],
                volumes: files.map(f => ({ name: f.name, configMap: { name: f.configMap } })),
            },
        }),
    ];
}
