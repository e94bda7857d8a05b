/** physicalCluster.skuTypes: read by OpenPAI's rest-server at startup, ignored by HiveD. */
import { Findings, restServer, typeName, unknownKeys } from "./decode";
import { Chain } from "./physical";

const skuTypeKeys = ["gpu", "cpu", "memory"];

/** rest-server's atoi (src/rest-server/src/utils/k8sUtils.js): parseInt, and 0 for what is not a number. */
function restServerInt(v: unknown): number {
    const n = parseInt(String(v), 10);
    return Number.isNaN(n) ? 0 : n;
}

/**
 * physicalCluster.skuTypes as rest-server reads it at startup (src/rest-server/src/config/vc.js):
 * a non-empty mapping, each entry a mapping whose `memory` is a quantity string; `cpu` and `gpu`
 * go through parseInt. HiveD ignores the section.
 */
export function readSkuTypes(raw: unknown, f: Findings): Map<string, { gpu: number; cpu: number }> {
    const out = new Map<string, { gpu: number; cpu: number }>();
    const path = "physicalCluster.skuTypes";
    const isMap = typeof raw === "object" && raw !== null && !Array.isArray(raw);
    if (!isMap || Object.keys(raw).length === 0) {
        const what = raw === undefined || raw === null ? "missing" : isMap ? "empty" : `${typeName(raw)}, not a mapping`;
        f.error(path, `${what}: ${restServer} stops at startup with "Cannot find skuTypes in hivedscheduler config."; add one entry {gpu, cpu, memory: <N>Mi} per leaf cell type`, "rest-server");
        return out;
    }
    for (const [name, spec] of Object.entries(raw as Record<string, unknown>)) {
        const at = `${path}.${name}`;
        if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
            f.error(at, `is ${typeName(spec)}, not a mapping {gpu, cpu, memory}: ${restServer} crashes at startup reading it`, "rest-server");
            continue;
        }
        const entry = spec as Record<string, unknown>;
        unknownKeys(entry, skuTypeKeys, at, f, restServer);
        for (const key of ["gpu", "cpu"]) {
            const value = entry[key];
            if (value === undefined) {
                continue;
            }
            const read = restServerInt(value);
            if (read < 0) {
                f.warn(`${at}.${key}`, `is negative (${read}): ${restServer} sizes jobs with it; use the ${key === "gpu" ? "GPUs" : "vCPUs"} of one cell`);
            } else if (typeof value !== "number" || read !== value) {
                f.warn(`${at}.${key}`, `${restServer} reads ${typeName(value)} as ${read} (parseInt); write a whole number`);
            }
        }
        readSkuMemory(entry.memory, `${at}.memory`, f);
        out.set(name, { gpu: Math.max(0, restServerInt(entry.gpu)), cpu: Math.max(0, restServerInt(entry.cpu)) });
    }
    return out;
}

/** `memory` as rest-server's convertMemoryMb reads it: `.replace` on it, then the suffix decides the unit. */
function readSkuMemory(value: unknown, path: string, f: Findings): void {
    if (typeof value !== "string") {
        const crash = value === undefined || value === null
            ? `reading .replace of ${String(value)}`
            : "\"memoryStr.replace is not a function\"";
        const example = typeof value === "number" ? `'${value}Mi'` : "'65334Mi'";
        f.error(path, `${value === undefined ? "is missing" : `is ${typeName(value)}, not a string`}: ${restServer} crashes at startup (${crash}); write one cell's memory as a quantity string such as ${example}`, "rest-server");
        return;
    }
    const suffix = value.replace(/[0-9]/g, "");
    const digits = restServerInt(value);
    if (!["Ti", "Gi", "Mi", "Ki", ""].includes(suffix)) {
        f.warn(path, `'${value}': ${restServer} understands <N>Ti, <N>Gi, <N>Mi, <N>Ki or digits alone (bytes), and reads this as ${digits} bytes; write whole Mi such as '65334Mi'`);
    } else if (suffix === "" && digits < 2 ** 20) {
        f.warn(path, `'${value}' is read by ${restServer} as ${digits} bytes (under 1 MiB per cell): write '${digits}Mi' if MiB were meant`);
    } else if (digits === 0) {
        f.warn(path, `'${value}' gives each cell no memory: ${restServer} refuses every job that asks for memory on this SKU`);
    }
}
export function checkSkuTypes(chains: Map<string, Chain>, skuTypes: Map<string, unknown>, f: Findings): void {
    if (skuTypes.size === 0) {
        return;
    }
    const leafTypes = new Set([...chains.values()].map(c => c.types[c.types.length - 1]));
    for (const leaf of leafTypes) {
        if (!skuTypes.has(leaf)) {
            f.warn(`physicalCluster.skuTypes.${leaf}`, `no entry for leaf type '${leaf}': ${restServer} refuses jobs of this SKU ("unknown skuType"); add {gpu, cpu, memory: <N>Mi}`);
        }
    }
}
