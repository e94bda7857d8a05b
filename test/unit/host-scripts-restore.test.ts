import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { standaloneScript } from "../../components/hosts/scripts";

/**
 * restore.sh (`openpai restore`) against archives laid out as backup.sh writes them: what it stages
 * where, with which owners and modes, the database loader PostgreSQL's entrypoint runs, and its
 * refusals. The whole path (backup, a new master, kubeadm init on the restored etcd, the dump
 * loaded) runs on the lab: test/restore/restore.test.ts.
 */
describe("restore.sh: staging a backup on a rebuilt master", () => {
    let dir: string;
    let state: string;
    const uid = process.getuid!();

    /** A gzipped tar as backup.sh writes it, for master `node` at `address`. */
    function archive(node: string, address: string, withDatabase = true): Buffer {
        const src = fs.mkdtempSync(path.join(dir, "src-"));
        fs.writeFileSync(path.join(src, "manifest"), `node=${node}\naddress=${address}\nkubernetes=v1.34.3\ncreated=2026-12-05T01:17:18Z\ncontents=pki etcd${withDatabase ? " database" : ""}\n`);
        for (const file of ["ca.crt", "ca.key", "sa.key", "sa.pub", "front-proxy-ca.crt", "front-proxy-ca.key", "etcd/ca.crt", "etcd/ca.key"]) {
            fs.mkdirSync(path.dirname(path.join(src, "pki", file)), { recursive: true });
            fs.writeFileSync(path.join(src, "pki", file), `${file}\n`);
        }
        fs.mkdirSync(path.join(src, "etcd"));
        fs.writeFileSync(path.join(src, "etcd", "snapshot.db"), "snapshot");
        fs.mkdirSync(path.join(src, "database"));
        if (withDatabase) {
            fs.writeFileSync(path.join(src, "database", "openpai.sql"), "CREATE TABLE frameworks (name text);\n");
        }
        return spawnSync("tar", ["-C", src, "-czf", "-", "manifest", "pki", "etcd", "database"]).stdout;
    }

    function restore(input: Buffer, env: Record<string, string> = {}): { status: number | null; out: string } {
        const script = standaloneScript("restore", { EXPECTED_HOSTNAME: "pai-master", MASTER_IP: "10.0.0.10", POSTGRES_UID: uid, OPENPAI_STATE_DIR: state });
        const r = spawnSync("bash", ["-c", script], { input, encoding: "utf8", env: { ...process.env, ...env } });
        return { status: r.status, out: `${r.stdout}${r.stderr}` };
    }

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-restore-"));
        state = path.join(dir, "state");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("stages the CAs, the snapshot and the database loader, root only; the loader loads the dump once and removes it", () => {
        const r = restore(archive("pai-master", "10.0.0.10"));
        assert.strictEqual(r.status, 0, r.out);
        assert.match(r.out, /\[restore\] changed: staged the backup of pai-master taken 2026-12-05T01:17:18Z \(Kubernetes v1\.34\.3; pki etcd database\)/);
        const staged = path.join(state, "restore");
        assert.strictEqual(fs.statSync(staged).mode & 0o777, 0o700);
        assert.strictEqual(fs.readFileSync(path.join(staged, "etcd", "snapshot.db"), "utf8"), "snapshot");
        assert.strictEqual(fs.readFileSync(path.join(staged, "pki", "etcd", "ca.key"), "utf8"), "etcd/ca.key\n");
        for (const file of ["etcd/snapshot.db", "pki/ca.key", "pki/sa.key"]) {
            assert.strictEqual(fs.statSync(path.join(staged, file)).mode & 0o077, 0, `${file} is readable by others`);
        }
        const database = path.join(staged, "database");
        assert.deepStrictEqual(fs.readdirSync(database).sort(), ["openpai.dump", "restore-openpai.sh"], "no *.sql the entrypoint would load on its own");
        assert.strictEqual(fs.statSync(path.join(database, "openpai.dump")).mode & 0o777, 0o600);
        assert.strictEqual(fs.statSync(path.join(database, "openpai.dump")).uid, uid);
        assert.deepStrictEqual(fs.readdirSync(state).sort(), ["restore"], "the unpacking directory is gone");

        // As PostgreSQL's entrypoint runs it: its psql gets the dump, then both files go.
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        fs.writeFileSync(path.join(bin, "psql"), `#!/usr/bin/env bash\nprintf '%s\\n' "$@" >${dir}/psql-args\n`, { mode: 0o755 });
        const loaded = spawnSync(path.join(database, "restore-openpai.sh"), [], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, POSTGRES_USER: "root", POSTGRES_DB: "openpai" } });
        assert.strictEqual(loaded.status, 0, loaded.stderr);
        assert.match(loaded.stdout, /OpenPAI's database loaded from the backup/);
        const args = fs.readFileSync(path.join(dir, "psql-args"), "utf8");
        assert.match(args, /ON_ERROR_STOP=1\n--username\nroot\n/);
        assert.match(args, /--dbname\nopenpai\n-f\n.*openpai\.dump\n/);
        assert.deepStrictEqual(fs.readdirSync(database), []);
    });

    it("a backup without a database stages no loader", () => {
        const r = restore(archive("pai-master", "10.0.0.10", false));
        assert.strictEqual(r.status, 0, r.out);
        assert.ok(!fs.existsSync(path.join(state, "restore", "database")));
    });

    it("refuses another master's backup, and what is not a backup, staging nothing", () => {
        const other = restore(archive("old-master", "10.0.0.99"));
        assert.strictEqual(other.status, 1);
        assert.match(other.out, /the backup is of master old-master at 10\.0\.0\.99, and the layout's master is pai-master at 10\.0\.0\.10/);
        const garbage = restore(Buffer.from("not a tar"));
        assert.strictEqual(garbage.status, 1);
        assert.match(garbage.out, /could not be unpacked/);
        assert.ok(!fs.existsSync(path.join(state, "restore")), "something was staged");
        assert.deepStrictEqual(fs.readdirSync(state), [], "the unpacking directory stays");
    });

    it("a new backup replaces one staged before", () => {
        assert.strictEqual(restore(archive("pai-master", "10.0.0.10")).status, 0);
        fs.writeFileSync(path.join(state, "restore", "etcd", "stale"), "x");
        assert.strictEqual(restore(archive("pai-master", "10.0.0.10")).status, 0);
        assert.ok(!fs.existsSync(path.join(state, "restore", "etcd", "stale")));
    });
});
