import * as yaml from "js-yaml";
import { workerDaemons } from "../../../config";
import { externalImages, PaiContext, paiDataPath } from "../context";
import { accessFor, configMap, container, daemonRequests, daemonSet, deployment, hostPathVolume, httpProbe, K8sObject, onMaster, secretEnv, serviceAccount, ServiceAccess } from "../objects";
import { frameworkGroup } from "./frameworkcontroller";

export const prometheusPort = 9091;
export const alertManagerPort = 9093;
export const grafanaPort = 3000;
export const nodeExporterPort = 9100;
export const jobExporterPort = 9102;
export const watchdogPort = 9101;
/** Secret with Grafana's generated admin password (created by PaiServices). */
export const grafanaSecret = { name: "grafana-secrets", adminPassword: "admin-password" };

/** Optional monitoring: each service is switched on or off in openpai:services. */
export function monitoringManifests(ctx: PaiContext): K8sObject[] {
    const objects: K8sObject[] = [];
    const s = ctx.services;
    if (s.prometheus) {
        // Addresses, not hostnames: the nodes' names need not resolve in the cluster's DNS.
        const targets = (port: number) => [ctx.master.hostip, ...ctx.workers].map(h => `${h}:${port}`);
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
                    // The metrics live on the master's disk, owned by the user prometheus runs as
                    // (src/prometheus/deploy/prometheus-deployment.yaml.template: the same chown).
                    initContainers: [container({
                        name: "chown-data", image: externalImages.busybox, requests: { cpu: "10m", memory: "16Mi" },
                        securityContext: { runAsUser: 0 },
                        command: ["chown", "-R", "65534:65534", "/prometheus-data"],
                        volumeMounts: [{ name: "data", mountPath: "/prometheus-data" }],
                    })],
                    containers: [container({
                        name: "prometheus", image: externalImages.prometheus,
                        requests: { cpu: "250m", memory: "1Gi" }, limits: { cpu: "2", memory: "4Gi" },
                        args: ["--config.file=/etc/prometheus/prometheus.yml", `--web.listen-address=:${prometheusPort}`,
                            "--web.external-url=/prometheus/", "--storage.tsdb.path=/prometheus-data", "--storage.tsdb.retention.time=31d"],
                        readinessProbe: httpProbe("/prometheus/-/ready", prometheusPort),
                        ports: [{ containerPort: prometheusPort, hostPort: prometheusPort }],
                        volumeMounts: [{ name: "config", mountPath: "/etc/prometheus" }, { name: "data", mountPath: "/prometheus-data" }],
                    })],
                    volumes: [{ name: "config", configMap: { name: "prometheus-config" } },
                        hostPathVolume("data", `${paiDataPath}/prometheus/data`, "DirectoryOrCreate")],
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
                    // rest-server asks <ALERT_MANAGER_URL>/alert-manager/api/v1/alerts (src/models/v2/alert.js).
                    // One replica: no cluster gossip listener (it would answer on :9094 of the master).
                    args: [`--web.listen-address=:${alertManagerPort}`, "--config.file=/etc/alertmanager/alertmanager.yml", "--web.route-prefix=alert-manager",
                        "--cluster.listen-address="],
                    readinessProbe: httpProbe("/alert-manager/-/ready", alertManagerPort),
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
        // Prometheus as Grafana's data source. OpenPAI's own dashboards (which the portal links
        // to) are not shipped: docs/compatibility.md.
        const datasources = yaml.dump({ apiVersion: 1, datasources: s.prometheus ? [{
            name: "Prometheus", type: "prometheus", access: "proxy", isDefault: true,
            url: `http://${ctx.master.hostip}:${prometheusPort}/prometheus`,
        }] : [] });
        objects.push(configMap("grafana-datasources", ctx.namespace, { "prometheus.yaml": datasources }), deployment({
            name: "grafana", namespace: ctx.namespace,
            podSpec: {
                ...onMaster, priorityClassName: "pai-daemon-priority",
                containers: [container({
                    name: "grafana", image: externalImages.grafana,
                    requests: { cpu: "100m", memory: "256Mi" },
                    ports: [{ containerPort: grafanaPort, hostPort: grafanaPort }],
                    // Its own login only: the generated admin password (stack output
                    // grafanaAdminPassword), no anonymous viewers, no sign-up.
                    env: [
                        { name: "GF_SERVER_ROOT_URL", value: `${ctx.portalUrl}grafana/` },
                        { name: "GF_SERVER_SERVE_FROM_SUB_PATH", value: "true" },
                        { name: "GF_AUTH_ANONYMOUS_ENABLED", value: "false" },
                        { name: "GF_USERS_ALLOW_SIGN_UP", value: "false" },
                        { name: "GF_SECURITY_ADMIN_USER", value: "admin" },
                        secretEnv("GF_SECURITY_ADMIN_PASSWORD", grafanaSecret.name, grafanaSecret.adminPassword),
                        { name: "GF_SECURITY_COOKIE_SECURE", value: "true" },
                        { name: "GF_ANALYTICS_REPORTING_ENABLED", value: "false" },
                        { name: "GF_ANALYTICS_CHECK_FOR_UPDATES", value: "false" },
                    ],
                    volumeMounts: [{ name: "datasources", mountPath: "/etc/grafana/provisioning/datasources" }],
                })],
                volumes: [{ name: "datasources", configMap: { name: "grafana-datasources" } }],
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
                    // The image has no start command: src/job-exporter/deploy/job-exporter.yaml.template's.
                    command: ["python", "/job_exporter/main.py", "--port", String(jobExporterPort), "--interval", "30",
                        "--interface", "eth0,eno1,eno2,ens3,host0", "--log", "/datastorage/prometheus"],
                    env: [
                        { name: "HOST_IP", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } },
                        { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
                        { name: "LOGGING_LEVEL", value: "INFO" },
                        // main.py's config_environ() fails without it (src/job-exporter/src/main.py).
                        { name: "NV_DRIVER", value: "/var/drivers/nvidia/current" },
                        { name: "NVIDIA_VISIBLE_DEVICES", value: "all" },
                        { name: "LAUNCHER_TYPE", value: "k8s" },
                    ],
                    ports: [{ containerPort: jobExporterPort, hostPort: jobExporterPort }],
                    volumeMounts: [{ name: "job-exporter-log", mountPath: "/datastorage/prometheus" }, { name: "dev", mountPath: "/dev" }],
                })],
                volumes: [{ name: "job-exporter-log", emptyDir: {} }, hostPathVolume("dev", "/dev")],
            },
        }));
    }
    if (s.watchdog) {
        objects.push(
            serviceAccount("watchdog", ctx.namespace),
            ...accessFor("pai-watchdog", { name: "watchdog", namespace: ctx.namespace }, watchdogAccess(ctx)),
            deployment({
                name: "watchdog", namespace: ctx.namespace,
                podSpec: {
                    ...onMaster, hostNetwork: true, serviceAccountName: "watchdog", priorityClassName: "pai-daemon-priority",
                    containers: [container({
                        name: "watchdog", image: ctx.paiImage("watchdog"),
                        requests: { cpu: "50m", memory: "128Mi" },
                        // The image has no start command: src/watchdog/deploy/watchdog.yaml.template's.
                        command: ["./watchdog", "-collection-interval", "180", "-gc-interval", "60", "-port", String(watchdogPort)],
                        env: [{ name: "LOGGING_LEVEL", value: "INFO" }],
                        ports: [{ containerPort: watchdogPort, hostPort: watchdogPort }],
                        readinessProbe: httpProbe("/healthz", watchdogPort, 30),
                    })],
                },
            }),
        );
    }
    return objects;
}

/**
 * Every Kubernetes call of watchdog v1.8.0 (src/watchdog/src/pkg/watchdog/k8s_client.go): it
 * lists pods and nodes for its metrics (prom_metric_collector.go), and its garbage collector
 * (garbage_collector.go collect, removeOrphanPriorityClasses, removeOrphanSecrets) lists the
 * Frameworks and Secrets of `default` and every PriorityClass, and deletes the job Secrets and
 * PriorityClasses whose Framework is gone. Upstream's ClusterRole let it read and delete every
 * Secret of the cluster.
 */
export function watchdogAccess(ctx: PaiContext): ServiceAccess {
    return {
        cluster: [
            { apiGroups: [""], resources: ["pods", "nodes"], verbs: ["list"] },
            { apiGroups: ["scheduling.k8s.io"], resources: ["priorityclasses"], verbs: ["list", "delete"] },
        ],
        namespaces: {
            [ctx.namespace]: [
                { apiGroups: [""], resources: ["secrets"], verbs: ["list", "delete"] },
                { apiGroups: [frameworkGroup], resources: ["frameworks"], verbs: ["list"] },
            ],
        },
    };
}
