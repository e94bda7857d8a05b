import { workerDaemons } from "../../../config";
import { externalImages, PaiContext } from "../context";
import { container, daemonRequests, daemonSet, hostPathVolume, K8sObject } from "../objects";
import { nvidiaGpuLabel } from "../../kubernetes/node-labels";

/**
 * NVIDIA's device plugin on the NVIDIA GPU nodes (labelled from the layout), and a generic
 * device plugin exposing /dev/fuse as github.com/fuse on every node: each job container asks
 * for github.com/fuse: 1 (src/rest-server/src/models/v2/job/k8s.js), so without it every job
 * pod stays Pending.
 */
export function devicePluginManifests(_ctx: PaiContext): K8sObject[] {
    const pluginDir = hostPathVolume("device-plugins", "/var/lib/kubelet/device-plugins");
    const critical = {
        priorityClassName: "system-node-critical",
        tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }, { operator: "Exists", effect: "NoExecute" }],
    };
    return [
        daemonSet({
            name: "nvidia-device-plugin", namespace: "kube-system",
            podSpec: {
                ...critical,
                nodeSelector: { [nvidiaGpuLabel]: "true" },
                containers: [container({
                    name: "nvidia-device-plugin", image: externalImages.nvidiaDevicePlugin,
                    requests: daemonRequests(workerDaemons.nvidiaDevicePlugin),
                    env: [{ name: "FAIL_ON_INIT_ERROR", value: "false" }],
                    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
                    volumeMounts: [{ name: "device-plugins", mountPath: "/var/lib/kubelet/device-plugins" }],
                })],
                volumes: [pluginDir],
            },
        }),
        daemonSet({
            name: "fuse-device-plugin", namespace: "kube-system",
            podSpec: {
                ...critical,
                containers: [container({
                    name: "fuse-device-plugin", image: externalImages.fuseDevicePlugin,
                    requests: daemonRequests(workerDaemons.fuseDevicePlugin),
                    // Every OpenPAI job requests github.com/fuse: 1; 110 matches the kubelet's default pod limit.
                    args: ["--domain", "github.com", "--device", JSON.stringify({ name: "fuse", groups: [{ count: 110, paths: [{ path: "/dev/fuse" }] }] })],
                    securityContext: { privileged: true },
                    volumeMounts: [{ name: "device-plugins", mountPath: "/var/lib/kubelet/device-plugins" }, { name: "dev", mountPath: "/dev" }],
                })],
                volumes: [pluginDir, hostPathVolume("dev", "/dev")],
            },
        }),
    ];
}
