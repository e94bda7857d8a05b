/** Cell types and physical cells: the chains HiveD builds, with their nodes and pinned cells. */
import { asArray, asBool, asInt, asMap, asString, Findings, int32Max, unknownKeys } from "./decode";

/** Upper bound on expanded cells: beyond it HiveD itself would not come up in reasonable time. */
const maxCells = 20_000_000;
const cellTypeKeys = ["childCellType", "childCellNumber", "isNodeLevel"];
const physicalCellKeys = ["cellType", "cellAddress", "pinnedCellId", "cellChildren"];

export interface CellTypeInfo {
    child: string;
    childNumber: number;
    isNodeLevel: boolean;
}

/** One physical cell after expansion; leaves are counted, not materialized. */
export interface Cell {
    level: number;
    children: Cell[];
    /** Leaf cells under this one (the cell itself when it is a leaf). */
    leaves: number;
    pinned?: string;
    /** Its own address segment (a leaf's is its device index). */
    address: string;
    /** The address HiveD gives it: its parents' and its own segments joined by '/' (api/config.go inferPhysicalCellSpec). */
    fullAddress: string;
}

export interface Chain {
    name: string;
    /** Types from the chain's top type down to its leaf type. */
    types: string[];
    topLevel: number;
    tops: Cell[];
    /** The lowest isNodeLevel type: one cell of it is one Kubernetes node. */
    nodeType: string;
    /** Node name -> where it is defined. */
    nodes: Map<string, string>;
    /** Whether some node cell has no address (HiveD then names nodes by index). */
    unnamedNodes: boolean;
}
// ---- cell types --------------------------------------------------------------------------

export function readCellTypes(v: unknown, f: Findings): Map<string, CellTypeInfo> {
    const out = new Map<string, CellTypeInfo>();
    const map = asMap(v, "physicalCluster.cellTypes", f) ?? {};
    for (const [name, raw] of Object.entries(map)) {
        const path = `physicalCluster.cellTypes.${name}`;
        const spec = asMap(raw, path, f) ?? {};
        unknownKeys(spec, cellTypeKeys, path, f);
        const child = asString(spec.childCellType, `${path}.childCellType`, f) ?? "";
        const childNumber = asInt(spec.childCellNumber, `${path}.childCellNumber`, f) ?? 0;
        const isNodeLevel = asBool(spec.isNodeLevel, `${path}.isNodeLevel`, f) ?? false;
        if (child === "") {
            f.error(`${path}.childCellType`, `cell type '${name}' has no childCellType (HiveD loops forever): name its child type, or delete '${name}' if it is a leaf (GPU) type, since leaf types are not declared`);
        } else if (child === name) {
            f.error(`${path}.childCellType`, `cell type '${name}' is its own child (HiveD loops forever): leaf types are not declared in cellTypes, remove '${name}' from cellTypes`);
        }
        if (childNumber <= 0 && spec.childCellNumber !== undefined && typeof spec.childCellNumber === "number") {
            f.error(`${path}.childCellNumber`, `must be at least 1, not ${childNumber} (HiveD crashes with index out of range): set the number of '${child || "child"}' cells in one '${name}'`);
        } else if (spec.childCellNumber === undefined || spec.childCellNumber === null) {
            f.error(`${path}.childCellNumber`, `is missing (HiveD crashes with index out of range): set the number of '${child || "child"}' cells in one '${name}'`);
        }
        out.set(name, { child, childNumber, isNodeLevel });
    }
    return out;
}
/** Names of every type on or leading into a childCellType cycle; each cycle is reported once. */
export function findCycles(cellTypes: Map<string, CellTypeInfo>, f: Findings): Set<string> {
    const cyclic = new Set<string>();
    const done = new Set<string>();
    for (const start of cellTypes.keys()) {
        const trail: string[] = [];
        const onTrail = new Set<string>();
        let t: string | undefined = start;
        while (t !== undefined && cellTypes.has(t) && !done.has(t)) {
            if (onTrail.has(t)) {
                const cycle = trail.slice(trail.indexOf(t));
                if (cycle.length > 1) {
                    f.error(`physicalCluster.cellTypes.${t}.childCellType`, `cell types form a cycle ${[...cycle, t].join(" -> ")} (HiveD overflows its stack, even when the types are unused): break the cycle`);
                }
                break;
            }
            trail.push(t);
            onTrail.add(t);
            t = cellTypes.get(t)!.child || undefined;
        }
        const cycleHit = t !== undefined && (onTrail.has(t) || cyclic.has(t));
        for (const name of trail) {
            done.add(name);
            if (cycleHit) {
                cyclic.add(name);
            }
        }
    }
    return cyclic;
}

