import { ConfigError } from "../errors";
import { NodeResources, workerSizing } from "../sizing";
import { StackConfig } from "../stack";
import { generateHived } from "./generate";
import { HivedConfig } from "./types";
import { HivedReport, validateHived } from "./validate";

export * from "./generate";
export * from "./types";
export * from "./validate";

export interface HivedForStackOptions {
    /** Warnings are errors too. */
    strict?: boolean;
    /** Per SKU, what its nodes offer to pods, read from the cluster (existing mode; config/sizing.ts). */
    measured?: Map<string, NodeResources>;
}

/** The hived config a stack deploys, validated; throws ConfigError when HiveD would fail on it. */
export function hivedForStack(stack: StackConfig, options: HivedForStackOptions = {}): { config: HivedConfig; report: HivedReport } {
    const config = stack.hived
        ? stack.hived as unknown as HivedConfig
        : generateHived(stack.layout, stack.virtualClusters, workerSizing(stack, options.measured));
    const hostnames = stack.layout["machine-list"].map(m => m.hostname);
    const report = validateHived(config, { hostnames });
    const errors = options.strict ? [...report.errors, ...report.warnings] : report.errors;
    if (errors.length > 0) {
        throw new ConfigError(stack.hived ? "openpai:hived" : "hived config generated from openpai:virtualClusters", errors);
    }
    return { config, report };
}
