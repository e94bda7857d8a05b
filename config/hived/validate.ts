import { ConfigIssue } from "../errors";
import { dnsLabelPattern } from "../schema";

/** What the validator found: errors HiveD would fail on, warnings for configs it accepts but that are wrong. */
export interface HivedReport {
    errors: ConfigIssue[];
    warnings: ConfigIssue[];
    /** Resources each VC is guaranteed, computed from the config (empty when there are errors). */
    capacity: VcCapacity[];
}

/** Guaranteed resources of one virtual cluster. */
export interface VcCapacity {
    vc: string;
    gpus: number;
    cpus: number;
    /** Leaf cells per leaf type (GPUs, or vCPUs on CPU-only SKUs). */
    leafCells: Record<string, number>;
}

export interface HivedValidateOptions {
    /** Layout hostnames: node addresses are checked against them when given. */
    hostnames?: string[];
}

/** Upper bound on expanded cells: beyond it HiveD itself would not come up in reasonable time. */
const maxCells = 20_000_000;
const int32Max = 2 ** 31 - 1;

const rootKeys = ["kubeApiServerAddress", "kubeConfigFilePath", "webServerAddress", "forcePodBindThreshold",
    "waitingPodSchedulingBlockMilliSec", "physicalCluster", "virtualClusters"];
const physicalClusterKeys = ["skuTypes", "cellTypes", "physicalCells"];
const cellTypeKeys = ["childCellType", "childCellNumber", "isNodeLevel"];
const physicalCellKeys = ["cellType", "cellAddress", "pinnedCellId", "cellChildren"];
const virtualClusterKeys = ["virtualCells", "pinnedCells"];
const virtualCellKeys = ["cellType", "cellNumber"];
const pinnedCellKeys = ["pinnedCellId"];
const skuTypeKeys = ["gpu", "cpu", "memory"];
/** Keys HiveD silently ignores that users write by mistake, with what they meant. */
const keyHints: Record<string, string> = {
    reservationId: "renamed to pinnedCellId in HiveD v0.3",
    reservedCells: "renamed to pinnedCells in HiveD v0.3",
    pinnedCells: "pinnedCells belongs directly under the virtual cluster, not under a virtual cell",
    virtualCells: "virtualCells belongs directly under the virtual cluster",
    cellChildren: "cellChildren belongs under a physical cell",
};

interface CellTypeInfo {
    child: string;
    childNumber: number;
    isNodeLevel: boolean;
}

/** One physical cell after expansion; leaves are counted, not materialized. */
interface Cell {
    level: number;
    children: Cell[];
    /** Leaf cells under this one (the cell itself when it is a leaf). */
    leaves: number;
    pinned?: string;
    /** Its own address segment (a leaf's is its device index). */
    address: string;
}

