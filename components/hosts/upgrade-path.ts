/**
 * Whether a cluster the last up left at `from` may go to `to` in one up, as kubeadm upgrades:
 * forward only, one minor at a time (patch releases of the same minor freely). Returns what is
 * wrong and what to do, or undefined when the move is allowed (or there was no last up). The
 * hosts check the same against the release they run (kube-packages.sh, lib.sh
 * kubernetes_upgrade_check); this one refuses in the preview, before anything runs.
 */
export function kubernetesUpgradeProblem(from: string | undefined, to: string): string | undefined {
    const parse = (version: string) => /^v?1\.(\d+)\.(\d+)/.exec(version)?.slice(1).map(Number);
    const last = from ? parse(from) : undefined;
    const next = parse(to);
    if (!last || !next) {
        return undefined;
    }
    const [fromMinor, fromPatch] = last;
    const [toMinor, toPatch] = next;
    if (toMinor < fromMinor || (toMinor === fromMinor && toPatch < fromPatch)) {
        return `openpai:cluster.kubernetesVersion is ${to}, but the cluster runs ${from}: Kubernetes is never downgraded in place (kubeadm upgrades only forward). Set it back to ${from}; going back means a new cluster from a backup taken at ${from} (docs/operating.md)`;
    }
    if (toMinor > fromMinor + 1) {
        const steps = Array.from({ length: toMinor - fromMinor - 1 }, (_, i) => `v1.${fromMinor + 1 + i}.x`);
        return `openpai:cluster.kubernetesVersion is ${to}, but the cluster runs ${from}: kubeadm upgrades one minor at a time. Set ${steps.join(", then ")}, then ${to}, with a pulumi up after each (docs/operating.md, "Upgrading Kubernetes")`;
    }
    return undefined;
}
