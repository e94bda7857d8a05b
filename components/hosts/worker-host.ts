import * as pulumi from "@pulumi/pulumi";
import { Machine, MachineSku } from "../../config";
import { HostCommonArgs, provisionParts, runtimeParts, StepChain } from "./host-steps";
import { renderStep, scriptDigest } from "./scripts";
import { HostConnection, StepInputPart } from "./step";
import { workerJoin } from "./worker-join";

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
    /** SSH port, closed to new sessions while a driver install reboots the host. */
    sshPort: number;
    /** The master's last step: joining waits for it. */
    masterReady: pulumi.Resource;
    /** The pod network: the node is Ready only with it, and is drained before it goes. */
    podNetwork?: pulumi.Resource;
    /** The join this worker's join waits for (worker-join.ts joinPredecessors); none in the first batch. */
    joinAfter?: pulumi.Resource;
}

/** Connection attempts after a driver install: 60 x (10 s timeout + pause) outlasts a GPU server's POST. */
const rebootDialAttempts = 60;

/**
 * A worker in three resources, one per stage, so a large cluster's preview stays small while a
 * script edit still updates exactly the resources that run it:
 * - `provision`: prepare, preflight, kernel, and on GPU SKUs the NVIDIA driver (last: an install
 *   reboots the host);
 * - `runtime`: after a driver install the wait for the new boot, then Kubernetes packages,
 *   containerd, and the NVIDIA container toolkit on GPU SKUs;
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
        const driver = { step: "nvidia-driver" as const, settings: {
            DRIVER_BRANCH: args.driver.branch, NVIDIA_DRIVER: args.driver.mode, NVIDIA_KERNEL_MODULES: args.driver.kernelModules, SSH_PORT: args.sshPort,
        } };
        chain.add("provision", { steps: [...provisionParts(machine, args.sku, args, "worker", gpus, args.driver.mode), ...(gpus > 0 ? [driver] : [])] });
        const reboots = gpus > 0 && args.driver.mode === "install";
        const waitBoot: StepInputPart[] = reboots ? [{ step: "wait-boot", settings: {
            GPU_COUNT: checkOnly ? 0 : gpus,
            // Runs this resource (and so the wait for the reboot) again whenever the driver step changes.
            DRIVER_REVISION: scriptDigest(renderStep(driver.step, checkOnly, driver.settings)),
        } }] : [];
        const toolkit: StepInputPart[] = gpus > 0 ? [{ step: "nvidia-toolkit", settings: {
            NVIDIA_TOOLKIT_VERSION: args.driver.toolkitVersion, K8S_VERSION: args.kubernetesVersion,
            ...(args.nvidiaRepositoryMirror ? { NVIDIA_REPOSITORY: args.nvidiaRepositoryMirror } : {}),
            ...(args.driver.repositoryKeyFingerprint ? { NVIDIA_KEY_FINGERPRINT: args.driver.repositoryKeyFingerprint } : {}),
        } }] : [];
        const runtime = chain.add("runtime", { steps: [...waitBoot, ...runtimeParts(args), ...toolkit], dialAttempts: reboots ? rebootDialAttempts : undefined });
        this.ready = workerJoin(`${name}-join`, {
            connection, masterConnection: args.masterConnection, nodeName: machine.hostname, nodeIp: machine.hostip,
            nodeLabels: args.nodeLabels, apiEndpoint: args.apiEndpoint, checkOnly,
        }, { parent: this, dependsOn: [runtime, args.masterReady, ...(args.podNetwork ? [args.podNetwork] : []), ...(args.joinAfter ? [args.joinAfter] : [])] });
        this.registerOutputs({});
    }
}
