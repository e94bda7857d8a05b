import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** A Kubernetes object as plain data; the manifest builders return lists of these. */
export interface K8sObject {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    [field: string]: unknown;
}

// Each class takes its own args type; the manifests are validated by the API server instead.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ObjectClass = new (name: string, args: any, opts?: pulumi.CustomResourceOptions) => pulumi.CustomResource;

/** The typed resource class of every kind the manifests use, so previews show real types. */
const classes: Record<string, ObjectClass> = {
    "v1/Namespace": k8s.core.v1.Namespace,
    "v1/ConfigMap": k8s.core.v1.ConfigMap,
    "v1/Secret": k8s.core.v1.Secret,
    "v1/Service": k8s.core.v1.Service,
    "v1/ServiceAccount": k8s.core.v1.ServiceAccount,
    "v1/PersistentVolume": k8s.core.v1.PersistentVolume,
    "v1/PersistentVolumeClaim": k8s.core.v1.PersistentVolumeClaim,
    "batch/v1/CronJob": k8s.batch.v1.CronJob,
    "apps/v1/DaemonSet": k8s.apps.v1.DaemonSet,
    "apps/v1/StatefulSet": k8s.apps.v1.StatefulSet,
    "apps/v1/Deployment": k8s.apps.v1.Deployment,
    "rbac.authorization.k8s.io/v1/ClusterRole": k8s.rbac.v1.ClusterRole,
    "rbac.authorization.k8s.io/v1/ClusterRoleBinding": k8s.rbac.v1.ClusterRoleBinding,
    "rbac.authorization.k8s.io/v1/Role": k8s.rbac.v1.Role,
    "rbac.authorization.k8s.io/v1/RoleBinding": k8s.rbac.v1.RoleBinding,
    "scheduling.k8s.io/v1/PriorityClass": k8s.scheduling.v1.PriorityClass,
    "apiextensions.k8s.io/v1/CustomResourceDefinition": k8s.apiextensions.v1.CustomResourceDefinition,
};

/** Pulumi name of an object: the owner's name, then namespace, kind and object name. */
export function objectResourceName(owner: string, object: K8sObject): string {
    const ns = object.metadata.namespace ? `${object.metadata.namespace}-` : "";
    return `${owner}-${ns}${object.kind.toLowerCase()}-${object.metadata.name}`;
}

/** Declares each object as a typed Kubernetes resource under `parent`, with extra options for some. */
export function declareObjects(parent: pulumi.Resource, owner: string, objects: K8sObject[],
                               optionsFor: (object: K8sObject) => pulumi.CustomResourceOptions = () => ({})): pulumi.CustomResource[] {
    return objects.map(object => {
        const cls = classes[`${object.apiVersion}/${object.kind}`];
        if (!cls) {
            throw new Error(`no resource class for ${object.apiVersion} ${object.kind}: add it to components/kubernetes/kube-objects.ts`);
        }
        return new cls(objectResourceName(owner, object), object, { ...optionsFor(object), parent });
    });
}