/** Level of every type reachable from cellTypes: leaves are 1, each parent adds 1. */
export function computeLevels(cellTypes: Map<string, CellTypeInfo>, cyclic: Set<string>): Map<string, number> {
    const levels = new Map<string, number>();
    const level = (t: string): number => {
        const known = levels.get(t);
        if (known !== undefined) {
            return known;
        }
        const info = cellTypes.get(t);
        const value = !info ? 1 : cyclic.has(t) || info.child === "" ? NaN : level(info.child) + 1;
        levels.set(t, value);
        return value;
    };
    for (const t of cellTypes.keys()) {
        level(t);
        const child = cellTypes.get(t)!.child;
        if (child && !cellTypes.has(child)) {
            levels.set(child, 1);
        }
    }
    return levels;
}
// ---- physical cells ----------------------------------------------------------------------

export interface PhysicalContext {
    cellTypes: Map<string, CellTypeInfo>;
    cyclic: Set<string>;
    levels: Map<string, number>;
    chains: Map<string, Chain>;
    pinnedCells: Map<string, { cell: Cell; chain: string; path: string }>;
    f: Findings;
}

function chainTypes(top: string, cellTypes: Map<string, CellTypeInfo>): string[] {
    const types = [top];
    let info = cellTypes.get(top);
    while (info) {
        types.push(info.child);
        info = cellTypes.get(info.child);
    }
    return types;
}

/** Reads physicalCells[index]: a chain's top-level cell and everything in it. */
export function readTopCell(raw: unknown, path: string, index: number, ctx: PhysicalContext): void {
    const { cellTypes, cyclic, levels, chains, f } = ctx;
    const spec = asMap(raw, path, f) ?? {};
    unknownKeys(spec, physicalCellKeys, path, f);
    const cellType = asString(spec.cellType, `${path}.cellType`, f) ?? "";
    if (!cellTypes.has(cellType)) {
        const isLeaf = levels.get(cellType) === 1;
        f.error(`${path}.cellType`, cellType === ""
            ? "a top-level physical cell needs a cellType (HiveD fails at startup): name a key of physicalCluster.cellTypes"
            : isLeaf
                ? `'${cellType}' is a leaf type and cannot be a top-level physical cell (HiveD fails at startup): use a node-level or higher type`
                : `unknown cell type '${cellType}' (HiveD fails at startup): use one of ${[...cellTypes.keys()].join(", ")}`);
        return;
    }
    if (cyclic.has(cellType) || Number.isNaN(levels.get(cellType))) {
        return;
    }
    let chain = chains.get(cellType);
    if (!chain) {
        const types = chainTypes(cellType, cellTypes);
        const nodeLevelTypes = types.filter(t => cellTypes.get(t)?.isNodeLevel);
        if (nodeLevelTypes.length === 0) {
            f.error(`${path}.cellType`, `no cell type at or below '${cellType}' has isNodeLevel: true (HiveD: "top cell must be node-level or above"): mark the type that is one machine with isNodeLevel: true`);
            return;
        }
        if (nodeLevelTypes.length > 1) {
            f.warn(`physicalCluster.cellTypes.${nodeLevelTypes[0]}.isNodeLevel`, `chain '${cellType}' has several isNodeLevel types (${nodeLevelTypes.join(", ")}): HiveD uses the lowest one as the node; mark only the type that is one machine`);
        }
        const expected = types.slice(0, -1).reduce((n, t) => n * Math.max(1, cellTypes.get(t)!.childNumber), 1);
        if (expected > maxCells) {
            f.error(`${path}.cellType`, `one '${cellType}' cell expands to ${expected} leaf cells: check the childCellNumber values`);
            return;
        }
        chain = { name: cellType, types, topLevel: levels.get(cellType)!, tops: [],
            nodeType: nodeLevelTypes[nodeLevelTypes.length - 1], nodes: new Map(), unnamedNodes: false };
        chains.set(cellType, chain);
    }
    chain.tops.push(buildCell(spec, path, chain, 0, "", ctx, index));
}

/**
 * One physical cell and its children. A cell without cellAddress gets HiveD's default: its
 * `defaultIndex`, which is its position in physicalCells at the top, and below it the parent's
 * defaultIndex (0 under a node-level cell) times the parent type's childCellNumber plus its
 * position (api/config.go inferPhysicalCellSpec): unnamed cells of two pools get different names.
 */
