import * as yaml from "js-yaml";
import { PaiContext } from "../context";
import { clusterRoleFor, configMap, K8sObject, serviceAccount } from "../objects";

/** The identity job pods run as (openpai-runtime init container) and the job exit spec. */
export function runtimeManifests(ctx: PaiContext): K8sObject[] {
    const exitSpec = [
        { code: 0, phrase: "Succeeded", issuer: "USER", causer: "USER", type: "NONE", stage: "COMPLETING", behavior: "UNKNOWN", reaction: "NEVER_RETRY", reason: "Job succeeded" },
        { code: 1, phrase: "UserFailed", issuer: "USER", causer: "USER", type: "USER_FAILURE", stage: "RUNNING", behavior: "UNKNOWN", reaction: "NEVER_RETRY", reason: "The job command failed" },
    ];
    return [
        serviceAccount("runtime-account", ctx.namespace),
        ...clusterRoleFor("pai-runtime", [{ apiGroups: [""], resources: ["pods", "configmaps"], verbs: ["get", "list", "watch"] }],
            { name: "runtime-account", namespace: ctx.namespace }),
        configMap("runtime-exit-spec-configuration", ctx.namespace, { "runtime-exit-spec.yaml": yaml.dump(exitSpec) }),
    ];
}
