import * as pulumi from "@pulumi/pulumi";
import * as net from "net";
import { LocalCommand } from "../hosts/commands";

export interface PortalCertificateArgs {
    /** The cluster's id, in the CA's name (so an admin trusting several clusters tells them apart). */
    clusterId: string;
    /** Host names and IP addresses the portal is reached at (validated config values). */
    names: string[];
}

const needsOpenssl = `command -v openssl >/dev/null || { echo "openpai: the portal's certificate is made with openssl on the machine running Pulumi: install openssl, or give your own certificate (openpai:tls and the secret openpai:tlsKey)" >&2; exit 1; }`;

/** Bash that makes the CA: a P-256 key and a 10-year self-signed CA certificate, printed as PEM. */
export function caScript(): string {
    return `set -euo pipefail
${needsOpenssl}
dir="$(mktemp -d)"; trap 'rm -rf "$dir"' EXIT
umask 077
openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key"
openssl req -x509 -new -key "$dir/ca.key" -sha256 -days 3650 -subj "/O=OpenPAI/CN=OpenPAI portal CA $OPENPAI_CLUSTER" \\
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$dir/ca.crt"
cat "$dir/ca.crt" "$dir/ca.key"
`;
}

/** openssl's subjectAltName entries for the names: IP: for addresses, DNS: for host names. */
export function subjectAltNames(names: string[]): string {
    return names.map(n => `${net.isIP(n) ? "IP" : "DNS"}:${n}`).join(",");
}

/**
 * Bash that makes the portal's certificate for OPENPAI_SANS, signed by the CA given in
 * OPENPAI_CA_CERT and OPENPAI_CA_KEY: a P-256 key and a certificate valid 825 days (the most
 * browsers accept), printed as PEM: the certificate, the CA, the key.
 */
export function serverScript(): string {
    return `set -euo pipefail
${needsOpenssl}
dir="$(mktemp -d)"; trap 'rm -rf "$dir"' EXIT
umask 077
printf '%s\\n' "$OPENPAI_CA_CERT" >"$dir/ca.crt"
printf '%s\\n' "$OPENPAI_CA_KEY" >"$dir/ca.key"
printf '%s\\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \\
  "subjectAltName=$OPENPAI_SANS" >"$dir/ext"
openssl ecparam -name prime256v1 -genkey -noout -out "$dir/tls.key"
openssl req -new -key "$dir/tls.key" -subj "/O=OpenPAI/CN=$OPENPAI_CN" -out "$dir/tls.csr"
openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -set_serial "0x$(openssl rand -hex 16)" \\
  -days 825 -sha256 -extfile "$dir/ext" -out "$dir/tls.crt" 2>/dev/null
cat "$dir/tls.crt" "$dir/ca.crt" "$dir/tls.key"
`;
}

/** The PEM blocks of a text by kind: certificates in order, and the private key (none in a text without PEM). */
export function pemBlocks(text: string | undefined): { certificates: string[]; key?: string } {
    const blocks = (text ?? "").match(/-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g) ?? [];
    return {
        certificates: blocks.filter(b => b.startsWith("-----BEGIN CERTIFICATE-----")).map(b => `${b}\n`),
        key: blocks.filter(b => /PRIVATE KEY-----$/.test(b)).map(b => `${b}\n`)[0],
    };
}

/**
 * The portal's certificate when the admin gives none: a CA made once (kept in the encrypted
 * state, never replaced, so browsers and tools trust it once) and a server certificate it signs
 * for the portal's names, made again when the names change. Both are made with openssl on the
 * machine running Pulumi, at create only: a preview changes nothing.
 */
export class PortalCertificate extends pulumi.ComponentResource {
    /** The CA to trust (PEM; public): stack output portalCaCertificate. */
    public readonly caCertificate: pulumi.Output<string>;
    /** The server certificate then the CA (PEM). */
    public readonly certificateChain: pulumi.Output<string>;
    /** The server certificate's key (PEM; secret). */
    public readonly key: pulumi.Output<string>;

    constructor(name: string, args: PortalCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
        super("openpai:pai:PortalCertificate", name, {}, opts);
        const secretStdout = { parent: this, additionalSecretOutputs: ["stdout"] };
        const ca = new LocalCommand(`${name}-ca`, {
            create: caScript(), environment: { OPENPAI_CLUSTER: args.clusterId }, logging: "none",
        }, secretStdout);
        const caPem = ca.stdout.apply(pemBlocks);
        const server = new LocalCommand(`${name}-server`, {
            create: serverScript(),
            environment: {
                OPENPAI_CA_CERT: pulumi.unsecret(caPem.apply(p => p.certificates[0] ?? "")),
                OPENPAI_CA_KEY: pulumi.secret(caPem.apply(p => p.key ?? "")),
                OPENPAI_CN: args.names[0], OPENPAI_SANS: subjectAltNames(args.names),
            },
            logging: "none",
        }, secretStdout);
        const serverPem = server.stdout.apply(pemBlocks);
        this.caCertificate = pulumi.unsecret(caPem.apply(p => p.certificates[0] ?? ""));
        this.certificateChain = pulumi.unsecret(serverPem.apply(p => p.certificates.join("")));
        this.key = pulumi.secret(serverPem.apply(p => p.key ?? ""));
        this.registerOutputs({ caCertificate: this.caCertificate, certificateChain: this.certificateChain });
    }
}
