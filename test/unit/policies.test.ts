import * as assert from "assert";
import * as yaml from "js-yaml";
import { Policy, ResourceValidationPolicy, Secret, StackValidationPolicy } from "@pulumi/policy";
import { hivedForStack, parseStackConfig } from "../../config";
import { kubeRouterManifests } from "../../components/kubernetes/kube-router";
import { paiContext } from "../../components/pai/context";
import { K8sObject } from "../../components/pai/objects";
import { paiServices } from "../../components/pai/service";
import { policies } from "../../policy/policies";
import { hostAccessAllowList, networkExposure } from "../../policy/policies/allow-lists";
import { layout, rawStack } from "./helpers";

/** The config a policy sees: its schema defaults, overridden by `config`. */
function configOf(policy: Policy, config: Record<string, unknown>): any {
    const defaults = Object.fromEntries(Object.entries(policy.configSchema?.properties ?? {}).map(([k, v]) => [k, (v as any).default]));
    return { ...defaults, ...config };
}

function byName<T extends Policy>(name: string): T {
    const policy = policies.find(p => p.name === name);
    assert.ok(policy, `policy ${name} missing`);
    return policy as T;
}

/** Runs a resource policy on one resource; returns its violations. */
function checkResource(name: string, type: string, props: any, config: Record<string, unknown> = {}): string[] {
    const policy = byName<ResourceValidationPolicy>(name);
    const violations: string[] = [];
    const args: any = {
        type, props, urn: `urn:pulumi:s::p::${type}::r`, name: "r", opts: {}, stackTags: new Map(),
        getConfig: () => configOf(policy, config),
        notApplicable: () => { throw new Error("not applicable"); },
    };
    const validate = policy.validateResource as (a: any, r: (m: string) => void) => void;
    validate(args, m => violations.push(m));
    return violations;
}

function checkStack(name: string, resources: { type: string; props: any }[], config: Record<string, unknown> = {}): string[] {
    const policy = byName<StackValidationPolicy>(name);
    const violations: string[] = [];
    const withUrns = resources.map((r, i) => ({ urn: `urn:pulumi:s::p::${r.type}::r${i}`, ...r }));
    const args: any = { resources: withUrns, stackTags: new Map(), getConfig: () => configOf(policy, config), notApplicable: () => undefined };
    (policy.validateStack as (a: any, r: (m: string) => void) => void)(args, m => violations.push(m));
    return violations;
}

const daemonSet = (container: any, spec: any = {}, name = "svc") => ({
    metadata: { name }, spec: { template: { spec: { containers: [container], ...spec } } },
});
const goodContainer = { name: "c", image: "docker.io/openpai/rest-server:v1.8.0", resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "1Gi" } } };
const typeOf = (kind: string) => ["DaemonSet", "Deployment", "StatefulSet"].includes(kind) ? `kubernetes:apps/v1:${kind}` : kind === "ConfigMap" ? "kubernetes:core/v1:ConfigMap" : `k8s:${kind}`;
/** The Pulumi type token of a manifest object, as the engine hands it to a policy. */
const tokenOf = (o: K8sObject) => `kubernetes:${o.apiVersion.includes("/") ? o.apiVersion : `core/${o.apiVersion}`}:${o.kind}`;

/** Every object the program declares with every optional service on, as stack resources. */
function programResources(services: Record<string, unknown> = {}): { type: string; props: any }[] {
    const config = parseStackConfig(rawStack({ layout: layout(2), cluster: { mode: "existing" }, services: { marketplace: true, ...services } }, ["kubeconfig"]));
    const ctx = paiContext(config, hivedForStack(config).config);
    return [...Object.values(paiServices).flatMap(s => s.manifests(ctx)), ...kubeRouterManifests()].map(o => ({ type: tokenOf(o), props: o }));
}

