import * as crypto from "crypto";
import * as fs from "fs";
import { Readable, Writable } from "stream";
import { pipeline } from "stream/promises";

/*
 * The backup file: `OPENPAI-BACKUP 1\n`, a scrypt salt (16 bytes), an AES-256-GCM nonce (12),
 * the encrypted archive, and GCM's tag (16). The key is scrypt of the key file's bytes. Written
 * and read as streams: an etcd snapshot reaches gigabytes, and no plaintext touches the disk here.
 */
const magic = Buffer.from("OPENPAI-BACKUP 1\n");
const saltBytes = 16;
const nonceBytes = 12;
const tagBytes = 16;
const headerBytes = magic.length + saltBytes + nonceBytes;
/** Bytes a key file must hold at least (`openssl rand -base64 32` writes 45). */
export const minKeyBytes = 16;

/** A backup or key file that cannot be used; its message says what to do. */
export class BackupFileError extends Error {}

/**
 * The secret of a key file: its bytes less trailing whitespace. Refused when others may read it
 * (like ssh's private keys) or when it is too short to be a key.
 */
export function readKeyFile(file: string): Buffer {
    const mode = fs.statSync(file).mode;
    if ((mode & 0o077) !== 0) {
        throw new BackupFileError(`the key file ${file} may be read by others (mode ${(mode & 0o777).toString(8)}): chmod 600 ${file}`);
    }
    const secret = Buffer.from(fs.readFileSync(file).toString("latin1").replace(/\s+$/, ""), "latin1");
    if (secret.length < minKeyBytes) {
        throw new BackupFileError(`the key file ${file} holds ${secret.length} bytes; a key has at least ${minKeyBytes}: make one with 'openssl rand -base64 32 > ${file}' (mode 600) and keep it apart from the backups`);
    }
    return secret;
}

function deriveKey(secret: Buffer, salt: Buffer): Buffer {
    return crypto.scryptSync(secret, salt, 32, { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
}

/**
 * Encrypts `source` into `file` as it arrives: written to `<file>.partial` (mode 600), renamed when
 * whole; returns its size. A source that fails leaves no file.
 */
export async function writeEncrypted(source: Readable, file: string, secret: Buffer): Promise<number> {
    const salt = crypto.randomBytes(saltBytes);
    const nonce = crypto.randomBytes(nonceBytes);
    const cipher = crypto.createCipheriv("aes-256-gcm", deriveKey(secret, salt), nonce);
    const partial = `${file}.partial`;
    const out = fs.createWriteStream(partial, { mode: 0o600 });
    try {
        out.write(Buffer.concat([magic, salt, nonce]));
        await pipeline(source, cipher, out);
        fs.appendFileSync(partial, cipher.getAuthTag());
        fs.renameSync(partial, file);
    } catch (err) {
        fs.rmSync(partial, { force: true });
        throw err;
    }
    return fs.statSync(file).size;
}

/**
 * Decrypts `file` into `sink` (none: only checks it). GCM authenticates at the end, so a caller
 * that acts on the plaintext checks the whole file first (restore does: twice through).
 */
export async function decryptFile(file: string, secret: Buffer, sink?: Writable): Promise<void> {
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, "r");
    const header = Buffer.alloc(headerBytes);
    const tag = Buffer.alloc(tagBytes);
    try {
        if (size < headerBytes + tagBytes || fs.readSync(fd, header, 0, headerBytes, 0) !== headerBytes || !header.subarray(0, magic.length).equals(magic)) {
            throw new BackupFileError(`${file} is not a backup written by openpai backup`);
        }
        fs.readSync(fd, tag, 0, tagBytes, size - tagBytes);
    } finally {
        fs.closeSync(fd);
    }
    const salt = header.subarray(magic.length, magic.length + saltBytes);
    const nonce = header.subarray(magic.length + saltBytes);
    const decipher = crypto.createDecipheriv("aes-256-gcm", deriveKey(secret, salt), nonce);
    decipher.setAuthTag(tag);
    const body = size - tagBytes > headerBytes
        ? fs.createReadStream(file, { start: headerBytes, end: size - tagBytes - 1 })
        : Readable.from([]);
    const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
    try {
        await pipeline(body, decipher, sink ?? discard);
    } catch (err) {
        if (/unable to authenticate/i.test((err as Error).message)) {
            throw new BackupFileError(`the key does not open ${file}, or the file was changed after it was written`);
        }
        throw err;
    }
}
