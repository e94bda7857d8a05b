import { workerDaemons } from "../../../config";
import { PaiContext } from "../context";
import { container, daemonRequests, daemonSet, hostPathVolume, K8sObject } from "../objects";

export const logManagerPort = 9103;

/** Serves and cleans job logs under /var/log/pai on every node. */
export function logManagerManifests(ctx: PaiContext): K8sObject[] {
    const share = workerDaemons.logManager;
    return [daemonSet({
        name: "log-manager", namespace: ctx.namespace,
        podSpec: {
            priorityClassName: "pai-daemon-priority",
            tolerations: [{ operator: "Exists" }],
            containers: [
                container({
                    name: "log-cleaner", image: ctx.paiImage("log-manager-logrotate"),
                    requests: daemonRequests(share, 1 / 2),
                    volumeMounts: [{ name: "pai-log", mountPath: "/usr/local/pai/logs" }],
                }),
                container({
                    name: "log-server", image: ctx.paiImage("log-manager-nginx"),
                    requests: daemonRequests(share, 1 / 2),
                    ports: [{ containerPort: 80, hostPort: logManagerPort }],
                    volumeMounts: [{ name: "pai-log", mountPath: "/usr/local/pai/logs", readOnly: true }],
                }),
            ],
            volumes: [hostPathVolume("pai-log", "/var/log/pai", "DirectoryOrCreate")],
        },
    })];
}
