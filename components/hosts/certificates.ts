import { X509Certificate } from "crypto";
import * as yaml from "js-yaml";

/**
 * The state of the cluster's kubeadm certificates as the stack output `certificates` keeps it
 * between ups: the next up reads it back (the program cannot read a resource's previous output
 * before it registers the resource) to decide whether to renew.
 */
export interface CertificatesOutput {
    /** When the admin kubeconfig's client certificate expires (ISO 8601): kubeadm renews it with the control plane's. */
    validUntil: string;
    /** Days before validUntil from which `up` renews them (cluster.certificateRenewalDays). */
    renewalDays: number;
    /** The expiry the last renewal was made for ("" before the first): the renewal step's setting, kept so it stays the same until the next one is due. */
    renewedFor: string;
}

/** The expiry (ISO 8601) of the client certificate in an admin kubeconfig; undefined without one (check-only mode). */
export function clientCertificateExpiry(kubeconfig: string): string | undefined {
    if (!kubeconfig.trim()) {
        return undefined;
    }
    const config = yaml.load(kubeconfig) as { users?: { user?: { "client-certificate-data"?: string } }[] } | undefined;
    const data = config?.users?.find(u => u.user?.["client-certificate-data"])?.user?.["client-certificate-data"];
    if (!data) {
        return undefined;
    }
    return new Date(new X509Certificate(Buffer.from(data, "base64")).validTo).toISOString();
}

/**
 * The renewal step's setting RENEW_EXPIRING_BY: the recorded expiry when fewer than `renewalDays`
 * remain before it (the step renews certificates that expire by then), else the setting the last
 * renewal used, so an up with nothing due changes nothing.
 */
export function renewExpiringBy(previous: Partial<CertificatesOutput> | undefined, renewalDays: number, now: Date): string {
    const validUntil = Date.parse(previous?.validUntil ?? "");
    if (!Number.isNaN(validUntil) && validUntil - now.getTime() < renewalDays * 24 * 3600 * 1000) {
        return previous!.validUntil!;
    }
    return previous?.renewedFor ?? "";
}
