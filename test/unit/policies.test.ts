import * as assert from "assert";
import * as yaml from "js-yaml";
import { Policy, ResourceValidationPolicy, Secret, StackValidationPolicy } from "@pulumi/policy";
import { hivedForStack, parseStackConfig } from "../../config";
import { paiContext } from "../../components/pai/context";
import { paiServices } from "../../components/pai/service";
import { policies } from "../../policy/policies";
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
    const args: any = { resources, stackTags: new Map(), getConfig: () => configOf(policy, config), notApplicable: () => undefined };
    (policy.validateStack as (a: any, r: (m: string) => void) => void)(args, m => violations.push(m));
    return violations;
}

const daemonSet = (container: any, spec: any = {}, name = "svc") => ({
    metadata: { name }, spec: { template: { spec: { containers: [container], ...spec } } },
});
const goodContainer = { name: "c", image: "docker.io/openpai/rest-server:v1.8.0", resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "1Gi" } } };
const typeOf = (kind: string) => ["DaemonSet", "Deployment", "StatefulSet"].includes(kind) ? `kubernetes:apps/v1:${kind}` : kind === "ConfigMap" ? "kubernetes:core/v1:ConfigMap" : `k8s:${kind}`;

describe("policy pack (policies called directly)", () => {
    it("every policy has a name, a description with the fix, and an enforcement level", () => {
        for (const p of policies) {
            assert.match(p.name, /^[a-z0-9-]+$/);
            assert.match(p.description, /Fix: /, `${p.name} says how to fix it`);
            assert.ok(["advisory", "mandatory"].includes(p.enforcementLevel!), p.name);
        }
    });

    it("passes every object the program declares for the dev layout", () => {
        const config = parseStackConfig(rawStack({ layout: layout(2), cluster: { mode: "existing" } }, ["kubeconfig"]));
        const ctx = paiContext(config, hivedForStack(config).config);
        for (const object of Object.values(paiServices).flatMap(s => s.manifests(ctx))) {
            for (const policy of policies.filter(p => "validateResource" in p)) {
                assert.deepStrictEqual(checkResource(policy.name, typeOf(object.kind), object), [], `${policy.name} on ${object.kind}/${object.metadata.name}`);
            }
        }
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

    it("privileged-allowlist: privileged and host namespaces only for listed services, configurable", () => {
        const privileged = daemonSet({ ...goodContainer, securityContext: { privileged: true } }, {}, "my-agent");
        assert.match(checkResource("privileged-allowlist", typeOf("DaemonSet"), privileged)[0], /runs privileged/);
        assert.deepStrictEqual(checkResource("privileged-allowlist", typeOf("DaemonSet"), privileged, { privileged: ["my-agent"] }), []);
        const hostNet = daemonSet(goodContainer, { hostNetwork: true }, "webportal");
        assert.match(checkResource("privileged-allowlist", typeOf("DaemonSet"), hostNet)[0], /host namespaces/);
        assert.deepStrictEqual(checkResource("privileged-allowlist", typeOf("DaemonSet"), daemonSet(goodContainer, { hostNetwork: true }, "postgresql")), []);
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
