import { ConfigError } from "../errors";
import { workerReserve } from "../daemons";
import { StackConfig } from "../stack";
import { generateHived } from "./generate";
import { HivedConfig } from "./types";
import { HivedReport, validateHived } from "./validate";

export * from "./generate";
export * from "./types";
export * from "./validate";

/** The hived config a stack deploys, validated; throws ConfigError when HiveD would fail on it. */
export function hivedForStack(stack: StackConfig, strict = false): { config: HivedConfig; report: HivedReport } {
    const config = stack.hived
        ? stack.hived as unknown as HivedConfig
        : generateHived(stack.layout, stack.virtualClusters, workerReserve(stack.services));
    const hostnames = stack.layout["machine-list"].map(m => m.hostname);
    const report = validateHived(config, { hostnames });
    const errors = strict ? [...report.errors, ...report.warnings] : report.errors;
    if (errors.length > 0) {
        throw new ConfigError(stack.hived ? "openpai:hived" : "hived config generated from openpai:virtualClusters", errors);
    }
    return { config, report };
}
