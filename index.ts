import { OpenPaiCluster } from "./components/cluster";
import { loadStackConfig, loadStackSecrets } from "./config/pulumi";

const config = loadStackConfig();
const cluster = new OpenPaiCluster(config.cluster.name, { config, secrets: loadStackSecrets(config) });

export const portalUrl = cluster.portalUrl;
export const adminUser = cluster.adminUser;
export const adminPassword = cluster.adminPassword;
export const virtualClusters = cluster.virtualClusters;
export const versions = cluster.versions;
export const kubeconfig = cluster.kubeconfig;
