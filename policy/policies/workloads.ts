import { ResourceValidationPolicy } from "@pulumi/policy";

/** Resource types that carry a pod template, and where its spec is. */
const podSpecPaths: Record<string, (props: any) => any> = {
    "kubernetes:apps/v1:DaemonSet": p => p.spec?.template?.spec,
    "kubernetes:apps/v1:Deployment": p => p.spec?.template?.spec,
    "kubernetes:apps/v1:StatefulSet": p => p.spec?.template?.spec,
    "kubernetes:apps/v1:ReplicaSet": p => p.spec?.template?.spec,
    "kubernetes:core/v1:ReplicationController": p => p.spec?.template?.spec,
    "kubernetes:batch/v1:Job": p => p.spec?.template?.spec,
    "kubernetes:batch/v1:CronJob": p => p.spec?.jobTemplate?.spec?.template?.spec,
    "kubernetes:core/v1:Pod": p => p.spec,
};

/** The pod spec of a workload resource, or undefined for other resources. */
export function podSpecOf(type: string, props: any): any | undefined {
    return podSpecPaths[type]?.(props);
}

/**
 * A property's array as a plain array (empty when absent). Policies see properties behind
 * @pulumi/policy's secret-preserving proxy (policy/secrets.ts), on which filter and map throw
 * (they read the proxied Array constructor's prototype); iterating works.
 */
export function items(value: any): any[] {
    return [...(value ?? [])];
}

/** Every container of a pod spec, init containers included. */
export function containersOf(spec: any): any[] {
    return [...items(spec?.initContainers), ...items(spec?.containers)];
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
