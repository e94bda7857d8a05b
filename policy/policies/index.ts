import { Policies } from "@pulumi/policy";
import { knownVersionCombination, masterNotWorker, mirrorsForOfflineHosts, optionalServicesInSmallCluster } from "./cluster";
import { noPlaintextCredentials } from "./credentials";
import { hivedConfigValid, vcCapacity } from "./hived";
import { stackOutputs } from "./stack";
import { imagesPinned, privilegedAllowlist, resourceRequests } from "./workloads";

/** Every policy of the pack; tests import this module, never ../index.ts (which starts a server). */
export const policies: Policies = [
    hivedConfigValid,
    vcCapacity,
    imagesPinned,
    noPlaintextCredentials,
    masterNotWorker,
    resourceRequests,
    privilegedAllowlist,
    stackOutputs,
    knownVersionCombination,
    mirrorsForOfflineHosts,
    optionalServicesInSmallCluster,
];
