/** HiveD v0.3.4 config as OpenPAI deploys it (see shared/hived-rules.md for the semantics). */
export interface HivedConfig {
    kubeApiServerAddress?: string;
    kubeConfigFilePath?: string;
    webServerAddress?: string;
    forcePodBindThreshold?: number;
    waitingPodSchedulingBlockMilliSec?: number;
    physicalCluster: PhysicalClusterSpec;
    virtualClusters: Record<string, VirtualClusterSpec>;
}

export interface PhysicalClusterSpec {
    /** Per-leaf resources, read by OpenPAI's rest-server (HiveD ignores it). */
    skuTypes?: Record<string, SkuTypeSpec>;
    cellTypes: Record<string, CellTypeSpec>;
    physicalCells: PhysicalCellSpec[];
}

/** One leaf cell's resources as OpenPAI's rest-server reads them (src/rest-server/src/config/vc.js). */
export interface SkuTypeSpec {
    /** Absent on CPU-only SKUs, as OpenPAI writes them. */
    gpu?: number;
    cpu: number;
    /** A quantity string such as `65334Mi` (a number crashes rest-server). */
    memory: string;
}

export interface CellTypeSpec {
    childCellType: string;
    childCellNumber: number;
    isNodeLevel?: boolean;
}

export interface PhysicalCellSpec {
    cellType?: string;
    cellAddress?: string;
    pinnedCellId?: string;
    cellChildren?: PhysicalCellSpec[];
}

export interface VirtualClusterSpec {
    virtualCells?: { cellType: string; cellNumber: number }[];
    pinnedCells?: { pinnedCellId: string }[];
}
