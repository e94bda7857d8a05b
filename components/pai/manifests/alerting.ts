import * as yaml from "js-yaml";
import { externalImages, PaiContext } from "../context";
import { accessFor, configMap, container, deployment, httpProbe, K8sObject, onMaster, service, serviceAccount, ServiceAccess, sha256Annotation } from "../objects";
import { certificateMetric } from "./certificates";

export const alertManagerPort = 9093;
/** alert-handler's port (src/alert-manager/config/alert-manager.yaml: alert-handler.port), on the pod network only. */
export const alertHandlerPort = 9095;
/** The Secret with Alertmanager's config (it holds the SMTP password; created by PaiServices). */
export const alertmanagerConfigSecret = { name: "alertmanager-config", key: "alertmanager.yml" };

/** One Prometheus alerting rule. */
export interface AlertRule {
    alert: string;
    expr: string;
    /** How long the condition holds before the alert fires. */
    for: string;
    labels: { severity: "critical" | "warning" };
    annotations: { summary: string; description: string };
}

const rule = (alert: string, expr: string, duration: string, severity: AlertRule["labels"]["severity"], summary: string, description: string): AlertRule =>
    ({ alert, expr, for: duration, labels: { severity }, annotations: { summary, description } });

/** The layout's GPU workers by GPU count: the device plugin must advertise that many on each. */
function gpuWorkersByCount(ctx: PaiContext): Map<number, string[]> {
    const byCount = new Map<number, string[]>();
    for (const worker of ctx.gpuWorkers) {
        byCount.set(worker.gpus, [...byCount.get(worker.gpus) ?? [], worker.hostip]);
    }
    return byCount;
}

/**
 * The conditions OpenPAI's admins were alerted on (src/prometheus/deploy/alerting/*.rules of
 * v1.8), on the series this cluster's exporters give: watchdog's node and pod counts (Kubernetes'
 * view), node-exporter's host metrics, job-exporter's GPU metrics and its own liveness, the
 * certificate check's expiry times. Every target carries `host_ip` (its address), so alerts of one
 * machine can be grouped and inhibited together. Durations are shorter than upstream's 10 minutes
 * for the two that say a machine is gone: an admin should hear of a dead node within minutes.
 */
export function alertRules(ctx: PaiContext): AlertRule[] {
    const s = ctx.services;
    const rules: AlertRule[] = [];
    if (s.watchdog) {
        rules.push(
            rule("NodeNotReady", "pai_node_count{ready!=\"true\"} > 0", "2m", "critical",
                "node {{ $labels.node_name }} ({{ $labels.host_ip }}) is not Ready",
                "Kubernetes no longer hears from the node's kubelet, or the kubelet reports it unhealthy: no new job lands there and its running tasks are lost. Check the machine, its network and the kubelet (journalctl -u kubelet)."),
            rule("NodeDiskPressure", "pai_node_count{disk_pressure=\"true\"} > 0", "5m", "warning",
                "node {{ $labels.node_name }} ({{ $labels.host_ip }}) is short of disk",
                "The kubelet reports disk pressure and evicts pods: free space on the node's root and image filesystems."),
            rule("NodeMemoryPressure", "pai_node_count{memory_pressure=\"true\"} > 0", "5m", "warning",
                "node {{ $labels.node_name }} ({{ $labels.host_ip }}) is short of memory",
                "The kubelet reports memory pressure and evicts pods: find the processes outside Kubernetes using memory, or jobs asking too little."),
            rule("PaiServicePodNotRunning", "pai_pod_count{phase!~\"running|succeeded\"} > 0", "10m", "critical",
                "PAI service {{ $labels.service_name }}: pod {{ $labels.name }} is {{ $labels.phase }}",
                "A pod of an OpenPAI service is not running: kubectl describe pod {{ $labels.name }} -n {{ $labels.namespace }} tells why."),
            rule("PaiServicePodNotReady", "pai_pod_count{phase=\"running\", ready=\"false\"} > 0", "10m", "critical",
                "PAI service {{ $labels.service_name }}: pod {{ $labels.name }} is not ready",
                "A pod of an OpenPAI service runs but fails its readiness check: read its log (kubectl logs {{ $labels.name }} -n {{ $labels.namespace }})."),
        );
        for (const [gpus, hosts] of gpuWorkersByCount(ctx)) {
            rules.push(rule("GpuLost", `k8s_node_gpu_total{host_ip=~"${hosts.map(h => h.replace(/\./g, "\\\\.")).join("|")}"} < ${gpus}`, "5m", "critical",
                `node {{ $labels.host_ip }} offers {{ $value }} GPUs, its machine type has ${gpus}`,
                "Kubernetes sees fewer GPUs on the node than the layout declares: a GPU fell off the bus, the driver failed, or the NVIDIA device plugin is not running there. Check nvidia-smi on the node."));
        }
    }
    if (s.nodeExporter) {
        rules.push(
            rule("NodeFilesystemAlmostFull", "node_filesystem_avail_bytes{fstype!~\"tmpfs|overlay|squashfs|nsfs|ramfs|fuse.*\"} / node_filesystem_size_bytes * 100 < 10 and node_filesystem_readonly == 0", "10m", "warning",
                "{{ $labels.mountpoint }} on {{ $labels.host_ip }} has less than 10% free",
                "A filesystem of the node is almost full (upstream alerted at 20%): jobs writing logs or data there will fail."),
            rule("NodeMemoryAlmostFull", "node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes * 100 < 5", "5m", "warning",
                "{{ $labels.host_ip }} has less than 5% of its memory available",
                "The node is about to evict pods or kill processes for memory."),
        );
    }
    if (s.jobExporter) {
        rules.push(
            rule("GpuDoubleEccError", "nvidiasmi_ecc_error_count{type=\"double\"} > 0", "5m", "critical",
                "GPU {{ $labels.minor_number }} of {{ $labels.node_name }} has uncorrectable memory errors",
                "Double-bit ECC errors: the GPU returns wrong results. alert-handler cordons the node (no new jobs); drain it and have the GPU checked or replaced."),
            rule("JobExporterDown", "up{job=\"job-exporter\"} == 0", "5m", "warning",
                "job-exporter on {{ $labels.host_ip }} does not answer",
                "No per-job or GPU metrics from this node: the job pages' charts and the GPU alerts are blind there. kubectl -n default get pods -l app=job-exporter -o wide."),
            rule("JobExporterHangs", "increase(collector_iteration_count_total[10m]) == 0", "5m", "warning",
                "job-exporter's {{ $labels.name }} collector on {{ $labels.host_ip }} is stuck",
                "A collector made no round in 10 minutes (nvidia-smi or the container runtime hangs): its metrics are stale."),
        );
    }
    if (s.nodeExporter || s.watchdog) {
        rules.push(rule("PaiMonitoringTargetDown", "up{job=~\"node-exporter|watchdog\"} == 0", "5m", "warning",
            "{{ $labels.job }} on {{ $labels.host_ip }} does not answer",
            "Prometheus cannot scrape it: node metrics (or the node and pod counts of the other alerts) are missing."));
    }
    if (certificateCheck(ctx)) {
        rules.push(rule("CertificateExpiresSoon", `${certificateMetric} - time() < ${ctx.certificateWarningDays} * 86400`, "1m", "critical",
            "{{ $labels.certificate }} on the master expires in {{ $value | humanizeDuration }}",
            "kubeadm's certificates last a year; when they expire the API server stops answering. Renew them on the master (docs/operating.md, \"Certificates\"): sudo kubeadm certs renew all, then restart the control plane."));
    }
    return rules;
}

