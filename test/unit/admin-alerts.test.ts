import * as assert from "assert";
import * as yaml from "js-yaml";
import { hivedForStack, parseStackConfig } from "../../config";
import { paiContext } from "../../components/pai/context";
import { alertHandlerPort, alertmanagerConfig, alertRules, alertRulesFile } from "../../components/pai/manifests/alerting";
import { certificateMetric, kubeadmCertificates } from "../../components/pai/manifests/certificates";
import { paiServices } from "../../components/pai/service";
import { K8sObject, sha256Annotation } from "../../components/pai/objects";
import { configProblems, layout, rawStack } from "./helpers";
import { upstreamHas } from "./upstream-source";
import { metricNames, seriesOfExporters } from "./exporter-series";

const alerts = {
    email: { to: ["ops@example.com", "oncall@example.com"], from: "openpai@example.com", smarthost: "smtp.example.com:587", username: "openpai" },
    webhooks: [{ url: "https://hooks.example.com/openpai/T0K3N" }],
};

function parse(values: Record<string, unknown>, secrets = ["sshPrivateKey"]) {
    return parseStackConfig(rawStack({ layout: layout(2), ...values }, secrets));
}

function contextFor(values: Record<string, unknown> = {}, secrets = ["sshPrivateKey", "alertSmtpPassword"]) {
    const config = parse({ alerts, ...values }, secrets);
    return paiContext(config, hivedForStack(config).config);
}

function objects(values: Record<string, unknown> = {}): K8sObject[] {
    const ctx = contextFor(values);
    return Object.values(paiServices).flatMap(s => s.manifests(ctx));
}

function find(all: K8sObject[], kind: string, name: string): any {
    const found = all.find(o => o.kind === kind && o.metadata.name === name);
    assert.ok(found, `${kind}/${name} missing`);
    return found;
}

function problems(values: Record<string, unknown>, secrets: string[]): string[] {
    return configProblems(() => parse(values, secrets));
}


describe("openpai:alerts (where alerts go)", () => {
    it("takes e-mail recipients with an SMTP login whose password is a secret, and webhooks", () => {
        const config = parse({ alerts }, ["sshPrivateKey", "alertSmtpPassword"]);
        assert.strictEqual(config.alerts?.email?.requireTls, true, "STARTTLS unless told otherwise");
        assert.strictEqual(config.alerts?.certificateWarningDays, undefined, "the alert warns when up would renew: cluster.certificateRenewalDays");
        assert.strictEqual(config.cluster.certificateRenewalDays, 30);
        assert.match(problems({ alerts }, ["sshPrivateKey"]).join("\n"), /alertSmtpPassword: alerts\.email\.username is set: also give its password/);
        assert.match(problems({}, ["sshPrivateKey", "alertSmtpPassword"]).join("\n"), /alertSmtpPassword: is set but alerts\.email\.username is not/);
        const plain = rawStack({ layout: layout(2), alerts }, ["sshPrivateKey"]);
        plain.alertSmtpPassword = { value: "hunter2", secret: false };
        assert.throws(() => parseStackConfig(plain), /alertSmtpPassword: must be a secret/);
    });

    it("refuses addresses and URLs a mail header or Alertmanager would misread", () => {
        const email = (changes: Record<string, unknown>) => ({ alerts: { email: { ...alerts.email, ...changes } } });
        const secrets = ["sshPrivateKey", "alertSmtpPassword"];
        assert.match(problems(email({ to: ["ops@example.com>\nBcc: x@y"] }), secrets).join("\n"), /alerts\.email\.to\[0\]: must be an e-mail address/);
        assert.match(problems(email({ smarthost: "smtp.example.com" }), secrets).join("\n"), /alerts\.email\.smarthost: must be host:port/);
        assert.match(problems(email({ to: [] }), secrets).join("\n"), /name at least one recipient/);
        assert.match(problems({ alerts: { webhooks: [{ url: "https://user:pw@hooks.example.com/x" }] } }, ["sshPrivateKey"]).join("\n"), /alerts\.webhooks\[0\]\.url: must not hold a user or password/);
        assert.match(problems({ alerts: { certificateWarningDays: 0 } }, ["sshPrivateKey"]).join("\n"), /alerts\.certificateWarningDays/);
    });
});

