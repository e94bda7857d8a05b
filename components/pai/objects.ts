import { K8sObject } from "../kubernetes/kube-objects";
import { sha256 } from "./context";

export { K8sObject };

/** Resource requests (and limits) of one container, in Kubernetes quantities. */
export interface Resources {
    cpu: string;
    memory: string;
}

/**
 * Requests of a worker daemon from its share in config/daemons.ts (the table the hived cell
 * sizes subtract), or a fraction of it for one of several containers.
 */
export function daemonRequests(share: { cpu: number; memoryMi: number }, fraction = 1): Resources {
    return { cpu: `${Math.round(share.cpu * fraction * 1000)}m`, memory: `${Math.round(share.memoryMi * fraction)}Mi` };
}

export interface ContainerSpec {
    name: string;
    image: string;
    requests: Resources;
    /** Defaults to the requests' memory as the limit; CPU is left unlimited (burstable). */
    limits?: Resources;
    [field: string]: unknown;
}

/**
 * The objects with every pod template's container CPU requests multiplied by `scale` (at least
 * 10m each). Memory stays: it is what limits and evictions rest on.
 */
export function scaleCpuRequests(objects: K8sObject[], scale: number): K8sObject[] {
    if (scale === 1) {
        return objects;
    }
    const scaleCpu = (quantity: string): string => {
        const millis = quantity.endsWith("m") ? Number(quantity.slice(0, -1)) : Number(quantity) * 1000;
        return `${Math.max(10, Math.round(millis * scale))}m`;
    };
    type Container = { resources?: { requests?: { cpu?: string | number } } };
    type PodSpec = Record<string, Container[] | undefined>;
    const podSpecOf = (object: K8sObject) => (object.spec as { template?: { spec?: PodSpec } } | undefined)?.template?.spec;
    return objects.map(object => {
        if (!podSpecOf(object)) {
            return object;
        }
        const scaled = structuredClone(object);
        const podSpec = podSpecOf(scaled)!;
        for (const c of [...(podSpec.containers ?? []), ...(podSpec.initContainers ?? [])]) {
            if (c.resources?.requests?.cpu !== undefined) {
                c.resources.requests.cpu = scaleCpu(String(c.resources.requests.cpu));
            }
        }
        return scaled;
    });
}

/** Label every PAI object carries, so a cluster's objects can be listed and checked. */
export const paiLabel = "app.kubernetes.io/part-of";
export const paiLabelValue = "openpai";

export function labels(app: string): Record<string, string> {
    return { app, [paiLabel]: paiLabelValue };
}

export function container(spec: ContainerSpec): Record<string, unknown> {
    const { requests, limits, ...rest } = spec;
    return {
        imagePullPolicy: "IfNotPresent",
        ...rest,
        resources: { requests, limits: limits ?? { memory: requests.memory } },
    };
}

/**
 * Pod placement on the master, as OpenPAI placed its core services. The toleration keeps them
 * placeable where the master is a tainted control-plane node (existing mode); kubeadm mode
 * leaves the master untainted.
 */
export const onMaster = {
    nodeSelector: { "pai-master": "true" },
    tolerations: [{ key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" }],
};

/** The pod annotation that rolls pods whose config (mounted by subPath) changed. */
export function sha256Annotation(config: string): Record<string, string> {
    return { "openpai.io/config-hash": sha256(config).slice(0, 16) };
}

/** A readiness probe by HTTP GET. */
export function httpProbe(path: string, port: number, periodSeconds = 10): Record<string, unknown> {
    return { httpGet: { path, port }, periodSeconds, failureThreshold: 3 };
}

interface WorkloadArgs {
    name: string;
    namespace: string;
    podSpec: Record<string, unknown>;
    /** Extra pod template annotations (e.g. a config hash that rolls the pods). */
    podAnnotations?: Record<string, string>;
    /** Deployment update strategy (default: rolling). */
    strategy?: Record<string, unknown>;
}

function template(args: WorkloadArgs): Record<string, unknown> {
    return {
        metadata: { labels: labels(args.name), ...(args.podAnnotations ? { annotations: args.podAnnotations } : {}) },
        spec: { imagePullSecrets: [{ name: "pai-secret" }], ...args.podSpec },
    };
}

export function daemonSet(args: WorkloadArgs): K8sObject {
    return {
        apiVersion: "apps/v1", kind: "DaemonSet",
        metadata: { name: args.name, namespace: args.namespace, labels: labels(args.name) },
        spec: { selector: { matchLabels: { app: args.name } }, template: template(args) },
    };
}

export function statefulSet(args: WorkloadArgs): K8sObject {
    return {
        apiVersion: "apps/v1", kind: "StatefulSet",
        metadata: { name: args.name, namespace: args.namespace, labels: labels(args.name) },
        spec: { serviceName: args.name, replicas: 1, selector: { matchLabels: { app: args.name } }, template: template(args) },
    };
}

/** Whether a pod answers on its node's ports: the host network, or a container's hostPort. */
function holdsHostPorts(podSpec: Record<string, unknown>): boolean {
    const containers = (podSpec.containers ?? []) as { ports?: { hostPort?: number }[] }[];
    return podSpec.hostNetwork === true || containers.some(c => (c.ports ?? []).some(p => p.hostPort !== undefined));
}

/**
 * A Deployment of one pod. One that answers on its node's ports is replaced by stopping the old
 * pod first (Recreate): a rolling update's new pod could never start beside the old one on the
 * one node they are pinned to (the master), and the update would hang.
 */
export function deployment(args: WorkloadArgs): K8sObject {
    const strategy = args.strategy ?? (holdsHostPorts(args.podSpec) ? { type: "Recreate" } : undefined);
    return {
        apiVersion: "apps/v1", kind: "Deployment",
        metadata: { name: args.name, namespace: args.namespace, labels: labels(args.name) },
        spec: { replicas: 1, selector: { matchLabels: { app: args.name } }, ...(strategy ? { strategy } : {}), template: template(args) },
    };
}

export function configMap(name: string, namespace: string, data: Record<string, string>): K8sObject {
    return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace, labels: labels(name) }, data };
}