/** The rule file Prometheus loads. */
export function alertRulesFile(ctx: PaiContext): string {
    return yaml.dump({ groups: [{ name: "openpai", rules: alertRules(ctx) }] }, { lineWidth: -1, noRefs: true });
}

/** Whether the master's certificates are checked: kubeadm's paths are known, and node-exporter and Prometheus carry the result. */
export function certificateCheck(ctx: PaiContext): boolean {
    return ctx.kubeadmCertificates && ctx.services.prometheus && ctx.services.nodeExporter;
}

/** Alerts that only repeat what NodeNotReady says of the same machine. */
const silencedByNodeNotReady = ["PaiServicePodNotRunning", "PaiServicePodNotReady", "PaiMonitoringTargetDown", "JobExporterDown", "JobExporterHangs"];

/**
 * Alertmanager's config: every alert to the admins' receiver (the stack's e-mail and webhooks, with
 * a message when it resolves; none configured: alerts stay in Alertmanager and the portal), and GPU
 * ECC alerts also to alert-handler, which cordons the node (upstream's pai-cordon-nodes route,
 * src/alert-manager/deploy/alert-manager-configmap.yaml.template). `smtpPassword` is the secret
 * alertSmtpPassword ("" when none): the rendered config is kept in a Secret.
 */
export function alertmanagerConfig(ctx: PaiContext, smtpPassword: string): string {
    const email = ctx.alerts?.email;
    const admins: Record<string, unknown> = { name: "openpai-admins" };
    if (email) {
        admins.email_configs = [{
            to: email.to.join(", "), from: email.from, smarthost: email.smarthost, require_tls: email.requireTls, send_resolved: true,
            ...(email.username ? { auth_username: email.username, auth_password: smtpPassword } : {}),
        }];
    }
    if (ctx.alerts?.webhooks.length) {
        admins.webhook_configs = ctx.alerts.webhooks.map(w => ({ url: w.url, send_resolved: true }));
    }
    const cordon = { name: "openpai-cordon-nodes", webhook_configs: [{ url: `http://alert-handler.${ctx.namespace}.svc:${alertHandlerPort}/alert-handler/cordon-nodes`, send_resolved: false }] };
    return yaml.dump({
        global: { resolve_timeout: "5m" },
        route: {
            receiver: "openpai-admins",
            group_by: ["alertname", "host_ip"],
            group_wait: "30s",
            group_interval: "2m",
            repeat_interval: "12h",
            routes: [
                { receiver: cordon.name, matchers: ["alertname=\"GpuDoubleEccError\""], continue: true },
                { receiver: "openpai-admins" },
            ],
        },
        receivers: [admins, cordon],
        inhibit_rules: [{
            source_matchers: ["alertname=\"NodeNotReady\""],
            target_matchers: [`alertname=~"${silencedByNodeNotReady.join("|")}"`],
            equal: ["host_ip"],
        }],
    }, { lineWidth: -1, noRefs: true });
}

