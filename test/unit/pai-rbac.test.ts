import * as assert from "assert";
import { hivedForStack, parseStackConfig } from "../../config";
import { kubeRouterManifests } from "../../components/kubernetes/kube-router";
import { paiContext } from "../../components/pai/context";
import { K8sObject } from "../../components/pai/objects";
import { paiServices } from "../../components/pai/service";
import { layout, rawStack } from "./helpers";
import { upstreamFile } from "./upstream-source";

/** An upstream file (`<tree>:<path>`) and the calls in it that need a grant. */
interface Source { file: string; calls: string[] }

/** Where each upstream tree is: its tarball in ../shared/upstream and the folder the tarball holds it in. */
const trees: Record<string, { tarball: string; root: string }> = {
    pai: { tarball: "pai-v1.8.0-src.tar.gz", root: "pai" },
    fc: { tarball: "frameworkcontroller-v1.0.1.tar.gz", root: "frameworkcontroller" },
    hived: { tarball: "hivedscheduler-v0.3.4.tar.gz", root: "hivedscheduler" },
    runtime: { tarball: "openpai-runtime-59ec6d179dd4.tar.gz", root: "openpai-runtime" },
};

const fcController = "fc:pkg/controller/controller.go";
const dbcK8s = "pai:src/database-controller/src/common/k8s.js";
const watchdogClient = "pai:src/watchdog/src/pkg/watchdog/k8s_client.go";
const watchdogGc = "pai:src/watchdog/src/pkg/watchdog/garbage_collector.go";
const bootstrapPolicy = "kubernetes:plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go";

/**
 * Every RBAC grant of every PAI service account, each pinned to the upstream calls that need it
 * (OpenPAI v1.8.0, FrameworkController v1.0.1, HiveD v0.3.4, openpai-runtime 59ec6d1; the stock
 * kube-schedulers get Kubernetes' own roles). A grant is written
 * `<namespace or "cluster"> <API group>/<resources> <verbs> [resource names]`. Where the tarballs
 * are at hand, each call is looked up in its file. What upstream granted is in each manifest's
 * doc comment; this table is what the services get instead.
 */
