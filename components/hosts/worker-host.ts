import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Machine, MachineSku } from "../../config";
import { hostReset } from "./host-reset";
import { baseSteps, HostCommonArgs, runtimeSteps, StepChain } from "./host-steps";
import { HostConnection, stdoutValue } from "./step";

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
    /** The master's CA hash. */
    caCertHash: pulumi.Input<string>;
    /** NVIDIA driver branch, and whether to install it or verify the admin's. */
    driver: { branch: string; mode: "install" | "verify"; toolkitVersion: string };
    /** SSH port, closed to new sessions while a driver install reboots the host. */
    sshPort: number;
    /** The master's last step: joining waits for it. */
    masterReady: pulumi.Resource;
    /** The pod network: the node is Ready only with it, and is drained before it goes. */
    podNetwork?: pulumi.Resource;
}

/** Connection attempts after a driver install: 60 x (10 s timeout + pause) outlasts a GPU server's POST. */
const rebootDialAttempts = 60;

/**
 * A worker: prerequisites, NVIDIA driver and container toolkit on GPU SKUs (rebooting only
 * when the driver changed), containerd, kubeadm join with a fresh token; its node is labelled
 * from the master. Removing the worker drains and deletes its node first, then resets the host
 * (skipped with a note when the host is dead).
 */
export class WorkerHost extends pulumi.ComponentResource {
    public readonly steps: command.remote.Command[];
    /** The node step on the master (labels): done means the node is ready for PAI. */
    public readonly ready: command.remote.Command;

    constructor(name: string, args: WorkerHostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("openpai:hosts:WorkerHost", name, {}, opts);
        const { machine, connection, checkOnly } = args;
        const gpus = args.sku["computing-device"]?.type === "nvidia.com/gpu" ? args.sku["computing-device"].count : 0;
        const chain = new StepChain(name, this, connection, checkOnly);
        baseSteps(chain, machine, args.sku, args, "worker", gpus);
        if (gpus > 0) {
            const driver = chain.add("nvidia-driver", { step: "nvidia-driver", settings: {
                DRIVER_BRANCH: args.driver.branch, NVIDIA_DRIVER: args.driver.mode, SSH_PORT: args.sshPort,
            } });
            if (args.driver.mode === "install") {
                chain.add("wait-boot", { step: "wait-boot", dialAttempts: rebootDialAttempts, settings: {
                    REBOOTED: stdoutValue(driver, "reboot"), PREVIOUS_BOOT_ID: stdoutValue(driver, "boot_id"),
                    GPU_COUNT: checkOnly ? 0 : gpus,
                } });
            }
        }
        runtimeSteps(chain, args);
        if (gpus > 0) {
            chain.add("nvidia-toolkit", { step: "nvidia-toolkit", settings: {
                NVIDIA_TOOLKIT_VERSION: args.driver.toolkitVersion, K8S_VERSION: args.kubernetesVersion,
            } });
        }
        const reset = hostReset(`${name}-reset`, { connection, nodeName: machine.hostname, checkOnly }, { parent: this, dependsOn: chain.last() });
        const token = chain.add("join-token", { step: "join-token", secretStdout: true, settings: { NODE_NAME: machine.hostname } },
            { connection: args.masterConnection, dependsOn: [reset, args.masterReady] });
        chain.add("kubeadm-join", { step: "kubeadm-join", settings: {
            JOIN_TOKEN: pulumi.secret(stdoutValue(token, "token")), CA_CERT_HASH: args.caCertHash, API_ENDPOINT: args.apiEndpoint,
            EXPECTED_HOSTNAME: machine.hostname, NODE_IP: machine.hostip,
        } });
        const labels = args.nodeLabels;
        this.ready = chain.add("node", {
            step: "node",
            settings: { NODE_NAME: machine.hostname, NODE_LABELS: labels, NODE_WAIT_READY: 1 },
            onDelete: { step: "node", settings: { NODE_NAME: machine.hostname, NODE_LABELS: labels, NODE_REMOVE: 1 } },
        }, { connection: args.masterConnection, dependsOn: args.podNetwork ? [args.podNetwork] : [] });
        this.steps = chain.steps;
        this.registerOutputs({});
    }
}
