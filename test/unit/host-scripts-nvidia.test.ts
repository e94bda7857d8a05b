import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderStep, renderSteps } from "../../components/hosts/scripts";
import { runScript } from "./helpers";

/**
 * A GPU server as the driver step reads it, faked: the distribution (os-release), the running
 * kernel (uname -r), the installed packages (dpkg-query), Ubuntu's archive (apt-cache show), the
 * loaded driver (/proc/driver/nvidia/version) and the PCI bus (a sysfs tree).
 */
interface Server {
    os: string;
    kernel: string;
    /** Installed package -> its Depends. */
    installed?: Record<string, string>;
    /** Package in the archive -> its `apt-cache show` text. */
    archive?: Record<string, string>;
    /** The driver's version file, when a driver is loaded. */
    loaded?: string;
    nvSwitch?: boolean;
}

const ubuntu2404 = 'ID=ubuntu\nVERSION_ID="24.04"\n';
const debian12 = 'ID=debian\nVERSION_ID="12"\n';
const openModule = "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.95.05  Release Build  (dvs-builder@U16-I3-B03-4-3)\n";
const proprietaryModule = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.95.05  Release Build  (dvs-builder@U16-I3-B03-4-3)\n";
const modules = (name: string) => `Package: ${name}\nDescription: Extra drivers for the flavour\n`;
const transitional = (name: string, to: string) =>
    `Package: ${name}\nDepends: ${to} (>= 1), nvidia-kernel-common-580-server | nvidia-kernel-common\nDescription: Extra drivers (dummy transitional package)\n`;

function fakeServer(server: Server): { dir: string; settings: Record<string, string> } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-gpu-server-"));
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    fs.mkdirSync(path.join(dir, "archive"));
    for (const [name, text] of Object.entries(server.archive ?? {})) {
        fs.writeFileSync(path.join(dir, "archive", name), text);
    }
    fs.writeFileSync(path.join(dir, "installed"), Object.entries(server.installed ?? {}).map(([name, depends]) => `${name} ${depends}\n`).join(""));
    fs.writeFileSync(path.join(dir, "os-release"), server.os);
    if (server.loaded) {
        fs.writeFileSync(path.join(dir, "nvidia-version"), server.loaded);
    }
    const script = (name: string, text: string) => fs.writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\n${text}`, { mode: 0o755 });
    script("uname", `[[ "$1" == -r ]] && { echo ${server.kernel}; exit 0; }\nexec /bin/uname "$@"\n`);
    script("apt-cache", `[[ "$1 $2" == "show --no-all-versions" && -f ${dir}/archive/$3 ]] || exit 100\ncat ${dir}/archive/$3\n`);
    script("apt-mark", "exit 0\n");
    // dpkg-query -W -f=FORMAT PATTERN...: the installed packages matching a PATTERN, in FORMAT.
    script("dpkg-query", `format="\${2#-f=}"
shift 2
found=1
for want in "$@"; do
  while read -r name depends; do
    # shellcheck disable=SC2053
    [[ "$name" == $want ]] || continue
    found=0
    line="\${format//'\${Package}'/$name}"
    line="\${line//'\${db:Status-Status}'/installed}"
    line="\${line//'\${Status}'/install ok installed}"
    line="\${line//'\${Version}'/1}"
    line="\${line//'\${Depends}'/$depends}"
    printf "$line"
  done <${dir}/installed
