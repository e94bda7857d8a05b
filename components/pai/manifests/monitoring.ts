import * as yaml from "js-yaml";
import { workerDaemons } from "../../../config";
import { externalImages, PaiContext, paiDataPath } from "../context";
import { paiFile } from "../files";
import { accessFor, configMap, container, daemonRequests, daemonSet, deployment, hostPathVolume, httpProbe, K8sObject, onMaster, secretEnv, serviceAccount, ServiceAccess, sha256Annotation } from "../objects";
import { alertingManifests, alertManagerPort, alertRulesConfigMap, certificateCheck } from "./alerting";
import { certificateCheckManifests, textfileDirectory } from "./certificates";
import { grafanaProvisioning, grafanaProvisioningMounts } from "./dashboards";
import { frameworkGroup } from "./frameworkcontroller";

export { alertManagerPort };
export const prometheusPort = 9091;
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
        // Every series of a node's exporter carries the node's address as host_ip: alerts group and
        // inhibit by it, the dashboards filter by it, the portal's node links pass it. Not
        // watchdog's: its series name each node in a host_ip label of their own.
        const hostIp = [{ source_labels: ["__address__"], regex: "(.+):[0-9]+", target_label: "host_ip" }];
        const job = (name: string, addresses: string[], perNode = true) =>
            ({ job_name: name, static_configs: [{ targets: addresses }], ...(perNode ? { relabel_configs: hostIp } : {}) });
        const scrape = {
            global: { scrape_interval: "30s", evaluation_interval: "30s" },
            rule_files: ["/etc/prometheus/rules/*.yml"],
            ...(s.alertManager ? { alerting: { alertmanagers: [{ path_prefix: "/alert-manager", static_configs: [{ targets: [`${ctx.master.hostip}:${alertManagerPort}`] }] }] } } : {}),
            scrape_configs: [
                ...(s.nodeExporter ? [job("node-exporter", targets(nodeExporterPort))] : []),
                ...(s.jobExporter ? [job("job-exporter", targets(jobExporterPort))] : []),
                ...(s.watchdog ? [job("watchdog", [`${ctx.master.hostip}:${watchdogPort}`], false)] : []),
            ],
        };
        const config = yaml.dump(scrape);
        const rules = alertRulesConfigMap(ctx);
        objects.push(
            configMap("prometheus-config", ctx.namespace, { "prometheus.yml": config }),
            rules,
            deployment({
                name: "prometheus", namespace: ctx.namespace,
                // Prometheus reads its config and rules at start: a change rolls it.
                podAnnotations: sha256Annotation(`${config}${JSON.stringify(rules.data)}`),
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
                        volumeMounts: [{ name: "config", mountPath: "/etc/prometheus" }, { name: "rules", mountPath: "/etc/prometheus/rules" },
                            { name: "data", mountPath: "/prometheus-data" }],
                    })],
                    volumes: [{ name: "config", configMap: { name: "prometheus-config" } }, { name: "rules", configMap: { name: "prometheus-rules" } },
                        hostPathVolume("data", `${paiDataPath}/prometheus/data`, "DirectoryOrCreate")],
                },
            }),
        );
    }
    objects.push(...alertingManifests(ctx));
    if (s.grafana) {
        // Prometheus as Grafana's data source, and the cluster and job dashboards the portal links to.
        objects.push(...grafanaProvisioning(ctx, `http://${ctx.master.hostip}:${prometheusPort}/prometheus`), deployment({
            name: "grafana", namespace: ctx.namespace,
            podSpec: {
                ...onMaster, priorityClassName: "pai-daemon-priority",
                containers: [container({
                    name: "grafana", image: externalImages.grafana,
                    requests: { cpu: "100m", memory: "256Mi" },
                    ports: [{ containerPort: grafanaPort, hostPort: grafanaPort }],
                    // Its own login only: the generated admin password (stack output
                    // grafanaAdminPassword), no anonymous viewers, no sign-up. The portal shows the
                    // cluster dashboard in a frame: embedding is allowed, and pylon lets only the
                    // portal's own pages frame it (Content-Security-Policy frame-ancestors 'self').
                    env: [
                        { name: "GF_SERVER_ROOT_URL", value: `${ctx.portalUrl}grafana/` },
                        { name: "GF_SERVER_SERVE_FROM_SUB_PATH", value: "true" },
                        { name: "GF_AUTH_ANONYMOUS_ENABLED", value: "false" },
                        { name: "GF_USERS_ALLOW_SIGN_UP", value: "false" },
                        { name: "GF_SECURITY_ADMIN_USER", value: "admin" },
                        secretEnv("GF_SECURITY_ADMIN_PASSWORD", grafanaSecret.name, grafanaSecret.adminPassword),
                        { name: "GF_SECURITY_COOKIE_SECURE", value: "true" },
                        { name: "GF_SECURITY_ALLOW_EMBEDDING", value: "true" },
                        { name: "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH", value: `${grafanaProvisioningMounts.volumeMounts[2].mountPath}/openpai-cluster.json` },
                        { name: "GF_ANALYTICS_REPORTING_ENABLED", value: "false" },
                        { name: "GF_ANALYTICS_CHECK_FOR_UPDATES", value: "false" },
                    ],
                    volumeMounts: grafanaProvisioningMounts.volumeMounts,
                })],
                volumes: grafanaProvisioningMounts.volumes,
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
                    // The textfile collector serves what the certificate check writes (certificates.ts).
                    args: [`--web.listen-address=:${nodeExporterPort}`, "--path.rootfs=/host", "--collector.textfile.directory=/textfile"],
                    ports: [{ containerPort: nodeExporterPort, hostPort: nodeExporterPort }],
                    volumeMounts: [{ name: "root", mountPath: "/host", readOnly: true, mountPropagation: "HostToContainer" },
                        { name: "textfile", mountPath: "/textfile", readOnly: true }],
                })],
                volumes: [hostPathVolume("root", "/"), hostPathVolume("textfile", textfileDirectory, "DirectoryOrCreate")],
            },
        }));
    }
    if (s.jobExporter) {
        const share = workerDaemons.jobExporter;
        const docker = paiFile("docker-on-containerd.py");
        objects.push(configMap("job-exporter-docker", ctx.namespace, { docker }), daemonSet({
            name: "job-exporter", namespace: ctx.namespace,
            podAnnotations: sha256Annotation(docker),
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
                    // Its per-task collectors run the Docker CLI: on containerd nodes
                    // files/docker-on-containerd.py answers as `docker`, ahead of the image's own on
                    // PATH, from containerd's task directories, the cgroups and the pods' logs.
                    volumeMounts: [
                        { name: "job-exporter-log", mountPath: "/datastorage/prometheus" }, { name: "dev", mountPath: "/dev" },
                        { name: "docker", mountPath: "/usr/local/bin/docker", subPath: "docker", readOnly: true },
                        { name: "containerd", mountPath: "/run/containerd", readOnly: true },
                        { name: "cgroups", mountPath: "/host/sys/fs/cgroup", readOnly: true },
                        { name: "pod-logs", mountPath: "/var/log/pods", readOnly: true },
                    ],
                })],
                volumes: [{ name: "job-exporter-log", emptyDir: {} }, hostPathVolume("dev", "/dev"),
                    { name: "docker", configMap: { name: "job-exporter-docker", defaultMode: 0o555 } },
                    hostPathVolume("containerd", "/run/containerd", "Directory"), hostPathVolume("cgroups", "/sys/fs/cgroup", "Directory"),
                    hostPathVolume("pod-logs", "/var/log/pods", "DirectoryOrCreate")],
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
                        // Every 30 s, not upstream's 180: NodeNotReady and the dashboards' node counts come from it.
                        command: ["./watchdog", "-collection-interval", "30", "-gc-interval", "60", "-port", String(watchdogPort)],
                        env: [{ name: "LOGGING_LEVEL", value: "INFO" }],
                        ports: [{ containerPort: watchdogPort, hostPort: watchdogPort }],
                        readinessProbe: httpProbe("/healthz", watchdogPort, 30),
                    })],
                },
            }),
        );
    }
    if (certificateCheck(ctx)) {
        objects.push(...certificateCheckManifests(ctx));
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
