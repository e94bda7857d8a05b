import * as yaml from "js-yaml";
import { asArray, asInt, asMap, asString, Findings, HivedFinding, restServer, unknownKeys } from "./decode";
import { checkCapacity, checkSingleGpuCells, VcCapacity, vcCapacity } from "./capacity";
import { Cell, Chain, checkNodeNames, computeLevels, findCycles, readCellTypes, readTopCell } from "./physical";
import { checkSkuTypes, readSkuTypes } from "./sku-types";
import { readVirtualClusters } from "./virtual";

export { FindingSource, HivedFinding } from "./decode";
export { VcCapacity } from "./capacity";

/** What the validator found: startup failures of either consumer, and advice. */
export interface HivedReport {
    /** HiveD or rest-server would fail at startup (source `hived` or `rest-server`). */
    errors: HivedFinding[];
    /** Both start, but not as intended (source `advice`); errors in strict mode. */
    warnings: HivedFinding[];
    /** Resources each VC is guaranteed, computed from the config (empty when there are errors). */
    capacity: VcCapacity[];
}

export interface HivedValidateOptions {
    /** Layout hostnames: node addresses are checked against them when given. */
    hostnames?: string[];
}

const rootKeys = ["kubeApiServerAddress", "kubeConfigFilePath", "webServerAddress", "forcePodBindThreshold",
    "waitingPodSchedulingBlockMilliSec", "physicalCluster", "virtualClusters"];
const physicalClusterKeys = ["skuTypes", "cellTypes", "physicalCells"];

/**
 * Validates hived config text: parses it the way HiveD does (a repeated key: the last one wins),
 * notes a repeated key as the rest-server crash it is (js-yaml 3 safeLoad throws "duplicated
 * mapping key"), then validates the document (validateHived).
 */
export function validateHivedText(text: string, options: HivedValidateOptions = {}): HivedReport {
    let doc: unknown;
    try {
        doc = yaml.load(text, { json: true });
    } catch (err) {
        const reason = err instanceof yaml.YAMLException ? err.message.split("\n")[0] : String(err);
        return {
            errors: [{ path: "", message: `not valid YAML (HiveD and rest-server both fail to parse it): ${reason}`, source: "hived" }],
            warnings: [], capacity: [],
        };
    }
    const report = validateHived(doc, options);
    try {
        yaml.load(text);
    } catch (err) {
        if (err instanceof yaml.YAMLException && /duplicated mapping key/.test(err.reason)) {
            report.errors.unshift({
                path: `(line ${err.mark.line + 1})`,
                message: `a key is repeated in one mapping: ${restServer} crashes at startup (js-yaml: "duplicated mapping key"); HiveD silently keeps the last value. Keep one of them`,
                source: "rest-server",
            });
            report.capacity = [];
        }
    }
    return report;
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
        readTopCell(spec, `physicalCluster.physicalCells[${i}]`, i, { cellTypes, cyclic, levels, chains, pinnedCells, f }));
    if (physicalCells.length === 0) {
        f.warn("physicalCluster.physicalCells", "no physical cells: HiveD starts but can schedule nothing");
    }
    checkNodeNames(chains, options.hostnames, f);
    checkSkuTypes(chains, skuTypes, f);

    const demand = readVirtualClusters(vcs, { levels, chains, pinnedCells, f });
    if (f.errors.length === 0) {
        checkCapacity(chains, demand, cellTypes, pinnedCells, f);
    }
    const capacity = f.errors.length === 0 ? vcCapacity(demand, cellTypes, skuTypes, pinnedCells, chains) : [];
    checkSingleGpuCells(capacity, chains, cellTypes, skuTypes, f);
    return { errors: f.errors, warnings: f.warnings, capacity };
}
