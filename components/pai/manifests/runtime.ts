import * as yaml from "js-yaml";
import { PaiContext } from "../context";
import { accessFor, configMap, K8sObject, serviceAccount, ServiceAccess } from "../objects";
import { runtimeExitSpec } from "./exit-specs";
import { frameworkGroup } from "./frameworkcontroller";

/**
 * What runtime-account may do. Its token is in every job's pods, so it may only read a Framework
 * it names: the openpai-runtime init container reads its own Framework by name in `default`,
 * through FrameworkController's frameworkbarrier for gang-allocated jobs (FC v1.0.1
 * pkg/barrier/barrier.go Run: Frameworks(FC_FRAMEWORK_NAMESPACE).Get(FC_FRAMEWORK_NAME)) or with
 * curl otherwise (openpai-runtime src/init); without it every job fails in init (exit 251).
 * Upstream (src/openpai-runtime/deploy/rbac.yaml) lets it list and watch every tenant's
 * Frameworks too, and read the pai-storage Secrets of the legacy teamwise storage plugin, which
 * this project does not configure.
 */
export function runtimeAccess(ctx: PaiContext): ServiceAccess {
    return { namespaces: { [ctx.namespace]: [{ apiGroups: [frameworkGroup], resources: ["frameworks"], verbs: ["get"] }] } };
}

/** The identity job pods run as, and the runtime's exit spec. */
export function runtimeManifests(ctx: PaiContext): K8sObject[] {
    const account = { name: "runtime-account", namespace: ctx.namespace };
    return [
        serviceAccount(account.name, account.namespace),
        ...accessFor("pai-runtime", account, runtimeAccess(ctx)),
        configMap("runtime-exit-spec-configuration", ctx.namespace, { "runtime-exit-spec.yaml": yaml.dump(runtimeExitSpec(), { lineWidth: -1 }) }),
    ];
}
