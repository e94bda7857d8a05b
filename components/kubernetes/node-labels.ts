import { Machine } from "../../config";

/** Node labels OpenPAI schedules by: `pai-master`, `pai-worker`, `pai-storage`. */
export function nodeLabels(machine: Machine): Record<string, string> {
    const out: Record<string, string> = {};
    for (const role of ["pai-master", "pai-worker", "pai-storage"] as const) {
        if (machine[role]) {
            out[role] = "true";
        }
    }
    return out;
}
