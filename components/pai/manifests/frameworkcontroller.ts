import * as yaml from "js-yaml";
import { externalImages, PaiContext } from "../context";
import { clusterRoleBinding, configMap, container, K8sObject, labels, onMaster, serviceAccount, sha256Annotation, statefulSet } from "../objects";

/** Where the image runs FrameworkController from (build/frameworkcontroller/Dockerfile of FC v1.0.1: WORKDIR, ENTRYPOINT ./start.sh). */
export const frameworkControllerWorkdir = "/opt/frameworkcontroller/frameworkcontroller";
/** The Framework CRD's name. */
export const frameworkCrdName = "frameworks.frameworkcontroller.microsoft.com";

/**
 * The Framework CRD, declared so it exists before FrameworkController and goes on destroy.
 * FrameworkController v1.0 puts its own spec at every start (pkg/internal/utils.go PutCRD), so the
 * program owns the object and FC owns its spec (the component ignores spec changes): no drift.
 */
export function frameworkCrd(): K8sObject {
    return {
        apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition",
        metadata: { name: frameworkCrdName, labels: labels("frameworkcontroller") },
        spec: {
            group: "frameworkcontroller.microsoft.com",
            scope: "Namespaced",
            names: { plural: "frameworks", singular: "framework", kind: "Framework" },
            versions: [{
                name: "v1", served: true, storage: true,
                schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
            }],
        },
    };
}

/**
 * FrameworkController: runs every job as a Framework. Its config path is the constant
 * ./frameworkcontroller.yaml under the image's WORKDIR (pkg/apis/frameworkcontroller/v1/constants.go),
 * so the ConfigMap's file is mounted there; the image's start.sh runs unchanged.
 */
export function frameworkControllerManifests(ctx: PaiContext): K8sObject[] {
    const account = { name: "frameworkcontroller", namespace: ctx.namespace };
    // OpenPAI's settings (src/frameworkcontroller/deploy/frameworkcontroller-config.yaml.template).
    const config = yaml.dump({
        kubeClientQps: 200, kubeClientBurst: 300, workerNumber: 500,
        largeFrameworkCompression: true, frameworkCompletedRetainSec: 2147483600,
    });
    return [
        frameworkCrd(),
        serviceAccount(account.name, account.namespace),
        // FC puts its CRD and manages Frameworks, pods and ConfigMaps of every job: upstream binds cluster-admin.
        clusterRoleBinding("frameworkcontroller", "cluster-admin", account),
        configMap("frameworkcontroller-config", ctx.namespace, { "frameworkcontroller.yaml": config }),
        statefulSet({
            name: "frameworkcontroller", namespace: ctx.namespace,
            // subPath mounts do not follow ConfigMap edits: the hash rolls the pod instead.
            podAnnotations: sha256Annotation(config),
            podSpec: {
                ...onMaster,
                serviceAccountName: account.name,
                priorityClassName: "pai-daemon-priority",
                containers: [container({
                    name: "frameworkcontroller", image: externalImages.frameworkcontroller,
                    requests: { cpu: "200m", memory: "512Mi" },
                    volumeMounts: [{ name: "config", mountPath: `${frameworkControllerWorkdir}/frameworkcontroller.yaml`, subPath: "frameworkcontroller.yaml" }],
                })],
                volumes: [{ name: "config", configMap: { name: "frameworkcontroller-config" } }],
            },
        }),
    ];
}