const pinned: Record<string, [grant: string, ...neededBy: Source[]][]> = {
    "default/frameworkcontroller": [
        ["cluster core/configmaps,pods list,watch", { file: fcController, calls: [
            "kubeInformer.NewSharedInformerFactory(kClient, 0).Core().V1().ConfigMaps()", "kubeInformer.NewSharedInformerFactory(kClient, 0).Core().V1().Pods()"] }],
        ["cluster frameworkcontroller.microsoft.com/frameworks list,watch", { file: fcController, calls: [
            "frameworkInformer.NewSharedInformerFactory(fClient, 0).Frameworkcontroller().V1().Frameworks()"] }],
        // The program creates the CRD (frameworkCrd()), so PutCRD finds it and never creates one.
        ["cluster apiextensions.k8s.io/customresourcedefinitions get,update frameworks.frameworkcontroller.microsoft.com", { file: "fc:pkg/internal/utils.go", calls: [
            "CustomResourceDefinitions().Get(newCRD.Name, meta.GetOptions{})", "CustomResourceDefinitions().Update(updateCRD)"] }],
        ["default core/configmaps,pods get,create,delete", { file: fcController, calls: [
            "CoreV1().ConfigMaps(f.Namespace).Get(", "CoreV1().ConfigMaps(f.Namespace).Create(cm)", "CoreV1().ConfigMaps(f.Namespace).Delete(",
            "CoreV1().Pods(f.Namespace).Get(", "CoreV1().Pods(f.Namespace).Create(pod)", "CoreV1().Pods(f.Namespace).Delete("] }],
        ["default frameworkcontroller.microsoft.com/frameworks get,update,delete", { file: fcController, calls: [
            "Frameworks(f.Namespace).Get(", "Frameworks(updateF.Namespace).Update(updateF)", "Frameworks(f.Namespace).Delete("] }],
        // Owners with blockOwnerDeletion, which OwnerReferencesPermissionEnforcement checks as update on the owner's finalizers.
        ["default frameworkcontroller.microsoft.com/frameworks/finalizers update", { file: "fc:pkg/apis/frameworkcontroller/v1/funcs.go", calls: [
            "cm.OwnerReferences = []meta.OwnerReference{*meta.NewControllerRef(f, FrameworkGroupVersionKind)}"] }],
        ["default core/configmaps/finalizers update", { file: "fc:pkg/apis/frameworkcontroller/v1/funcs.go", calls: [
            "*meta.NewControllerRef(cm, ConfigMapGroupVersionKind)"] }],
    ],
    "default/rest-server": [
        ["cluster core/nodes list", { file: "pai:src/rest-server/src/models/kubernetes/kubernetes.js", calls: ["client.get('api/v1/nodes')"] }],
        ["cluster core/pods list", { file: "pai:src/rest-server/src/models/kubernetes/kubernetes.js", calls: ["let url = '/api/v1/pods';"] },
            { file: "pai:src/rest-server/src/models/v2/virtual-cluster/k8s.js", calls: ["kubernetes.getPods({"] }],
        ["cluster core/persistentvolumes get", { file: "pai:src/rest-server/src/models/v2/storage.js", calls: ["`/api/v1/persistentvolumes/${storage.volumeName}`"] }],
        ["default core/pods get", { file: "pai:src/rest-server/src/models/v2/utils/frameworkConverter.js", calls: [".get(launcherConfig.podPath(podName)"] }],
        ["default core/configmaps get pai-version", { file: "pai:src/rest-server/src/config/paiConfig.js", calls: ["'/api/v1/namespaces/default/configmaps/pai-version'"] }],
        ["default core/persistentvolumeclaims get,list", { file: "pai:src/rest-server/src/models/v2/storage.js", calls: [
            "'/api/v1/namespaces/default/persistentvolumeclaims'", "`/api/v1/namespaces/default/persistentvolumeclaims/${storageName}`"] }],
        ["pai-user-v2 core/secrets get,list,create,update,delete", { file: "pai:src/rest-server/src/utils/manager/user/crudK8sSecret.js", calls: [
            "process.env.PAI_USER_NAMESPACE || 'pai-user-v2'", "`${USER_NAMESPACE}/secrets/${hexKey}`", "request.get(`${USER_NAMESPACE}/secrets`",
            "request.post(`${USER_NAMESPACE}/secrets`", "request.put(", "request.delete(`${USER_NAMESPACE}/secrets/${hexKey}`"] }],
        ["pai-group core/secrets get,list,create,update,delete", { file: "pai:src/rest-server/src/utils/manager/group/crudK8sSecret.js", calls: [
            "process.env.PAI_GROUP_NAMESPACE || 'pai-group'", "request.get(`${GROUP_NAMESPACE}/secrets/${hexKey}`", "request.get(`${GROUP_NAMESPACE}/secrets`",
            "request.post(`${GROUP_NAMESPACE}/secrets`", "request.put(`${GROUP_NAMESPACE}/secrets/${hexKey}`", "request.delete(`${GROUP_NAMESPACE}/secrets/${hexKey}`"] }],
        ["pai-user-token core/secrets get,create,update", { file: "pai:src/rest-server/src/models/token.js", calls: [
            "process.env.PAI_USER_TOKEN_NAMESPACE || 'pai-user-token'", "k8sSecret.get(namespace, username", "k8sSecret.create(", "k8sSecret.replace(namespace, username"] }],
    ],
    "default/database-controller": [
        ["cluster scheduling.k8s.io/priorityclasses create,delete", { file: dbcK8s, calls: ["priorityClassClient.createPriorityClass(", "priorityClassClient.deletePriorityClass("] }],
        ["default frameworkcontroller.microsoft.com/frameworks list,watch", { file: dbcK8s, calls: [
            "listNamespacedCustomObject(", "`/apis/frameworkcontroller.microsoft.com/v1/namespaces/${namespace}/frameworks?timeoutSeconds=${timeoutSeconds}`"] }],
        ["default frameworkcontroller.microsoft.com/frameworks create,patch,delete", { file: dbcK8s, calls: [
            "createNamespacedCustomObject(", "patchNamespacedCustomObject(", "deleteNamespacedCustomObject("] }],
        ["default core/secrets create,patch,delete", { file: dbcK8s, calls: ["createNamespacedSecret(", "patchNamespacedSecret(", "deleteNamespacedSecret("] }],
        ["default frameworkcontroller.microsoft.com/frameworks/finalizers update", { file: dbcK8s, calls: ["blockOwnerDeletion: true"] }],
        ["default core/events list,watch", { file: dbcK8s, calls: ["listNamespacedEvent(namespace)", "`/api/v1/namespaces/${namespace}/events?timeoutSeconds=${timeoutSeconds}`"] }],
    ],
    "default/watchdog": [
        ["cluster core/pods,nodes list", { file: watchdogClient, calls: ["CoreV1().Pods(\"\").List(", "CoreV1().Nodes().List("] }],
        ["cluster scheduling.k8s.io/priorityclasses list,delete", { file: watchdogClient, calls: ["PriorityClasses().List(", "PriorityClasses().Delete("] }],
        ["default core/secrets list,delete", { file: watchdogGc, calls: ["namespace := \"default\"", "gc.k8sClient.listSecrets(namespace)", "gc.k8sClient.deleteSecret(\"default\", s.Name)"] }],
        ["default frameworkcontroller.microsoft.com/frameworks list", { file: watchdogGc, calls: ["gc.k8sClient.listFrameworks(namespace)"] }],
    ],
    "default/runtime-account": [
        ["default frameworkcontroller.microsoft.com/frameworks get",
            { file: "fc:pkg/barrier/barrier.go", calls: ["Frameworks(b.bConfig.FrameworkNamespace).", "Get(b.bConfig.FrameworkName, meta.GetOptions{})"] },
            { file: "runtime:src/init", calls: ["/apis/frameworkcontroller.microsoft.com/v1/namespaces/default/frameworks/$FC_FRAMEWORK_NAME"] }],
    ],
    "default/hivedscheduler": [
        ["cluster core/nodes,pods list,watch", { file: "hived:pkg/scheduler/scheduler.go", calls: [
            "kubeInformer.NewSharedInformerFactory(kClient, 0).Core().V1().Nodes()", "kubeInformer.NewSharedInformerFactory(kClient, 0).Core().V1().Pods()"] }],
        ["default core/pods/binding create", { file: "hived:pkg/internal/utils.go", calls: ["kClient.CoreV1().Pods(bindingPod.Namespace).Bind("] }],
    ],
    "default/alert-handler": [
        ["cluster core/nodes patch", { file: "pai:src/alert-manager/src/alert-handler/controllers/node.js", calls: ["k8sApi.patchNode("] }],
        ["default batch/jobs list", { file: "pai:src/alert-manager/src/alert-handler/controllers/kubernetes.js", calls: [".listNamespacedJob("] }],
    ],
    "default/hivedscheduler-ds": [
        ["cluster role system:kube-scheduler", { file: bootstrapPolicy, calls: [] }],
        ["cluster role system:volume-scheduler", { file: bootstrapPolicy, calls: [] }],
    ],
};