describe("policy pack (policies called directly)", () => {
    it("every policy has a name, a description with the fix, and an enforcement level", () => {
        for (const p of policies) {
            assert.match(p.name, /^[a-z0-9-]+$/);
            assert.match(p.description, /Fix: /, `${p.name} says how to fix it`);
            assert.ok(["advisory", "mandatory"].includes(p.enforcementLevel!), p.name);
        }
    });

    it("passes every object the program declares, every optional service and the pod network included", () => {
        const resources = programResources();
        for (const { type, props } of resources) {
            for (const policy of policies.filter(p => "validateResource" in p)) {
                assert.deepStrictEqual(checkResource(policy.name, type, props), [], `${policy.name} on ${props.kind}/${props.metadata.name}`);
            }
        }
        assert.deepStrictEqual(checkStack("network-exposure-authenticated", resources), []);
    });

    it("images-pinned: refuses latest and untagged images, accepts tags and digests", () => {
        for (const image of ["nginx", "nginx:latest", "registry:5000/nginx", "docker.io/x/y:latest"]) {
            assert.strictEqual(checkResource("images-pinned", typeOf("DaemonSet"), daemonSet({ ...goodContainer, image })).length, 1, image);
        }
        for (const image of ["nginx:1.27.3", "registry:5000/nginx:1.2", `nginx@sha256:${"a".repeat(64)}`]) {
            assert.deepStrictEqual(checkResource("images-pinned", typeOf("DaemonSet"), daemonSet({ ...goodContainer, image })), [], image);
        }
    });

    it("no-default-or-plaintext-credentials: default password, plain credentials in env and ConfigMaps", () => {
        const env = (e: any) => daemonSet({ ...goodContainer, env: [e] });
        assert.match(checkResource("no-default-or-plaintext-credentials", typeOf("DaemonSet"), env({ name: "DEFAULT_PAI_ADMIN_PASSWORD", value: "admin-password" }))[0], /default password/);
        assert.match(checkResource("no-default-or-plaintext-credentials", typeOf("DaemonSet"), env({ name: "JWT_SECRET", value: "abc" }))[0], /plain text/);
        assert.deepStrictEqual(checkResource("no-default-or-plaintext-credentials", typeOf("DaemonSet"), env({ name: "JWT_SECRET", valueFrom: { secretKeyRef: { name: "s", key: "k" } } })), []);
        assert.deepStrictEqual(checkResource("no-default-or-plaintext-credentials", typeOf("DaemonSet"), env({ name: "IMAGE_PULL_SECRETS", value: "pai-secret" })), []);
        assert.match(checkResource("no-default-or-plaintext-credentials", "kubernetes:core/v1:ConfigMap", { metadata: { name: "c" }, data: { "db-password": "x" } })[0], /looks like a credential/);
    });

    it("resource-requests: requests always, limits when QoS is on", () => {
        const noRequests = daemonSet({ name: "c", image: "a:1" });
        assert.strictEqual(checkResource("resource-requests", typeOf("Deployment"), noRequests).length, 1);
        const requestsOnly = daemonSet({ ...goodContainer, resources: { requests: { cpu: "1", memory: "1Gi" } } });
        assert.deepStrictEqual(checkResource("resource-requests", typeOf("Deployment"), requestsOnly), []);
        assert.match(checkResource("resource-requests", typeOf("Deployment"), requestsOnly, { requireLimits: true })[0], /limits/);
    });

    describe("host-access-allowlist", () => {
        const check = (props: any, config: Record<string, unknown> = {}) => checkResource("host-access-allowlist", typeOf("DaemonSet"), props, config);
        const workload = (name: string, container: any, spec: any = {}, namespace?: string) =>
            ({ ...daemonSet({ ...goodContainer, ...container }, spec, name), metadata: { name, ...(namespace ? { namespace } : {}) } });

        it("refuses a privileged container outside the list, naming the object, the policy and the fix", () => {
            const [message] = check(workload("my-agent", { securityContext: { privileged: true } }));
            assert.match(message, /^DaemonSet default\/my-agent container c: runs privileged/);
            assert.match(message, /Fix: .*\{workload: "default\/my-agent", container: "c", privileged: true\}.*host-access-allowlist/);
            assert.deepStrictEqual(check(workload("my-agent", { securityContext: { privileged: true } }),
                { allowList: [{ workload: "default/my-agent", privileged: true, reason: "test" }] }), []);
        });

        it("host namespaces, host ports, hostPaths and added capabilities only as listed", () => {
            assert.match(check(workload("webportal", {}, { hostNetwork: true }))[0], /shares its node's hostNetwork/);
            assert.match(check(workload("webportal", {}, { hostIPC: true }))[0], /shares its node's hostIPC/);
            assert.deepStrictEqual(check(workload("postgresql", {}, { hostNetwork: true })), []);
            assert.match(check(workload("postgresql", {}, { hostNetwork: true, hostPID: true }))[0], /hostPID/);
            assert.match(check(workload("webportal", { ports: [{ containerPort: 8080, hostPort: 8080 }] }))[0], /answers on port 8080 of its node's addresses/);
            assert.deepStrictEqual(check(workload("pylon", { ports: [{ containerPort: 80, hostPort: 80 }, { containerPort: 443, hostPort: 443 }] })), []);
            assert.match(check(workload("pylon", { ports: [{ containerPort: 80, hostPort: 8443 }] }))[0], /port 8443/);
            // On the host network every declared port is a port of the node.
            assert.match(check(workload("watchdog", { ports: [{ containerPort: 9999 }] }, { hostNetwork: true }))[0], /port 9999/);
            assert.deepStrictEqual(check(workload("log-manager", {}, { volumes: [{ name: "v", hostPath: { path: "/var/log/pai" } }] })), []);
            assert.match(check(workload("log-manager", {}, { volumes: [{ name: "v", hostPath: { path: "/etc" } }] }))[0], /mounts the host's \/etc \(volume v\)/);
            assert.match(check(workload("webportal", { securityContext: { capabilities: { add: ["NET_ADMIN"] } } }))[0], /adds the capability NET_ADMIN/);
            const guard = (add: string[]) => workload("host-guard", { securityContext: { capabilities: { drop: ["ALL"], add } } }, { hostNetwork: true }, "kube-system");
            assert.deepStrictEqual(check(guard(["NET_ADMIN"])), []);
            assert.match(check(guard(["SYS_ADMIN"]))[0], /SYS_ADMIN/);
        });

        it("an entry holds for its namespace and, when it names one, its container only", () => {
            assert.match(check(workload("pylon", { ports: [{ containerPort: 80, hostPort: 80 }] }, {}, "kube-system"))[0], /DaemonSet kube-system\/pylon/);
            const exporter = (name: string) => workload("job-exporter", { name, securityContext: { privileged: true } }, { hostNetwork: true, hostPID: true });
            assert.deepStrictEqual(check(exporter("job-exporter")), []);
            assert.match(check(exporter("sidecar"))[0], /container sidecar: runs privileged/);
        });

        it("every entry of the default list names a namespaced workload and a reason", () => {
            for (const entry of hostAccessAllowList) {
                assert.match(entry.workload, /^[a-z0-9-]+\/[a-z0-9-]+$/);
                assert.ok(entry.reason.length > 10, entry.workload);
            }
        });
    });

    describe("network-exposure-authenticated", () => {
        const service = (type: string, extra: any = {}) => ({ type: "kubernetes:core/v1:Service", props: { metadata: { name: "hivedscheduler-hs" }, spec: { type, ports: [{ port: 30096 }], ...extra } } });
        const workload = (name: string, ports: any[], spec: any = {}, namespace = "default") =>
            ({ type: typeOf("DaemonSet"), props: { ...daemonSet({ ...goodContainer, ports }, spec, name), metadata: { name, namespace } } });
        const guard = workload("host-guard", [], { hostNetwork: true }, "kube-system");

        it("refuses NodePort and LoadBalancer Services and externalIPs, not ClusterIP ones", () => {
            assert.match(checkStack("network-exposure-authenticated", [service("NodePort")])[0],
                /^Service default\/hivedscheduler-hs: port 30096, published as NodePort, has no declared authentication\. Fix: .*network-exposure-authenticated/);
            assert.strictEqual(checkStack("network-exposure-authenticated", [service("LoadBalancer")]).length, 1);
            assert.match(checkStack("network-exposure-authenticated", [service("ClusterIP", { externalIPs: ["10.0.0.5"] })])[0], /port 30096, published as externalIPs,/);
            assert.deepStrictEqual(checkStack("network-exposure-authenticated", [service("ClusterIP")]), []);
            assert.deepStrictEqual(checkStack("network-exposure-authenticated", [service("NodePort")],
                { exposed: [{ target: "default/hivedscheduler-hs", ports: [30096], authentication: "test" }] }), []);
        });

        it("refuses a host port nobody declared authenticated", () => {
            assert.match(checkStack("network-exposure-authenticated", [workload("webportal", [{ containerPort: 8080, hostPort: 8080 }])])[0],
                /DaemonSet default\/webportal: port 8080 on its nodes' addresses has no declared authentication/);
            assert.deepStrictEqual(checkStack("network-exposure-authenticated", [workload("webportal", [{ containerPort: 8080, hostPort: 9286 }])]), []);
        });

        it("an unauthenticated port that relies on the host guard is refused without the guard in the stack", () => {
            const exporter = workload("node-exporter", [{ containerPort: 9100 }], { hostNetwork: true });
            assert.match(checkStack("network-exposure-authenticated", [exporter])[0], /port 9100 on its nodes' addresses has no authentication of its own .* relies on kube-system\/host-guard/);
            assert.deepStrictEqual(checkStack("network-exposure-authenticated", [exporter, guard]), []);
            // The whole program with services.hostGuard off: every port that relies on the guard.
            const program = programResources({ hostGuard: false });
            const refused = checkStack("network-exposure-authenticated", program).map(m => m.split(":")[0].split(" ")[1]).sort();
            assert.deepStrictEqual(refused, networkExposure.filter(e => e.guardedBy).map(e => e.target).sort());
        });

        it("every declaration says how callers are authenticated", () => {
            for (const entry of networkExposure) {
                assert.ok(entry.authentication.length > 10 && entry.ports.length > 0, entry.target);
            }
        });
    });

    describe("rbac-least-privilege", () => {
        const rbac = (kind: string) => `kubernetes:rbac.authorization.k8s.io/v1:${kind}`;
        const binding = (role: string, subjects: any[] = [{ kind: "ServiceAccount", name: "frameworkcontroller", namespace: "default" }]) =>
            ({ metadata: { name: "b" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role }, subjects });
        it("refuses bindings to cluster-admin, admin and edit, naming who gets what", () => {
            assert.match(checkResource("rbac-least-privilege", rbac("ClusterRoleBinding"), binding("cluster-admin"))[0],
                /^ClusterRoleBinding b: binds ServiceAccount default\/frameworkcontroller to cluster-admin\. Fix: .*rbac-least-privilege/);
            assert.strictEqual(checkResource("rbac-least-privilege", rbac("RoleBinding"), binding("edit")).length, 1);
            assert.deepStrictEqual(checkResource("rbac-least-privilege", rbac("ClusterRoleBinding"), binding("pai-frameworkcontroller")), []);
        });
        it("refuses grants to anonymous or every authenticated client", () => {
            assert.match(checkResource("rbac-least-privilege", rbac("ClusterRoleBinding"), binding("view-frameworks", [{ kind: "Group", name: "system:unauthenticated" }]))[0], /system:unauthenticated/);
            assert.strictEqual(checkResource("rbac-least-privilege", rbac("RoleBinding"), binding("r", [{ kind: "User", name: "system:anonymous" }])).length, 1);
        });
        it("refuses roles with wildcards or escalating verbs", () => {
            const role = (rule: any) => ({ metadata: { name: "r", namespace: "default" }, rules: [rule] });
            assert.match(checkResource("rbac-least-privilege", rbac("Role"), role({ apiGroups: [""], resources: ["secrets"], verbs: ["*"] }))[0], /^Role default\/r: a rule grants everything in verbs/);
            assert.match(checkResource("rbac-least-privilege", rbac("ClusterRole"), role({ apiGroups: ["*"], resources: ["*"], verbs: ["get"] }))[0], /apiGroups, resources/);
            assert.match(checkResource("rbac-least-privilege", rbac("ClusterRole"), role({ apiGroups: ["rbac.authorization.k8s.io"], resources: ["clusterroles"], verbs: ["bind", "escalate"] }))[0], /bind, escalate/);
            assert.deepStrictEqual(checkResource("rbac-least-privilege", rbac("Role"), role({ apiGroups: [""], resources: ["secrets"], verbs: ["get"] })), []);
        });
    });

    it("master-not-worker: a node labelled both is refused", () => {
        const node = (labels: any) => ({ metadata: { name: "m", labels } });
        assert.strictEqual(checkResource("master-not-worker", "kubernetes:core/v1:NodePatch", node({ "pai-master": "true", "pai-worker": "true" })).length, 1);
        assert.deepStrictEqual(checkResource("master-not-worker", "kubernetes:core/v1:NodePatch", node({ "pai-master": "true" })), []);
    });

    describe("hived-config-valid and vc-capacity", () => {
        const hived = (config: any) => ({ metadata: { name: "hivedscheduler-config" }, data: { "hivedscheduler.yaml": yaml.dump(config) } });
        const base = () => ({
            physicalCluster: {
                skuTypes: { g: { gpu: 1, cpu: 4, memory: "1024Mi" } },
                cellTypes: { "g-NODE": { childCellType: "g", childCellNumber: 8, isNodeLevel: true }, "g-POOL": { childCellType: "g-NODE", childCellNumber: 1 } },
                physicalCells: [{ cellType: "g-POOL", cellChildren: [{ cellAddress: "w0" }] }],
            },
            virtualClusters: { default: { virtualCells: [{ cellType: "g-POOL.g-NODE", cellNumber: 1 }] } },
        });
        it("accept a valid config", () => {
            assert.deepStrictEqual(checkResource("hived-config-valid", "kubernetes:core/v1:ConfigMap", hived(base())), []);
            assert.deepStrictEqual(checkResource("vc-capacity", "kubernetes:core/v1:ConfigMap", hived(base())), []);
        });
        it("hived-config-valid reports HiveD startup failures, vc-capacity over-subscription", () => {
            const broken: any = base();
            broken.physicalCluster.cellTypes["g-NODE"].childCellNumber = 0;
            assert.match(checkResource("hived-config-valid", "kubernetes:core/v1:ConfigMap", hived(broken))[0], /childCellNumber: must be at least 1/);
            const over: any = base();
            over.virtualClusters.default.virtualCells[0].cellNumber = 2;
            assert.match(checkResource("vc-capacity", "kubernetes:core/v1:ConfigMap", hived(over))[0], /2 needed, 1 available/);
            assert.deepStrictEqual(checkResource("hived-config-valid", "kubernetes:core/v1:ConfigMap", hived(over)), []);
        });
        it("ignore other ConfigMaps", () => {
            assert.deepStrictEqual(checkResource("hived-config-valid", "kubernetes:core/v1:ConfigMap", { metadata: { name: "x" }, data: { "hivedscheduler.yaml": "nope: [" } }), []);
        });
    });

    describe("stack policies", () => {
        const stack = (props: any) => ({ type: "pulumi:pulumi:Stack", props });
        it("stack-outputs: portal URL and admin user present, credentials secret", () => {
            assert.deepStrictEqual(checkStack("stack-outputs", [stack({ portalUrl: "u", adminUser: "a", adminPassword: new Secret("p") })]), []);
            assert.match(checkStack("stack-outputs", [stack({ portalUrl: "u", adminUser: "a", adminPassword: "p" })])[0], /'adminPassword' is not a secret/);
            assert.match(checkStack("stack-outputs", [stack({ adminUser: "a" })])[0], /'portalUrl' is missing/);
        });
        const cluster = (props: any) => ({ type: "openpai:index:Cluster", props });
        it("known-version-combination (advisory)", () => {
            assert.deepStrictEqual(checkStack("known-version-combination", [cluster({ versions: { pai: "v1.8.0", kubernetes: "v1.34.3" } })]), []);
            assert.match(checkStack("known-version-combination", [cluster({ versions: { pai: "v1.8.0", kubernetes: "v1.25.0" } })])[0], /not a known-good combination/);
        });
        it("registry-mirrors-for-offline-hosts (advisory)", () => {
            assert.deepStrictEqual(checkStack("registry-mirrors-for-offline-hosts", [cluster({ registryMirrors: [] })]), []);
            assert.strictEqual(checkStack("registry-mirrors-for-offline-hosts", [cluster({ registryMirrors: [] })], { hostsOffline: true }).length, 1);
            assert.deepStrictEqual(checkStack("registry-mirrors-for-offline-hosts", [cluster({ registryMirrors: ["https://m"] })], { hostsOffline: true }), []);
        });
        it("optional-services-in-small-cluster (advisory)", () => {
            assert.strictEqual(checkStack("optional-services-in-small-cluster", [cluster({ workerCount: 2, optionalServices: ["grafana"] })]).length, 1);
            assert.deepStrictEqual(checkStack("optional-services-in-small-cluster", [cluster({ workerCount: 10, optionalServices: ["grafana"] })]), []);
        });
    });
});
