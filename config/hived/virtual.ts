/** virtualClusters: what each VC asks for, and the references that keep every chain legal. */
import { dnsLabelPattern } from "../schema";
import { asArray, asInt, asMap, asString, Findings, unknownKeys } from "./decode";
import { Cell, Chain } from "./physical";

const virtualClusterKeys = ["virtualCells", "pinnedCells"];
const virtualCellKeys = ["cellType", "cellNumber"];
const pinnedCellKeys = ["pinnedCellId"];

// ---- virtual clusters --------------------------------------------------------------------

export interface VcContext {
    levels: Map<string, number>;
    chains: Map<string, Chain>;
    pinnedCells: Map<string, { cell: Cell; chain: string; path: string }>;
    f: Findings;
}

/** One VC's request: cells of a type of a chain, or a pinned cell. */
export interface Demand {
    vc: string;
    chain: string;
    level: number;
    type: string;
    number: number;
    pinned?: string;
}

export function readVirtualClusters(vcs: Record<string, unknown> | undefined, ctx: VcContext): Demand[] {
    const { levels, chains, pinnedCells, f } = ctx;
    const demand: Demand[] = [];
    /** Chains some VC has non-zero virtual cells of, or pinned cells in. */
    const referenced = new Set<string>();
    const zeroReferences: { chain: string; path: string }[] = [];
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
            for (const segment of segments.slice(1)) {
                if (!chain.types.includes(segment)) {
                    f.warn(`${cellPath}.cellType`, `segment '${segment}' is not a type of chain '${chainName}' (${chain.types.join(" > ")}): HiveD uses only the first and last segment`);
                    break;
                }
            }
            if (cell.cellNumber === undefined || cell.cellNumber === null) {
                f.warn(`${cellPath}.cellNumber`, "is missing: HiveD reads 0 and the VC gets nothing of this type; write the number of cells");
            } else if (number < 0) {
                f.warn(`${cellPath}.cellNumber`, `negative cellNumber ${number}: HiveD subtracts it from the VC's demand, which can hide an over-subscription; use a positive number`);
            } else if (number === 0) {
                zeroReferences.push({ chain: chainName, path: `${cellPath}.cellNumber` });
            }
            if (number !== 0) {
                referenced.add(chainName);
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
            referenced.add(target.chain);
            demand.push({ vc, chain: target.chain, level: target.cell.level, type: "", number: 1, pinned: id });
        });
    }
    checkZeroReferences(zeroReferences, referenced, f);
    for (const chain of chains.keys()) {
        if (!referenced.has(chain) && !zeroReferences.some(z => z.chain === chain)) {
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

/**
 * `cellNumber: 0` gives a VC nothing. It is needed only as the one reference that keeps an
 * otherwise unreferenced chain from crashing HiveD (rule 13); any other zero is a mistake.
 */
function checkZeroReferences(zeros: { chain: string; path: string }[], referenced: Set<string>, f: Findings): void {
    const kept = new Set<string>();
    for (const { chain, path } of zeros) {
        if (referenced.has(chain)) {
            f.warn(path, `cellNumber 0: the VC gets nothing of this type, and chain '${chain}' is referenced elsewhere, so this entry is not needed; remove it or give a number`);
        } else if (kept.has(chain)) {
            f.warn(path, `cellNumber 0: chain '${chain}' already has a zero reference that keeps HiveD from crashing; remove this one`);
        } else {
            kept.add(chain);
        }
    }
}
