import { Layout, VirtualClusters } from "../schema";
import { NodeReserve, quotaCells, WorkerSku, workerSkus } from "../layout";
import { HivedConfig, PhysicalCellSpec, SkuTypeSpec, VirtualClusterSpec } from "./types";

/** The VC that receives whatever the declared quotas leave over, as in OpenPAI. */
export const defaultVc = "default";

export function cellTypeNames(sku: string): { leaf: string; node: string; pool: string } {
    return { leaf: sku, node: `${sku}-NODE`, pool: `${sku}-NODE-POOL` };
}

/**
 * Generates the hived config for a layout the way OpenPAI's generator shapes it: per worker
 * SKU a leaf type `<sku>`, a node type `<sku>-NODE` and one pool `<sku>-NODE-POOL` whose
 * children are the workers (hostname as address). VC quotas become virtual cells; pinned
 * hosts become pinned cells; capacity no VC declares goes to VC `default` unless it is declared.
 */
export function generateHived(layout: Layout, vcs: VirtualClusters | undefined, reserve: NodeReserve): HivedConfig {
    const skus = [...workerSkus(layout, reserve).values()];
    const config: HivedConfig = {
        webServerAddress: ":30096",
        waitingPodSchedulingBlockMilliSec: 50,
        physicalCluster: { skuTypes: {}, cellTypes: {}, physicalCells: [] },
        virtualClusters: {},
    };
    const pinnedId = new Map<string, string>();
    for (const [vc, quota] of Object.entries(vcs ?? {})) {
        for (const q of Object.values(quota)) {
            q.pinned.forEach(host => pinnedId.set(host, `${vc}-${host}`));
        }
    }
    for (const sku of skus) {
        const names = cellTypeNames(sku.name);
        config.physicalCluster.skuTypes![names.leaf] = leafResources(sku);
        config.physicalCluster.cellTypes[names.node] = { childCellType: names.leaf, childCellNumber: sku.cellsPerNode, isNodeLevel: true };
        config.physicalCluster.cellTypes[names.pool] = { childCellType: names.node, childCellNumber: sku.hosts.length };
        config.physicalCluster.physicalCells.push({
            cellType: names.pool,
            cellChildren: sku.hosts.map(host => {
                const cell: PhysicalCellSpec = { cellAddress: host };
                if (pinnedId.has(host)) {
                    cell.pinnedCellId = pinnedId.get(host);
                }
                return cell;
            }),
        });
    }
    const declared = vcs && Object.keys(vcs).length > 0 ? vcs : {};
    const usedLeaves = new Map<string, number>();
    for (const [vc, quota] of Object.entries(declared)) {
        const spec: VirtualClusterSpec = {};
        for (const [skuName, q] of Object.entries(quota)) {
            const sku = skus.find(s => s.name === skuName)!;
            const names = cellTypeNames(skuName);
            if (q.nodes > 0) {
                (spec.virtualCells ??= []).push({ cellType: `${names.pool}.${names.node}`, cellNumber: q.nodes });
            }
            if (q.cells > 0) {
                (spec.virtualCells ??= []).push({ cellType: `${names.pool}.${names.node}.${names.leaf}`, cellNumber: q.cells });
            }
            for (const host of q.pinned) {
                (spec.pinnedCells ??= []).push({ pinnedCellId: pinnedId.get(host)! });
            }
            usedLeaves.set(skuName, (usedLeaves.get(skuName) ?? 0) + quotaCells(q, sku));
        }
        config.virtualClusters[vc] = spec;
    }
    if (!(defaultVc in declared)) {
        const spec: VirtualClusterSpec = {};
        for (const sku of skus) {
            const names = cellTypeNames(sku.name);
            const free = sku.hosts.length * sku.cellsPerNode - (usedLeaves.get(sku.name) ?? 0);
            const nodes = Math.floor(free / sku.cellsPerNode);
            const cells = free % sku.cellsPerNode;
            if (nodes > 0) {
                (spec.virtualCells ??= []).push({ cellType: `${names.pool}.${names.node}`, cellNumber: nodes });
            }
            if (cells > 0) {
                (spec.virtualCells ??= []).push({ cellType: `${names.pool}.${names.node}.${names.leaf}`, cellNumber: cells });
            }
        }
        if (spec.virtualCells) {
            config.virtualClusters[defaultVc] = spec;
        }
    }
    keepChainsReferenced(config, skus);
    return config;
}

/**
 * HiveD crashes on a chain no VC references (hived-rules.md rule 13): a pool that no VC has
 * virtual or pinned cells of gets one zero-sized reference, and only such a pool.
 */
function keepChainsReferenced(config: HivedConfig, skus: WorkerSku[]): void {
    const vcNames = Object.keys(config.virtualClusters);
    const pinnedPools = new Map<string, string>();
    config.physicalCluster.physicalCells.forEach(pool => pool.cellChildren?.forEach(node => {
        if (node.pinnedCellId) {
            pinnedPools.set(node.pinnedCellId, pool.cellType!);
        }
    }));
    for (const sku of skus) {
        const { pool, node } = cellTypeNames(sku.name);
        const referenced = Object.values(config.virtualClusters).some(vc =>
            (vc.virtualCells ?? []).some(c => c.cellType.split(".")[0] === pool)
            || (vc.pinnedCells ?? []).some(p => pinnedPools.get(p.pinnedCellId) === pool));
        if (!referenced) {
            const holder = vcNames.includes(defaultVc) ? defaultVc : vcNames[0] ?? defaultVc;
            const spec = (config.virtualClusters[holder] ??= {});
            (spec.virtualCells ??= []).push({ cellType: `${pool}.${node}`, cellNumber: 0 });
        }
    }
}

/**
 * Resources of one leaf cell as OpenPAI's generator writes them
 * (contrib/kubespray/quick-start/services-configuration.yaml.template): what a node leaves to
 * jobs divided by its GPUs, or one vCPU each on a CPU-only SKU (no gpu key); memory as a
 * quantity string in Mi, because rest-server's convertMemoryMb calls .replace on it.
 */
function leafResources(sku: WorkerSku): SkuTypeSpec {
    const memory = (mi: number) => `${Math.max(0, Math.floor(mi))}Mi`;
    if (sku.cellUnit === "vCPU") {
        return { cpu: 1, memory: memory(sku.free.memoryMi / sku.free.cpu) };
    }
    return {
        gpu: 1,
        cpu: Math.max(0, Math.floor(sku.free.cpu / sku.cellsPerNode)),
        memory: memory(sku.free.memoryMi / sku.cellsPerNode),
    };
}
