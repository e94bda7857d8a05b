import * as assert from "assert";
import * as yaml from "js-yaml";
import { hivedForStack, parseStackConfig } from "../../config";
import { paiContext } from "../../components/pai/context";
import { hivedConfigHashAnnotation, schedulerConfig } from "../../components/pai/manifests/hivedscheduler";
import { pylonConfig } from "../../components/pai/manifests/pylon";
import { paiServices } from "../../components/pai/service";
import { K8sObject, scaleCpuRequests } from "../../components/pai/objects";
import { layout, rawStack } from "./helpers";

function contextFor(values: Record<string, unknown>) {
    const config = parseStackConfig(rawStack({ layout: layout(2), cluster: { mode: "existing" }, ...values }, ["kubeconfig"]));
    return paiContext(config, hivedForStack(config).config);
}

function allObjects(values: Record<string, unknown> = {}): K8sObject[] {
    const ctx = contextFor(values);
    return Object.values(paiServices).flatMap(s => s.manifests(ctx));
}

function podSpecs(objects: K8sObject[]): { owner: string; spec: any }[] {
    return objects.filter(o => ["DaemonSet", "StatefulSet", "Deployment"].includes(o.kind))
        .map(o => ({ owner: `${o.kind}/${o.metadata.name}`, spec: (o.spec as any).template.spec }));
}

