import { ResourceValidationPolicy } from "@pulumi/policy";

/** Resource types that carry a pod template, and where its spec is. */
const podSpecPaths: Record<string, (props: any) => any> = {
    "kubernetes:apps/v1:DaemonSet": p => p.spec?.template?.spec,
    "kubernetes:apps/v1:Deployment": p => p.spec?.template?.spec,
    "kubernetes:apps/v1:StatefulSet": p => p.spec?.template?.spec,
    "kubernetes:batch/v1:Job": p => p.spec?.template?.spec,
    "kubernetes:batch/v1:CronJob": p => p.spec?.jobTemplate?.spec?.template?.spec,
    "kubernetes:core/v1:Pod": p => p.spec,
};

/** The pod spec of a workload resource, or undefined for other resources. */
export function podSpecOf(type: string, props: any): any | undefined {
    return podSpecPaths[type]?.(props);
}

function containersOf(spec: any): any[] {
    return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
}

function workloadName(props: any): string {
    return props.metadata?.name ?? "(unnamed)";
}

/** Pinned: a sha256 digest, or a tag other than `latest` on the last path segment. */
export function imagePinned(image: string): boolean {
    if (/^[^\s@]+@sha256:[a-f0-9]{64}$/.test(image)) {
        return true;
    }
    const tag = /:([\w][\w.-]{0,127})$/.exec(image.split("/").pop() ?? "")?.[1];
    return tag !== undefined && tag !== "latest";
}

export const imagesPinned: ResourceValidationPolicy = {
    name: "images-pinned",
    description: "Every container image is pinned to a tag or digest, never `latest`. Fix: set cluster.paiVersion to a release tag, pin third-party images in components/pai/context.ts.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const spec = podSpecOf(args.type, args.props);
        for (const c of containersOf(spec)) {
            const image = String(c.image ?? "");
            if (!imagePinned(image)) {
                report(`${workloadName(args.props)}/${c.name}: image '${image}' is not pinned; use an explicit tag or @sha256 digest`);
            }
        }
    },
};

export const resourceRequests: ResourceValidationPolicy = {
    name: "resource-requests",
    description: "Every PAI container requests CPU and memory (and sets limits when QoS is on), so HiveD cells are sized from what is really free. Fix: add resources.requests (and limits).",
    enforcementLevel: "mandatory",
    configSchema: { properties: { requireLimits: { type: "boolean", default: false } } },
    validateResource: (args, report) => {
        const { requireLimits } = args.getConfig<{ requireLimits: boolean }>();
        for (const c of containersOf(podSpecOf(args.type, args.props))) {
            const r = c.resources ?? {};
            if (!r.requests?.cpu || !r.requests?.memory) {
                report(`${workloadName(args.props)}/${c.name}: no CPU and memory requests`);
            }
            if (requireLimits && (!r.limits?.cpu || !r.limits?.memory)) {
                report(`${workloadName(args.props)}/${c.name}: QoS is on (requireLimits) but CPU and memory limits are not both set`);
            }
        }
    },
};

/** PAI workloads that need host access, and why: everything else must run unprivileged. */
// The pod network (kube-router) programs the node's routes and firewall.
export const defaultPrivileged = ["fuse-device-plugin", "job-exporter", "kube-router"];
export const defaultHostNamespaces = ["postgresql", "database-controller", "prometheus", "alertmanager", "node-exporter", "job-exporter", "watchdog",
    "kube-router", "marketplace-db", "marketplace-restserver", "marketplace-webportal"];

export const privilegedAllowlist: ResourceValidationPolicy = {
    name: "privileged-allowlist",
    description: "Only the services that need it run privileged or in host namespaces (hostNetwork/hostPID). Fix: drop the setting, or add the workload to this policy's allow list in the policy config.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            privileged: { type: "array", items: { type: "string" }, default: defaultPrivileged },
            hostNamespaces: { type: "array", items: { type: "string" }, default: defaultHostNamespaces },
        },
    },
    validateResource: (args, report) => {
        const spec = podSpecOf(args.type, args.props);
        if (!spec) {
            return;
        }
        const { privileged, hostNamespaces } = args.getConfig<{ privileged: string[]; hostNamespaces: string[] }>();
        const name = workloadName(args.props);
        if ((spec.hostNetwork || spec.hostPID || spec.hostIPC) && !hostNamespaces.includes(name)) {
            report(`${name}: uses host namespaces (hostNetwork/hostPID/hostIPC) but is not in the allow list`);
        }
        for (const c of containersOf(spec)) {
            if (c.securityContext?.privileged && !privileged.includes(name)) {
                report(`${name}/${c.name}: runs privileged but is not in the allow list`);
            }
        }
    },
};