describe("alert rules (the conditions OpenPAI's admins were alerted on)", () => {
    const rules = alertRules(contextFor());
    const names = rules.map(r => r.alert);

    it("cover node not ready, GPU lost or unhealthy, disk and memory pressure, a PAI service down, job-exporter down, certificates close to expiry", () => {
        for (const name of ["NodeNotReady", "GpuLost", "GpuDoubleEccError", "NodeDiskPressure", "NodeMemoryPressure", "NodeFilesystemAlmostFull",
            "NodeMemoryAlmostFull", "PaiServicePodNotRunning", "PaiServicePodNotReady", "JobExporterDown", "JobExporterHangs", "CertificateExpiresSoon"]) {
            assert.ok(names.includes(name), `${name} missing`);
        }
        // Upstream's own rules for the same conditions (src/prometheus/deploy/alerting/).
        upstreamHas("src/prometheus/deploy/alerting/node.rules", "expr: pai_node_count{ready!=\"true\"} > 0");
        upstreamHas("src/prometheus/deploy/alerting/node.rules", "expr: pai_node_count{disk_pressure=\"true\"} > 0");
        upstreamHas("src/prometheus/deploy/alerting/gpu.rules", "expr: nvidiasmi_ecc_error_count{type=\"double\"} > 0");
        upstreamHas("src/prometheus/deploy/alerting/pai-services.rules", "expr: pai_pod_count{phase!=\"running\"} > 0");
        upstreamHas("src/prometheus/deploy/alerting/pai-services.rules", "expr: rate(collector_iteration_count_total[10m]) == 0");
    });

    it("read only series the cluster's exporters give (watchdog, job-exporter, node-exporter, the certificate check, Prometheus itself)", () => {
        const known = seriesOfExporters();
        for (const r of rules) {
            for (const metric of metricNames(r.expr)) {
                assert.ok(known.has(metric), `${r.alert} reads ${metric}, which no exporter gives`);
            }
            assert.match(r.for, /^[0-9]+m$/);
            assert.ok(r.annotations.summary && r.annotations.description, r.alert);
        }
    });

    it("GpuLost compares each GPU node's device count with its machine type; nothing for CPU-only clusters", () => {
        const gpu = rules.find(r => r.alert === "GpuLost")!;
        assert.strictEqual(gpu.expr, "k8s_node_gpu_total{host_ip=~\"10\\\\.0\\\\.1\\\\.1|10\\\\.0\\\\.1\\\\.2\"} < 8");
        const cpuOnly = parse({ layout: { "machine-sku": { m: { mem: "8Gi", cpu: { vcore: 4 } }, w: { mem: "16Gi", cpu: { vcore: 8 } } },
            "machine-list": [{ hostname: "m", hostip: "10.0.0.1", "machine-type": "m", "pai-master": true }, { hostname: "w", hostip: "10.0.0.2", "machine-type": "w", "pai-worker": true }] } });
        assert.ok(!alertRules(paiContext(cpuOnly, hivedForStack(cpuOnly).config)).some(r => r.alert === "GpuLost"));
    });

    it("alert before expiry by alerts.certificateWarningDays, else cluster.certificateRenewalDays, in kubeadm mode only (existing clusters' certificates are not at kubeadm's paths)", () => {
        assert.strictEqual(rules.find(r => r.alert === "CertificateExpiresSoon")!.expr, `${certificateMetric} - time() < 30 * 86400`);
        const longer = alertRules(contextFor({ alerts: { ...alerts, certificateWarningDays: 400 } }));
        assert.match(longer.find(r => r.alert === "CertificateExpiresSoon")!.expr, / < 400 \* 86400$/);
        // Without its own figure, the alert fires when up would renew them (cluster.certificateRenewalDays).
        const renewal = alertRules(contextFor({ alerts, cluster: { certificateRenewalDays: 60 } }));
        assert.match(renewal.find(r => r.alert === "CertificateExpiresSoon")!.expr, / < 60 \* 86400$/);
        const existing = parseStackConfig(rawStack({ layout: layout(2), cluster: { mode: "existing" } }, ["kubeconfig"]));
        assert.ok(!alertRules(paiContext(existing, hivedForStack(existing).config)).some(r => r.alert === "CertificateExpiresSoon"));
    });

    it("go to Prometheus as a rule file it loads, and Prometheus rolls when they change", () => {
        const all = objects();
        const file = yaml.load(find(all, "ConfigMap", "prometheus-rules").data["openpai.rules.yml"]) as any;
        assert.deepStrictEqual(file.groups[0].rules.map((r: any) => r.alert), names);
        const config = yaml.load(find(all, "ConfigMap", "prometheus-config").data["prometheus.yml"]) as any;
        assert.deepStrictEqual(config.rule_files, ["/etc/prometheus/rules/*.yml"]);
        // Alertmanager answers under its route prefix (--web.route-prefix=alert-manager).
        assert.strictEqual(config.alerting.alertmanagers[0].path_prefix, "/alert-manager");
        for (const job of config.scrape_configs) {
            // watchdog's series carry each node's host_ip themselves: a target label would rename theirs to exported_host_ip.
            upstreamHas("src/watchdog/src/pkg/watchdog/prom_metric_collector.go", "\"host_ip\", \"node_name\", \"disk_pressure\"");
            assert.deepStrictEqual(job.relabel_configs, job.job_name === "watchdog" ? undefined : [{ source_labels: ["__address__"], regex: "(.+):[0-9]+", target_label: "host_ip" }], job.job_name);
        }
        const prometheus = find(all, "Deployment", "prometheus").spec.template;
        const other = find(objects({ alerts: { ...alerts, certificateWarningDays: 10 } }), "Deployment", "prometheus").spec.template;
        assert.notStrictEqual(prometheus.metadata.annotations["openpai.io/config-hash"], other.metadata.annotations["openpai.io/config-hash"]);
        assert.ok(prometheus.spec.containers[0].volumeMounts.some((m: any) => m.mountPath === "/etc/prometheus/rules"));
        assert.ok(alertRulesFile(contextFor()).includes("NodeNotReady"));
    });

    it("Deployments on the master's ports are replaced old pod first: a rolling update's new pod could not start beside the old one", () => {
        const all = objects({ services: { marketplace: true } });
        for (const d of all.filter(o => o.kind === "Deployment") as any[]) {
            const pod = d.spec.template.spec;
            const onHostPorts = pod.hostNetwork === true || pod.containers.some((c: any) => (c.ports ?? []).some((p: any) => p.hostPort));
            if (onHostPorts) {
                assert.deepStrictEqual(d.spec.strategy, { type: "Recreate" }, d.metadata.name);
            }
        }
        for (const name of ["prometheus", "alertmanager", "watchdog", "grafana"]) {
            assert.deepStrictEqual(find(all, "Deployment", name).spec.strategy, { type: "Recreate" }, name);
        }
        assert.strictEqual(find(all, "Deployment", "alert-handler").spec.strategy, undefined, "on the pod network it rolls");
    });

    it("watchdog counts nodes and pods every 30 s, so NodeNotReady fires within minutes", () => {
        const watchdog = find(objects(), "Deployment", "watchdog").spec.template.spec.containers[0];
        assert.deepStrictEqual(watchdog.command.slice(0, 3), ["./watchdog", "-collection-interval", "30"]);
    });
});

