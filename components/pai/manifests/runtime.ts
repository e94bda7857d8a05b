import * as yaml from "js-yaml";
import { PaiContext } from "../context";
import { clusterRoleFor, configMap, K8sObject, serviceAccount } from "../objects";
import { runtimeExitSpec } from "./exit-specs";

/**
 * The identity job pods run as and the runtime's exit spec. The openpai-runtime init container
 * of every job waits, as runtime-account, until all tasks of its Framework have started (its
 * frameworkbarrier reads the Framework): upstream grants frameworks get/list/watch
 * (src/openpai-runtime/deploy/rbac.yaml); without it every job fails in init (exit 251).
 */
export function runtimeManifests(ctx: PaiContext): K8sObject[] {
    const account = { name: "runtime-account", namespace: ctx.namespace };
    return [
        serviceAccount(account.name, account.namespace),
        ...clusterRoleFor("pai-runtime", [
            { apiGroups: ["frameworkcontroller.microsoft.com"], resources: ["frameworks"], verbs: ["get", "list", "watch"] },
        ], account),
        configMap("runtime-exit-spec-configuration", ctx.namespace, { "runtime-exit-spec.yaml": yaml.dump(runtimeExitSpec(), { lineWidth: -1 }) }),
    ];
}
