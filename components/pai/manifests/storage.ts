import { PaiContext } from "../context";
import { K8sObject, labels } from "../objects";

type Storage = PaiContext["storage"][number];

/** Label on a storage's PersistentVolume that its claim selects (OpenPAI's example binds by a label too). */
export const storageLabel = "openpai.io/storage";

/** The PersistentVolume of an NFS storage (cluster-scoped, so named apart from other PVs). */
export function storageVolumeName(storage: Storage): string {
    return `pai-storage-${storage.name}`;
}

/**
 * The claim labels rest-server reads (src/rest-server/src/models/v2/storage.js convertVolumeSummary):
 * share "false" makes every job mount the user's own sub-directory (k8s.js: subPath userName).
 */
function claimLabels(storage: Storage): Record<string, string> {
    return { ...labels(storage.name), [storageLabel]: storage.name, ...(storage.share ? {} : { share: "false" }) };
}

/**
 * OpenPAI v1.8's team storage (docs/manual/cluster-admin/how-to-set-up-storage.md): a
 * PersistentVolumeClaim in the PAI namespace named as the storage, which rest-server lists for the
 * groups granted it and jobs mount by name (extras.storages). An NFS export gets a PersistentVolume
 * (Retain: removing the storage leaves the data on the server) bound to its claim by name; a
 * StorageClass gets a claim of its own; an existing claim is only granted.
 */
export function storageManifests(ctx: PaiContext): K8sObject[] {
    return ctx.storage.flatMap((storage): K8sObject[] => {
        if (storage.nfs) {
            const nfs = storage.nfs;
            const volume = storageVolumeName(storage);
            return [
                {
                    apiVersion: "v1", kind: "PersistentVolume",
                    metadata: { name: volume, labels: { ...labels(volume), [storageLabel]: storage.name } },
                    spec: {
                        capacity: { storage: nfs.size },
                        volumeMode: "Filesystem",
                        accessModes: ["ReadWriteMany"],
                        persistentVolumeReclaimPolicy: "Retain",
                        // No class: a default StorageClass must not provision another volume for the claim.
                        storageClassName: "",
                        ...(nfs.mountOptions.length ? { mountOptions: nfs.mountOptions } : {}),
                        nfs: { server: nfs.server, path: nfs.path, ...(nfs.readOnly ? { readOnly: true } : {}) },
                    },
                },
                {
                    apiVersion: "v1", kind: "PersistentVolumeClaim",
                    metadata: { name: storage.name, namespace: ctx.namespace, labels: claimLabels(storage) },
                    spec: {
                        accessModes: ["ReadWriteMany"],
                        storageClassName: "",
                        volumeName: volume,
                        selector: { matchLabels: { [storageLabel]: storage.name } },
                        resources: { requests: { storage: nfs.size } },
                    },
                },
            ];
        }
        if (storage.storageClass) {
            return [{
                apiVersion: "v1", kind: "PersistentVolumeClaim",
                // A class that binds on first use (WaitForFirstConsumer) leaves the claim Pending until a job mounts it.
                metadata: { name: storage.name, namespace: ctx.namespace, labels: claimLabels(storage), annotations: { "pulumi.com/skipAwait": "true" } },
                spec: {
                    accessModes: ["ReadWriteMany"],
                    storageClassName: storage.storageClass.name,
                    resources: { requests: { storage: storage.storageClass.size } },
                },
            }];
        }
        return [];
    });
}

/**
 * Each group's storages in the order of openpai:storage: a group's first one is its default
 * storage, mounted when a job names none (src/rest-server/src/models/v2/group.js
 * getStorageConfigsWithGroupInfo filterDefault, job/k8s.js).
 */
export function storageConfigsByGroup(ctx: PaiContext): Map<string, string[]> {
    const byGroup = new Map<string, string[]>();
    for (const storage of ctx.storage) {
        for (const group of storage.groups) {
            byGroup.set(group, [...byGroup.get(group) ?? [], storage.name]);
        }
    }
    return byGroup;
}
