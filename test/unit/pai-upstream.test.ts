import * as assert from "assert";
import * as yaml from "js-yaml";
import { hivedForStack, parseStackConfig } from "../../config";
import { paiContext } from "../../components/pai/context";
import { paiServices } from "../../components/pai/service";
import { K8sObject } from "../../components/pai/objects";
import { layout, rawStack } from "./helpers";

/**
 * Each PAI manifest against the upstream fact it relies on (OpenPAI v1.8.0, HiveD v0.3.4,
 * FrameworkController v1.0.1, openpai-runtime; ../shared/audits/services-v1.8.md names the
 * finding). Paths are in those trees.
 */
function objects(values: Record<string, unknown> = {}): K8sObject[] {
    const config = parseStackConfig(rawStack({ layout: layout(2), cluster: { mode: "existing" }, ...values }, ["kubeconfig"]));
    const ctx = paiContext(config, hivedForStack(config).config);
    return Object.values(paiServices).flatMap(s => s.manifests(ctx));
}

function find(all: K8sObject[], kind: string, name: string): any {
    const found = all.find(o => o.kind === kind && o.metadata.name === name);
    assert.ok(found, `${kind}/${name} missing`);
    return found;
}

const podSpec = (o: any) => o.spec.template.spec;
const containerNamed = (o: any, name: string) => [...(podSpec(o).initContainers ?? []), ...podSpec(o).containers].find((c: any) => c.name === name);
const envOf = (c: any): Record<string, string> => Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value ?? `<${Object.keys(e.valueFrom)[0]}>`]));

/** A container's file at `path`, from the ConfigMap volume mounted there (whole dir or subPath). */
function mountedFile(all: K8sObject[], workload: any, container: any, path: string): string | undefined {
    for (const m of container.volumeMounts ?? []) {
        const volume = podSpec(workload).volumes.find((v: any) => v.name === m.name);
        if (!volume?.configMap) {
            continue;
        }
        const data = find(all, "ConfigMap", volume.configMap.name).data as Record<string, string>;
        if (m.subPath && m.mountPath === path) {
            return data[m.subPath];
        }
        if (!m.subPath && path.startsWith(`${m.mountPath}/`)) {
            return data[path.slice(m.mountPath.length + 1)];
        }
    }
    return undefined;
}

