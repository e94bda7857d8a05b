import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Machine, MachineSku, quantityToMi } from "../../config";
import { nodeLabels } from "../kubernetes/node-labels";
import { HostConnection, hostStep, stdoutValue } from "./step";

export interface WorkerHostArgs {
    /** The worker's layout entry (hostname = node name). */
    machine: Machine;
    /** Its SKU: GPU count and type decide the driver and toolkit steps. */
    sku: MachineSku;
    /** SSH access to the worker. */
    connection: HostConnection;
    /** SSH access to the master, where the node is labelled (and drained on removal). */
    masterConnection: HostConnection;
    masterIp: string;
    kubernetesVersion: string;
    /** Bootstrap token (secret) and CA hash from the master. */
    joinToken: pulumi.Input<string>;
    caCertHash: pulumi.Input<string>;
    /** NVIDIA driver branch for GPU workers. */
    driverBranch: string;
    registryMirrors: string[];
    aptMirror?: string;
    /** Print what each step would do instead of doing it. */
    checkOnly: boolean;
    /** The master's last step: joining waits for it. */
    masterReady: pulumi.Resource;
}

/**
 * A worker: prerequisites, NVIDIA driver and container toolkit on GPU SKUs (rebooting only
 * when the driver changed), containerd, kubeadm join; its node is labelled from the master.
 * Removing the worker drains and deletes its node first, then resets the host.
 */
export class WorkerHost extends pulumi.ComponentResource {
    public readonly steps: command.remote.Command[];
    /** The node step on the master (labels): done means the node is ready for PAI. */
    public readonly ready: command.remote.Command;

    constructor(name: string, args: WorkerHostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("openpai:hosts:WorkerHost", name, {}, opts);
        const { machine, connection, checkOnly } = args;
        const gpus = args.sku["computing-device"]?.type === "nvidia.com/gpu" ? args.sku["computing-device"].count : 0;
        const base = { EXPECTED_HOSTNAME: machine.hostname, K8S_VERSION: args.kubernetesVersion };
        const steps: command.remote.Command[] = [];
        const step = (id: string, stepArgs: Omit<Parameters<typeof hostStep>[1], "connection" | "checkOnly">,
                      extra: { connection?: HostConnection; dependsOn?: pulumi.Resource[] } = {}) => {
            const cmd = hostStep(`${name}-${id}`, { connection: extra.connection ?? connection, checkOnly, ...stepArgs },
                { parent: this, dependsOn: [...steps.slice(-1), ...(extra.dependsOn ?? [])] });
            steps.push(cmd);
            return cmd;
        };
        step("wait-ready", { step: "wait-ready" });
        step("preflight", { step: "preflight", settings: {
            ...base, ROLE: "worker", SKU_MEM_MB: quantityToMi(args.sku.mem), SKU_VCORE: args.sku.cpu.vcore, GPU_COUNT: gpus,
        } });
        step("kernel", { step: "kernel" });
        if (gpus > 0) {
            const driver = step("nvidia-driver", { step: "nvidia-driver", settings: { DRIVER_BRANCH: args.driverBranch } });
            step("wait-boot", { step: "wait-boot", settings: {
                REBOOTED: stdoutValue(driver, "reboot"), PREVIOUS_BOOT_ID: stdoutValue(driver, "boot_id"),
                GPU_COUNT: checkOnly ? 0 : gpus,
            } });
        }
        step("containerd", { step: "containerd", settings: { REGISTRY_MIRRORS: args.registryMirrors.join(" ") } });
        if (gpus > 0) {
            step("nvidia-toolkit", { step: "nvidia-toolkit" });
        }
        step("kube-packages", { step: "kube-packages", settings: { ...base, ...(args.aptMirror ? { APT_MIRROR: args.aptMirror } : {}) } });
        step("kubeadm-join", {
            step: "kubeadm-join",
            settings: { ...base, JOIN_TOKEN: args.joinToken, CA_CERT_HASH: args.caCertHash, MASTER_IP: args.masterIp },
            onDelete: { step: "kubeadm-reset" },
        }, { dependsOn: [args.masterReady] });
        const labels = Object.entries(nodeLabels(machine)).map(([k, v]) => `${k}=${v}`).join(" ");
        this.ready = step("node", {
            step: "node",
            settings: { NODE_NAME: machine.hostname, NODE_LABELS: labels },
            onDelete: { step: "node", settings: { NODE_NAME: machine.hostname, NODE_LABELS: labels, NODE_REMOVE: 1 } },
        }, { connection: args.masterConnection });
        this.steps = steps;
        this.registerOutputs({});
    }
}