export function serviceAccount(name: string, namespace: string): K8sObject {
    return { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace, labels: labels(name) } };
}

/** A ClusterRoleBinding of a service account to an existing cluster role. */
export function clusterRoleBinding(name: string, role: string, account: { name: string; namespace: string }): K8sObject {
    return {
        apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding",
        metadata: { name, labels: labels(name) },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
        subjects: [{ kind: "ServiceAccount", name: account.name, namespace: account.namespace }],
    };
}

export function service(name: string, namespace: string, ports: { name: string; port: number; targetPort?: number; nodePort?: number }[],
                        type: "ClusterIP" | "NodePort" = "ClusterIP"): K8sObject {
    return {
        apiVersion: "v1", kind: "Service",
        metadata: { name, namespace, labels: labels(name) },
        spec: { type, selector: { app: name }, ports: ports.map(p => ({ protocol: "TCP", ...p })) },
    };
}

export function hostPathVolume(name: string, path: string, type?: string): Record<string, unknown> {
    return { name, hostPath: { path, ...(type ? { type } : {}) } };
}

/** An env var read from a Secret, so no credential sits in the manifest. */
export function secretEnv(name: string, secret: string, key: string): Record<string, unknown> {
    return { name, valueFrom: { secretKeyRef: { name: secret, key } } };
}

/** One RBAC rule: these verbs on these resources of these API groups (only the named objects, if given). */
export interface AccessRule {
    apiGroups: string[];
    resources: string[];
    verbs: string[];
    resourceNames?: string[];
}

/** What one service account may do through the Kubernetes API. */
export interface ServiceAccess {
    /** Rules on cluster-scoped resources, or on namespaced ones in every namespace (one ClusterRole). */
    cluster?: AccessRule[];
    /** Rules that hold in one namespace only, by namespace (one Role there each). */
    namespaces?: Record<string, AccessRule[]>;
}

/**
 * The ClusterRole and Roles of one service account, each named `name` and bound to the account
 * alone: the grants of a service live in one ServiceAccess, next to the code that needs them.
 */
export function accessFor(name: string, account: { name: string; namespace: string }, access: ServiceAccess): K8sObject[] {
    const rbac = "rbac.authorization.k8s.io";
    const subjects = [{ kind: "ServiceAccount", name: account.name, namespace: account.namespace }];
    const objects: K8sObject[] = [];
    if (access.cluster?.length) {
        objects.push(
            { apiVersion: `${rbac}/v1`, kind: "ClusterRole", metadata: { name, labels: labels(name) }, rules: access.cluster },
            clusterRoleBinding(name, name, account),
        );
    }
    for (const [namespace, rules] of Object.entries(access.namespaces ?? {})) {
        objects.push(
            { apiVersion: `${rbac}/v1`, kind: "Role", metadata: { name, namespace, labels: labels(name) }, rules },
            {
                apiVersion: `${rbac}/v1`, kind: "RoleBinding",
                metadata: { name, namespace, labels: labels(name) },
                roleRef: { apiGroup: rbac, kind: "Role", name },
                subjects,
            },
        );
    }
    return objects;
}
