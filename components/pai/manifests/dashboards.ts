import * as yaml from "js-yaml";
import { PaiContext } from "../context";
import { configMap, K8sObject } from "../objects";

/** The uid of the provisioned Prometheus data source, which every panel names. */
export const grafanaDatasourceUid = "prometheus";
/** Where Grafana's container finds the dashboards (the provider's path). */
export const dashboardsPath = "/var/lib/openpai-dashboards";

/**
 * The dashboards OpenPAI's webportal v1.8 links to, by the slug of Grafana 4's
 * `/dashboard/db/<slug>` links (src/webportal/src/app/job/job-view/fabric/job-detail/conn.js
 * joblevelmetrics?var-job=<user>~<job>, dashboard/dashboard.component.ejs pai_clusterview,
 * cluster-view/hardware/hardware-detail.component.ejs pai_nodeview?var-node=<address>), and the
 * uid of the dashboard here that answers each. Grafana 9 dropped those links: pylon redirects them.
 */
export const legacyDashboards: Record<string, string> = {
    joblevelmetrics: "openpai-job",
    pai_clusterview: "openpai-cluster",
    pai_nodeview: "openpai-cluster",
};

interface Target { expr: string; legend: string }

/** The Grafana JSON model of a dashboard (schema 39, Grafana 11), made of the panels below. */
interface Dashboard {
    uid: string;
    title: string;
    templating: { list: Record<string, unknown>[] };
    panels: Record<string, unknown>[];
    [field: string]: unknown;
}

const datasource = { type: "prometheus", uid: grafanaDatasourceUid };

function targets(list: Target[]): Record<string, unknown>[] {
    return list.map((t, i) => ({ refId: String.fromCharCode(65 + i), datasource, expr: t.expr, legendFormat: t.legend }));
}

/** Panels laid out left to right, two to a row (stats: up to six). */
class Layout {
    private readonly panels: Record<string, unknown>[] = [];
    private x = 0;
    private y = 0;

    add(type: "timeseries" | "stat", title: string, unit: string, list: Target[], description: string): this {
        const [w, h] = type === "stat" ? [4, 4] : [12, 8];
        if (this.x + w > 24) {
            this.x = 0;
            this.y += h;
        }
        this.panels.push({
            id: this.panels.length + 1, type, title, description, datasource, gridPos: { x: this.x, y: this.y, w, h },
            fieldConfig: { defaults: { unit, ...(unit === "percent" ? { min: 0 } : {}) }, overrides: [] },
            options: type === "stat"
                ? { reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false }, colorMode: "value", graphMode: "none" }
                : { legend: { displayMode: "list", placement: "bottom", showLegend: true }, tooltip: { mode: "multi", sort: "desc" } },
            targets: targets(list),
        });
        this.x += w;
        return this;
    }

    /** Starts a new row for the next panel. */
    row(): this {
        if (this.x > 0) {
            const last = this.panels[this.panels.length - 1].gridPos as { h: number };
            this.x = 0;
            this.y += last.h;
        }
        return this;
    }

    done(): Record<string, unknown>[] {
        return this.panels;
    }
}

function dashboard(uid: string, title: string, description: string, variables: Record<string, unknown>[], panels: Record<string, unknown>[]): Dashboard {
    return {
        uid, title, description, tags: ["openpai"], editable: false, schemaVersion: 39, version: 1,
        refresh: "30s", time: { from: "now-1h", to: "now" }, timezone: "browser",
        templating: { list: variables }, annotations: { list: [] }, links: [], panels,
    };
}

/**
 * The cluster: node health from watchdog (Kubernetes' view), each node's CPU, memory, disk and
 * network from node-exporter, GPU use from job-exporter's nvidia-smi readings, and the jobs' use
 * from job-exporter's task series. `node` (a node's address, or all) filters by host_ip, the
 * label Prometheus gives every target (the portal's node links pass var-node=<address>).
 */
