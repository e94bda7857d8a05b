/** Decoding a hived config the way HiveD's Go YAML decoder reads it, and collecting what is wrong. */
import { ConfigIssue } from "../errors";

/**
 * Who a finding is about: `hived` (HiveD v0.3.4 fails or crashes at startup), `rest-server`
 * (OpenPAI v1.8.0's rest-server crashes at startup reading the same file), or `advice` (both
 * start, but the config is almost surely a mistake).
 */
export type FindingSource = "hived" | "rest-server" | "advice";

/** One problem in a hived config, located by its field path. */
export interface HivedFinding extends ConfigIssue {
    source: FindingSource;
}

export const int32Max = 2 ** 31 - 1;

/** Keys HiveD silently ignores that users write by mistake, with what they meant. */
const keyHints: Record<string, string> = {
    reservationId: "renamed to pinnedCellId in HiveD v0.3",
    reservedCells: "renamed to pinnedCells in HiveD v0.3",
    pinnedCells: "pinnedCells belongs directly under the virtual cluster, not under a virtual cell",
    virtualCells: "virtualCells belongs directly under the virtual cluster",
    cellChildren: "cellChildren belongs under a physical cell",
};
/** Collects findings; the one place that tells startup failures and advice apart. */
export class Findings {
    readonly errors: HivedFinding[] = [];
    readonly warnings: HivedFinding[] = [];
    error(path: string, message: string, source: "hived" | "rest-server" = "hived"): void {
        this.errors.push({ path, message, source });
    }
    warn(path: string, message: string): void {
        this.warnings.push({ path, message, source: "advice" });
    }
}

/** Messages about what rest-server reads start with this, so users know which program fails. */
export const restServer = "OpenPAI's rest-server";
// ---- YAML shape: HiveD's struct decoding -------------------------------------------------

export function typeName(v: unknown): string {
    return Array.isArray(v) ? "a list" : v === null ? "null" : typeof v === "object" ? "a mapping" : `${typeof v} ${JSON.stringify(v)}`;
}

export function asMap(v: unknown, path: string, f: Findings, message?: string): Record<string, unknown> | undefined {
    if (v === undefined || v === null) {
        return undefined;
    }
    if (typeof v !== "object" || Array.isArray(v)) {
        f.error(path, message ?? `must be a mapping, not ${typeName(v)} (HiveD fails to parse the config)`);
        return undefined;
    }
    return v as Record<string, unknown>;
}

export function asArray(v: unknown, path: string, f: Findings): unknown[] {
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
export function asString(v: unknown, path: string, f: Findings): string | undefined {
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

export function asInt(v: unknown, path: string, f: Findings): number | undefined {
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

export function asBool(v: unknown, path: string, f: Findings): boolean | undefined {
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

export function unknownKeys(obj: Record<string, unknown>, known: string[], path: string, f: Findings, reader = "HiveD"): void {
    for (const key of Object.keys(obj)) {
        if (!known.includes(key)) {
            const hint = keyHints[key] ?? `known keys here are ${known.join(", ")}`;
            f.warn(path ? `${path}.${key}` : key, `unknown key '${key}' is silently ignored by ${reader} (${hint})`);
        }
    }
}