done
exit $found
`);
    const pci = path.join(dir, "pci");
    const functions = [{ vendor: "0x10de", class: "0x030200" }, ...(server.nvSwitch ? [{ vendor: "0x10de", class: "0x068000" }] : [])];
    functions.forEach((f, i) => {
        const device = path.join(pci, `0000:0${i + 1}:00.0`);
        fs.mkdirSync(device, { recursive: true });
        fs.writeFileSync(path.join(device, "vendor"), `${f.vendor}\n`);
        fs.writeFileSync(path.join(device, "class"), `${f.class}\n`);
    });
    return { dir, settings: { OS_RELEASE: path.join(dir, "os-release"), NVIDIA_PROC_VERSION: path.join(dir, "nvidia-version"), PCI_DEVICES: pci } };
}

/** The driver step on a fake server: check-only unless `apply`. */
function driverStep(server: Server, settings: Record<string, string> = {}, apply = false): { status: number | null; stdout: string; stderr: string } {
    const fake = fakeServer(server);
    try {
        const text = renderStep("nvidia-driver", !apply, { DRIVER_BRANCH: "580", NVIDIA_DRIVER: "install", ...fake.settings, ...settings });
        return runScript(text, { PATH: `${path.join(fake.dir, "bin")}:${process.env.PATH}` });
    } finally {
        fs.rmSync(fake.dir, { recursive: true, force: true });
    }
}

/** The packages the step would install with apt-get, in its last install line. */
function installed(stdout: string): string[] {
    const lines = stdout.split("\n").filter(l => /would run: env .*apt-get .* install -y/.test(l));
    return lines.length ? lines[lines.length - 1].replace(/.*--allow-change-held-packages /, "").split(" ") : [];
}

const awsServer: Server = {
    os: ubuntu2404, kernel: "6.8.0-1015-aws",
    installed: { "linux-image-aws": "linux-image-6.8.0-1015-aws, linux-modules-extra-6.8.0-1015-aws" },
    archive: { "linux-modules-nvidia-580-server-open-aws": modules("linux-modules-nvidia-580-server-open-aws") },
};

describe("NVIDIA driver step: Ubuntu's server driver (issue 23)", () => {
    it("installs ubuntu-drivers' GPGPU driver with the signed modules of the kernel's flavour (open by default), never DKMS or the desktop metapackage", () => {
        const r = driverStep(awsServer);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /would run: env .*apt-get .*install -y --allow-change-held-packages ubuntu-drivers-common\n/);
        assert.match(r.stdout, /would run: ubuntu-drivers install --gpgpu nvidia:580-server-open\n/);
        assert.deepStrictEqual(installed(r.stdout), ["nvidia-headless-no-dkms-580-server-open", "linux-modules-nvidia-580-server-open-aws", "nvidia-utils-580-server"]);
        assert.doesNotMatch(r.stdout, /nvidia-driver-580|nvidia-dkms|nvidia-fabricmanager/);
        assert.match(r.stdout, /found driver 'none'; would install branch 580 \(open kernel modules\) and reboot/);
    });

    it("proprietary modules when asked, for the HWE flavour whose metapackage carries the running kernel", () => {
        const r = driverStep({
            os: ubuntu2404, kernel: "6.8.0-45-generic",
            installed: { "linux-image-generic": "linux-image-6.5.0-14-generic", "linux-image-generic-hwe-22.04": "linux-image-6.8.0-45-generic" },
            archive: { "linux-modules-nvidia-580-server-generic-hwe-22.04": modules("linux-modules-nvidia-580-server-generic-hwe-22.04") },
        }, { NVIDIA_KERNEL_MODULES: "proprietary" });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /ubuntu-drivers install --gpgpu nvidia:580-server\n/);
        assert.deepStrictEqual(installed(r.stdout), ["nvidia-headless-no-dkms-580-server", "linux-modules-nvidia-580-server-generic-hwe-22.04", "nvidia-utils-580-server"]);
    });

    it("the running kernel's own modules package when no linux-image metapackage is installed", () => {
        const r = driverStep({
            os: ubuntu2404, kernel: "6.8.0-45-generic",
            archive: { "linux-modules-nvidia-580-server-open-6.8.0-45-generic": modules("linux-modules-nvidia-580-server-open-6.8.0-45-generic") },
        });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.ok(installed(r.stdout).includes("linux-modules-nvidia-580-server-open-6.8.0-45-generic"), r.stdout);
    });

    it("the fabric manager and NSCQ of the branch on NVSwitch systems, enabled", () => {
        const r = driverStep({ ...awsServer, nvSwitch: true });
        assert.deepStrictEqual(installed(r.stdout).slice(-2), ["nvidia-fabricmanager-580", "libnvidia-nscq-580"]);
        assert.match(r.stdout, /would run: systemctl enable nvidia-fabricmanager/);
    });

    it("asked first (REBOOT_PLAN=1), says whether the driver it would install needs a reboot, and installs nothing", () => {
        const plan = driverStep(awsServer, { REBOOT_PLAN: "1" });
        assert.strictEqual(plan.status, 0, plan.stderr);
        assert.match(plan.stdout, /^reboot-needed=NVIDIA driver branch 580 \(open kernel modules\) to install, 'none' loaded$/m);
        assert.doesNotMatch(plan.stdout, /ubuntu-drivers|install -y/);
        const loaded = driverStep({ ...awsServer, loaded: openModule }, { REBOOT_PLAN: "1" });
        assert.doesNotMatch(loaded.stdout, /reboot-needed/, "the branch is loaded: no reboot, no drain");
        const verify = driverStep(awsServer, { REBOOT_PLAN: "1", NVIDIA_DRIVER: "verify" });
        assert.strictEqual(verify.status, 0);
        assert.strictEqual(verify.stdout.trim(), "", "verify installs nothing, so never reboots");
    });

    it("a transitional branch is resolved to the branch it installs: the loaded driver of that branch is not reinstalled (no reboot on every run)", () => {
        const server: Server = {
            os: ubuntu2404, kernel: "6.8.0-1015-aws", installed: awsServer.installed, loaded: openModule,
            archive: {
                "linux-modules-nvidia-570-server-open-aws": transitional("linux-modules-nvidia-570-server-open-aws", "linux-modules-nvidia-580-server-open-aws"),
                "linux-modules-nvidia-580-server-open-aws": modules("linux-modules-nvidia-580-server-open-aws"),
            },
        };
        const r = driverStep(server, { DRIVER_BRANCH: "570" });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /linux-modules-nvidia-570-server-open-aws is a transitional package: branch 570 installs branch 580/);
        assert.match(r.stdout, /driver 580\.95\.05 open loaded/);
        assert.doesNotMatch(r.stdout, /reboot|ubuntu-drivers install/);
        assert.deepStrictEqual(installed(r.stdout), ["nvidia-headless-no-dkms-580-server-open", "linux-modules-nvidia-580-server-open-aws", "nvidia-utils-580-server"]);
        // Without the transitional package in the archive, branch 570 is taken at its word.
        const missing = driverStep({ ...server, archive: { "linux-modules-nvidia-580-server-open-aws": modules("x") } }, { DRIVER_BRANCH: "570" });
        assert.match(missing.stdout, /would fail: Ubuntu's archive has no linux-modules-nvidia-570-server-open-aws/);
    });

    it("a loaded driver of the branch but the other module kind is replaced (and rebooted)", () => {
        const r = driverStep({ ...awsServer, loaded: proprietaryModule });
        assert.match(r.stdout, /found driver '580\.95\.05 proprietary'; would install branch 580 \(open kernel modules\) and reboot/);
        const same = driverStep({ ...awsServer, loaded: openModule });
        assert.match(same.stdout, /driver 580\.95\.05 open loaded/);
        assert.doesNotMatch(same.stdout, /reboot/);
    });

    it("refuses install mode on Debian, naming verify mode as the way (and installs nothing)", () => {
        const debian: Server = { os: debian12, kernel: "6.1.0-27-amd64" };
        const checked = driverStep(debian);
        assert.strictEqual(checked.status, 0, checked.stderr);
        assert.match(checked.stdout, /would fail: cluster.nvidiaDriver is 'install' but this host runs 'debian 12': .*set openpai:cluster.nvidiaDriver to 'verify'/);
        assert.doesNotMatch(checked.stdout, /apt-get|ubuntu-drivers|would write/);
        const applied = driverStep(debian, {}, true);
        assert.strictEqual(applied.status, 1);
        assert.match(applied.stderr, /error: cluster.nvidiaDriver is 'install' but this host runs 'debian 12'/);
        // verify mode on Debian checks the admin's driver instead.
        assert.match(driverStep(debian, { NVIDIA_DRIVER: "verify" }).stdout, /would fail: cluster.nvidiaDriver is 'verify' but the loaded NVIDIA driver is 'none'/);
    });

    it("preflight reports a GPU worker in install mode on Debian, not in verify mode", () => {
        const fake = fakeServer({ os: debian12, kernel: "6.1.0-27-amd64" });
        try {
            const preflight = (mode: string) => runScript(renderStep("preflight", true, {
                EXPECTED_HOSTNAME: "no-such-host", SKU_MEM_MB: 1, SKU_VCORE: 1, GPU_COUNT: 1, ROLE: "worker", REGISTRY_MIRRORS: "", NVIDIA_DRIVER: mode, ...fake.settings,
            })).stdout;
            assert.match(preflight("install"), /would fail: cluster.nvidiaDriver is 'install' but this host runs 'debian 12'/);
            assert.doesNotMatch(preflight("verify"), /nvidiaDriver/);
        } finally {
            fs.rmSync(fake.dir, { recursive: true, force: true });
        }
    });

    it("refuses a module kind or branch that is not one before it names a package", () => {
        const r = driverStep(awsServer, { NVIDIA_KERNEL_MODULES: "open; reboot" }, true);
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /cluster.nvidiaKernelModules must be 'open' or 'proprietary'/);
        assert.match(driverStep(awsServer, { DRIVER_BRANCH: "58x" }, true).stderr, /cluster.nvidiaDriverBranch must be three digits/);
    });
});

describe("signing keys pinned by fingerprint (issue 23)", function () {
    this.timeout(120_000);
    let dir: string;
    /** Makes a signing key in a keyring of its own; returns its fingerprint and writes its public key (armored) to `file`. */
    const makeKey = (name: string, file: string): string => {
        const home = path.join(dir, `gnupg-${name}`);
        fs.mkdirSync(home, { mode: 0o700 });
        const gpg = (...args: string[]) => spawnSync("gpg", ["--homedir", home, "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", "", ...args], { encoding: "utf8" });
        assert.strictEqual(gpg("--quick-gen-key", `${name} <${name}@example.invalid>`, "ed25519", "sign", "never").status, 0);
        const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(gpg("--with-colons", "--list-keys").stdout)![1];
        fs.writeFileSync(file, gpg("--armor", "--export", fingerprint).stdout);
        spawnSync("gpgconf", ["--homedir", home, "--kill", "gpg-agent"]);
        return fingerprint;
    };
    let good: string;
    let other: string;

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-keys-"));
        good = makeKey("repository", path.join(dir, "good.asc"));
        other = makeKey("intruder", path.join(dir, "other.asc"));
        fs.writeFileSync(path.join(dir, "both.asc"), fs.readFileSync(path.join(dir, "good.asc"), "utf8") + fs.readFileSync(path.join(dir, "other.asc"), "utf8"));
    });

    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** lib.sh's signing_key run for real (apt's downloader reads file:// URLs) into a keyring under the test's directory. */
    const signingKey = (file: string, keyring: string, fingerprint: string) =>
        runScript(`${renderSteps([], false)}\nsigning_key file://${path.join(dir, file)} ${path.join(dir, keyring)} ${fingerprint} openpai:cluster.aptMirrorKeyFingerprint\n`);

    it("a key whose fingerprint matches becomes the keyring (once)", () => {
        const r = signingKey("good.asc", "match.gpg", good);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`changed: added the signing key ${good} from file://`));
        const keyring = path.join(dir, "match.gpg");
        assert.ok(fs.existsSync(keyring));
        const again = signingKey("good.asc", "match.gpg", good);
        assert.strictEqual(again.status, 0, again.stderr);
        assert.doesNotMatch(again.stdout, /changed/, "a keyring holding the pinned key is kept");
    });

    it("another key is refused, naming both fingerprints and the setting, and no keyring is written", () => {
        const r = signingKey("other.asc", "mismatch.gpg", good);
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, new RegExp(`has fingerprint ${other}, but ${good} is pinned: a mirror that signs with its own key needs openpai:cluster.aptMirrorKeyFingerprint`));
        assert.ok(!fs.existsSync(path.join(dir, "mismatch.gpg")));
    });

    it("a file with the pinned key and one more is refused (apt would trust both)", () => {
        const r = signingKey("both.asc", "both.gpg", good);
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, new RegExp(`has fingerprint ${good} and ${other}, but`));
        assert.ok(!fs.existsSync(path.join(dir, "both.gpg")));
    });

    it("a keyring holding another key is replaced by the pinned one", () => {
        fs.copyFileSync(path.join(dir, "match.gpg"), path.join(dir, "stale.gpg"));
        const r = signingKey("other.asc", "stale.gpg", other);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /changed: added the signing key/);
    });

    it("the Kubernetes and NVIDIA steps pin the repositories' real keys, and take a mirror's from the settings", () => {
        assert.match(renderStep("kube-packages", true, { K8S_VERSION: "v1.34.3" }), /fingerprint="\$\{APT_KEY_FINGERPRINT:-DE15B14486CD377B9E876E1A234654DA9A296436\}"/);
        assert.match(renderStep("nvidia-toolkit", true, {}), /NVIDIA_KEY_FINGERPRINT="\$\{NVIDIA_KEY_FINGERPRINT:-C95B321B61E88C1809C4F759DDCAE044F796ECB0\}"/);
        const r = runScript(renderStep("nvidia-toolkit", true, {
            NVIDIA_TOOLKIT_VERSION: "1.17.8-1", K8S_VERSION: "v1.34.3", NVIDIA_REPOSITORY: "http://mirror.example.com/nvidia", NVIDIA_KEY_FINGERPRINT: good,
        }));
        assert.match(r.stdout, new RegExp(`would fetch the signing key http://mirror.example.com/nvidia/gpgkey and check its fingerprint is ${good}`));
        assert.match(r.stdout, /would write \/etc\/apt\/sources.list.d\/nvidia-container-toolkit.list/);
        const bad = runScript(renderStep("nvidia-toolkit", true, { NVIDIA_TOOLKIT_VERSION: "1.17.8-1", K8S_VERSION: "v1.34.3", NVIDIA_KEY_FINGERPRINT: "abc" }));
        assert.strictEqual(bad.status, 1);
        assert.match(bad.stderr, /cluster.nvidiaRepositoryMirrorKeyFingerprint is not 40 hex digits/);
    });
});
