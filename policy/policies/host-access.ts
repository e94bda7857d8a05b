import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { PolicyConfigJSONSchema } from "@pulumi/policy/schema";
import { HostAccess, hostAccessAllowList, HostNamespace, NetworkExposure, networkExposure } from "./allow-lists";
import { containersOf, items, podSpecOf } from "./workloads";

/** `<namespace>/<name>` of an object; a namespaced object without a namespace lands in `default`. */
export function qualifiedName(props: any): string {
    return `${props.metadata?.namespace ?? "default"}/${props.metadata?.name ?? "(unnamed)"}`;
}

/** The kind of a resource type token, e.g. DaemonSet for kubernetes:apps/v1:DaemonSet. */
function kindOf(type: string): string {
    return type.split(":").pop() ?? type;
}

const hostNamespaces: HostNamespace[] = ["hostNetwork", "hostPID", "hostIPC"];

/**
 * Ports a pod answers on its node's addresses, per container: its hostPorts, and on the host
 * network every port it declares (Kubernetes makes each one a host port there).
 */
export function nodePortsOf(spec: any): { container: string; port: number }[] {
    return containersOf(spec).flatMap(c => items(c.ports)
        .map((p: any) => p.hostPort ?? (spec.hostNetwork ? p.containerPort : undefined))
        .filter((port: unknown) => typeof port === "number")
        .map((port: number) => ({ container: c.name, port })));
}

const allowListSchema: PolicyConfigJSONSchema = {
    type: "array",
    items: {
        type: "object", required: ["workload", "reason"],
        properties: {
            workload: { type: "string" }, container: { type: "string" }, privileged: { type: "boolean" },
            capabilities: { type: "array", items: { type: "string" } },
            hostNamespaces: { type: "array", items: { type: "string", enum: hostNamespaces } },
            hostPaths: { type: "array", items: { type: "string" } },
            hostPorts: { type: "array", items: { type: "integer" } },
            reason: { type: "string", minLength: 1 },
        },
    },
    default: hostAccessAllowList,
};

export const hostAccessAllowlist: ResourceValidationPolicy = {
    name: "host-access-allowlist",
    description: "Privileged containers, added capabilities, host namespaces (network, PID, IPC), host ports and hostPath volumes only where the allow list names the workload, what it may have and why (policy/policies/allow-lists.ts). Fix: drop the setting, or add an entry with its reason to this policy's allowList config.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { allowList: allowListSchema } },
    validateResource: (args, report) => {
        const spec = podSpecOf(args.type, args.props);
        if (!spec) {
            return;
        }
        const workload = qualifiedName(args.props);
        const object = `${kindOf(args.type)} ${workload}`;
        const entries = items(args.getConfig<{ allowList: HostAccess[] }>().allowList).filter(e => e.workload === workload);
        const forContainer = (name: string) => entries.filter(e => e.container === undefined || e.container === name);
        const fix = (entry: string) => `Fix: drop it, or add ${entry} with its reason to the allowList config of policy host-access-allowlist.`;
        for (const ns of hostNamespaces.filter(n => spec[n])) {
            if (!entries.some(e => e.hostNamespaces?.includes(ns))) {
                report(`${object}: shares its node's ${ns} but is not allowed to. ${fix(`{workload: "${workload}", hostNamespaces: ["${ns}"]}`)}`);
            }
        }
        for (const volume of items(spec.volumes).filter(v => v.hostPath)) {
            const path = volume.hostPath.path;
            if (!entries.some(e => e.hostPaths?.includes(path))) {
                report(`${object}: mounts the host's ${path} (volume ${volume.name}) but is not allowed to. ${fix(`{workload: "${workload}", hostPaths: ["${path}"]}`)}`);
            }
        }
        for (const c of containersOf(spec)) {
            const allowed = forContainer(c.name);
            const where = `${object} container ${c.name}`;
            if (c.securityContext?.privileged && !allowed.some(e => e.privileged)) {
                report(`${where}: runs privileged but is not allowed to. ${fix(`{workload: "${workload}", container: "${c.name}", privileged: true}`)}`);
            }
            for (const capability of c.securityContext?.capabilities?.add ?? []) {
                if (!allowed.some(e => e.capabilities?.includes(capability))) {
                    report(`${where}: adds the capability ${capability} but is not allowed to. ${fix(`{workload: "${workload}", container: "${c.name}", capabilities: ["${capability}"]}`)}`);
                }
            }
        }
        for (const { container, port } of nodePortsOf(spec)) {
            if (!forContainer(container).some(e => e.hostPorts?.includes(port))) {
                report(`${object} container ${container}: answers on port ${port} of its node's addresses but is not allowed to. ${fix(`{workload: "${workload}", hostPorts: [${port}]}`)}`);
            }
        }
    },
};

/** Service types that publish a port outside the cluster. */
const publishingServiceTypes = ["NodePort", "LoadBalancer"];

const exposureSchema: PolicyConfigJSONSchema = {
    type: "array",
    items: {
        type: "object", required: ["target", "ports", "authentication"],
        properties: {
            target: { type: "string" }, ports: { type: "array", items: { type: "integer" } },
            authentication: { type: "string", minLength: 1 }, guardedBy: { type: "string" },
        },
    },
    default: networkExposure,
};

export const networkExposureAuthenticated: StackValidationPolicy = {
    name: "network-exposure-authenticated",
    description: "Every port reachable from the network (a workload's host ports or ports on the host network, a NodePort or LoadBalancer Service, a Service's externalIPs) is declared with how its callers are authenticated, and what it relies on (the host guard) is in the stack (policy/policies/allow-lists.ts). Fix: keep the port inside the cluster (no hostPort, a ClusterIP Service), or declare its authentication in this policy's exposed config.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { exposed: exposureSchema } },
    validateStack: (args, report) => {
        const exposed: NetworkExposure[] = items(args.getConfig<{ exposed: NetworkExposure[] }>().exposed);
        const workloads = new Set(items(args.resources).filter(r => podSpecOf(r.type, r.props)).map(r => qualifiedName(r.props)));
        const check = (resource: { type: string; props: any; urn: string }, port: number, what: string) => {
            const target = qualifiedName(resource.props);
            const object = `${kindOf(resource.type)} ${target}`;
            const entry = exposed.find(e => e.target === target && items(e.ports).includes(port));
            if (!entry) {
                report(`${object}: ${what} has no declared authentication. Fix: keep it inside the cluster, or add {target: "${target}", ports: [${port}], authentication: "<how callers are authenticated>"} to the exposed config of policy network-exposure-authenticated.`, resource.urn);
            } else if (entry.guardedBy && !workloads.has(entry.guardedBy)) {
                report(`${object}: ${what} has no authentication of its own ("${entry.authentication}") and relies on ${entry.guardedBy}, which the stack does not declare. Fix: switch services.hostGuard on, or keep the port inside the cluster (policy network-exposure-authenticated).`, resource.urn);
            }
        };
        for (const resource of args.resources) {
            const spec = podSpecOf(resource.type, resource.props);
            for (const port of new Set(spec ? nodePortsOf(spec).map(p => p.port) : [])) {
                check(resource, port, `port ${port} on its nodes' addresses`);
            }
            if (resource.type === "kubernetes:core/v1:Service") {
                const service = resource.props.spec ?? {};
                if (publishingServiceTypes.includes(service.type) || items(service.externalIPs).length > 0) {
                    for (const p of service.ports ?? []) {
                        check(resource, p.port, `port ${p.port}, published as ${publishingServiceTypes.includes(service.type) ? service.type : "externalIPs"},`);
                    }
                }
            }
        }
    },
};