export function clusterDashboard(): Dashboard {
    const node = "host_ip=~\"$node\"";
    const panels = new Layout()
        .add("stat", "Nodes Ready", "none", [{ expr: "sum(pai_node_count{ready=\"true\"})", legend: "Ready" }], "Nodes whose kubelet reports Ready (watchdog).")
        .add("stat", "Nodes not Ready", "none", [{ expr: "sum(pai_node_count{ready!=\"true\"}) or vector(0)", legend: "not Ready" }], "Nodes Kubernetes does not hear from or that report a problem.")
        .add("stat", "Jobs running", "none", [{ expr: `count(count by (job_name) (task_cpu_percent{${node}})) or vector(0)`, legend: "jobs" }], "Jobs with a task running on these nodes (job-exporter).")
        .add("stat", "GPUs", "none", [{ expr: "sum(k8s_node_gpu_total)", legend: "GPUs" }], "GPUs the nodes offer to Kubernetes (the device plugin's count).")
        .add("stat", "Alerts firing", "none", [{ expr: "count(ALERTS{alertstate=\"firing\"}) or vector(0)", legend: "alerts" }], "Alerts of the cluster's rules now firing (Alertmanager has the details).")
        .row()
        .add("timeseries", "CPU use", "percent", [{ expr: `100 - avg by (host_ip) (rate(node_cpu_seconds_total{mode="idle", ${node}}[5m])) * 100`, legend: "{{host_ip}}" }], "Share of each node's CPU time not idle.")
        .add("timeseries", "Memory use", "percent", [{ expr: `(1 - node_memory_MemAvailable_bytes{${node}} / node_memory_MemTotal_bytes{${node}}) * 100`, legend: "{{host_ip}}" }], "Share of each node's memory not available to new processes.")
        .add("timeseries", "Root disk use", "percent", [{ expr: `(1 - node_filesystem_avail_bytes{mountpoint="/", ${node}} / node_filesystem_size_bytes{mountpoint="/", ${node}}) * 100`, legend: "{{host_ip}}" }], "Share of each node's root filesystem in use.")
        .add("timeseries", "Network", "Bps", [
            { expr: `sum by (host_ip) (rate(node_network_receive_bytes_total{device!="lo", ${node}}[5m]))`, legend: "{{host_ip}} in" },
            { expr: `sum by (host_ip) (rate(node_network_transmit_bytes_total{device!="lo", ${node}}[5m]))`, legend: "{{host_ip}} out" },
        ], "Bytes per second through each node's interfaces.")
        .add("timeseries", "GPU use", "percent", [{ expr: `avg by (host_ip) (nvidiasmi_utilization_gpu{${node}})`, legend: "{{host_ip}}" }], "Average utilization of each node's GPUs (nvidia-smi).")
        .add("timeseries", "GPU memory use", "percent", [{ expr: `avg by (host_ip) (nvidiasmi_utilization_memory{${node}})`, legend: "{{host_ip}}" }], "Average memory utilization of each node's GPUs (nvidia-smi).")
        .add("timeseries", "CPU use by job", "percent", [{ expr: `sum by (job_name) (task_cpu_percent{${node}})`, legend: "{{job_name}}" }], "Each job's CPU use on these nodes (100% is one core).")
        .add("timeseries", "Memory use by job", "bytes", [{ expr: `sum by (job_name) (task_mem_usage_byte{${node}})`, legend: "{{job_name}}" }], "Each job's memory on these nodes.")
        .done();
    const nodeVariable = {
        name: "node", label: "Node", type: "query", datasource, refresh: 2, multi: true, includeAll: true, allValue: ".*",
        current: { selected: true, text: ["All"], value: ["$__all"] },
        query: { query: "label_values(node_uname_info, host_ip)", refId: "node" }, definition: "label_values(node_uname_info, host_ip)", sort: 1,
    };
    return dashboard("openpai-cluster", "OpenPAI cluster", "The cluster's nodes, GPUs and jobs.", [nodeVariable], panels);
}

