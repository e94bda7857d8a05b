import * as pulumi from "@pulumi/pulumi";
import { Machine, MachineSku } from "../../config";
import { HostCommonArgs, kubeUpgradePart, provisionParts, runtimeParts, StepChain } from "./host-steps";
import { StepPart } from "./scripts";
import { HostConnection, StepInputPart } from "./step";
import { workerJoin } from "./worker-join";
import { workerReboot } from "./worker-reboot";
import { workerUpgrade } from "./worker-upgrade";

export interface WorkerHostArgs extends HostCommonArgs {
    /** The worker's layout entry (hostname = node name, hostip = node IP). */
    machine: Machine;
    /** Its node labels in kubectl syntax (host-steps.ts nodeLabelArgs). */
    nodeLabels: string;
    /** Its SKU: GPU count and type decide the driver and toolkit steps. */
    sku: MachineSku;
    /** SSH access to the worker. */
    connection: HostConnection;
    /** SSH access to the master, where its join token is made and its node labelled (and drained on removal). */
    masterConnection: HostConnection;
    /**
     * NVIDIA driver branch, whether to install it or verify the admin's, its kernel modules (open or
     * proprietary), the toolkit version, and the key of nvidiaRepositoryMirror when it re-signs.
     */
    driver: { branch: string; mode: "install" | "verify"; kernelModules: "open" | "proprietary"; toolkitVersion: string;
        repositoryKeyFingerprint?: string };
    /** SSH port, closed to new sessions between a reboot's scheduling and the reboot. */
    sshPort: number;
    /** cluster.workerRebootRevision ("" when unset) and cluster.rebootBatchSize (worker-reboot.ts, worker-upgrade.ts). */
    reboots: { revision: string; batchSize: number };
    /** The master's last step: joining waits for it. */
    masterReady: pulumi.Resource;
    /** The master's upgrade step: a worker's upgrade waits for the control plane's. */
    masterUpgraded: pulumi.Resource;
    /** The pod network: the node is Ready only with it, and is drained before it goes. */
    podNetwork?: pulumi.Resource;
    /** The join this worker's join waits for (worker-join.ts joinPredecessors); none in the first batch. */
    joinAfter?: pulumi.Resource;
}

/**
 * A worker in four or five resources, one per stage, so a large cluster's preview stays small
 * while a script edit still updates exactly the resources that run it:
 * - `provision`: prepare, preflight, kernel;
 * - `reboots` (worker-reboot.ts; on GPU SKUs, or with cluster.workerRebootRevision set): the NVIDIA
 *   driver and the reboot it or the revision asks for, the node drained first and uncordoned once
 *   the new boot answers (nvidia-smi seeing its GPUs);
 * - `runtime`: Kubernetes packages, containerd, and the NVIDIA container toolkit on GPU SKUs;
 * - `upgrade` (worker-upgrade.ts): a node at another release than cluster.kubernetesVersion drained,
 *   upgraded and uncordoned, after the control plane's upgrade;
 * - `join` (worker-join.ts): token, kubeadm join, node labels and Ready; on removal the node
 *   drained and deleted, then the host reset.
 */
export class WorkerHost extends pulumi.ComponentResource {
    /** The join (its node labelled and Ready): done means the node is ready for PAI. */
    public readonly ready: pulumi.Resource;

    constructor(name: string, args: WorkerHostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("openpai:hosts:WorkerHost", name, {}, opts);
        const { machine, connection, checkOnly } = args;
        const gpus = args.sku["computing-device"]?.type === "nvidia.com/gpu" ? args.sku["computing-device"].count : 0;
        const chain = new StepChain(name, this, connection, checkOnly);
        chain.add("provision", { steps: provisionParts(machine, args.sku, args, "worker", gpus, args.driver.mode) });
        const driver: StepPart[] = gpus > 0 ? [{ step: "nvidia-driver", settings: {
            DRIVER_BRANCH: args.driver.branch, NVIDIA_DRIVER: args.driver.mode, NVIDIA_KERNEL_MODULES: args.driver.kernelModules,
        } }] : [];
        const reboots = driver.length > 0 || args.reboots.revision !== "" ? [workerReboot(`${name}-reboots`, {
            connection, masterConnection: args.masterConnection, nodeName: machine.hostname, steps: driver,
            rebootRevision: args.reboots.revision, batchSize: args.reboots.batchSize, gpus, sshPort: args.sshPort, checkOnly,
        }, { parent: this, dependsOn: [chain.last()] })] : [];
        const toolkit: StepInputPart[] = gpus > 0 ? [{ step: "nvidia-toolkit", settings: {
            NVIDIA_TOOLKIT_VERSION: args.driver.toolkitVersion, K8S_VERSION: args.kubernetesVersion,
            ...(args.nvidiaRepositoryMirror ? { NVIDIA_REPOSITORY: args.nvidiaRepositoryMirror } : {}),
            ...(args.driver.repositoryKeyFingerprint ? { NVIDIA_KEY_FINGERPRINT: args.driver.repositoryKeyFingerprint } : {}),
        } }] : [];
        const runtime = chain.add("runtime", { steps: [...runtimeParts(args), ...toolkit] }, { dependsOn: reboots });
        const upgrade = workerUpgrade(`${name}-upgrade`, {
            connection, masterConnection: args.masterConnection, nodeName: machine.hostname,
            upgrade: kubeUpgradePart(args, "node", machine.hostname), batchSize: args.reboots.batchSize, checkOnly,
        }, { parent: this, dependsOn: [runtime, args.masterUpgraded] });
        this.ready = workerJoin(`${name}-join`, {
            connection, masterConnection: args.masterConnection, nodeName: machine.hostname, nodeIp: machine.hostip,
            nodeLabels: args.nodeLabels, apiEndpoint: args.apiEndpoint, checkOnly,
        }, { parent: this, dependsOn: [upgrade, args.masterReady, ...(args.podNetwork ? [args.podNetwork] : []), ...(args.joinAfter ? [args.joinAfter] : [])] });
        this.registerOutputs({});
    }
}