describe("Alertmanager and alert-handler", () => {
    const config = yaml.load(alertmanagerConfig(contextFor(), "s3cret-password")) as any;

    it("send every alert to the admins' e-mail and webhooks, with a message when it resolves", () => {
        const admins = config.receivers.find((r: any) => r.name === "openpai-admins");
        assert.deepStrictEqual(admins.email_configs, [{ to: "ops@example.com, oncall@example.com", from: "openpai@example.com", smarthost: "smtp.example.com:587",
            require_tls: true, send_resolved: true, auth_username: "openpai", auth_password: "s3cret-password" }]);
        assert.deepStrictEqual(admins.webhook_configs, [{ url: "https://hooks.example.com/openpai/T0K3N", send_resolved: true }]);
        assert.strictEqual(config.route.receiver, "openpai-admins");
        const none = yaml.load(alertmanagerConfig(contextFor({ alerts: undefined }, ["sshPrivateKey"]), "")) as any;
        assert.deepStrictEqual(none.receivers.find((r: any) => r.name === "openpai-admins"), { name: "openpai-admins" }, "no receiver: alerts stay in Alertmanager and the portal");
    });

    it("route GPU ECC alerts to alert-handler's cordon-nodes too (upstream's pai-cordon-nodes route), then to the admins", () => {
        upstreamHas("src/alert-manager/deploy/alert-manager-configmap.yaml.template", "alertname: NvidiaSmiDoubleEccError");
        upstreamHas("src/alert-manager/src/alert-handler/routes/actions.js", ".route('/alert-handler/cordon-nodes')");
        // cordonNodes reads the node from the alert's node_name label, which job-exporter's ECC series carries.
        upstreamHas("src/alert-manager/src/alert-handler/controllers/node.js", ".map((alert) => alert.labels.node_name);");
        upstreamHas("src/job-exporter/src/collector.py", "labels=[\"node_name\", \"minor_number\", \"type\"])");
        const [cordon, rest] = config.route.routes;
        assert.deepStrictEqual(cordon, { receiver: "openpai-cordon-nodes", matchers: ["alertname=\"GpuDoubleEccError\""], continue: true });
        assert.deepStrictEqual(rest, { receiver: "openpai-admins" });
        const url = config.receivers.find((r: any) => r.name === "openpai-cordon-nodes").webhook_configs[0].url;
        assert.strictEqual(url, `http://alert-handler.default.svc:${alertHandlerPort}/alert-handler/cordon-nodes`);
        const svc = find(objects(), "Service", "alert-handler");
        assert.deepStrictEqual([svc.spec.type, svc.spec.ports[0].port], ["ClusterIP", alertHandlerPort]);
    });

    it("silence a dead node's follow-on alerts behind NodeNotReady (upstream's inhibit rule), by host_ip", () => {
        upstreamHas("src/alert-manager/deploy/alert-manager-configmap.yaml.template", "alertname: 'NodeNotReady'");
        assert.deepStrictEqual(config.inhibit_rules[0].source_matchers, ["alertname=\"NodeNotReady\""]);
        assert.deepStrictEqual(config.inhibit_rules[0].equal, ["host_ip"]);
    });

    it("keep the SMTP password in a Secret only: the Deployment's config hash does not depend on it", () => {
        const all = objects();
        const deployment = find(all, "Deployment", "alertmanager").spec.template;
        assert.deepStrictEqual(deployment.spec.volumes, [{ name: "config", secret: { secretName: "alertmanager-config", defaultMode: 0o444 } }]);
        // The pod rolls with the config as rendered without the password; the password itself is only in the Secret's text.
        assert.deepStrictEqual(deployment.metadata.annotations, sha256Annotation(alertmanagerConfig(contextFor(), "")));
        assert.ok(alertmanagerConfig(contextFor(), "s3cret-password").includes("auth_password: s3cret-password"));
        assert.ok(!JSON.stringify(all).includes("auth_password"), "no manifest holds the rendered config");
        assert.strictEqual(deployment.spec.dnsPolicy, "ClusterFirstWithHostNet", "alert-handler's Service name resolves from the host network");
    });

    it("alert-handler runs OpenPAI's image on the pod network with its own account (src/alert-manager/deploy/alert-manager-deployment.yaml.template)", () => {
        upstreamHas("src/alert-manager/deploy/alert-manager-deployment.yaml.template", "- name: SERVER_PORT");
        upstreamHas("src/alert-manager/config/alert-manager.yaml", "port: 9095");
        const pod = find(objects(), "Deployment", "alert-handler").spec.template.spec;
        assert.strictEqual(pod.hostNetwork, undefined);
        assert.strictEqual(pod.serviceAccountName, "alert-handler");
        const handler = pod.containers[0];
        assert.match(handler.image, /\/alert-handler:v1\.8\.0$/);
        assert.strictEqual(handler.env.find((e: any) => e.name === "SERVER_PORT").value, String(alertHandlerPort));
        assert.deepStrictEqual(find(objects({}), "Deployment", "alertmanager").spec.template.spec.containers.map((c: any) => c.name), ["alertmanager"]);
        assert.ok(!objects({ services: { alertManager: false } }).some(o => ["alertmanager", "alert-handler"].includes(o.metadata.name)));
    });
});

describe("certificate check", () => {
    it("an hourly CronJob on the master reads each kubeadm certificate file alone (not the keys) and writes for node-exporter", () => {
        const all = objects();
        const cron = find(all, "CronJob", "certificate-expiry").spec;
        const pod = cron.jobTemplate.spec.template.spec;
        assert.strictEqual(cron.schedule, "17 * * * *");
        assert.deepStrictEqual(pod.nodeSelector, { "pai-master": "true" });
        const paths = pod.volumes.filter((v: any) => v.hostPath).map((v: any) => `${v.hostPath.path} ${v.hostPath.type}`);
        assert.deepStrictEqual(paths, ["/var/lib/openpai/metrics DirectoryOrCreate", ...kubeadmCertificates.map(f => `/etc/kubernetes/pki/${f} File`)]);
        assert.ok(!paths.some((p: string) => p.endsWith(".key File")));
        const exporter = find(all, "DaemonSet", "node-exporter").spec.template.spec.containers[0];
        assert.ok(exporter.args.includes("--collector.textfile.directory=/textfile"));
    });
});
