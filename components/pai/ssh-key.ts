import * as crypto from "crypto";

/** PKCS#8 DER header of an Ed25519 private key; the 32-byte seed follows it. */
const pkcs8Ed25519Prefix = Buffer.from("302e020100300506032b657004220420", "hex");

function sshString(data: Buffer | string): Buffer {
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
}

/**
 * An Ed25519 key pair in OpenSSH formats, derived from a secret seed string. Deriving it (rather
 * than generating one per run) keeps the job SSH key stable across `pulumi up`s while the seed
 * itself comes from a RandomPassword kept in the encrypted state.
 */
export function ed25519KeyPair(seedText: string, comment: string): { privateKey: string; publicKey: string } {
    const seed = crypto.createHash("sha256").update(seedText).digest();
    const privateKey = crypto.createPrivateKey({ key: Buffer.concat([pkcs8Ed25519Prefix, seed]), format: "der", type: "pkcs8" });
    const spki = crypto.createPublicKey(privateKey).export({ format: "der", type: "spki" });
    const pub = spki.subarray(spki.length - 32);
    const publicBlob = Buffer.concat([sshString("ssh-ed25519"), sshString(pub)]);
    const check = seed.subarray(0, 4);
    let secret = Buffer.concat([check, check, sshString("ssh-ed25519"), sshString(pub),
        sshString(Buffer.concat([seed, pub])), sshString(comment)]);
    const padding = (8 - (secret.length % 8)) % 8;
    secret = Buffer.concat([secret, Buffer.from(Array.from({ length: padding }, (_, i) => i + 1))]);
    const body = Buffer.concat([Buffer.from("openssh-key-v1\0"), sshString("none"), sshString("none"), sshString(""),
        Buffer.from([0, 0, 0, 1]), sshString(publicBlob), sshString(secret)]);
    const lines = body.toString("base64").match(/.{1,70}/g)!;
    return {
        privateKey: ["-----BEGIN OPENSSH PRIVATE KEY-----", ...lines, "-----END OPENSSH PRIVATE KEY-----", ""].join("\n"),
        publicKey: `ssh-ed25519 ${publicBlob.toString("base64")} ${comment}`,
    };
}
