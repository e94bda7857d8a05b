import { LabEnv, LabHost } from "../lab/lab";

/**
 * The lab's hosts for the kubeadm tests: a master, two workers and the admin's dev box. Worker 2
 * gets containerd 2.x (config `version = 3`, as on Ubuntu 24.04), the others Debian 12's 1.6.
 */
export const labHosts: { master: LabHost; workers: LabHost[]; devBox: LabHost } = {
    master: { name: "pai-master", address: "10.78.0.10" },
    workers: [{ name: "pai-worker-1", address: "10.78.0.11" }, { name: "pai-worker-2", address: "10.78.0.12", containerd: 2 }],
    devBox: { name: "pai-devbox", address: "10.78.0.20" },
};

export interface LabStackOptions {
    /** Workers in the layout (default: all of labHosts.workers). */
    workers?: LabHost[];
    /** GPU workers (8 x A100 each) instead of CPU workers: only for check-only runs (no GPUs here). */
    gpuWorkers?: boolean;
    checkOnly?: boolean;
    /** Deploy the PAI platform too (the services tier). */
    platform?: boolean;
    /** Provision the dev box too (default true). */
    devBox?: boolean;
    /** Extra openpai:cluster settings. */
    cluster?: Record<string, unknown>;
}

/**
 * A kubeadm-mode stack on the lab, as a lab behind a firewall configures it: images through the
 * lab registry as a mirror, Kubernetes packages from the lab's apt repository (a pkgs.k8s.io
 * mirror), Debian packages through the lab's apt proxy, login as the sudo user `ubuntu`.
 */
export function labStackConfig(env: LabEnv, options: LabStackOptions = {}): Record<string, unknown> {
    const workers = options.workers ?? labHosts.workers;
    const size = { mem: "2Gi", cpu: { vcore: 2 } };
    const workerSku = options.gpuWorkers
        ? { ...size, cpu: { vcore: 16 }, "computing-device": { type: "nvidia.com/gpu", model: "A100", count: 8 } }
        : size;
    return {
        "openpai:cluster": {
            name: "lab", mode: "kubeadm", checkOnly: options.checkOnly ?? false,
            registryMirrors: [`http://${env.registry}`], aptMirror: env.aptRepo, aptProxy: env.aptProxy,
            // The lab's repository re-signs what it serves with its own test key.
            aptMirrorKeyFingerprint: env.aptKeyFingerprint,
            // The lab's hosts share the machine's disk: kubelet's percentage thresholds would read
            // a busy build machine as disk pressure and taint every node.
            kubeletEvictionHard: { "memory.available": "100Mi", "nodefs.available": "1Gi", "imagefs.available": "1Gi", "nodefs.inodesFree": "1%" },
            ...options.cluster,
        },
        "openpai:ssh": { user: env.sshUser, dialAttempts: 5 },
        "openpai:layout": {
            "machine-sku": { "master-machine": size, "worker-machine": workerSku },
            "machine-list": [
                { hostname: labHosts.master.name, hostip: labHosts.master.address, "machine-type": "master-machine", "pai-master": true },
                ...workers.map(w => ({ hostname: w.name, hostip: w.address, "machine-type": "worker-machine", "pai-worker": true })),
            ],
        },
        ...(options.devBox ?? true ? { "openpai:devBox": { host: labHosts.devBox.address } } : {}),
        "openpai:services": { platform: options.platform ?? false },
    };
}
