import * as pulumi from "@pulumi/pulumi";
import { Layout, Machine, MachineSku, quantityToMi, urlHost } from "../../config";
import { PodNetworkOverlay } from "../kubernetes/kube-router";
import { managedNodeLabels, nodeLabels } from "../kubernetes/node-labels";
import { RemoteCommand } from "./commands";
import { StepPart, StepSettings } from "./scripts";
import { HostConnection, hostStep, HostStepArgs, StepInputPart } from "./step";

/** What every cluster host needs to know, besides its own machine (ClusterHosts fills it in). */
export interface HostCommonArgs {
    /** Kubernetes release (kubeadm, kubelet, kubectl). */
    kubernetesVersion: string;
    /** Container registry mirrors (URLs) for containerd's certs.d. */
    registryMirrors: string[];
    /** Mirror of pkgs.k8s.io. */
    aptMirror?: string;
    /** Fingerprint of the key aptMirror signs with, when not pkgs.k8s.io's. */
    aptMirrorKeyFingerprint?: string;
    /** Mirror of NVIDIA's container toolkit repository (reached directly, like aptMirror). */
    nvidiaRepositoryMirror?: string;
    /** HTTP proxy for apt. */
    aptProxy?: string;
    /** Logins for aptProxy and aptMirror (config/apt-logins.ts), kept in apt's auth.conf.d on each host. */
    aptLogins?: { proxy?: AptLogin; mirror?: AptLogin };
    /** host:port of the API server, for kubeadm and joining workers. */
    apiEndpoint: string;
    /** How the pod network tunnels between nodes: preflight names what a host firewall must let through. */
    podNetworkOverlay: PodNetworkOverlay;
    /** Print what each step would do instead of doing it. */
    checkOnly: boolean;
}

/** A user and password (secret) for a URL apt fetches from. */
export interface AptLogin {
    user: string;
    password: pulumi.Input<string>;
}

/**
 * The resources of one host in order: each depends on the one before (plus extra dependencies).
 * The first keeps the step helpers on the host; the later ones use that copy.
 */
export class StepChain {
    readonly steps: RemoteCommand[] = [];

    constructor(private readonly prefix: string, private readonly parent: pulumi.Resource,
                private readonly connection: HostConnection, private readonly checkOnly: boolean) {}

    /** Adds resource `id`, after the last one and `extra.dependsOn`. */
    add(id: string, args: Omit<HostStepArgs, "connection" | "checkOnly" | "helpers">, extra: { dependsOn?: pulumi.Resource[] } = {}): RemoteCommand {
        const helpers = this.steps.length === 0 ? "install" : "installed";
        const cmd = hostStep(`${this.prefix}-${id}`, { connection: this.connection, checkOnly: this.checkOnly, helpers, ...args },
            { parent: this.parent, dependsOn: [...this.steps.slice(-1), ...(extra.dependsOn ?? [])] });
        this.steps.push(cmd);
        return cmd;
    }

    /** The last resource so far. */
    last(): pulumi.Resource {
        return this.steps[this.steps.length - 1];
    }
}

/**
 * The prepare step (every host, the dev box too): apt's proxy, with the Kubernetes mirror reached
 * directly, and the logins for both (a password makes the resource's script a secret).
 */
export function preparePart(common: HostCommonArgs): StepInputPart {
    const { aptProxy, aptMirror, nvidiaRepositoryMirror, aptLogins = {} } = common;
    const directHosts = [aptMirror, nvidiaRepositoryMirror].filter((url): url is string => !!url).map(urlHost);
    return { step: "prepare", settings: {
        ...(aptProxy ? { APT_PROXY: aptProxy, APT_DIRECT_HOSTS: [...new Set(directHosts)].join(" ") } : {}),
        ...(aptProxy && aptLogins.proxy ? { APT_PROXY_USER: aptLogins.proxy.user, APT_PROXY_PASSWORD: pulumi.secret(aptLogins.proxy.password) } : {}),
        ...(aptMirror && aptLogins.mirror
            ? { APT_MIRROR: aptMirror, APT_MIRROR_USER: aptLogins.mirror.user, APT_MIRROR_PASSWORD: pulumi.secret(aptLogins.mirror.password) }
            : {}),
    } };
}

/**
 * prepare, preflight, kernel: the same on every cluster host (the host's `provision` resource);
 * `driverMode` is how a GPU worker gets its driver (preflight checks the distribution has it).
 */
export function provisionParts(machine: Machine, sku: MachineSku, common: HostCommonArgs, role: "master" | "worker", gpus: number,
                               driverMode?: "install" | "verify"): StepInputPart[] {
    return [
        preparePart(common),
        { step: "preflight", settings: {
            EXPECTED_HOSTNAME: machine.hostname, ROLE: role, SKU_MEM_MB: quantityToMi(sku.mem), SKU_VCORE: sku.cpu.vcore,
            GPU_COUNT: gpus, REGISTRY_MIRRORS: common.registryMirrors.join(" "), ...(gpus > 0 && driverMode ? { NVIDIA_DRIVER: driverMode } : {}),
            POD_NETWORK_OVERLAY: common.podNetworkOverlay.overlay, POD_NETWORK_ENCAPSULATION: common.podNetworkOverlay.encapsulation,
        } },
        { step: "kernel" },
    ];
}

/** Where the Kubernetes packages come from when not pkgs.k8s.io (lib.sh kubernetes_apt_source reads them). */
function aptMirrorSettings(common: HostCommonArgs): StepSettings {
    return {
        ...(common.aptMirror ? { APT_MIRROR: common.aptMirror } : {}),
        ...(common.aptMirrorKeyFingerprint ? { APT_KEY_FINGERPRINT: common.aptMirrorKeyFingerprint } : {}),
    };
}

/** The kube-packages step: the cluster's release of `packages` (the script's default: kubelet, kubeadm, kubectl). */
export function kubePackagesPart(common: HostCommonArgs, packages?: string): StepInputPart {
    return { step: "kube-packages", settings: {
        K8S_VERSION: common.kubernetesVersion, ...(packages ? { KUBE_PACKAGES: packages } : {}), ...aptMirrorSettings(common),
    } };
}

/**
 * The kube-upgrade step (kube-upgrade.sh): a node of the running cluster moved to the cluster's
 * release, as the control plane (`kubeadm upgrade apply`) or a worker (`kubeadm upgrade node`).
 */
export function kubeUpgradePart(common: HostCommonArgs, role: "control-plane" | "node", nodeName: string): StepPart {
    return { step: "kube-upgrade", settings: {
        K8S_VERSION: common.kubernetesVersion, UPGRADE_ROLE: role, NODE_NAME: nodeName, ...aptMirrorSettings(common),
    } };
}

/** kube-packages, then containerd (which asks kubeadm for its pause image): the host's `runtime` resource. */
export function runtimeParts(common: HostCommonArgs): StepInputPart[] {
    return [
        kubePackagesPart(common),
        { step: "containerd", settings: { K8S_VERSION: common.kubernetesVersion, REGISTRY_MIRRORS: common.registryMirrors.join(" ") } },
    ];
}

/** The node step's labels in kubectl syntax: the machine's labels set, the other managed ones removed. */
export function nodeLabelArgs(machine: Machine, layout: Layout): string {
    const labels = nodeLabels(machine, layout);
    return managedNodeLabels.map(key => key in labels ? `${key}=${labels[key]}` : `${key}-`).join(" ");
}
