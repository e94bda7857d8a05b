import { OpenPaiCluster } from "./components/cluster";
import { loadStackConfig, loadStackSecrets } from "./config/pulumi";

const config = loadStackConfig();
// The resource names never come from cluster.name: renaming the cluster must not replace (and so
// reset) anything.
const cluster = new OpenPaiCluster("openpai", { config, secrets: loadStackSecrets(config) });

// The stack outputs. The kubeconfig only where this program made the cluster (kubeadm mode):
// in existing mode it is the user's own, and an undefined output would only earn a warning.
export = {
    portalUrl: cluster.portalUrl,
    adminUser: cluster.adminUser,
    adminPassword: cluster.adminPassword,
    virtualClusters: cluster.virtualClusters,
    versions: cluster.versions,
    ...(cluster.kubeconfig ? { kubeconfig: cluster.kubeconfig } : {}),
    // Read back by the next up to decide whether the certificates are due (components/hosts/certificates.ts).
    ...(cluster.certificates ? { certificates: cluster.certificates } : {}),
    ...(cluster.portalCaCertificate ? { portalCaCertificate: cluster.portalCaCertificate } : {}),
    ...(cluster.grafanaAdminPassword ? { grafanaAdminPassword: cluster.grafanaAdminPassword } : {}),
};