/** Every PAI object with every optional service on, and the pod network's (kubeadm mode). */
function allObjects(): K8sObject[] {
    const config = parseStackConfig(rawStack({ layout: layout(2), cluster: { mode: "existing" }, services: { marketplace: true } }, ["kubeconfig"]));
    const ctx = paiContext(config, hivedForStack(config).config);
    return [...Object.values(paiServices).flatMap(s => s.manifests(ctx)), ...kubeRouterManifests()];
}

interface Rule { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }
const isRole = (o: K8sObject) => o.kind === "Role" || o.kind === "ClusterRole";
const isBinding = (o: K8sObject) => o.kind === "RoleBinding" || o.kind === "ClusterRoleBinding";

/** One grant per (scope, group, resource, verb), as the table writes them. */
function expand(scope: string, rule: Rule): string[] {
    const names = rule.resourceNames?.length ? ` ${[...rule.resourceNames].sort().join(",")}` : "";
    return rule.apiGroups.flatMap(g => rule.resources.flatMap(r => rule.verbs.map(v => `${scope} ${g || "core"}/${r} ${v}${names}`)));
}

function expandPinned(grant: string): string[] {
    const [scope, what, verbs, names] = grant.split(" ");
    if (what === "role") {
        return [grant];
    }
    const slash = what.indexOf("/");
    const group = what.slice(0, slash);
    return expand(scope, { apiGroups: [group === "core" ? "" : group], resources: what.slice(slash + 1).split(","), verbs: verbs.split(","), resourceNames: names?.split(",") });
}

