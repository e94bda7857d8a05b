import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { masterSshArgs } from "../../cli/backup";
import { BackupFileError, decryptFile, readKeyFile, writeEncrypted } from "../../cli/backup-file";
import { parseStackConfig, readStackFile } from "../../config";
import { projectRoot } from "./helpers";

/**
 * `openpai backup` and `openpai restore` (cli/backup.ts) through a fake ssh: what reaches ssh,
 * the encrypted file, and every refusal. The scripts themselves run for real on the lab
 * (test/restore/restore.test.ts).
 */
describe("openpai backup / restore", () => {
    let tmp: string;
    let keyFile: string;
    let stackFile: string;
    let fakeBin: string;
    const archive = Buffer.from(Array.from({ length: 200000 }, (_, i) => (i * 7919) % 251));

    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-backup-"));
        keyFile = path.join(tmp, "backup.key");
        fs.writeFileSync(keyFile, "c2VjcmV0LWtleS1mb3ItdGhlLWJhY2t1cC10ZXN0cw==\n", { mode: 0o600 });
        fs.writeFileSync(path.join(tmp, "archive"), archive);
        // A stack on the dev stack's layout, reached through a bastion as a sudo user.
        const dev = yaml.load(fs.readFileSync(path.join(projectRoot, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, any> };
        dev.config["openpai:ssh"] = { user: "ops", port: 2222, bastion: { host: "bastion.example", port: 22 } };
        stackFile = path.join(tmp, "Pulumi.backup.yaml");
        fs.writeFileSync(stackFile, yaml.dump(dev));
        // The fake ssh records its arguments and its stdin; given backup.sh it prints the archive,
        // given restore.sh it keeps what it got; FAKE_SSH_EXIT makes it fail like a refusing script.
        fakeBin = path.join(tmp, "bin");
        fs.mkdirSync(fakeBin);
        fs.writeFileSync(path.join(fakeBin, "ssh"), `#!/usr/bin/env bash
printf '%s\\n' "$@" >"${tmp}/ssh-args"
echo "[remote] running" >&2
if [[ -n "\${FAKE_SSH_EXIT:-}" ]]; then echo "[remote] error: refused" >&2; exit "$FAKE_SSH_EXIT"; fi
case "$*" in
  *"fd 3 is the archive"*) cat "${tmp}/archive" ;;
  *"Stages a backup"*) cat >"${tmp}/staged"; echo "[restore] changed: staged" ;;
esac
`, { mode: 0o755 });
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    function cli(args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
        const r = spawnSync(process.execPath, [path.join(projectRoot, "bin", "openpai.js"), ...args],
            { encoding: "utf8", cwd: projectRoot, env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}`, ...env } });
        return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    }

    it("backs up through ssh into an encrypted file and stages it back byte for byte", () => {
        const file = path.join(tmp, "one.backup");
        const taken = cli(["backup", "--key-file", keyFile, "--identity", "/keys/admin", "--ssh-option", "UserKnownHostsFile=/k", stackFile, file]);
        assert.strictEqual(taken.code, 0, taken.stderr);
        assert.match(taken.stderr, /\[remote\] running/);
        assert.match(taken.stdout, /wrote .*one\.backup: \d+ bytes, encrypted/);
        assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600);
        const stored = fs.readFileSync(file);
        assert.ok(stored.subarray(0, 17).equals(Buffer.from("OPENPAI-BACKUP 1\n")));
        assert.strictEqual(stored.length, 17 + 16 + 12 + archive.length + 16);
        assert.ok(!stored.includes(archive.subarray(0, 64)), "the archive is in the file in plain text");
        const args = fs.readFileSync(path.join(tmp, "ssh-args"), "utf8").split("\n");
        assert.deepStrictEqual(args.slice(0, 14), ["-o", "BatchMode=yes", "-p", "2222", "-i", "/keys/admin", "-o", "IdentitiesOnly=yes",
            "-J", "ops@bastion.example:22", "-o", "UserKnownHostsFile=/k", "-l", "ops"]);
        assert.deepStrictEqual(args.slice(14, 16), ["--", "10.10.0.10"]);
        assert.match(args.slice(16).join("\n"), /^sudo -n bash -c '/);

        const staged = cli(["restore", "--key-file", keyFile, stackFile, file]);
        assert.strictEqual(staged.code, 0, staged.stderr);
        assert.match(staged.stdout, /\[restore\] changed: staged/);
        assert.ok(fs.readFileSync(path.join(tmp, "staged")).equals(archive));
    });

    it("the remote command is the script with its settings, quoted for the remote shell", () => {
        const stack = parseStackConfig(readStackFile(stackFile), stackFile, { requireSecrets: false });
        const args = masterSshArgs(stack, "echo 'it''s' $HOME", { options: [] });
        // What bash -c gets after the remote shell took the quotes off: the script as it was.
        const remote = args[args.length - 1];
        const unquoted = spawnSync("bash", ["-c", `printf %s ${remote.replace(/^sudo -n bash -c /, "")}`], { encoding: "utf8" }).stdout;
        assert.strictEqual(unquoted, "echo 'it''s' $HOME");
        const root = masterSshArgs({ ...stack, ssh: { ...stack.ssh, user: "root", bastion: undefined } }, "true", { options: [] });
        assert.strictEqual(root[root.length - 1], "bash -c 'true'");
        assert.ok(!root.includes("-J"));
    });

    it("a failing remote script leaves no file and says where it failed", () => {
        const file = path.join(tmp, "failed.backup");
        const r = cli(["backup", "--key-file", keyFile, stackFile, file], { FAKE_SSH_EXIT: "1" });
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /\[remote\] error: refused/);
        assert.match(r.stderr, /the backup failed on pai-master \(exit 1\)/);
        assert.ok(!fs.existsSync(file) && !fs.existsSync(`${file}.partial`));
        const unreachable = cli(["backup", "--key-file", keyFile, stackFile, file], { FAKE_SSH_EXIT: "255" });
        assert.match(unreachable.stderr, /ssh to the master pai-master \(ops@10\.10\.0\.10:2222\) failed/);
        assert.doesNotMatch(unreachable.stderr, /\n\s+at /);
    });

    it("never overwrites a backup, and refuses an open or short key file", () => {
        const file = path.join(tmp, "exists.backup");
        fs.writeFileSync(file, "precious");
        const again = cli(["backup", "--key-file", keyFile, stackFile, file]);
        assert.strictEqual(again.code, 1);
        assert.match(again.stderr, /is there already: name a new file/);
        assert.strictEqual(fs.readFileSync(file, "utf8"), "precious");
        const open = path.join(tmp, "open.key");
        fs.writeFileSync(open, "0123456789abcdef0123", { mode: 0o644 });
        fs.chmodSync(open, 0o644);
        assert.match(cli(["backup", "--key-file", open, stackFile, path.join(tmp, "x")]).stderr, /may be read by others \(mode 644\): chmod 600/);
        const short = path.join(tmp, "short.key");
        fs.writeFileSync(short, "abc\n", { mode: 0o600 });
        assert.throws(() => readKeyFile(short), /holds 3 bytes; a key has at least 16/);
        assert.match(cli(["backup", stackFile, path.join(tmp, "y")]).stderr, /backup needs --key-file/);
    });

    it("restore refuses a wrong key or a changed file before ssh is run", async () => {
        const file = path.join(tmp, "checked.backup");
        await writeEncrypted(fs.createReadStream(path.join(tmp, "archive")), file, readKeyFile(keyFile));
        fs.rmSync(path.join(tmp, "ssh-args"), { force: true });
        const otherKey = path.join(tmp, "other.key");
        fs.writeFileSync(otherKey, "another-key-of-enough-bytes", { mode: 0o600 });
        const wrong = cli(["restore", "--key-file", otherKey, stackFile, file]);
        assert.strictEqual(wrong.code, 1);
        assert.match(wrong.stderr, /the key does not open .*checked\.backup, or the file was changed/);
        const changed = fs.readFileSync(file);
        changed[100] ^= 1;
        const tampered = path.join(tmp, "tampered.backup");
        fs.writeFileSync(tampered, changed);
        assert.match(cli(["restore", "--key-file", keyFile, stackFile, tampered]).stderr, /the key does not open/);
        assert.ok(!fs.existsSync(path.join(tmp, "ssh-args")), "ssh ran for a backup that does not open");
        fs.writeFileSync(path.join(tmp, "not.backup"), "hello");
        await assert.rejects(decryptFile(path.join(tmp, "not.backup"), readKeyFile(keyFile)), BackupFileError);
    });

    it("refuses existing-cluster stacks, naming the field", () => {
        const dev = yaml.load(fs.readFileSync(stackFile, "utf8")) as { config: Record<string, any> };
        dev.config["openpai:cluster"] = { ...dev.config["openpai:cluster"], mode: "existing" };
        const existing = path.join(tmp, "Pulumi.existing.yaml");
        fs.writeFileSync(existing, yaml.dump(dev));
        const r = cli(["backup", "--key-file", keyFile, existing, path.join(tmp, "z")]);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /openpai:cluster\.mode.*is 'existing'/s);
    });
});
