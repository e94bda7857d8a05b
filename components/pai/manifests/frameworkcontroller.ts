import * as yaml from "js-yaml";
import { externalImages, PaiContext } from "../context";
import { accessFor, configMap, container, K8sObject, labels, onMaster, serviceAccount, ServiceAccess, sha256Annotation, statefulSet } from "../objects";

/** Where the image runs FrameworkController from (build/frameworkcontroller/Dockerfile of FC v1.0.1: WORKDIR, ENTRYPOINT ./start.sh). */
export const frameworkControllerWorkdir = "/opt/frameworkcontroller/frameworkcontroller";
/** The Framework CRD's name. */
export const frameworkCrdName = "frameworks.frameworkcontroller.microsoft.com";
/** The API group of Frameworks. */
export const frameworkGroup = "frameworkcontroller.microsoft.com";

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
            group: frameworkGroup,
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
 * What FrameworkController v1.0.1 calls (upstream binds cluster-admin). It watches ConfigMaps,
 * Pods and Frameworks of every namespace (pkg/controller/controller.go NewFrameworkController:
 * informers without a namespace), so those reads are cluster-wide; it writes only in the
 * namespace of each Framework, and OpenPAI puts every Framework in the PAI namespace. The CRD:
 * PutCRD (pkg/internal/utils.go) gets it and puts its own spec; the program creates it.
 */
export function frameworkControllerAccess(ctx: PaiContext): ServiceAccess {
    return {
        cluster: [
            { apiGroups: [""], resources: ["configmaps", "pods"], verbs: ["list", "watch"] },
            { apiGroups: [frameworkGroup], resources: ["frameworks"], verbs: ["list", "watch"] },
            { apiGroups: ["apiextensions.k8s.io"], resources: ["customresourcedefinitions"], resourceNames: [frameworkCrdName], verbs: ["get", "update"] },
        ],
        namespaces: {
            [ctx.namespace]: [
                // A Framework's ConfigMap and task Pods: getOrCleanup/create/delete ConfigMap and Pod.
                { apiGroups: [""], resources: ["configmaps", "pods"], verbs: ["get", "create", "delete"] },
                // updateRemoteFrameworkStatus; deleteFramework, once a completed one is past its retention.
                { apiGroups: [frameworkGroup], resources: ["frameworks"], verbs: ["get", "update", "delete"] },
                // The ConfigMap's owner is its Framework and a Pod's its ConfigMap, with blockOwnerDeletion
                // (pkg/apis/frameworkcontroller/v1/funcs.go NewConfigMap, NewPod): where the
                // OwnerReferencesPermissionEnforcement admission plugin is on, that takes update on the owner's finalizers.
                { apiGroups: [frameworkGroup], resources: ["frameworks/finalizers"], verbs: ["update"] },
                { apiGroups: [""], resources: ["configmaps/finalizers"], verbs: ["update"] },
            ],
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
        ...accessFor("pai-frameworkcontroller", account, frameworkControllerAccess(ctx)),
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