/**
 * What alert-handler v1.8.0 calls for the action wired here (src/alert-manager/src/alert-handler):
 * cordon-nodes patches a node unschedulable (controllers/node.js cordonNode), and every hour it
 * lists its own Jobs to clean them (controllers/kubernetes.js cleanTTL24HJobs; it deletes only Jobs
 * it made for fix-nvidia-gpu-low-perf, which is not wired, so none). Upstream bound cluster-admin.
 */
export function alertHandlerAccess(ctx: PaiContext): ServiceAccess {
    return {
        cluster: [{ apiGroups: [""], resources: ["nodes"], verbs: ["patch"] }],
        namespaces: { [ctx.namespace]: [{ apiGroups: ["batch"], resources: ["jobs"], verbs: ["list"] }] },
    };
}

/**
 * Alertmanager (config from a Secret: it may hold the SMTP password) and alert-handler, OpenPAI's
 * actions on alerts, on the pod network behind a ClusterIP Service (upstream ran it in
 * Alertmanager's pod on the host network; here nothing answers on a node's address).
 */
export function alertingManifests(ctx: PaiContext): K8sObject[] {
    if (!ctx.services.alertManager) {
        return [];
    }
    const account = { name: "alert-handler", namespace: ctx.namespace };
    return [
        deployment({
            name: "alertmanager", namespace: ctx.namespace,
            // Alertmanager reads its config at start; a change of the password alone does not roll it (docs/operating.md).
            podAnnotations: sha256Annotation(alertmanagerConfig(ctx, "")),
            podSpec: {
                ...onMaster, hostNetwork: true, priorityClassName: "pai-daemon-priority",
                // alert-handler's Service name and the SMTP server's name resolve through the cluster's DNS.
                dnsPolicy: "ClusterFirstWithHostNet",
                containers: [container({
                    name: "alertmanager", image: externalImages.alertManager,
                    requests: { cpu: "50m", memory: "128Mi" },
                    // rest-server asks <ALERT_MANAGER_URL>/alert-manager/api/v1/alerts (src/models/v2/alert.js).
                    // One replica: no cluster gossip listener (it would answer on :9094 of the master).
                    args: [`--web.listen-address=:${alertManagerPort}`, `--config.file=/etc/alertmanager/${alertmanagerConfigSecret.key}`,
                        "--web.route-prefix=alert-manager", `--web.external-url=${ctx.portalUrl}alert-manager/`, "--cluster.listen-address="],
                    readinessProbe: httpProbe("/alert-manager/-/ready", alertManagerPort),
                    ports: [{ containerPort: alertManagerPort, hostPort: alertManagerPort }],
                    volumeMounts: [{ name: "config", mountPath: "/etc/alertmanager", readOnly: true }],
                })],
                // Readable by the user Alertmanager runs as (nobody): the pod holds nothing else.
                volumes: [{ name: "config", secret: { secretName: alertmanagerConfigSecret.name, defaultMode: 0o444 } }],
            },
        }),
        serviceAccount(account.name, account.namespace),
        ...accessFor("pai-alert-handler", account, alertHandlerAccess(ctx)),
        service("alert-handler", ctx.namespace, [{ name: "http", port: alertHandlerPort }]),
        deployment({
            name: "alert-handler", namespace: ctx.namespace,
            podSpec: {
                ...onMaster, serviceAccountName: account.name, priorityClassName: "pai-daemon-priority",
                containers: [container({
                    name: "alert-handler", image: ctx.paiImage("alert-handler"),
                    requests: { cpu: "20m", memory: "128Mi" },
                    // The variables src/alert-manager/deploy/alert-manager-deployment.yaml.template gives it
                    // but the e-mail ones: Alertmanager sends the mail itself.
                    env: [
                        { name: "SERVER_PORT", value: String(alertHandlerPort) },
                        { name: "LOG_LEVEL", value: "info" },
                        { name: "CLUSTER_ID", value: ctx.clusterId },
                        { name: "REST_SERVER_URI", value: `${ctx.portalUrl}rest-server` },
                        { name: "WEBPORTAL_URI", value: ctx.portalUrl },
                    ],
                    ports: [{ containerPort: alertHandlerPort }],
                    readinessProbe: { tcpSocket: { port: alertHandlerPort }, periodSeconds: 10 },
                })],
            },
        }),
    ];
}

/** The rules as the Prometheus pod mounts them. */
export function alertRulesConfigMap(ctx: PaiContext): K8sObject {
    return configMap("prometheus-rules", ctx.namespace, { "openpai.rules.yml": alertRulesFile(ctx) });
}