describe("PAI manifests against the upstream images and code", () => {
    const all = objects();

    it("B3 frameworkcontroller: runs the image's ./start.sh in its WORKDIR, config at ./frameworkcontroller.yaml there", () => {
        // build/frameworkcontroller/Dockerfile: WORKDIR /opt/frameworkcontroller/frameworkcontroller, ENTRYPOINT ["./start.sh"];
        // pkg/apis/frameworkcontroller/v1/constants.go: the config path is ./frameworkcontroller.yaml.
        const fc = find(all, "StatefulSet", "frameworkcontroller");
        const c = containerNamed(fc, "frameworkcontroller");
        assert.strictEqual(c.workingDir, undefined);
        assert.strictEqual(c.command, undefined);
        const config = yaml.load(mountedFile(all, fc, c, "/opt/frameworkcontroller/frameworkcontroller/frameworkcontroller.yaml")!) as any;
        assert.strictEqual(config.workerNumber, 500);
    });

    it("m5 Framework CRD: FrameworkController owns its spec (pkg/internal/utils.go PutCRD rewrites it at every start)", () => {
        assert.strictEqual(find(all, "CustomResourceDefinition", "frameworks.frameworkcontroller.microsoft.com").spec.names.kind, "Framework");
    });

    it("B4 hivedscheduler: ./start.sh in its WORKDIR, CONFIG names the mounted file, the web server on the Service's port", () => {
        // build/hivedscheduler/Dockerfile: WORKDIR /opt/hivedscheduler/hivedscheduler; pkg/api/constants.go: env CONFIG;
        // pkg/api/config.go: webServerAddress defaults to :9096.
        const hs = find(all, "StatefulSet", "hivedscheduler-hs");
        const c = containerNamed(hs, "hivedscheduler");
        assert.strictEqual(c.workingDir, undefined);
        const config = yaml.load(mountedFile(all, hs, c, envOf(c).CONFIG)!) as any;
        assert.strictEqual(config.webServerAddress, ":30096");
        assert.strictEqual(find(all, "Service", "hivedscheduler-hs").spec.ports[0].targetPort, 30096);
        const passedThrough = objects({ hived: { ...hivedForStack(parseStackConfig(rawStack({ layout: layout(2), cluster: { mode: "existing" } }, ["kubeconfig"]))).config, webServerAddress: ":9096" } });
        assert.match(find(passedThrough, "ConfigMap", "hivedscheduler-config").data["hivedscheduler.yaml"], /webServerAddress: ':30096'/);
    });

    it("B5 database-controller: upstream's four processes, the initializer, every variable their joi schemas require, the API calls they make", () => {
        // src/database-controller/deploy/database-controller.yaml.template; src/database-controller/src/{common,write-merger,
        // watcher/framework,watcher/cluster-event,poller}/config.js; initializer/index.js (the only synchronizeSchema caller).
        const dbc = find(all, "StatefulSet", "database-controller");
        const required: Record<string, string[]> = {
            "database-initializer": ["DB_CONNECTION_STR"],
            "write-merger": ["DB_CONNECTION_STR", "MAX_DB_CONNECTION", "PORT"],
            "framework-watcher": ["WRITE_MERGER_URL", "MAX_RPC_CONCURRENCY", "WATCH_TIMEOUT_SECONDS"],
            "cluster-event-watcher": ["DB_CONNECTION_STR", "MAX_DB_CONNECTION", "MAX_RPC_CONCURRENCY", "DISK_PATH", "MAX_DISK_USAGE_PERCENT", "WATCH_TIMEOUT_SECONDS"],
            poller: ["DB_CONNECTION_STR", "MAX_DB_CONNECTION", "INTERVAL_SECOND", "WRITE_MERGER_URL", "MAX_RPC_CONCURRENCY"],
        };
        const scripts: Record<string, string> = {
            "database-initializer": "initializer/index.js", "write-merger": "write-merger/index.js", "framework-watcher": "watcher/framework/index.js",
            "cluster-event-watcher": "watcher/cluster-event/index.js", poller: "poller/index.js",
        };
        assert.strictEqual(podSpec(dbc).initContainers[0].name, "database-initializer");
        for (const [name, keys] of Object.entries(required)) {
            const c = containerNamed(dbc, name);
            assert.strictEqual(c.command[c.command.length - 1], `/database-controller/src/${scripts[name]}`);
            const env = envOf(c);
            for (const key of ["K8S_CONNECTION_TIMEOUT_SECOND", "WRITE_MERGER_CONNECTION_TIMEOUT_SECOND", "RETAIN_MODE_ENABLED", ...keys]) {
                assert.ok(env[key], `${name}: ${key} missing`);
            }
        }
        const disk = containerNamed(dbc, "cluster-event-watcher");
        assert.ok(disk.volumeMounts.some((m: any) => m.mountPath === envOf(disk).DISK_PATH), "the watched disk is mounted");
        // Its grants, one by one, are pinned in pai-rbac.test.ts.
        const rules = all.filter(o => ["Role", "ClusterRole"].includes(o.kind) && o.metadata.name === "pai-database-controller").flatMap(o => o.rules as any[]);
        const can = (group: string, resource: string, verb: string) => rules.some((r: any) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
        for (const [group, resource, verb] of [["frameworkcontroller.microsoft.com", "frameworks", "create"], ["scheduling.k8s.io", "priorityclasses", "create"],
            ["", "secrets", "create"], ["", "events", "watch"], ["frameworkcontroller.microsoft.com", "frameworks", "delete"]]) {
            assert.ok(can(group, resource, verb), `database-controller may not ${verb} ${resource}`);
        }
    });

    it("m3 postgresql: -N 1000 as OpenPAI starts it (src/postgresql/deploy/postgresql.yaml.template)", () => {
        const pg = containerNamed(find(all, "DaemonSet", "postgresql"), "postgresql");
        assert.deepStrictEqual(pg.args.slice(-2), ["-N", "1000"]);
        assert.ok(pg.readinessProbe, "database-controller starts once PostgreSQL answers");
    });

    it("B7 rest-server: the variables, files and mount paths its code reads at start", () => {
        // src/rest-server/src/config/launcher.js (ALERT_MANAGER_URL, LOG_MANAGER_ADMIN_*), authn.js (/group-configuration/group.yaml),
        // models/v2/utils/frameworkConverter.js (/k8s-job-exit-spec-configuration/k8s-job-exit-spec.yaml), paiConfig.js (/pai-cluster-config).
        const rs = find(all, "DaemonSet", "rest-server");
        const c = containerNamed(rs, "rest-server");
        const env = envOf(c);
        for (const key of ["ALERT_MANAGER_URL", "LOG_MANAGER_ADMIN_NAME", "LOG_MANAGER_ADMIN_PASSWORD", "HIVED_COMPUTING_DEVICE_ENVS", "SQL_MAX_CONNECTION", "WRITE_MERGER_URL"]) {
            assert.ok(env[key], `${key} missing`);
        }
        const group = yaml.load(mountedFile(all, rs, c, "/group-configuration/group.yaml")!) as any;
        assert.deepStrictEqual(Object.keys(group).sort(), ["adminGroup", "defaultGroup", "groupDataSource", "grouplist"]);
        assert.strictEqual(group.adminGroup.extension.acls.admin, true);
        assert.deepStrictEqual(group.defaultGroup.extension.acls.virtualClusters, ["default"]);
        const exitSpec = yaml.load(mountedFile(all, rs, c, "/k8s-job-exit-spec-configuration/k8s-job-exit-spec.yaml")!) as any[];
        for (const code of [0, 256, -8000]) {
            assert.ok(exitSpec.some(e => e.code === code), `exit code ${code} missing (frameworkConverter.js falls back to 256 and -8000)`);
        }
        assert.ok(mountedFile(all, rs, c, "/pai-cluster-config/layout.yaml"), "layout.yaml at /pai-cluster-config");
        assert.match(mountedFile(all, rs, c, "/hived-spec/hivedscheduler.yaml")!, /memory: [0-9]+Mi/);
    });

    it("B7 group.yaml lists the stack's groups with their VCs", () => {
        const withGroups = objects({ virtualClusters: { vc1: { "gpu-machine": 1 } }, groups: [{ name: "team_a", virtualClusters: ["vc1"] }] });
        const group = yaml.load(find(withGroups, "ConfigMap", "group-configuration").data["group.yaml"]) as any;
        assert.deepStrictEqual(group.grouplist, [{ groupname: "team_a", description: "", externalName: "", extension: { acls: { virtualClusters: ["vc1"], admin: false, storageConfigs: [] } } }]);
    });

    it("B8 openpai-runtime: runtime-account may read Frameworks (src/openpai-runtime/deploy/rbac.yaml; the frameworkbarrier polls its Framework)", () => {
        const rules = find(all, "Role", "pai-runtime").rules;
        assert.ok(rules.some((r: any) => r.apiGroups.includes("frameworkcontroller.microsoft.com") && r.resources.includes("frameworks") && r.verbs.includes("get")));
    });

    it("m4 runtime exit spec: the runtime's schema (go/pkg/aggregator/error_aggregator.go: containerExitCode, patterns)", () => {
        const spec = yaml.load(find(all, "ConfigMap", "runtime-exit-spec-configuration").data["runtime-exit-spec.yaml"]) as any[];
        assert.ok(spec.length > 0 && spec.every(s => Number.isInteger(s.containerExitCode) && Array.isArray(s.patterns)));
    });

    it("B6, M2 log-manager: the images v1.8.0 builds (src/log-manager/build/) and the variables its nginx.conf reads", () => {
        const lm = find(all, "DaemonSet", "log-manager");
        assert.match(containerNamed(lm, "log-cleaner").image, /\/log-manager-cleaner:v1\.8\.0$/);
        const nginx = containerNamed(lm, "log-manager-nginx");
        assert.deepStrictEqual(Object.keys(envOf(nginx)).sort(), ["ADMIN_NAME", "ADMIN_PASSWORD", "JWT_SECRET", "NODE_NAME", "TOKEN_EXPIRED_SECOND"]);
        const rest = envOf(containerNamed(find(all, "DaemonSet", "rest-server"), "rest-server"));
        const secretOf = (c: any, name: string) => c.env.find((e: any) => e.name === name).valueFrom.secretKeyRef;
        assert.deepStrictEqual(secretOf(nginx, "ADMIN_PASSWORD"), secretOf(containerNamed(find(all, "DaemonSet", "rest-server"), "rest-server"), "LOG_MANAGER_ADMIN_PASSWORD"),
            "rest-server logs in to log-manager with its admin password");
        assert.ok(rest.LOG_MANAGER_PORT);
    });

    it("B9, m7 job-exporter and watchdog: upstream's start commands (their images have none) and watchdog's RBAC", () => {
        // src/job-exporter/deploy/job-exporter.yaml.template, src/watchdog/deploy/{watchdog.yaml.template,rbac.yaml}.
        assert.deepStrictEqual(containerNamed(find(all, "DaemonSet", "job-exporter"), "job-exporter").command.slice(0, 2), ["python", "/job_exporter/main.py"]);
        assert.strictEqual(containerNamed(find(all, "Deployment", "watchdog"), "watchdog").command[0], "./watchdog");
        const rules = find(all, "ClusterRole", "pai-watchdog").rules;
        assert.ok(rules.some((r: any) => r.resources.includes("priorityclasses") && r.verbs.includes("delete")));
    });

    it("B10 fuse device plugin: squat/generic-device-plugin's only release is tagged 0.1.0, without a v", () => {
        const plugin = containerNamed(find(all, "DaemonSet", "fuse-device-plugin"), "fuse-device-plugin");
        assert.strictEqual(plugin.image, "ghcr.io/squat/generic-device-plugin:0.1.0");
    });

    it("M1 webportal: env.js.template's variables, PROMETHEUS_URI without /prometheus (the template appends it)", () => {
        const env = envOf(containerNamed(find(all, "DaemonSet", "webportal"), "webportal"));
        assert.strictEqual(env.PROMETHEUS_URI, "https://10.0.0.10");
        assert.strictEqual(env.LAUNCHER_TYPE, "k8s");
        assert.strictEqual(env.LAUNCHER_SCHEDULER, "hivedscheduler");
        assert.ok(env.EXPORTER_PORT && env.PROM_SCRAPE_TIME && env.WEBPORTAL_PLUGINS);
    });

    it("M3 alert-manager: a release with the v1 API rest-server calls, under the prefix it calls (src/rest-server/src/models/v2/alert.js)", () => {
        const am = containerNamed(find(all, "Deployment", "alertmanager"), "alertmanager");
        const minor = Number(/:v0\.(\d+)\./.exec(am.image)![1]);
        assert.ok(minor < 27, `${am.image}: Alertmanager 0.27 removed the v1 API`);
        assert.ok(am.args.includes("--web.route-prefix=alert-manager"));
    });

    it("prometheus keeps its metrics on the master, chowned to the user it runs as (src/prometheus/deploy/prometheus-deployment.yaml.template)", () => {
        const deployment = find(all, "Deployment", "prometheus");
        const prometheus = containerNamed(deployment, "prometheus");
        assert.ok(prometheus.args.includes("--storage.tsdb.path=/prometheus-data"), "an explicit path: images differ in their default");
        const volume = podSpec(deployment).volumes.find((v: any) => v.name === "data");
        assert.strictEqual(volume.hostPath.path, "/datastorage/prometheus/data", "cluster.common.data-path/prometheus/data");
        const chown = containerNamed(deployment, "chown-data");
        assert.deepStrictEqual(chown.command, ["chown", "-R", "65534:65534", "/prometheus-data"], "prom/prometheus runs as nobody (65534)");
    });

    it("database-controller's event watcher exits above the disk usage the stack sets (src/database-controller/src/watcher/cluster-event/index.js)", () => {
        const watcher = (values: Record<string, unknown>) =>
            envOf(containerNamed(find(objects(values), "StatefulSet", "database-controller"), "cluster-event-watcher"));
        assert.strictEqual(watcher({}).MAX_DISK_USAGE_PERCENT, "80", "OpenPAI's default");
        assert.strictEqual(watcher({ services: { databaseMaxDiskUsagePercent: 95 } }).MAX_DISK_USAGE_PERCENT, "95");
    });

    it("M4 grafana: Prometheus as its data source", () => {
        const ds = yaml.load(find(all, "ConfigMap", "grafana-datasources").data["prometheus.yaml"]) as any;
        assert.strictEqual(ds.datasources[0].type, "prometheus");
    });

    it("M5 marketplace: OpenPAI's images and variables (src/marketplace-restserver/deploy/marketplace-restserver.yaml.template)", () => {
        const withMarket = objects({ services: { marketplace: true } });
        const rest = containerNamed(find(withMarket, "DaemonSet", "marketplace-restserver"), "marketplace-restserver");
        assert.match(rest.image, /\/pai-marketplace-restserver:v1\.8\.0$/);
        for (const key of ["DB_HOST", "DB_USERNAME", "DB_PASSWORD", "DATABASE", "DB_PORT", "IDP_URL", "PORT", "AZURE_STORAGE"]) {
            assert.ok(key in envOf(rest), `${key} missing`);
        }
    });

    it("m1 pai-version: the key rest-server reads (src/rest-server/src/config/paiConfig.js: data['PAI.VERSION'])", () => {
        assert.strictEqual(find(all, "ConfigMap", "pai-version").data["PAI.VERSION"], "v1.8.0");
    });

    it("pylon: no DNS resolver to resolve at start, a health check", () => {
        const conf = find(all, "ConfigMap", "pylon-config").data["nginx.conf"];
        assert.doesNotMatch(conf, /resolver/);
        assert.ok(containerNamed(find(all, "DaemonSet", "pylon"), "pylon").readinessProbe);
    });
});
