import { PaiContext } from "../context";
import { paiFile } from "../files";
import { configMap, container, hostPathVolume, K8sObject, labels, onMaster } from "../objects";

/** The series the check writes: each certificate's notAfter, in Unix seconds (label `certificate`). */
export const certificateMetric = "openpai_certificate_not_after_seconds";
/** Where node-exporter's textfile collector reads series from, on every node. */
export const textfileDirectory = "/var/lib/openpai/metrics";

/**
 * The certificates kubeadm makes on the master, under /etc/kubernetes/pki (kubeadm's
 * cmd/kubeadm/app/constants): the leaf ones last a year (`kubeadm certs check-expiration`), the
 * CAs ten. The kubeconfigs' client certificates (admin.conf, controller-manager.conf,
 * scheduler.conf) are made and renewed with them; they are not read here, as those files hold the
 * private keys too. The kubelet's own client certificate rotates itself.
 */
export const kubeadmCertificates = [
    "apiserver.crt", "apiserver-kubelet-client.crt", "apiserver-etcd-client.crt", "front-proxy-client.crt",
    "etcd/server.crt", "etcd/peer.crt", "etcd/healthcheck-client.crt",
    "ca.crt", "front-proxy-ca.crt", "etcd/ca.crt",
];

/**
 * Certificates close to expiry (OpenPAI's cert-expiration-checker read the API server's
 * certificate once a day and posted an alert; clusters went down when theirs expired,
 * microsoft/pai#5334). Here an hourly CronJob on the master reads each certificate file (mounted
 * one by one, read-only: not the keys beside them) and writes their expiry times for
 * node-exporter's textfile collector; the CertificateExpiresSoon rule alerts on them. It runs
 * files/certificate-expiry.py with job-exporter's image (Python 3, nothing else needed).
 */
export function certificateCheckManifests(ctx: PaiContext): K8sObject[] {
    const name = "certificate-expiry";
    const volumeName = (file: string) => `pki-${file.replace(/[/.]/g, "-")}`;
    const script = paiFile("certificate-expiry.py");
    return [
        configMap(name, ctx.namespace, { "certificate-expiry.py": script }),
        {
            apiVersion: "batch/v1", kind: "CronJob",
            metadata: { name, namespace: ctx.namespace, labels: labels(name) },
            spec: {
                schedule: "17 * * * *",
                concurrencyPolicy: "Forbid",
                successfulJobsHistoryLimit: 1,
                failedJobsHistoryLimit: 2,
                jobTemplate: {
                    spec: {
                        backoffLimit: 2,
                        template: {
                            metadata: { labels: labels(name) },
                            spec: {
                                ...onMaster,
                                restartPolicy: "OnFailure",
                                imagePullSecrets: [{ name: "pai-secret" }],
                                containers: [container({
                                    name, image: ctx.paiImage("job-exporter"),
                                    requests: { cpu: "10m", memory: "32Mi" },
                                    command: ["python3", "/check/certificate-expiry.py", `/metrics/certificates.prom`,
                                        ...kubeadmCertificates.map(file => `${file}=/pki/${file}`)],
                                    volumeMounts: [
                                        { name: "check", mountPath: "/check", readOnly: true },
                                        { name: "metrics", mountPath: "/metrics" },
                                        ...kubeadmCertificates.map(file => ({ name: volumeName(file), mountPath: `/pki/${file}`, readOnly: true })),
                                    ],
                                })],
                                volumes: [
                                    { name: "check", configMap: { name } },
                                    hostPathVolume("metrics", textfileDirectory, "DirectoryOrCreate"),
                                    ...kubeadmCertificates.map(file => hostPathVolume(volumeName(file), `/etc/kubernetes/pki/${file}`, "File")),
                                ],
                            },
                        },
                    },
                },
            },
        },
    ];
}
