import { certificateMetric } from "../../components/pai/manifests/certificates";

/**
 * The series each exporter of the cluster gives, as the alert rules and dashboards may read them.
 * watchdog's and job-exporter's are OpenPAI v1.8.0's (src/watchdog/src/pkg/watchdog/
 * prom_metric_collector.go, src/job-exporter/src/collector.py; admin-dashboards.test.ts checks
 * these lists against the source); node-exporter's are the stable names of its cpu, meminfo,
 * filesystem, netdev and uname collectors (the lab tier runs every query against the lab's
 * node_exporter); the rest are Prometheus' own and the certificate check's.
 */
export const exporterSeries = {
    watchdog: ["pai_pod_count", "pai_job_pod_count", "pai_container_count", "pai_node_count", "k8s_api_server_count",
        "k8s_node_gpu_available", "k8s_node_gpu_reserved", "k8s_node_gpu_total"],
    jobExporter: [
        ...["cpu_percent", "mem_usage_byte", "mem_usage_percent", "mem_limit_byte", "net_in_byte", "net_out_byte", "block_in_byte", "block_out_byte"]
            .flatMap(m => [`task_${m}`, `service_${m}`]),
        "task_gpu_percent", "task_gpu_mem_percent", "docker_daemon_count", "gpu_utilization", "gpu_mem_utilization",
        "nvidiasmi_utilization_gpu", "nvidiasmi_utilization_memory", "nvidiasmi_temperature", "nvidiasmi_ecc_error_count",
        "nvidiasmi_memory_leak_count", "nvidiasmi_performance_state", "zombie_process_count", "gpu_used_by_external_process_count",
        "gpu_used_by_zombie_container_count", "process_mem_usage_byte", "collector_iteration_count_total",
    ],
    nodeExporter: ["node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes", "node_filesystem_avail_bytes",
        "node_filesystem_size_bytes", "node_filesystem_readonly", "node_network_receive_bytes_total", "node_network_transmit_bytes_total", "node_uname_info"],
    prometheus: ["up", "ALERTS"],
    certificateCheck: [certificateMetric, "openpai_certificate_check_success"],
};

export function seriesOfExporters(): Set<string> {
    return new Set(Object.values(exporterSeries).flat());
}

/** PromQL words that are not series names. */
const keywords = new Set(["and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right"]);

/** The series names a PromQL expression reads (functions, keywords, labels, strings and durations left out). */
export function metricNames(expr: string): string[] {
    const bare = expr
        .replace(/"(\\.|[^"\\])*"/g, "\"\"")
        .replace(/\{[^}]*\}/g, "")
        .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "")
        .replace(/\[[^\]]*\]/g, "");
    const names = [...bare.matchAll(/(?<![A-Za-z0-9_:.])[A-Za-z_:][A-Za-z0-9_:]*/g)]
        .filter(m => !/^\s*\(/.test(bare.slice(m.index! + m[0].length)))
        .map(m => m[0])
        .filter(word => !keywords.has(word) && !/^(inf|nan)$/i.test(word));
    return [...new Set(names)];
}
