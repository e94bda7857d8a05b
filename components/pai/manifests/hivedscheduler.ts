import * as yaml from "js-yaml";
import { externalImages, hivedPort, PaiContext } from "../context";
import { accessFor, clusterRoleBinding, configMap, container, deployment, httpProbe, K8sObject, onMaster, service, serviceAccount, ServiceAccess, statefulSet } from "../objects";

export { hivedPort };
/** Pod annotation carrying the hived config hash: a VC change rolls exactly the hived pod. */
export const hivedConfigHashAnnotation = "openpai.io/hived-config-hash";

export function schedulerName(vc: string): string {
    return `hivedscheduler-ds-${vc}`;
}

/** kube-scheduler config of one VC's scheduler, with HiveD as its binding extender. */
export function schedulerConfig(ctx: PaiContext, vc: string): string {
    return yaml.dump({
        apiVersion: "kubescheduler.config.k8s.io/v1",
        kind: "KubeSchedulerConfiguration",
        leaderElection: { leaderElect: false },
        percentageOfNodesToScore: 100,
        profiles: [{ schedulerName: schedulerName(vc) }],
        extenders: [{
            urlPrefix: `http://hivedscheduler-hs.${ctx.namespace}.svc:${hivedPort}/v1/extender`,
            filterVerb: "filter",
            preemptVerb: "preempt",
            bindVerb: "bind",
            enableHTTPS: false,
            httpTimeout: "5s",
            nodeCacheCapable: true,
            ignorable: false,
            managedResources: [{ name: "hivedscheduler.microsoft.com/pod-scheduling-enable", ignoredByScheduler: true }],
        }],
    });
}

/**
 * Every Kubernetes call of HiveD v0.3.4: informers on the nodes and pods of every namespace
 * (pkg/scheduler/scheduler.go NewHivedScheduler), and the binding of the pods it places
 * (pkg/internal/utils.go BindPod), which are OpenPAI's job pods in `default`. Upstream binds
 * cluster-admin (example/run/deploy.yaml).
 */
export function hivedAccess(ctx: PaiContext): ServiceAccess {
    return {
        cluster: [{ apiGroups: [""], resources: ["nodes", "pods"], verbs: ["list", "watch"] }],
        namespaces: { [ctx.namespace]: [{ apiGroups: [""], resources: ["pods/binding"], verbs: ["create"] }] },
    };
}

/** Where HiveD's config is mounted; the image reads the file named by env CONFIG (pkg/api/constants.go). */
const hivedConfigDir = "/hivedscheduler-config";

/**
 * HiveD (one StatefulSet, its config, its service) and one kube-scheduler per VC using it as
 * extender. The image runs ./start.sh in its WORKDIR (build/hivedscheduler/Dockerfile of v0.3.4),
 * so no working directory is set; CONFIG points at the mounted file, whose change HiveD notices
 * itself (pkg/api/config.go: it exits and restarts) besides the hash annotation rolling the pod.
 */
export function hivedSchedulerManifests(ctx: PaiContext): K8sObject[] {
    const hived = { name: "hivedscheduler", namespace: ctx.namespace };
    const schedulers = { name: "hivedscheduler-ds", namespace: ctx.namespace };
    const objects: K8sObject[] = [
        serviceAccount(hived.name, hived.namespace),
        ...accessFor("hivedscheduler", hived, hivedAccess(ctx)),
        configMap("hivedscheduler-config", ctx.namespace, { "hivedscheduler.yaml": ctx.hived.yaml }),
        statefulSet({
            name: "hivedscheduler-hs", namespace: ctx.namespace,
            podAnnotations: { [hivedConfigHashAnnotation]: ctx.hived.hash },
            podSpec: {
                ...onMaster,
                serviceAccountName: hived.name,
                priorityClassName: "pai-daemon-priority",
                containers: [container({
                    name: "hivedscheduler", image: externalImages.hivedscheduler,
                    requests: { cpu: "200m", memory: "512Mi" },
                    env: [{ name: "CONFIG", value: `${hivedConfigDir}/hivedscheduler.yaml` }],
                    ports: [{ name: "http", containerPort: hivedPort }],
                    readinessProbe: httpProbe("/v1/inspect/clusterstatus", hivedPort),
                    volumeMounts: [{ name: "config", mountPath: hivedConfigDir }],
                })],
                volumes: [{ name: "config", configMap: { name: "hivedscheduler-config" } }],
            },
        }),
        // Inside the cluster only (OpenPAI made it a NodePort on every node): its API binds pods
        // and shows every VC's jobs, and only rest-server and the VC schedulers call it.
        service("hivedscheduler-hs", ctx.namespace, [{ name: "http", port: hivedPort, targetPort: hivedPort }]),
        serviceAccount(schedulers.name, schedulers.namespace),
        // The per-VC schedulers are stock kube-schedulers: the two roles Kubernetes binds its own
        // scheduler to (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go). With
        // --secure-port=0 they serve nothing, so they never read the extension-apiserver-authentication
        // ConfigMap (cmd/kube-scheduler/app/options/options.go ApplyTo: authentication only with a secure port).
        clusterRoleBinding("hivedscheduler-ds-kube-scheduler", "system:kube-scheduler", schedulers),
        clusterRoleBinding("hivedscheduler-ds-volume-scheduler", "system:volume-scheduler", schedulers),
    ];
    for (const vc of ctx.hived.vcs) {
        const name = schedulerName(vc);
        objects.push(
            configMap(`${name}-config`, ctx.namespace, { "scheduler.yaml": schedulerConfig(ctx, vc) }),
            deployment({
                name, namespace: ctx.namespace,
                // Two schedulers of one name would both bind the VC's pods during a rolling update.
                strategy: { type: "Recreate" },
                podSpec: {
                    ...onMaster,
                    serviceAccountName: schedulers.name,
                    priorityClassName: "pai-daemon-priority",
                    containers: [container({
                        name: "kube-scheduler", image: ctx.schedulerImage,
                        requests: { cpu: "100m", memory: "128Mi" },
                        command: ["kube-scheduler", "--config=/etc/kube-scheduler/scheduler.yaml", "--secure-port=0"],
                        volumeMounts: [{ name: "config", mountPath: "/etc/kube-scheduler" }],
                    })],
                    volumes: [{ name: "config", configMap: { name: `${name}-config` } }],
                },
            }),
        );
    }
    return objects;
}