interface Chain {
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

/** Collects issues with a path prefix; the one place that tells errors and warnings apart. */
class Findings {
    readonly errors: ConfigIssue[] = [];
    readonly warnings: ConfigIssue[] = [];
    error(path: string, message: string): void {
        this.errors.push({ path, message });
    }
    warn(path: string, message: string): void {
        this.warnings.push({ path, message });
    }
}

/**
 * Validates a parsed hived config document the way HiveD v0.3.4 would load it: every startup
 * failure becomes an error naming the field; configs HiveD accepts but that will not work as
 * intended become warnings.
 */
export function validateHived(doc: unknown, options: HivedValidateOptions = {}): HivedReport {
    const f = new Findings();
    const root = asMap(doc, "", f, "the hived config must be a YAML mapping");
    if (!root) {
        return { errors: f.errors, warnings: f.warnings, capacity: [] };
    }
    unknownKeys(root, rootKeys, "", f);
    for (const key of ["kubeApiServerAddress", "kubeConfigFilePath", "webServerAddress"]) {
        asString(root[key], key, f);
    }
    for (const key of ["forcePodBindThreshold", "waitingPodSchedulingBlockMilliSec"]) {
        asInt(root[key], key, f);
    }
    const pc = asMap(root.physicalCluster, "physicalCluster", f) ?? {};
    unknownKeys(pc, physicalClusterKeys, "physicalCluster", f);
    const cellTypes = readCellTypes(pc.cellTypes, f);
    const skuTypes = readSkuTypes(pc.skuTypes, f);
    const physicalCells = asArray(pc.physicalCells, "physicalCluster.physicalCells", f);
    const vcs = asMap(root.virtualClusters, "virtualClusters", f);

    const cyclic = findCycles(cellTypes, f);
    const levels = computeLevels(cellTypes, cyclic);
    const chains = new Map<string, Chain>();
    const pinnedCells = new Map<string, { cell: Cell; chain: string; path: string }>();
    physicalCells.forEach((spec, i) =>
        readTopCell(spec, `physicalCluster.physicalCells[${i}]`, { cellTypes, cyclic, levels, chains, pinnedCells, f }));
    if (physicalCells.length === 0) {
        f.warn("physicalCluster.physicalCells", "no physical cells: HiveD starts but can schedule nothing");
    }
    checkNodeNames(chains, options.hostnames, f);
    checkSkuTypes(chains, pc.skuTypes, skuTypes, f);

    const demand = readVirtualClusters(vcs, { levels, chains, pinnedCells, f });
    if (f.errors.length === 0) {
        checkCapacity(chains, demand, pinnedCells, f);
    }
    const capacity = f.errors.length === 0 ? vcCapacity(demand, cellTypes, skuTypes, pinnedCells, chains) : [];
    return { errors: f.errors, warnings: f.warnings, capacity };
}

// ---- YAML shape: HiveD's struct decoding -------------------------------------------------

function typeName(v: unknown): string {
    return Array.isArray(v) ? "a list" : v === null ? "null" : typeof v === "object" ? "a mapping" : `${typeof v} ${JSON.stringify(v)}`;
}

function asMap(v: unknown, path: string, f: Findings, message?: string): Record<string, unknown> | undefined {
    if (v === undefined || v === null) {
        return undefined;
    }
    if (typeof v !== "object" || Array.isArray(v)) {
        f.error(path, message ?? `must be a mapping, not ${typeName(v)} (HiveD fails to parse the config)`);
        return undefined;
    }
    return v as Record<string, unknown>;
}

function asArray(v: unknown, path: string, f: Findings): unknown[] {
    if (v === undefined || v === null) {
        return [];
    }
    if (!Array.isArray(v)) {
        f.error(path, `must be a list, not ${typeName(v)} (HiveD fails to parse the config)`);
        return [];
    }
    return v;
}

/** Go's YAML decoder puts any scalar into a string field (cell addresses are often numbers). */
function asString(v: unknown, path: string, f: Findings): string | undefined {
    if (v === undefined || v === null) {
        return undefined;
    }
    if (typeof v === "string") {
        return v;
    }
    if (typeof v === "number" || typeof v === "boolean") {
        return String(v);
    }
    f.error(path, `must be a string, not ${typeName(v)} (HiveD fails to parse the config)`);
    return undefined;
}

function asInt(v: unknown, path: string, f: Findings): number | undefined {
    if (v === undefined || v === null) {
        return undefined;
    }
    if (typeof v !== "number" || !Number.isInteger(v) || Math.abs(v) > int32Max) {
        f.error(path, `must be a whole number (int32), not ${typeName(v)} (HiveD fails to parse the config)`);
        return undefined;
    }
    return v;
}

const yamlBools: Record<string, boolean> = { true: true, false: false, yes: true, no: false, on: true, off: false };

function asBool(v: unknown, path: string, f: Findings): boolean | undefined {
    if (v === undefined || v === null) {
        return undefined;
    }
    if (typeof v === "boolean") {
        return v;
    }
    if (typeof v === "string" && v.toLowerCase() in yamlBools) {
        return yamlBools[v.toLowerCase()];
    }
    f.error(path, `must be true or false, not ${typeName(v)} (HiveD fails to parse the config)`);
    return undefined;
}

function unknownKeys(obj: Record<string, unknown>, known: string[], path: string, f: Findings): void {
    for (const key of Object.keys(obj)) {
        if (!known.includes(key)) {
            const hint = keyHints[key] ?? `HiveD ignores it: known keys here are ${known.join(", ")}`;
            f.warn(path ? `${path}.${key}` : key, `unknown key '${key}' is silently ignored by HiveD (${hint})`);
        }
    }
}

// ---- cell types --------------------------------------------------------------------------

function readCellTypes(v: unknown, f: Findings): Map<string, CellTypeInfo> {
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

function readSkuTypes(v: unknown, f: Findings): Map<string, { gpu: number; cpu: number }> {
    const out = new Map<string, { gpu: number; cpu: number }>();
    const map = asMap(v, "physicalCluster.skuTypes", f) ?? {};
    for (const [name, raw] of Object.entries(map)) {
        const path = `physicalCluster.skuTypes.${name}`;
        const spec = asMap(raw, path, f) ?? {};
        unknownKeys(spec, skuTypeKeys, path, f);
        const num = (key: string) => {
            const value = spec[key];
            if (value !== undefined && (typeof value !== "number" || value < 0)) {
                f.warn(`${path}.${key}`, `must be a non-negative number, not ${typeName(value)} (OpenPAI's rest-server reads it)`);
                return 0;
            }
            return (value as number | undefined) ?? 0;
        };
        out.set(name, { gpu: num("gpu"), cpu: num("cpu") });
        num("memory");
    }
    return out;
}

/** Names of every type on or leading into a childCellType cycle; each cycle is reported once. */
function findCycles(cellTypes: Map<string, CellTypeInfo>, f: Findings): Set<string> {
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
function computeLevels(cellTypes: Map<string, CellTypeInfo>, cyclic: Set<string>): Map<string, number> {
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

interface PhysicalContext {
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

function readTopCell(raw: unknown, path: string, ctx: PhysicalContext): void {
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
    chain.tops.push(buildCell(spec, path, chain, 0, "", ctx));
}

function buildCell(spec: Record<string, unknown>, path: string, chain: Chain, depth: number,
                   parentAddress: string, ctx: PhysicalContext, index = 0): Cell {
    const { cellTypes, f } = ctx;
    const type = chain.types[depth];
    const info = cellTypes.get(type);
    const level = chain.topLevel - depth;
    const given = asString(spec.cellAddress, `${path}.cellAddress`, f);
    const own = given ?? String(index);
    const address = parentAddress ? `${parentAddress}/${own}` : own;
    const cell: Cell = { level, children: [], leaves: info ? 0 : 1, address: own };
    const pinned = asString(spec.pinnedCellId, `${path}.pinnedCellId`, f);
    if (pinned !== undefined && pinned !== "") {
        if (ctx.pinnedCells.has(pinned)) {
            f.warn(`${path}.pinnedCellId`, `pinnedCellId '${pinned}' is also set on ${ctx.pinnedCells.get(pinned)!.path}: HiveD keeps only one of them; make the ids unique`);
        } else {
            ctx.pinnedCells.set(pinned, { cell, chain: chain.name, path });
        }
        cell.pinned = pinned;
    }
    if (!info) {
        if (given !== undefined && !/^-?[0-9]+$/.test(given.trim()) || given !== undefined && Math.abs(Number(given)) > int32Max) {
            f.error(`${path}.cellAddress`, `leaf (GPU) cell addresses must be integers, the device index, not '${given}' (HiveD fails at startup)`);
        }
        if (asArray(spec.cellChildren, `${path}.cellChildren`, f).length > 0) {
            f.warn(`${path}.cellChildren`, `'${type}' is a leaf type: its cellChildren are ignored`);
        }
        return cell;
    }
    if (type === chain.nodeType) {
        recordNode(chain, own, given === undefined, path, f);
    }
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
            const child = buildCell(childSpec, childPath, chain, depth + 1, address, ctx, i);
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
            const child = buildCell({}, `${path}.cellChildren[${i}]`, chain, depth + 1, address, ctx, i);
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

function checkNodeNames(chains: Map<string, Chain>, hostnames: string[] | undefined, f: Findings): void {
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

function checkSkuTypes(chains: Map<string, Chain>, raw: unknown, skuTypes: Map<string, unknown>, f: Findings): void {
    if (raw === undefined || raw === null) {
        if (chains.size > 0) {
            f.warn("physicalCluster.skuTypes", "missing: OpenPAI's rest-server fails with \"Cannot find skuTypes\"; add an entry {gpu, cpu, memory} per leaf type");
        }
        return;
    }
    const leafTypes = new Set([...chains.values()].map(c => c.types[c.types.length - 1]));
    for (const leaf of leafTypes) {
        if (!skuTypes.has(leaf)) {
            f.warn(`physicalCluster.skuTypes.${leaf}`, `no entry for leaf type '${leaf}': OpenPAI's rest-server cannot size jobs on it; add {gpu, cpu, memory}`);
        }
    }
}

// ---- virtual clusters --------------------------------------------------------------------

interface VcContext {
    levels: Map<string, number>;
    chains: Map<string, Chain>;
    pinnedCells: Map<string, { cell: Cell; chain: string; path: string }>;
    f: Findings;
}

/** One VC's request: cells of a type of a chain, or a pinned cell. */
interface Demand {
    vc: string;
    chain: string;
    level: number;
    type: string;
    number: number;
    pinned?: string;
}

function readVirtualClusters(vcs: Record<string, unknown> | undefined, ctx: VcContext): Demand[] {
    const { levels, chains, pinnedCells, f } = ctx;
    const demand: Demand[] = [];
    const referenced = new Set<string>();
    const pinnedBy = new Map<string, string>();
    for (const [vc, raw] of Object.entries(vcs ?? {})) {
        const path = `virtualClusters.${vc}`;
        if (!dnsLabelPattern.test(vc) || vc.length > 63) {
            f.warn(path, `VC name '${vc}' is not a lowercase DNS-1123 label: OpenPAI builds Kubernetes object names from it (scheduler hivedscheduler-ds-${vc}); rename it`);
        }
        const spec = asMap(raw, path, f) ?? {};
        unknownKeys(spec, virtualClusterKeys, path, f);
        asArray(spec.virtualCells, `${path}.virtualCells`, f).forEach((cellRaw, j) => {
            const cellPath = `${path}.virtualCells[${j}]`;
            const cell = asMap(cellRaw, cellPath, f) ?? {};
            unknownKeys(cell, virtualCellKeys, cellPath, f);
            const cellType = asString(cell.cellType, `${cellPath}.cellType`, f) ?? "";
            const number = asInt(cell.cellNumber, `${cellPath}.cellNumber`, f) ?? 0;
            const segments = cellType.split(".");
            const chainName = segments[0];
            const type = segments[segments.length - 1];
            if (cellType === "" || type === "" || !levels.has(type)) {
                f.error(`${cellPath}.cellType`, cellType === ""
                    ? "is empty (HiveD crashes with a nil dereference): write it as <chain>.<type>, e.g. gpu-NODE-POOL.gpu-NODE"
                    : `unknown cell type '${type}' in '${cellType}' (HiveD crashes with a nil dereference): the last segment must be a type of the chain`);
                return;
            }
            const chain = chains.get(chainName);
            if (!chain) {
                f.error(`${cellPath}.cellType`, `'${chainName}' is not the cellType of any top-level physical cell, so it is not a chain (HiveD fails at startup): start with one of ${[...chains.keys()].join(", ") || "(no chains: fix physicalCells)"}`);
                return;
            }
            referenced.add(chainName);
            for (const segment of segments.slice(1)) {
                if (!chain.types.includes(segment)) {
                    f.warn(`${cellPath}.cellType`, `segment '${segment}' is not a type of chain '${chainName}' (${chain.types.join(" > ")}): HiveD uses only the first and last segment`);
                    break;
                }
            }
            if (number <= 0 && typeof cell.cellNumber === "number" || cell.cellNumber === undefined) {
                f.warn(`${cellPath}.cellNumber`, number < 0
                    ? `negative cellNumber ${number}: HiveD subtracts it from the VC's demand, which can hide an over-subscription; use a positive number`
                    : "cellNumber 0: the VC gets nothing of this type (fine only to keep an otherwise unused chain referenced)");
            }
            demand.push({ vc, chain: chainName, level: levels.get(type)!, type, number });
        });
        asArray(spec.pinnedCells, `${path}.pinnedCells`, f).forEach((pinRaw, j) => {
            const pinPath = `${path}.pinnedCells[${j}]`;
            const pin = asMap(pinRaw, pinPath, f) ?? {};
            unknownKeys(pin, pinnedCellKeys, pinPath, f);
            const id = asString(pin.pinnedCellId, `${pinPath}.pinnedCellId`, f) ?? "";
            const target = pinnedCells.get(id);
            if (!target) {
                f.error(`${pinPath}.pinnedCellId`, `no physical cell has pinnedCellId '${id}' (HiveD fails at startup): set pinnedCellId on the physical cell, or remove this entry`);
                return;
            }
            if (pinnedBy.has(id)) {
                f.error(`${pinPath}.pinnedCellId`, `pinned cell '${id}' is already used by ${pinnedBy.get(id) === vc ? "this VC" : `VC ${pinnedBy.get(id)}`} (HiveD crashes): a pinned cell belongs to one VC, once`);
                return;
            }
            pinnedBy.set(id, vc);
            demand.push({ vc, chain: target.chain, level: target.cell.level, type: "", number: 1, pinned: id });
        });
    }
    for (const chain of chains.keys()) {
        if (!referenced.has(chain)) {
            f.error("virtualClusters", `no VC references chain '${chain}' (HiveD crashes at startup): give it to a VC, or add {cellType: ${chain}, cellNumber: 0} to one`);
        }
    }
    for (const [id, { path }] of pinnedCells) {
        if (!pinnedBy.has(id)) {
            f.warn(`${path}.pinnedCellId`, `pinned cell '${id}' is used by no VC: nobody can schedule on it; add it to a VC's pinnedCells or remove the id`);
        }
    }
    return demand;
}

// ---- capacity ----------------------------------------------------------------------------

function checkCapacity(chains: Map<string, Chain>, demand: Demand[],
                       pinnedCells: Map<string, { cell: Cell; chain: string; path: string }>, f: Findings): void {
    for (const chain of chains.values()) {
        const mine = demand.filter(d => d.chain === chain.name);
        const hived = hivedArithmetic(chain, mine, false);
        const withoutNegatives = hivedArithmetic(chain, mine, true);
        const real = realPacking(chain, mine, pinnedCells);
        const path = `virtualClusters (chain ${chain.name})`;
        if (real && hived) {
            f.error(path, `over-subscribed at level ${real.level}: ${real.needed} needed, ${real.available} available (HiveD: "Insufficient physical cells at chain ${chain.name} level ${hived.level}: ${hived.needed} needed, ${hived.available} available"): lower the VC cell numbers or add machines`);
        } else if (hived) {
            f.error(path, `HiveD refuses this at startup: "Insufficient physical cells at chain ${chain.name} level ${hived.level}: ${hived.needed} needed, ${hived.available} available", although the cells exist: HiveD multiplies by the child count of the FIRST cell of each level, and the pools are uneven; put the largest pool first, make pools equal, or use one chain per pool size`);
        } else if (withoutNegatives) {
            f.error(path, `over-subscribed at level ${withoutNegatives.level} (${withoutNegatives.needed} needed, ${withoutNegatives.available} available) once negative cellNumbers are ignored: HiveD crashes on this; remove the negative cellNumbers and lower the others`);
        } else if (real) {
            f.error(path, `over-subscribed at level ${real.level}: ${real.needed} needed, only ${real.available} exist; HiveD misses this because it multiplies by the child count of the first cell of each level (uneven pools): lower the VC cell numbers or add machines`);
        }
    }
}

interface Shortfall {
    level: number;
    needed: number;
    available: number;
}

/** HiveD's own computation: top-down, using the first cell's child count at every level. */
function hivedArithmetic(chain: Chain, demand: Demand[], ignoreNegatives: boolean): Shortfall | undefined {
    const byLevel = new Map<number, number>();
    for (const d of demand) {
        const n = ignoreNegatives ? Math.max(0, d.number) : d.number;
        byLevel.set(d.level, (byLevel.get(d.level) ?? 0) + n);
    }
    let available = chain.tops.length;
    let first: Cell | undefined = chain.tops[0];
    for (let level = chain.topLevel; level >= 1; level--) {
        const needed = byLevel.get(level) ?? 0;
        const left = available - needed;
        if (left < 0) {
            return { level, needed, available };
        }
        available = left * (first?.children.length ?? 0);
        first = first?.children[0];
    }
    return undefined;
}

/**
 * The real count: pinned cells are removed first, then at each level the VCs' whole cells are
 * taken from the smallest free cells, and the children of the rest feed the next level down.
 */
function realPacking(chain: Chain, demand: Demand[],
                     pinnedCells: Map<string, { cell: Cell; chain: string; path: string }>): Shortfall | undefined {
    const taken = new Set<Cell>();
    for (const d of demand) {
        if (d.pinned) {
            taken.add(pinnedCells.get(d.pinned)!.cell);
        }
    }
    const freeLeaves = (c: Cell): number => taken.has(c) ? 0
        : c.children.length === 0 ? c.leaves : c.children.reduce((n, x) => n + freeLeaves(x), 0);
    const byLevel = new Map<number, number>();
    for (const d of demand) {
        if (!d.pinned) {
            byLevel.set(d.level, (byLevel.get(d.level) ?? 0) + Math.max(0, d.number));
        }
    }
    let pool = chain.tops.filter(c => !taken.has(c));
    for (let level = chain.topLevel; level >= 1; level--) {
        const needed = byLevel.get(level) ?? 0;
        if (needed > pool.length) {
            return { level, needed, available: pool.length };
        }
        const rest = needed === 0 ? pool : pool
            .map(c => ({ c, size: freeLeaves(c) }))
            .sort((a, b) => a.size - b.size)
            .slice(needed)
            .map(x => x.c);
        pool = [];
        for (const c of rest) {
            for (const child of c.children) {
                if (!taken.has(child)) {
                    pool.push(child);
                }
            }
        }
    }
    return undefined;
}

function vcCapacity(demand: Demand[], cellTypes: Map<string, CellTypeInfo>, skuTypes: Map<string, { gpu: number; cpu: number }>,
                    pinnedCells: Map<string, { cell: Cell; chain: string; path: string }>, chains: Map<string, Chain>): VcCapacity[] {
    const out = new Map<string, VcCapacity>();
    for (const d of demand) {
        const chain = chains.get(d.chain)!;
        const leafType = chain.types[chain.types.length - 1];
        let leaves: number;
        if (d.pinned) {
            leaves = pinnedCells.get(d.pinned)!.cell.leaves;
        } else {
            leaves = Math.max(0, d.number);
            for (let t = d.type; cellTypes.has(t); t = cellTypes.get(t)!.child) {
                leaves *= cellTypes.get(t)!.childNumber;
            }
        }
        const entry = out.get(d.vc) ?? { vc: d.vc, gpus: 0, cpus: 0, leafCells: {} };
        const sku = skuTypes.get(leafType) ?? { gpu: 0, cpu: 0 };
        entry.gpus += leaves * sku.gpu;
        entry.cpus += leaves * sku.cpu;
        entry.leafCells[leafType] = (entry.leafCells[leafType] ?? 0) + leaves;
        out.set(d.vc, entry);
    }
    return [...out.values()];
}
