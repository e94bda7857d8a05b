import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";

/** Type token of the OpenPaiCluster component, whose outputs describe the stack's cluster. */
export const clusterType = "openpai:index:Cluster";

export const masterNotWorker: ResourceValidationPolicy = {
    name: "master-not-worker",
    description: "The master node is not labelled as a worker (OpenPAI's layout rule: jobs must not land on the node running the control plane and PAI services). Fix: set pai-worker: false on the master in openpai:layout.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== "kubernetes:core/v1:NodePatch" && args.type !== "kubernetes:core/v1:Node") {
            return;
        }
        const labels = args.props.metadata?.labels ?? {};
        if (labels["pai-master"] === "true" && labels["pai-worker"] === "true") {
            report(`node ${args.props.metadata?.name}: labelled both pai-master and pai-worker`);
        }
    },
};

interface ClusterFacts {
    versions?: { pai: string; kubernetes: string };
    registryMirrors?: string[];
    workerCount?: number;
    optionalServices?: string[];
}

function clusterFacts(resources: { type: string; props: Record<string, unknown> }[]): ClusterFacts[] {
    return resources.filter(r => r.type === clusterType).map(r => r.props as ClusterFacts);
}

export const knownVersionCombination: StackValidationPolicy = {
    name: "known-version-combination",
    description: "The PAI and Kubernetes versions are a combination this project has been tested with. Fix: use a listed combination, or test yours and add it to this policy's config.",
    enforcementLevel: "advisory",
    configSchema: {
        properties: {
            paiVersions: { type: "array", items: { type: "string" }, default: ["v1.8.0", "v1.8.1"] },
            kubernetesMinors: { type: "array", items: { type: "string" }, default: ["1.31", "1.32", "1.33", "1.34"] },
        },
    },
    validateStack: (args, report) => {
        const { paiVersions, kubernetesMinors } = args.getConfig<{ paiVersions: string[]; kubernetesMinors: string[] }>();
        for (const facts of clusterFacts(args.resources)) {
            if (!facts.versions) {
                continue;
            }
            const minor = facts.versions.kubernetes.replace(/^v(\d+\.\d+)\..*$/, "$1");
            if (!paiVersions.includes(facts.versions.pai) || !kubernetesMinors.includes(minor)) {
                report(`PAI ${facts.versions.pai} on Kubernetes ${facts.versions.kubernetes} is not a known-good combination (PAI ${paiVersions.join("/")} on Kubernetes ${kubernetesMinors.join("/")})`);
            }
        }
    },
};

export const mirrorsForOfflineHosts: StackValidationPolicy = {
    name: "registry-mirrors-for-offline-hosts",
    description: "Hosts that cannot reach docker.io, registry.k8s.io and nvcr.io need registry mirrors. Fix: set cluster.registryMirrors (and cluster.aptMirror).",
    enforcementLevel: "advisory",
    configSchema: { properties: { hostsOffline: { type: "boolean", default: false } } },
    validateStack: (args, report) => {
        if (!args.getConfig<{ hostsOffline: boolean }>().hostsOffline) {
            return;
        }
        for (const facts of clusterFacts(args.resources)) {
            if ((facts.registryMirrors ?? []).length === 0) {
                report("the hosts cannot reach the default registries (policy config hostsOffline) but cluster.registryMirrors is empty");
            }
        }
    },
};

export const optionalServicesInSmallCluster: StackValidationPolicy = {
    name: "optional-services-in-small-cluster",
    description: "Optional services (monitoring, marketplace) cost a small cluster a noticeable share of its CPU and memory. Fix: switch them off in openpai:services, or ignore this advisory.",
    enforcementLevel: "advisory",
    configSchema: { properties: { minWorkers: { type: "number", default: 4 } } },
    validateStack: (args, report) => {
        const { minWorkers } = args.getConfig<{ minWorkers: number }>();
        for (const facts of clusterFacts(args.resources)) {
            const on = facts.optionalServices ?? [];
            if ((facts.workerCount ?? 0) < minWorkers && on.length > 0) {
                report(`${facts.workerCount} worker(s) and optional services on: ${on.join(", ")}`);
            }
        }
    },
};
