import { Layout, VirtualClusters } from "../schema";
import { quotaCells, WorkerSku, workerSkus } from "../layout";
import { WorkerSizing } from "../sizing";
import { CellTypeSpec, HivedConfig, PhysicalCellSpec, SkuTypeSpec, VirtualClusterSpec } from "./types";

/** The VC that receives whatever the declared quotas leave over, as in OpenPAI. */
export const defaultVc = "default";

export function cellTypeNames(sku: string): { leaf: string; node: string; pool: string; group: (gpus: number) => string } {
    return { leaf: sku, node: `${sku}-NODE`, pool: `${sku}-NODE-POOL`, group: gpus => `${sku}-${gpus}GPU` };
}

/** Every cell type generated for a SKU: two SKUs must not share one. */
export function generatedCellTypes(sku: WorkerSku): string[] {
    const names = cellTypeNames(sku.name);
    return [names.leaf, ...sku.cellSizes.map(names.group), names.node, names.pool];
}

/**
 * Generates the hived config for a layout the way OpenPAI's generator shapes it: per worker
 * SKU a leaf type `<sku>`, a node type `<sku>-NODE` and one pool `<sku>-NODE-POOL` whose
 * children are the workers (hostname as address). Between GPU and node, GPU SKUs get a level
 * per cell size (`<sku>-<n>GPU`, config/layout.ts gpuCellSizes): HiveD places a pod inside one
 * cell of its VC, so a VC of single GPUs could run only 1-GPU pods. VC quotas become virtual
 * cells, as few and as large as the numbers allow; pinned hosts become pinned cells; capacity
 * no VC declares goes to VC `default` unless it is declared.
 */
export function generateHived(layout: Layout, vcs: VirtualClusters | undefined, sizing: WorkerSizing): HivedConfig {
    const skus = [...workerSkus(layout, sizing).values()];
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
        Object.assign(config.physicalCluster.cellTypes, skuCellTypes(sku));
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
            addCells(spec, sku, q.nodes * sku.cellsPerNode + q.cells);
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
            addCells(spec, sku, sku.hosts.length * sku.cellsPerNode - (usedLeaves.get(sku.name) ?? 0));
        }
        if (spec.virtualCells) {
            config.virtualClusters[defaultVc] = spec;
        }
    }
    keepChainsReferenced(config, skus);
    return config;
}

/** The node type and the cell types below it: `<sku>-NODE` of `<sku>-<n>GPU` cells, ..., of `<sku>` leaves. */
function skuCellTypes(sku: WorkerSku): Record<string, CellTypeSpec> {
    const names = cellTypeNames(sku.name);
    const types: Record<string, CellTypeSpec> = {};
    let child = names.leaf;
    let childSize = 1;
    for (const size of sku.cellSizes) {
        types[names.group(size)] = { childCellType: child, childCellNumber: size / childSize };
        child = names.group(size);
        childSize = size;
    }
    types[names.node] = { childCellType: child, childCellNumber: sku.cellsPerNode / childSize, isNodeLevel: true };
    return types;
}

/**
 * Adds `leaves` leaf cells of a SKU to a VC as the fewest, largest virtual cells: whole nodes,
 * then one cell of each smaller size the remainder holds. Sizes divide each other, so these
 * always pack into the nodes when the total fits.
 */
function addCells(spec: VirtualClusterSpec, sku: WorkerSku, leaves: number): void {
    const names = cellTypeNames(sku.name);
    const levels = [
        { size: sku.cellsPerNode, cellType: `${names.pool}.${names.node}` },
        ...[...sku.cellSizes].reverse().map(size => ({ size, cellType: `${names.pool}.${names.node}.${names.group(size)}` })),
        { size: 1, cellType: `${names.pool}.${names.node}.${names.leaf}` },
    ];
    let left = leaves;
    for (const { size, cellType } of levels) {
        const cellNumber = Math.floor(left / size);
        if (cellNumber > 0) {
            (spec.virtualCells ??= []).push({ cellType, cellNumber });
            left -= cellNumber * size;
        }
    }
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
