import * as pulumi from "@pulumi/pulumi";
import { PaiContext } from "./context";
import { declareObjects } from "../kubernetes/kube-objects";
import { K8sObject, scaleCpuRequests } from "./objects";
import { clusterConfigurationManifests } from "./manifests/cluster-configuration";
import { databaseControllerManifests } from "./manifests/database";
import { devicePluginManifests } from "./manifests/device-plugins";
import { frameworkControllerManifests, frameworkCrdName } from "./manifests/frameworkcontroller";
import { hivedSchedulerManifests } from "./manifests/hivedscheduler";
import { hostGuardManifests } from "./manifests/host-guard";
import { logManagerManifests } from "./manifests/log-manager";
import { marketplaceManifests } from "./manifests/marketplace";
import { monitoringManifests } from "./manifests/monitoring";
import { postgresqlManifests } from "./manifests/postgresql";
import { pylonManifests } from "./manifests/pylon";
import { restServerManifests } from "./manifests/rest-server";
import { runtimeManifests } from "./manifests/runtime";
import { storageManifests } from "./manifests/storage";
import { webportalManifests } from "./manifests/webportal";

/** Each PAI service: its component type and the pure builder of its manifests. */
export const paiServices = {
    clusterConfiguration: { type: "ClusterConfiguration", manifests: clusterConfigurationManifests },
    hostGuard: { type: "HostGuard", manifests: hostGuardManifests },
    devicePlugins: { type: "DevicePlugins", manifests: devicePluginManifests },
    frameworkController: { type: "FrameworkController", manifests: frameworkControllerManifests },
    logManager: { type: "LogManager", manifests: logManagerManifests },
    postgresql: { type: "PostgreSQL", manifests: postgresqlManifests },
    databaseController: { type: "DatabaseController", manifests: databaseControllerManifests },
    hivedScheduler: { type: "HivedScheduler", manifests: hivedSchedulerManifests },
    restServer: { type: "RestServer", manifests: restServerManifests },
    runtime: { type: "Runtime", manifests: runtimeManifests },
    storage: { type: "Storage", manifests: storageManifests },
    webportal: { type: "Webportal", manifests: webportalManifests },
    monitoring: { type: "Monitoring", manifests: monitoringManifests },
    marketplace: { type: "Marketplace", manifests: marketplaceManifests },
    pylon: { type: "Pylon", manifests: pylonManifests },
} satisfies Record<string, { type: string; manifests: (ctx: PaiContext) => K8sObject[] }>;

export type PaiServiceName = keyof typeof paiServices;

export interface PaiServiceArgs {
    /** Which service (a key of paiServices). */
    service: PaiServiceName;
    /** Everything the manifests are built from (components/pai/context.ts). */
    context: PaiContext;
}

/**
 * One PAI service (type `openpai:pai:<Service>`): its manifests come from a pure builder and
 * every object becomes a typed child resource named after the component.
 */
export class PaiService extends pulumi.ComponentResource {
    /** The Kubernetes resources of this service. */
    public readonly resources: pulumi.CustomResource[];

    constructor(name: string, args: PaiServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        const spec = paiServices[args.service];
        super(`openpai:pai:${spec.type}`, name, {}, opts);
        // FrameworkController puts its own spec on the Framework CRD at every start: it owns the spec.
        const objects = scaleCpuRequests(spec.manifests(args.context), args.context.services.cpuRequestScale);
        this.resources = declareObjects(this, name, objects,
            object => object.kind === "CustomResourceDefinition" && object.metadata.name === frameworkCrdName ? { ignoreChanges: ["spec"] } : {});
        this.registerOutputs({});
    }
}