/**
 * One job (the portal's "Go to Job Metrics Page" link: var-job=<user>~<job>, the job_name label of
 * job-exporter's task series): each task's CPU, memory, network and disk I/O and, on GPU nodes,
 * each of its GPUs (src/job-exporter/src/collector.py ResourceGauges).
 */
export function jobDashboard(): Dashboard {
    const job = "job_name=\"$job\"";
    const task = "{{role_name}} {{task_index}}";
    const panels = new Layout()
        .add("timeseries", "CPU", "percent", [{ expr: `task_cpu_percent{${job}}`, legend: task }], "Each task's CPU use (100% is one core).")
        .add("timeseries", "Memory", "bytes", [{ expr: `task_mem_usage_byte{${job}}`, legend: task }], "Each task's memory, page cache it could drop excluded.")
        .add("timeseries", "GPU use", "percent", [{ expr: `task_gpu_percent{${job}}`, legend: `${task} GPU {{minor_number}}` }], "Utilization of each GPU the tasks hold (nvidia-smi).")
        .add("timeseries", "GPU memory", "percent", [{ expr: `task_gpu_mem_percent{${job}}`, legend: `${task} GPU {{minor_number}}` }], "Memory utilization of each GPU the tasks hold.")
        .add("timeseries", "Network", "Bps", [
            { expr: `task_net_in_byte{${job}}`, legend: `${task} in` },
            { expr: `task_net_out_byte{${job}}`, legend: `${task} out` },
        ], "Each task's traffic (job-exporter measures it from the task's connections).")
        .add("timeseries", "Disk I/O", "Bps", [
            { expr: `rate(task_block_in_byte{${job}}[5m])`, legend: `${task} read` },
            { expr: `rate(task_block_out_byte{${job}}[5m])`, legend: `${task} written` },
        ], "Bytes per second each task reads from and writes to block devices.")
        .done();
    const jobVariable = { name: "job", label: "Job (user~name)", type: "textbox", query: "", current: { text: "", value: "" }, hide: 0 };
    return dashboard("openpai-job", "OpenPAI job", "One job's tasks: CPU, memory, GPUs, network and disk.", [jobVariable], panels);
}

/** Grafana's provisioning: the Prometheus data source (fixed uid) and the dashboards above from files. */
export function grafanaProvisioning(ctx: PaiContext, prometheusUrl: string): K8sObject[] {
    const datasources = yaml.dump({ apiVersion: 1, datasources: ctx.services.prometheus ? [{
        name: "Prometheus", uid: grafanaDatasourceUid, type: "prometheus", access: "proxy", isDefault: true, url: prometheusUrl,
    }] : [] });
    const provider = yaml.dump({ apiVersion: 1, providers: [{
        name: "openpai", folder: "OpenPAI", type: "file", disableDeletion: true, allowUiUpdates: false, options: { path: dashboardsPath },
    }] });
    return [
        configMap("grafana-datasources", ctx.namespace, { "prometheus.yaml": datasources }),
        configMap("grafana-dashboards", ctx.namespace, {
            "openpai.yaml": provider,
            "openpai-cluster.json": JSON.stringify(clusterDashboard(), null, 1),
            "openpai-job.json": JSON.stringify(jobDashboard(), null, 1),
        }),
    ];
}

/** How Grafana's pod mounts its provisioning (volumes, and the grafana container's mounts). */
export const grafanaProvisioningMounts = {
    volumes: [
        { name: "datasources", configMap: { name: "grafana-datasources" } },
        { name: "dashboard-provider", configMap: { name: "grafana-dashboards", items: [{ key: "openpai.yaml", path: "openpai.yaml" }] } },
        { name: "dashboards", configMap: { name: "grafana-dashboards", items: ["openpai-cluster.json", "openpai-job.json"].map(key => ({ key, path: key })) } },
    ],
    volumeMounts: [
        { name: "datasources", mountPath: "/etc/grafana/provisioning/datasources" },
        { name: "dashboard-provider", mountPath: "/etc/grafana/provisioning/dashboards" },
        { name: "dashboards", mountPath: dashboardsPath },
    ],
};
