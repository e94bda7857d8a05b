import * as yaml from "js-yaml";
import { externalImages, PaiContext } from "../context";
import { clusterRoleBinding, configMap, container, K8sObject, labels, onMaster, serviceAccount, statefulSet } from "../objects";

/** The Framework CRD as FrameworkController v1.0 declares it (apiextensions v1, no status subresource). */
export function frameworkCrd(): K8sObject {
    return {
        apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition",
        metadata: { name: "frameworks.frameworkcontroller.microsoft.com", labels: labels("frameworkcontroller") },
        spec: {
            group: "frameworkcontroller.microsoft.com",
            scope: "Namespaced",
            names: { plural: "frameworks", singular: "framework", kind: "Framework", shortNames: ["fw"] },
            versions: [{
                name: "v1", served: true, storage: true,
                schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
            }],
        },
    };
}

/** FrameworkController: runs every job as a Framework; it also (re)writes its CRD at start. */
export function frameworkControllerManifests(ctx: PaiContext): K8sObject[] {
    const account = { name: "frameworkcontroller", namespace: ctx.namespace };
    const config = {
        kubeClientQps: 200, kubeClientBurst: 300, workerNumber: 500,
        largeFrameworkCompression: true, frameworkCompletedRetainSec: 2592000,
    };
    return [
        frameworkCrd(),
        serviceAccount(account.name, account.namespace),
        clusterRoleBinding("frameworkcontroller", "cluster-admin", account),
        configMap("frameworkcontroller-config", ctx.namespace, { "frameworkcontroller.yaml": yaml.dump(config) }),
        statefulSet({
            name: "frameworkcontroller", namespace: ctx.namespace,
            podSpec: {
                ...onMaster,
                serviceAccountName: account.name,
                priorityClassName: "pai-daemon-priority",
                containers: [container({
                    name: "frameworkcontroller", image: externalImages.frameworkcontroller,
                    requests: { cpu: "200m", memory: "512Mi" },
                    workingDir: "/frameworkcontroller",
                    volumeMounts: [{ name: "config", mountPath: "/frameworkcontroller/frameworkcontroller.yaml", subPath: "frameworkcontroller.yaml" }],
                })],
                volumes: [{ name: "config", configMap: { name: "frameworkcontroller-config" } }],
            },
        }),
    ];
}
