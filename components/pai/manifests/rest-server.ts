import { PaiContext } from "../context";
import { clusterRoleBinding, container, daemonSet, K8sObject, onMaster, secretEnv, serviceAccount } from "../objects";
import { databaseSecret, writeMergerPort } from "./database";
import { hivedPort } from "./hivedscheduler";
import { logManagerPort } from "./log-manager";

/** Secret holding the generated admin credentials and JWT secret (created by the RestServer component). */
export const restServerSecret = { name: "rest-server-secrets", adminUser: "admin-username", adminPassword: "admin-password", jwt: "jwt-secret" };
export const restServerPort = 9186;
export const webportalPort = 9286;

/** rest-server with the environment OpenPAI v1.8 gives it; credentials come from Secrets. */
export function restServerManifests(ctx: PaiContext): K8sObject[] {
    const account = { name: "rest-server", namespace: ctx.namespace };
    const master = ctx.master.hostip;
    const env = [
        { name: "LAUNCHER_TYPE", value: "k8s" },
        { name: "LAUNCHER_PRIORITY_CLASS", value: "true" },
        { name: "LAUNCHER_RUNTIME_IMAGE", value: ctx.paiImage("openpai-runtime") },
        { name: "LAUNCHER_RUNTIME_IMAGE_PULL_SECRETS", value: "pai-secret" },
        { name: "LAUNCHER_SCHEDULER", value: "hivedscheduler" },
        { name: "HIVED_WEBSERVICE_URI", value: `http://${master}:${hivedPort}` },
        { name: "LOG_SERVER", value: "log_manager" },
        { name: "LOG_MANAGER_PORT", value: String(logManagerPort) },
        { name: "SCHEDULE_PORT_START", value: "15000" },
        { name: "SCHEDULE_PORT_END", value: "40000" },
        { name: "JWT_TOKEN_EXPIRE_TIME", value: "7d" },
        { name: "WEBPORTAL_URL", value: ctx.portalUrl },
        { name: "REST_SERVER_URI", value: `${ctx.portalUrl}rest-server` },
        { name: "K8S_APISERVER_URI", value: "https://kubernetes.default.svc" },
        { name: "AUTHN_METHOD", value: "basic" },
        { name: "SQL_MAX_CONNECTION", value: "50" },
        { name: "JOB_HISTORY", value: "true" },
        { name: "WRITE_MERGER_URL", value: `http://${master}:${writeMergerPort}` },
        { name: "DEFAULT_COMPUTING_DEVICE_TYPE", value: "nvidia.com/gpu" },
        { name: "HIVED_COMPUTING_DEVICE_ENVS", value: "NVIDIA_VISIBLE_DEVICES,HIVED_VISIBLE_DEVICES" },
        { name: "RBAC_IN_CLUSTER", value: "true" },
        { name: "CLUSTER_ID", value: ctx.clusterId },
        secretEnv("JWT_SECRET", restServerSecret.name, restServerSecret.jwt),
        secretEnv("DEFAULT_PAI_ADMIN_USERNAME", restServerSecret.name, restServerSecret.adminUser),
        secretEnv("DEFAULT_PAI_ADMIN_PASSWORD", restServerSecret.name, restServerSecret.adminPassword),
        secretEnv("SQL_CONNECTION_STR", databaseSecret.name, databaseSecret.connection),
    ];
    return [
        serviceAccount(account.name, account.namespace),
        clusterRoleBinding("rest-server", "cluster-admin", account),
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
                    volumeMounts: [
                        { name: "pai-configuration", mountPath: "/pai-configuration" },
                        { name: "hived-spec", mountPath: "/hived-spec" },
                        { name: "exit-spec", mountPath: "/job-exit-spec-config" },
                    ],
                })],
                volumes: [
                    { name: "pai-configuration", configMap: { name: "pai-configuration" } },
                    { name: "hived-spec", configMap: { name: "hivedscheduler-config" } },
                    { name: "exit-spec", configMap: { name: "runtime-exit-spec-configuration" } },
                ],
            },
        }),
    ];
}
