import { Layout, Machine } from "../../config";

/** The label NVIDIA's GPU feature discovery puts on GPU nodes; the NVIDIA device plugin runs there only. */
export const nvidiaGpuLabel = "nvidia.com/gpu.present";

/** The node labels every machine gets, set or removed: OpenPAI's roles and the NVIDIA GPU marker. */
export const managedNodeLabels = ["pai-master", "pai-worker", "pai-storage", nvidiaGpuLabel];

/**
 * Node labels of a machine: OpenPAI's roles (`pai-master`, `pai-worker`, `pai-storage`), which it
 * schedules by, and `nvidia.com/gpu.present` on machines whose SKU has NVIDIA GPUs.
 */
export function nodeLabels(machine: Machine, layout: Layout): Record<string, string> {
    const out: Record<string, string> = {};
    for (const role of ["pai-master", "pai-worker", "pai-storage"] as const) {
        if (machine[role]) {
            out[role] = "true";
        }
    }
    if (layout["machine-sku"][machine["machine-type"]]?.["computing-device"]?.type === "nvidia.com/gpu") {
        out[nvidiaGpuLabel] = "true";
    }
    return out;
}
