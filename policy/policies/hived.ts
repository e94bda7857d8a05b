import { ResourceValidationPolicy } from "@pulumi/policy";
import { validateHivedText } from "../../config/hived/validate";

/** The ConfigMap the hivedscheduler mounts, and its key. */
const hivedConfigMap = { name: "hivedscheduler-config", key: "hivedscheduler.yaml" };

function hivedReport(args: { type: string; props: any }) {
    if (args.type !== "kubernetes:core/v1:ConfigMap" || args.props.metadata?.name !== hivedConfigMap.name) {
        return undefined;
    }
    const text = args.props.data?.[hivedConfigMap.key];
    if (typeof text !== "string") {
        return { errors: [{ path: hivedConfigMap.key, message: "missing from the ConfigMap" }], warnings: [] };
    }
    return validateHivedText(text);
}

/** Capacity findings are their own policy; every other startup failure (HiveD or rest-server) is this one. */
const isCapacity = (path: string) => path.startsWith("virtualClusters (chain");

export const hivedConfigValid: ResourceValidationPolicy = {
    name: "hived-config-valid",
    description: "The hived config deployed to the scheduler passes the same validator as `openpai hived validate`: nothing HiveD v0.3.4 or OpenPAI's rest-server would fail on at startup. Fix: run `npx openpai hived validate` on it and correct the named fields.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        for (const e of hivedReport(args)?.errors.filter(x => !isCapacity(x.path)) ?? []) {
            report(`${e.path}: ${e.message}`);
        }
    },
};

export const vcCapacity: ResourceValidationPolicy = {
    name: "vc-capacity",
    description: "Every virtual cluster fits the physical capacity, both by the real cell count and by HiveD's own arithmetic. Fix: lower the VC quotas in openpai:virtualClusters or add workers.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        for (const e of hivedReport(args)?.errors.filter(x => isCapacity(x.path)) ?? []) {
            report(`${e.path}: ${e.message}`);
        }
    },
};