describe("PAI service manifests", () => {
    it("declares the essential OpenPAI objects", () => {
        const names = new Set(allObjects().map(o => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`));
        for (const expected of [
            "Namespace//pai-user-v2", "Namespace//pai-group", "Namespace//pai-user-token", "Namespace//pai-storage",
            "ConfigMap/default/pai-configuration", "ConfigMap/default/pai-cluster-id", "PriorityClass//pai-daemon-priority",
            "DaemonSet/kube-system/nvidia-device-plugin", "DaemonSet/kube-system/fuse-device-plugin",
            "CustomResourceDefinition//frameworks.frameworkcontroller.microsoft.com", "StatefulSet/default/frameworkcontroller",
            "StatefulSet/default/hivedscheduler-hs", "Service/default/hivedscheduler-hs", "ConfigMap/default/hivedscheduler-config",
            "Deployment/default/hivedscheduler-ds-default", "ConfigMap/default/hivedscheduler-ds-default-config",
            "DaemonSet/default/postgresql", "StatefulSet/default/database-controller",
            "ConfigMap/default/group-configuration", "ConfigMap/default/k8s-job-exit-spec-configuration",
            "DaemonSet/default/rest-server", "ServiceAccount/default/runtime-account", "ConfigMap/default/runtime-exit-spec-configuration",
            "DaemonSet/default/webportal", "DaemonSet/default/log-manager", "DaemonSet/default/pylon", "ConfigMap/default/pylon-config",
            "Deployment/default/prometheus", "Deployment/default/grafana", "Deployment/default/alertmanager",
            "DaemonSet/default/node-exporter", "DaemonSet/default/job-exporter", "Deployment/default/watchdog",
        ]) {
            assert.ok(names.has(expected), `${expected} missing`);
        }
        assert.ok(![...names].some(n => n.includes("marketplace")), "marketplace is off by default");
    });

    it("switches optional services on and off", () => {
        const names = (services: Record<string, boolean>) => new Set(allObjects({ services }).map(o => o.metadata.name));
        const lean = names({ prometheus: false, grafana: false, alertManager: false, nodeExporter: false, jobExporter: false, watchdog: false });
        for (const gone of ["prometheus", "grafana", "alertmanager", "node-exporter", "job-exporter", "watchdog"]) {
            assert.ok(!lean.has(gone), `${gone} still declared`);
        }
        assert.ok(names({ marketplace: true }).has("marketplace-restserver"));
    });

    it("gives every container requests and a memory limit, and pins every image", () => {
        for (const { owner, spec } of podSpecs(allObjects({ services: { marketplace: true } }))) {
            for (const c of spec.containers) {
                assert.ok(c.resources?.requests?.cpu && c.resources?.requests?.memory, `${owner}/${c.name} has no requests`);
                assert.ok(c.resources?.limits?.memory, `${owner}/${c.name} has no memory limit`);
                assert.match(c.image, /^[^:@\s]+(:[\w.-]+|@sha256:[a-f0-9]{64})$/, `${owner}/${c.name} image ${c.image} is not pinned`);
                assert.doesNotMatch(c.image, /:latest$/);
            }
        }
    });

    it("takes PAI images from the configured registry and tag", () => {
        const images = podSpecs(allObjects({ cluster: { mode: "existing", paiVersion: "v1.8.1", registry: { domain: "registry.lab", namespace: "pai" } } }))
            .flatMap(p => p.spec.containers.map((c: any) => c.image));
        assert.ok(images.includes("registry.lab/pai/rest-server:v1.8.1"));
        assert.ok(images.includes(`registry.k8s.io/kube-scheduler:v1.34.3`));
    });

    it("places core services on the master and never ships a password in the manifests", () => {
        const objects = allObjects();
        const text = JSON.stringify(objects);
        assert.doesNotMatch(text, /"value":"admin-password"/);
        for (const { owner, spec } of podSpecs(objects)) {
            for (const c of spec.containers) {
                for (const e of c.env ?? []) {
                    if (/PASSWORD|^JWT_SECRET$|CONNECTION_STR/.test(e.name)) {
                        assert.ok(e.valueFrom?.secretKeyRef, `${owner} ${e.name} must come from a Secret`);
                    }
                }
            }
        }
        const restServer = podSpecs(objects).find(p => p.owner === "DaemonSet/rest-server")!;
        assert.deepStrictEqual(restServer.spec.nodeSelector, { "pai-master": "true" });
        assert.deepStrictEqual(restServer.spec.tolerations, [{ key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" }],
            "core services tolerate a tainted control-plane master (existing mode)");
        const env = Object.fromEntries(restServer.spec.containers[0].env.filter((e: any) => e.value).map((e: any) => [e.name, e.value]));
        assert.strictEqual(env.HIVED_WEBSERVICE_URI, "http://hivedscheduler-hs.default.svc:30096");
        assert.strictEqual(env.LAUNCHER_SCHEDULER, "hivedscheduler");
    });

    it("rolls HiveD and rest-server (which reads the hived config at start) when the hived config changes", () => {
        const hash = (vcs: Record<string, unknown>, name: string) => {
            const workload = allObjects({ virtualClusters: vcs }).find(o => o.metadata.name === name && (o.spec as any)?.template)!;
            return (workload.spec as any).template.metadata.annotations[hivedConfigHashAnnotation];
        };
        for (const name of ["hivedscheduler-hs", "rest-server"]) {
            const before = hash({ default: { "gpu-machine": 1 }, vc1: { "gpu-machine": 1 } }, name);
            assert.match(before, /^[0-9a-f]{16}$/, name);
            assert.strictEqual(hash({ default: { "gpu-machine": 1 }, vc1: { "gpu-machine": 1 } }, name), before, name);
            assert.notStrictEqual(hash({ default: { "gpu-machine": 2 }, vc1: { "gpu-machine": { cells: 0 } } }, name), before, name);
        }
        const schedulers = allObjects({ virtualClusters: { default: { "gpu-machine": 1 }, vc1: { "gpu-machine": 1 } } })
            .filter(o => o.kind === "Deployment" && o.metadata.name.startsWith("hivedscheduler-ds-"));
        assert.deepStrictEqual(schedulers.map(s => s.metadata.name), ["hivedscheduler-ds-default", "hivedscheduler-ds-vc1"]);
        assert.ok(schedulers.every(s => !JSON.stringify(s).includes(hivedConfigHashAnnotation)));
    });

    it("writes a kubescheduler.config.k8s.io/v1 config with HiveD as the binding extender", () => {
        const config = yaml.load(schedulerConfig(contextFor({}), "vc1")) as any;
        assert.strictEqual(config.apiVersion, "kubescheduler.config.k8s.io/v1");
        assert.strictEqual(config.profiles[0].schedulerName, "hivedscheduler-ds-vc1");
        assert.strictEqual(config.extenders[0].urlPrefix, "http://hivedscheduler-hs.default.svc:30096/v1/extender");
        assert.strictEqual(config.extenders[0].bindVerb, "bind");
    });

    it("routes pylon like OpenPAI", () => {
        const conf = pylonConfig(contextFor({}));
        assert.match(conf, /location \/rest-server\/ \{ proxy_pass http:\/\/10.0.0.10:9186\/;/);
        assert.match(conf, /location \/grafana\//);
        assert.match(conf, /location \/ \{ proxy_pass http:\/\/10.0.0.10:9286\/;/);
        assert.doesNotMatch(pylonConfig(contextFor({ services: { grafana: false } })), /grafana/);
    });
});

describe("services.cpuRequestScale", () => {
    const masterCpuMillis = (objects: K8sObject[]) => podSpecs(objects)
        .filter(p => p.spec.nodeSelector?.["pai-master"] === "true" || !p.spec.nodeSelector)
        .flatMap(p => p.spec.containers)
        .reduce((sum: number, c: any) => sum + (String(c.resources.requests.cpu).endsWith("m")
            ? Number(String(c.resources.requests.cpu).slice(0, -1)) : Number(c.resources.requests.cpu) * 1000), 0);

    it("multiplies every container's CPU request, at least 10m, and leaves memory", () => {
        const objects = allObjects();
        const scaled = scaleCpuRequests(objects, 0.25);
        const pairs = podSpecs(objects).flatMap(p => p.spec.containers.map((c: any) => [p.owner, c]))
            .map(([owner, c], i) => [owner, c, podSpecs(scaled).flatMap(p => p.spec.containers)[i]]);
        for (const [owner, before, after] of pairs) {
            const millis = (q: string) => q.endsWith("m") ? Number(q.slice(0, -1)) : Number(q) * 1000;
            assert.strictEqual(millis(after.resources.requests.cpu), Math.max(10, Math.round(millis(before.resources.requests.cpu) * 0.25)), `${owner}/${before.name}`);
            assert.deepStrictEqual(after.resources.requests.memory, before.resources.requests.memory);
        }
        assert.ok(masterCpuMillis(scaled) < masterCpuMillis(objects) / 3);
        assert.strictEqual(scaleCpuRequests(objects, 1), objects, "1 leaves the objects as built");
    });

    it("is validated with the field named", () => {
        assert.throws(() => contextFor({ services: { cpuRequestScale: 0 } }), /services\.cpuRequestScale/);
    });
});
