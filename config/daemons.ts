import { ServicesConfig } from "./platform-schema";
import { NodeReserve } from "./layout";

/**
 * Resource requests of the PAI daemons that run on every worker. The hived cells are sized
 * from what is left, because cells bigger than the free resources leave jobs waiting forever
 * (an OpenPAI pain point). The service manifests take their requests from this table too.
 */
export const workerDaemons = {
    nvidiaDevicePlugin: { cpu: 0.05, memoryMi: 64, service: undefined },
    fuseDevicePlugin: { cpu: 0.01, memoryMi: 16, service: undefined },
    logManager: { cpu: 0.1, memoryMi: 128, service: undefined },
    nodeExporter: { cpu: 0.1, memoryMi: 128, service: "nodeExporter" },
    jobExporter: { cpu: 0.1, memoryMi: 256, service: "jobExporter" },
    hostGuard: { cpu: 0.01, memoryMi: 32, service: "hostGuard" },
} as const satisfies Record<string, { cpu: number; memoryMi: number; service: keyof ServicesConfig | undefined }>;

/** Sum of the requests of the daemons enabled for this stack. */
export function workerReserve(services: ServicesConfig): NodeReserve {
    let cpu = 0;
    let memoryMi = 0;
    for (const daemon of Object.values(workerDaemons)) {
        if (daemon.service === undefined || services[daemon.service]) {
            cpu += daemon.cpu;
            memoryMi += daemon.memoryMi;
        }
    }
    return { cpu: Math.round(cpu * 1000) / 1000, memoryMi };
}

/**
 * Requests of the pods besides the PAI daemons that kubeadm mode puts on a worker (what this
 * project installs), taken off each worker before its cells are cut: kube-router, the pod
 * network, on every node (components/kubernetes/kube-router.ts; a unit test holds the two
 * together), and kubeadm's CoreDNS, two replicas spread over the nodes by preferred
 * anti-affinity, so one lands on a worker beside the untainted master
 * (cmd/kubeadm/app/phases/addons/dns/manifests.go at v1.34). kube-proxy requests nothing.
 * Existing mode reads the other pods from the cluster and falls back to these figures.
 */
export const clusterWorkerPods = {
    kubeRouter: { cpu: 0.25, memoryMi: 250 },
    coreDns: { cpu: 0.1, memoryMi: 70 },
} as const satisfies Record<string, NodeReserve>;
