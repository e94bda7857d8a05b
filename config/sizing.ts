/**
 * What a worker offers to job pods, from which the GPU (and CPU) cells are sized. A cell larger
 * than what the kubelet accepts lets HiveD place a whole-node job that the kubelet then refuses
 * (OutOfmemory): the job never starts. So everything on a worker that is not a job is taken off:
 * - the kernel's share of the RAM the layout declares: the node's memory capacity is the
 *   kernel's MemTotal, less than the DIMMs (a 512 GiB server reports about 503 GiB);
 * - kubelet's hard eviction threshold for memory, which it subtracts from capacity to get the
 *   allocatable memory (no system or kube reserve is configured by this project);
 * - the requests of the pods that run on every worker: the PAI daemons (config/daemons.ts) and,
 *   in kubeadm mode, what this project installs (clusterWorkerPods);
 * - OpenPAI's margin (config/layout.ts nodeFree).
 * In existing mode the nodes' allocatable, and the other DaemonSets' pods on them, are read from
 * the cluster when the program runs (components/kubernetes/node-resources.ts): `measured`.
 */
import type { StackConfig } from "./stack";
import { clusterWorkerPods, workerReserve } from "./daemons";
import { NodeReserve, quantityToMi } from "./layout";
import { MachineSku } from "./schema";

/**
 * The least share of its declared memory a worker must report as MemTotal: the cells assume it,
 * and the preflight refuses a host that reports less (components/hosts/scripts/preflight.sh).
 * struct page alone takes 1.6% of RAM; firmware and the kernel image take a little more, a crash
 * kernel reservation (kdump) more again: 97% leaves a point of slack on a server without kdump.
 */
export const memTotalPercent = 97;

/** kubelet's default hard eviction threshold for memory (pkg/kubelet/eviction/defaults_linux.go). */
export const kubeletDefaultMemoryEviction = "100Mi";

/** What a kubelet reports for a node: its capacity and allocatable, in vCPUs and MiB. */
export interface NodeResources {
    cpu: number;
    memoryMi: number;
}

/** What a worker of a SKU gives the pods of jobs and the PAI daemons. */
export interface WorkerSizing {
    /** Requests of the PAI daemons on every worker. */
    daemons: NodeReserve;
    /**
     * SKU name -> what its smallest node offers once the other pods that stay on it are counted
     * (allocatable minus their requests), read from the cluster. SKUs not here are estimated.
     */
    measured: Map<string, NodeResources>;
    /** For estimated SKUs: the pods that run on every worker besides the PAI daemons. */
    otherPods: NodeReserve;
    /** For estimated SKUs: kubelet's memory.available hard eviction threshold (undefined: none). */
    evictionMemory?: string;
}

/**
 * The sizing of a stack's workers: kubeadm mode knows what it installs; existing mode uses what
 * was read from the cluster (`measured`), and the same estimate for SKUs it could not read.
 */
export function workerSizing(config: StackConfig, measured = new Map<string, NodeResources>()): WorkerSizing {
    const pods = Object.values(clusterWorkerPods);
    return {
        daemons: workerReserve(config.services),
        measured,
        otherPods: {
            cpu: Math.round(pods.reduce((n, p) => n + p.cpu, 0) * 1000) / 1000,
            memoryMi: pods.reduce((n, p) => n + p.memoryMi, 0),
        },
        evictionMemory: memoryEviction(config.cluster.kubeletEvictionHard),
    };
}

/**
 * kubelet's memory.available threshold under these evictionHard settings: its default without
 * any; none when evictionHard is set without memory.available (kubelet v1.34 merges no defaults
 * into a set evictionHard: mergeDefaultEvictionSettings is false, cmd/kubelet/app/server.go).
 */
export function memoryEviction(evictionHard: Record<string, string> | undefined): string | undefined {
    return evictionHard ? evictionHard["memory.available"] : kubeletDefaultMemoryEviction;
}

/** The memory capacity the least host a SKU accepts reports (MemTotal), in MiB. */
export function memTotalFloorMi(sku: MachineSku): number {
    return Math.floor(quantityToMi(sku.mem) * memTotalPercent / 100);
}

/** MiB the kubelet holds back from pods for a memory.available threshold (a quantity, or a percentage of capacity). */
export function evictionMi(capacityMi: number, threshold: string | undefined): number {
    if (!threshold) {
        return 0;
    }
    if (threshold.endsWith("%")) {
        return Math.ceil(capacityMi * Number(threshold.slice(0, -1)) / 100);
    }
    const match = /^([0-9.]+)([A-Za-z]*)$/.exec(threshold)!;
    const unit: Record<string, number> = { "": 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
    return Math.ceil(Number(match[1]) * unit[match[2]] / 2 ** 20);
}

/**
 * What a kubelet on the least host of a SKU reports (the one the cells assume): memory capacity
 * at the MemTotal floor, allocatable less the eviction threshold; CPU as declared (nothing is
 * reserved).
 */
export function estimatedNode(sku: MachineSku, evictionMemory: string | undefined): { capacity: NodeResources; allocatable: NodeResources } {
    const capacity = { cpu: sku.cpu.vcore, memoryMi: memTotalFloorMi(sku) };
    return { capacity, allocatable: { cpu: capacity.cpu, memoryMi: capacity.memoryMi - evictionMi(capacity.memoryMi, evictionMemory) } };
}

/** What a worker of this SKU offers to the PAI daemons and jobs: measured, or estimated. */
export function podResources(name: string, sku: MachineSku, sizing: WorkerSizing): NodeResources {
    const measured = sizing.measured.get(name);
    if (measured) {
        return measured;
    }
    const { allocatable } = estimatedNode(sku, sizing.evictionMemory);
    return { cpu: allocatable.cpu - sizing.otherPods.cpu, memoryMi: allocatable.memoryMi - sizing.otherPods.memoryMi };
}

/** The estimated requests of every pod on a worker that is not a job: the PAI daemons and the others. */
export function podsBesideJobs(sizing: WorkerSizing): NodeReserve {
    return {
        cpu: Math.round((sizing.daemons.cpu + sizing.otherPods.cpu) * 1000) / 1000,
        memoryMi: sizing.daemons.memoryMi + sizing.otherPods.memoryMi,
    };
}