function buildCell(spec: Record<string, unknown>, path: string, chain: Chain, depth: number,
                   parentAddress: string, ctx: PhysicalContext, defaultIndex: number): Cell {
    const { cellTypes, f } = ctx;
    const type = chain.types[depth];
    const info = cellTypes.get(type);
    const level = chain.topLevel - depth;
    const given = asString(spec.cellAddress, `${path}.cellAddress`, f);
    const own = given ?? String(defaultIndex);
    const address = parentAddress ? `${parentAddress}/${own}` : own;
    const cell: Cell = { level, children: [], leaves: info ? 0 : 1, address: own, fullAddress: address };
    const pinned = asString(spec.pinnedCellId, `${path}.pinnedCellId`, f);
    if (pinned !== undefined && pinned !== "") {
        if (ctx.pinnedCells.has(pinned)) {
            f.warn(`${path}.pinnedCellId`, `pinnedCellId '${pinned}' is also set on ${ctx.pinnedCells.get(pinned)!.path}: HiveD keeps only the last one; make the ids unique`);
        }
        ctx.pinnedCells.set(pinned, { cell, chain: chain.name, path });
        cell.pinned = pinned;
    }
    if (!info) {
        const index = address.split("/").pop()!;
        if (given !== undefined && (!/^-?[0-9]+$/.test(index.trim()) || Math.abs(Number(index)) > int32Max)) {
            f.error(`${path}.cellAddress`, `leaf (GPU) cell addresses must be integers, the device index, not '${given}' (HiveD fails at startup)`);
        }
        if (asArray(spec.cellChildren, `${path}.cellChildren`, f).length > 0) {
            f.warn(`${path}.cellChildren`, `'${type}' is a leaf type: its cellChildren are ignored`);
        }
        return cell;
    }
    if (type === chain.nodeType) {
        recordNode(chain, address.split("/").pop()!, given === undefined, path, f);
    }
    const childIndex = (i: number) => (info.isNodeLevel ? 0 : defaultIndex) * info.childNumber + i;
    const childSpecs = asArray(spec.cellChildren, `${path}.cellChildren`, f);
    if (childSpecs.length > 0) {
        if (childSpecs.length !== info.childNumber) {
            f.warn(`${path}.cellChildren`, `${childSpecs.length} children listed but cell type '${type}' has childCellNumber ${info.childNumber}: HiveD uses the listed cells, and computes capacity from the first cell of each level`);
        }
        const leafSeen = new Set<string>();
        childSpecs.forEach((childRaw, i) => {
            const childPath = `${path}.cellChildren[${i}]`;
            const childSpec = asMap(childRaw, childPath, f) ?? {};
            unknownKeys(childSpec, physicalCellKeys, childPath, f);
            const childCellType = asString(childSpec.cellType, `${childPath}.cellType`, f);
            if (childCellType !== undefined && childCellType !== info.child) {
                f.warn(`${childPath}.cellType`, `ignored: a child of '${type}' is always a '${info.child}'`);
            }
            const child = buildCell(childSpec, childPath, chain, depth + 1, address, ctx, childIndex(i));
            if (!cellTypes.has(info.child)) {
                if (leafSeen.has(child.address)) {
                    f.warn(`${childPath}.cellAddress`, `leaf index ${child.address} appears twice in node ${address}: each GPU index must be listed once`);
                }
                leafSeen.add(child.address);
            }
            cell.children.push(child);
            cell.leaves += child.leaves;
        });
    } else if (info.childNumber > 0) {
        for (let i = 0; i < info.childNumber; i++) {
            const child = buildCell({}, `${path}.cellChildren[${i}]`, chain, depth + 1, address, ctx, childIndex(i));
            cell.children.push(child);
            cell.leaves += child.leaves;
        }
    }
    return cell;
}

function recordNode(chain: Chain, name: string, generated: boolean, path: string, f: Findings): void {
    if (generated && !chain.unnamedNodes) {
        chain.unnamedNodes = true;
        f.warn(`${path}.cellAddress`, `node cells of chain '${chain.name}' have no cellAddress: HiveD names them by index ('${name}', ...), which never matches a Kubernetes node; set cellAddress to the node's hostname`);
    }
    if (chain.nodes.has(name) && !generated) {
        f.warn(`${path}.cellAddress`, `node '${name}' appears twice in chain '${chain.name}' (also ${chain.nodes.get(name)}): HiveD double-counts it`);
    }
    chain.nodes.set(name, path);
}

export function checkNodeNames(chains: Map<string, Chain>, hostnames: string[] | undefined, f: Findings): void {
    if (!hostnames) {
        return;
    }
    const known = new Set(hostnames);
    for (const chain of chains.values()) {
        for (const [name, path] of chain.nodes) {
            if (!known.has(name) && !chain.unnamedNodes) {
                f.warn(path, `node '${name}' is not a hostname in the layout: HiveD will never see it as a Kubernetes node`);
            }
        }
    }
}
