import { workerDaemons } from "../../../config";
import { PaiContext } from "../context";
import { container, daemonRequests, daemonSet, hostPathVolume, httpProbe, K8sObject, secretEnv } from "../objects";

export const logManagerPort = 9103;
/** Secret with log-manager's admin login (also given to rest-server) and its own JWT secret (created by PaiServices). */
export const logManagerSecret = { name: "log-manager-secrets", adminName: "admin-name", adminPassword: "admin-password", jwt: "jwt-secret" };

/**
 * Serves and cleans job logs under /var/log/pai on every node (src/log-manager/deploy/
 * log-manager.yaml.template): the cleaner and the openresty server, which hands rest-server a
 * token for the admin login and serves the files to holders of one (its nginx.conf reads
 * ADMIN_NAME, ADMIN_PASSWORD, JWT_SECRET, TOKEN_EXPIRED_SECOND and NODE_NAME).
 */
export function logManagerManifests(ctx: PaiContext): K8sObject[] {
    const share = workerDaemons.logManager;
    return [daemonSet({
        name: "log-manager", namespace: ctx.namespace,
        podSpec: {
            priorityClassName: "pai-daemon-priority",
            tolerations: [{ operator: "Exists" }],
            containers: [
                container({
                    name: "log-cleaner", image: ctx.paiImage("log-manager-cleaner"),
                    requests: daemonRequests(share, 1 / 2),
                    env: [{ name: "LOG_EXIST_TIME", value: "30" }],
                    volumeMounts: [{ name: "pai-log", mountPath: "/usr/local/pai/logs" }],
                }),
                container({
                    name: "log-manager-nginx", image: ctx.paiImage("log-manager-nginx"),
                    requests: daemonRequests(share, 1 / 2),
                    ports: [{ containerPort: 80, hostPort: logManagerPort }],
                    env: [
                        secretEnv("ADMIN_NAME", logManagerSecret.name, logManagerSecret.adminName),
                        secretEnv("ADMIN_PASSWORD", logManagerSecret.name, logManagerSecret.adminPassword),
                        secretEnv("JWT_SECRET", logManagerSecret.name, logManagerSecret.jwt),
                        { name: "TOKEN_EXPIRED_SECOND", value: "120" },
                        { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
                    ],
                    livenessProbe: httpProbe("/healthz", 80, 30),
                    volumeMounts: [{ name: "pai-log", mountPath: "/usr/local/pai/logs", readOnly: true }],
                }),
            ],
            // Job pods mount /var/log/pai without a type: the DaemonSet makes sure it exists.
            volumes: [hostPathVolume("pai-log", "/var/log/pai", "DirectoryOrCreate")],
        },
    })];
}
