import * as yaml from "js-yaml";
import { workerDaemons } from "../../../config";
import { externalImages, PaiContext } from "../context";
import { clusterRoleFor, configMap, container, daemonRequests, daemonSet, deployment, hostPathVolume, K8sObject, onMaster, serviceAccount } from "../objects";

export const prometheusPort = 9091;
export const alertManagerPort = 9093;
export const grafanaPort = 3000;
export const nodeExporterPort = 9100;
export const jobExporterPort = 9102;
export const watchdogPort = 9101;

/** Optional monitoring: each service is switched on or off in openpai:services. */
export function monitoringManifests(ctx: PaiContext): K8sObject[] {
    const objects: K8sObject[] = [];
    const s = ctx.services;
    if (s.prometheus) {
        const targets = (port: number) => [ctx.master.hostname, ...ctx.workers].map(h => `${h}:${port}`);
        const scrape = {
            global: { scrape_interval: "30s" },
            ...(s.alertManager ? { alerting: { alertmanagers: [{ static_configs: [{ targets: [`${ctx.master.hostip}:${alertManagerPort}`] }] }] } } : {}),
            scrape_configs: [
                ...(s.nodeExporter ? [{ job_name: "node-exporter", static_configs: [{ targets: targets(nodeExporterPort) }] }] : []),
                ...(s.jobExporter ? [{ job_name: "job-exporter", static_configs: [{ targets: targets(jobExporterPort) }] }] : []),
                ...(s.watchdog ? [{ job_name: "watchdog", static_configs: [{ targets: [`${ctx.master.hostip}:${watchdogPort}`] }] }] : []),
            ],
        };
        objects.push(
            configMap("prometheus-config", ctx.namespace, { "prometheus.yml": yaml.dump(scrape) }),
            deployment({
                name: "prometheus", namespace: ctx.namespace,
                podSpec: {
                    ...onMaster, hostNetwork: true, priorityClassName: "pai-daemon-priority",
                    containers: [container({
                        name: "prometheus", image: externalImages.prometheus,
                        requests: { cpu: "250m", memory: "1Gi" }, limits: { cpu: "2", memory: "4Gi" },
                        args: ["--config.file=/etc/prometheus/prometheus.yml", `--web.listen-address=:${prometheusPort}`,
                            "--web.external-url=/prometheus/", "--storage.tsdb.retention.time=31d"],
                        ports: [{ containerPort: prometheusPort, hostPort: prometheusPort }],
                        volumeMounts: [{ name: "config", mountPath: "/etc/prometheus" }],
                    })],
                    volumes: [{ name: "config", configMap: { name: "prometheus-config" } }],
                },
            }),
        );
    }
    if (s.alertManager) {
        objects.push(deployment({
            name: "alertmanager", namespace: ctx.namespace,
            podSpec: {
                ...onMaster, hostNetwork: true, priorityClassName: "pai-daemon-priority",
                containers: [container({
                    name: "alertmanager", image: externalImages.alertManager,
                    requests: { cpu: "50m", memory: "128Mi" },
                    args: [`--web.listen-address=:${alertManagerPort}`, "--config.file=/etc/alertmanager/alertmanager.yml"],
                    ports: [{ containerPort: alertManagerPort, hostPort: alertManagerPort }],
                    volumeMounts: [{ name: "config", mountPath: "/etc/alertmanager" }],
                })],
                volumes: [{ name: "config", configMap: { name: "alertmanager-config" } }],
            },
        }), configMap("alertmanager-config", ctx.namespace, {
            "alertmanager.yml": yaml.dump({ route: { receiver: "null" }, receivers: [{ name: "null" }] }),
        }));
    }
    if (s.grafana) {
        objects.push(deployment({
            name: "grafana", namespace: ctx.namespace,
            podSpec: {
                ...onMaster, priorityClassName: "pai-daemon-priority",
                containers: [container({
                    name: "grafana", image: externalImages.grafana,
                    requests: { cpu: "100m", memory: "256Mi" },
                    ports: [{ containerPort: grafanaPort, hostPort: grafanaPort }],
                    env: [
                        { name: "GF_SERVER_ROOT_URL", value: `${ctx.portalUrl}grafana/` },
                        { name: "GF_AUTH_ANONYMOUS_ENABLED", value: "true" },
                    ],
                })],
            },
        }));
    }
    if (s.nodeExporter) {
        const share = workerDaemons.nodeExporter;
        objects.push(daemonSet({
            name: "node-exporter", namespace: ctx.namespace,
            podSpec: {
                hostNetwork: true, hostPID: true, priorityClassName: "pai-daemon-priority", tolerations: [{ operator: "Exists" }],
                containers: [container({
                    name: "node-exporter", image: externalImages.nodeExporter,
                    requests: daemonRequests(share),
                    args: [`--web.listen-address=:${nodeExporterPort}`, "--path.rootfs=/host"],
                    ports: [{ containerPort: nodeExporterPort, hostPort: nodeExporterPort }],
                    volumeMounts: [{ name: "root", mountPath: "/host", readOnly: true, mountPropagation: "HostToContainer" }],
                })],
                volumes: [hostPathVolume("root", "/")],
            },
        }));
    }
    if (s.jobExporter) {
        const share = workerDaemons.jobExporter;
        objects.push(daemonSet({
            name: "job-exporter", namespace: ctx.namespace,
            podSpec: {
                hostNetwork: true, hostPID: true, priorityClassName: "pai-daemon-priority", tolerations: [{ operator: "Exists" }],
                containers: [container({
                    name: "job-exporter", image: ctx.paiImage("job-exporter"),
                    requests: daemonRequests(share),
                    securityContext: { privileged: true },
                    env: [{ name: "PORT", value: String(jobExporterPort) }, { name: "CONTAINER_RUNTIME_ENDPOINT", value: "unix:///run/containerd/containerd.sock" }],
                    ports: [{ containerPort: jobExporterPort, hostPort: jobExporterPort }],
                    volumeMounts: [{ name: "containerd", mountPath: "/run/containerd/containerd.sock" }, { name: "sys", mountPath: "/sys", readOnly: true }],
                })],
                volumes: [hostPathVolume("containerd", "/run/containerd/containerd.sock", "Socket"), hostPathVolume("sys", "/sys")],
            },
        }));
    }
    if (s.watchdog) {
        objects.push(
            serviceAccount("watchdog", ctx.namespace),
            ...clusterRoleFor("pai-watchdog", [{ apiGroups: [""], resources: ["pods", "nodes"], verbs: ["get", "list", "watch"] }],
                { name: "watchdog", namespace: ctx.namespace }),
            deployment({
                name: "watchdog", namespace: ctx.namespace,
                podSpec: {
                    ...onMaster, hostNetwork: true, serviceAccountName: "watchdog", priorityClassName: "pai-daemon-priority",
                    containers: [container({
                        name: "watchdog", image: ctx.paiImage("watchdog"),
                        requests: { cpu: "50m", memory: "128Mi" },
                        env: [{ name: "PORT", value: String(watchdogPort) }, { name: "RBAC_IN_CLUSTER", value: "true" }],
                        ports: [{ containerPort: watchdogPort, hostPort: watchdogPort }],
                    })],
                },
            }),
        );
    }
    return objects;
}
