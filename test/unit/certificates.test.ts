import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { clientCertificateExpiry, renewExpiringBy } from "../../components/hosts/certificates";
import { parseStackConfig } from "../../config";
import { layout, rawStack } from "./helpers";

/** A kubeconfig as kubeadm writes admin.conf, with a client certificate valid for `days`. */
function adminKubeconfig(days: number): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-cert-"));
    try {
        const made = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"), "-days", String(days), "-subj", "/O=kubeadm:cluster-admins/CN=kubernetes-admin"], { encoding: "utf8" });
        assert.strictEqual(made.status, 0, made.stderr);
        const cert = fs.readFileSync(path.join(dir, "cert.pem")).toString("base64");
        return yaml.dump({
            apiVersion: "v1", kind: "Config", "current-context": "kubernetes-admin@kubernetes",
            clusters: [{ name: "kubernetes", cluster: { server: "https://10.0.0.10:6443", "certificate-authority-data": "Q0E=" } }],
            users: [{ name: "kubernetes-admin", user: { "client-certificate-data": cert, "client-key-data": "S0VZ" } }],
        });
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const day = 24 * 3600 * 1000;

describe("kubeadm certificates: expiry and renewal (components/hosts/certificates.ts)", () => {
    it("reads the expiry of the admin kubeconfig's client certificate; none without one (check-only mode)", () => {
        const expiry = clientCertificateExpiry(adminKubeconfig(365))!;
        const inDays = (Date.parse(expiry) - Date.now()) / day;
        assert.ok(inDays > 364.9 && inDays <= 365, `${expiry} is a year from now`);
        assert.strictEqual(clientCertificateExpiry(""), undefined);
        assert.strictEqual(clientCertificateExpiry(yaml.dump({ users: [{ name: "x", user: { token: "t" } }] })), undefined);
    });

    it("renews when fewer than the renewal days remain, and otherwise keeps the last renewal's setting so nothing changes", () => {
        const now = new Date("2027-11-10T00:00:00Z");
        const validUntil = "2027-12-04T14:00:00.000Z";
        assert.strictEqual(renewExpiringBy(undefined, 30, now), "", "the first up: nothing recorded, nothing renewed");
        assert.strictEqual(renewExpiringBy({ validUntil, renewalDays: 30, renewedFor: "" }, 30, now), validUntil, "24 days left: renew what expires by then");
        assert.strictEqual(renewExpiringBy({ validUntil, renewalDays: 30, renewedFor: "" }, 20, now), "", "24 days left, renewal at 20: not yet");
        // After a renewal the certificates last a year again: the setting stays what the renewal used.
        const renewed = { validUntil: "2028-11-10T00:00:00.000Z", renewalDays: 30, renewedFor: validUntil };
        assert.strictEqual(renewExpiringBy(renewed, 30, now), validUntil);
        assert.strictEqual(renewExpiringBy(renewed, 400, now), renewed.validUntil, "a renewal threshold over a year renews on every up");
    });

    it("cluster.certificateRenewalDays: 30 days by default, 1 to 730", () => {
        assert.strictEqual(parseStackConfig(rawStack({ layout: layout(2) })).cluster.certificateRenewalDays, 30);
        assert.throws(() => parseStackConfig(rawStack({ layout: layout(2), cluster: { certificateRenewalDays: 0 } })), /cluster\.certificateRenewalDays/);
    });
});
