import { Policies } from "@pulumi/policy";
import { knownVersionCombination, masterNotWorker, mirrorsForOfflineHosts, optionalServicesInSmallCluster } from "./cluster";
import { noPlaintextCredentials } from "./credentials";
import { hivedConfigValid, vcCapacity } from "./hived";
import { hostAccessAllowlist, networkExposureAuthenticated } from "./host-access";
import { rbacLeastPrivilege } from "./rbac";
import { stackOutputs } from "./stack";
import { imagesPinned, resourceRequests } from "./workloads";

/** Every policy of the pack; tests import this module, never ../index.ts (which starts a server). */
export const policies: Policies = [
    hivedConfigValid,
    vcCapacity,
    imagesPinned,
    noPlaintextCredentials,
    masterNotWorker,
    resourceRequests,
    hostAccessAllowlist,
    networkExposureAuthenticated,
    rbacLeastPrivilege,
    stackOutputs,
    knownVersionCombination,
    mirrorsForOfflineHosts,
    optionalServicesInSmallCluster,
];