/** The grants of each service account, from the bindings to it and the roles they name. */
function grantsByAccount(all: K8sObject[]): Map<string, string[]> {
    const grants = new Map<string, string[]>();
    for (const binding of all.filter(isBinding)) {
        const ref = binding.roleRef as { kind: string; name: string };
        const scope = binding.kind === "RoleBinding" ? binding.metadata.namespace! : "cluster";
        const role = all.find(o => o.kind === ref.kind && o.metadata.name === ref.name && (ref.kind === "ClusterRole" || o.metadata.namespace === binding.metadata.namespace));
        const granted = role ? (role.rules as Rule[]).flatMap(rule => expand(scope, rule)) : [`${scope} role ${ref.name}`];
        for (const subject of binding.subjects as { kind: string; name: string; namespace?: string }[]) {
            const key = `${subject.namespace}/${subject.name}`;
            grants.set(key, [...grants.get(key) ?? [], ...granted]);
        }
    }
    return grants;
}

describe("RBAC: each service account may do exactly what its upstream code calls", () => {
    const all = allObjects();
    const granted = grantsByAccount(all);

    for (const [account, rows] of Object.entries(pinned)) {
        it(`${account}: every grant pinned to the upstream calls that need it, and nothing else`, () => {
            const actual = new Set(granted.get(account) ?? []);
            const expected = new Map(rows.flatMap(([grant, ...neededBy]) => expandPinned(grant).map(g => [g, neededBy.map(n => n.file).join(", ")] as const)));
            for (const [grant, neededBy] of expected) {
                assert.ok(actual.has(grant), `${account} lacks '${grant}', which ${neededBy} needs`);
            }
            for (const grant of actual) {
                assert.ok(expected.has(grant), `${account} has '${grant}', which no upstream call in the table needs`);
            }
        });
    }

    it("each upstream call the table names is in its file (where the upstream tarballs are at hand)", function () {
        const files = new Map<string, string | undefined>();
        let checked = 0;
        for (const { file, calls } of Object.values(pinned).flat().flatMap(([, ...sources]) => sources)) {
            const [tree, path] = file.split(":");
            if (!trees[tree] || calls.length === 0) {
                continue;
            }
            if (!files.has(file)) {
                files.set(file, upstreamFile(trees[tree].tarball, `${trees[tree].root}/${path}`));
            }
            const text = files.get(file);
            if (text === undefined) {
                continue;
            }
            for (const call of calls) {
                assert.ok(text.includes(call), `${file} no longer has ${call}`);
                checked++;
            }
        }
        if (checked === 0) {
            this.skip();
        }
    });

    it("no other PAI service account has any grant", () => {
        const pai = [...granted.keys()].filter(account => account !== "kube-system/kube-router");
        assert.deepStrictEqual(pai.sort(), Object.keys(pinned).sort());
    });

    it("every binding names one ServiceAccount and a role that exists or is one of Kubernetes' scheduler roles", () => {
        for (const binding of all.filter(isBinding)) {
            const subjects = binding.subjects as { kind: string }[];
            assert.deepStrictEqual(subjects.map(s => s.kind), ["ServiceAccount"], `${binding.kind}/${binding.metadata.name}`);
            const ref = binding.roleRef as { kind: string; name: string };
            const declared = all.some(o => o.kind === ref.kind && o.metadata.name === ref.name);
            assert.ok(declared || ["system:kube-scheduler", "system:volume-scheduler"].includes(ref.name), `${binding.metadata.name} -> ${ref.kind}/${ref.name}`);
        }
    });

    it("nothing is bound to cluster-admin, admin or edit, and no role has a wildcard or an escalating verb", () => {
        for (const binding of all.filter(isBinding)) {
            assert.ok(!["cluster-admin", "admin", "edit"].includes((binding.roleRef as { name: string }).name), `${binding.kind}/${binding.metadata.name}`);
        }
        for (const role of all.filter(isRole)) {
            for (const rule of role.rules as Rule[]) {
                const words = [...rule.apiGroups, ...rule.resources, ...rule.verbs];
                assert.ok(!words.includes("*"), `${role.kind}/${role.metadata.name}: wildcard in ${JSON.stringify(rule)}`);
                assert.ok(!rule.verbs.some(v => ["escalate", "bind", "impersonate"].includes(v)), `${role.kind}/${role.metadata.name}: ${rule.verbs}`);
            }
        }
    });

    it("Secrets are written only in the namespaces upstream keeps users, groups, tokens and jobs in", () => {
        for (const [account, grants] of granted) {
            for (const grant of grants.filter(g => / core\/secrets (create|update|patch|delete)/.test(g))) {
                assert.ok(!grant.startsWith("cluster "), `${account}: ${grant} is cluster-wide`);
            }
        }
    });
});
