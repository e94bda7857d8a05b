import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseStackConfig } from "../../config";
import { renderStep } from "../../components/hosts/scripts";
import { joinPredecessors } from "../../components/hosts/worker-join";
import { kubeRouterArgs, kubeRouterManifests } from "../../components/kubernetes/kube-router";
import { configProblems, layout, rawStack, runScript } from "./helpers";

/** The most joins at once when each takes as long as `durations[i]` and starts once it may. */
function mostAtOnce(durations: number[], batchSize: number): number {
    const predecessors = joinPredecessors(durations.length, batchSize);
    const finish: number[] = [];
    durations.forEach((d, i) => finish.push((predecessors[i] === undefined ? 0 : finish[predecessors[i]!]) + d));
    const start = finish.map((f, i) => f - durations[i]);
    return Math.max(...start.map(s => start.filter((t, j) => t <= s && finish[j] > s).length));
}

/** Runs preflight (check-only) with fake firewall commands on PATH: `fakes` maps a command to its output. */
function preflightWith(fakes: Record<string, string>, settings: Record<string, string | number> = {}): { warnings: string; facts: any } {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-firewall-"));
    try {
        // Every firewall command is faked, so this machine's own firewall never shows.
        for (const command of ["ufw", "firewall-cmd", "iptables", "nft"]) {
            const output = fakes[command];
            fs.writeFileSync(path.join(bin, command), output === undefined ? "#!/bin/sh\nexit 1\n" : `#!/bin/sh\ncat <<'EOF'\n${output}\nEOF\n`, { mode: 0o755 });
        }
        const r = runScript(renderStep("preflight", true, {
            EXPECTED_HOSTNAME: "no-such-host", SKU_MEM_MB: 1, SKU_VCORE: 1, GPU_COUNT: 0, ROLE: "worker", REGISTRY_MIRRORS: "http://127.0.0.1:9", ...settings,
        }), { PATH: `${bin}:${process.env.PATH}` });
        assert.strictEqual(r.status, 0, r.stderr);
        const lines = r.stdout.trim().split("\n");
        return { warnings: lines.filter(l => /host firewall/.test(l)).join("\n"), facts: JSON.parse(lines.pop()!) };
    } finally {
        fs.rmSync(bin, { recursive: true, force: true });
    }
}

const nftDrop = `table inet filter {
\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t}
\tchain forward {
\t\ttype filter hook forward priority filter; policy drop;
\t}
}
table inet openpai_guard {
\tchain guard {
\t\ttype filter hook prerouting priority -150; policy accept;
\t}
}`;

describe("joins under the master's SSH limits (cluster.joinBatchSize)", () => {
    it("join i waits for join i - batchSize: the first batch waits for none", () => {
        assert.deepStrictEqual(joinPredecessors(3, 5), [undefined, undefined, undefined]);
        assert.deepStrictEqual(joinPredecessors(12, 5), [undefined, undefined, undefined, undefined, undefined, 0, 1, 2, 3, 4, 5, 6]);
        assert.deepStrictEqual(joinPredecessors(4, 1), [undefined, 0, 1, 2], "one at a time");
        assert.deepStrictEqual(joinPredecessors(0, 5), []);
    });

    it("never more than batchSize joins at once, whatever each takes, and batchSize at once when there are enough", () => {
        const durations = [30, 5, 60, 12, 7, 45, 3, 3, 90, 20, 11, 8, 40, 2, 25, 33, 6, 17, 70, 9];
        for (const batchSize of [1, 2, 5, 7, 20, 50]) {
            assert.strictEqual(mostAtOnce(durations, batchSize), Math.min(batchSize, durations.length), `batch size ${batchSize}`);
        }
    });

    it("a stack setting: 5 by default (half of sshd's MaxStartups 10), a whole number from 1 to 1000", () => {
        const parse = (cluster: Record<string, unknown>) => parseStackConfig(rawStack({ layout: layout(2), cluster }));
        assert.strictEqual(parse({}).cluster.joinBatchSize, 5);
        assert.strictEqual(parse({ joinBatchSize: 20 }).cluster.joinBatchSize, 20);
        assert.deepStrictEqual(configProblems(() => parse({ joinBatchSize: 0 })), ["cluster.joinBatchSize: cluster.joinBatchSize must be at least 1"]);
        assert.deepStrictEqual(configProblems(() => parse({ joinBatchSize: 2.5 })), ["cluster.joinBatchSize: cluster.joinBatchSize must be a whole number"]);
        assert.deepStrictEqual(configProblems(() => parse({ joinBatchSize: 1001 })), ["cluster.joinBatchSize: cluster.joinBatchSize must be at most 1000"]);
    });
});

describe("kube-router's overlay (cluster.podNetworkOverlay, cluster.podNetworkEncapsulation)", () => {
    const base = ["--run-router=true", "--run-firewall=true", "--run-service-proxy=false", "--bgp-graceful-restart=true"];

    it("the default renders kube-router's own defaults as before: tunnels between subnets only, IP-in-IP", () => {
        assert.deepStrictEqual(kubeRouterArgs(), base);
        assert.deepStrictEqual(kubeRouterArgs({ overlay: "subnet", encapsulation: "ipip" }), base);
        const parsed = parseStackConfig(rawStack({ layout: layout(2) })).cluster;
        assert.deepStrictEqual([parsed.podNetworkOverlay, parsed.podNetworkEncapsulation], ["subnet", "ipip"]);
    });

    it("full tunnels to every node, fou in UDP, none never tunnels; the DaemonSet runs them", () => {
        assert.deepStrictEqual(kubeRouterArgs({ overlay: "full", encapsulation: "ipip" }), [...base, "--overlay-type=full"]);
        assert.deepStrictEqual(kubeRouterArgs({ overlay: "full", encapsulation: "fou" }), [...base, "--overlay-type=full", "--overlay-encap=fou"]);
        assert.deepStrictEqual(kubeRouterArgs({ overlay: "subnet", encapsulation: "fou" }), [...base, "--overlay-encap=fou"]);
        assert.deepStrictEqual(kubeRouterArgs({ overlay: "none", encapsulation: "ipip" }), [...base, "--enable-overlay=false"]);
        const daemonSet = kubeRouterManifests(undefined, { overlay: "full", encapsulation: "fou" }).find(o => o.kind === "DaemonSet") as any;
        assert.deepStrictEqual(daemonSet.spec.template.spec.containers[0].args, [...base, "--overlay-type=full", "--overlay-encap=fou"]);
    });

    it("the DaemonSet is deleted in the background: a destroy does not wait for the garbage collector on a cluster it resets next", () => {
        const daemonSet = kubeRouterManifests(undefined, { overlay: "subnet", encapsulation: "ipip" }).find(o => o.kind === "DaemonSet") as any;
        assert.strictEqual(daemonSet.metadata.annotations["pulumi.com/deletionPropagationPolicy"], "background");
    });

    it("refuses unknown values and an encapsulation no tunnel uses, naming the field", () => {
        const parse = (cluster: Record<string, unknown>) => parseStackConfig(rawStack({ layout: layout(2), cluster }));
        assert.match(configProblems(() => parse({ podNetworkOverlay: "vxlan" })).join("\n"), /^cluster\.podNetworkOverlay: must be 'subnet' .*'full'.*'none'/);
        assert.match(configProblems(() => parse({ podNetworkEncapsulation: "gre" })).join("\n"), /^cluster\.podNetworkEncapsulation: must be 'ipip' \(IP protocol 4\) or 'fou'/);
        assert.match(configProblems(() => parse({ podNetworkOverlay: "none", podNetworkEncapsulation: "fou" })).join("\n"),
            /^cluster\.podNetworkEncapsulation: is 'fou' but cluster\.podNetworkOverlay is 'none': no tunnel uses it/);
    });
});

describe("preflight: a host firewall that would block the cluster (a warning naming what must pass)", () => {
    it("nothing active: no warning", () => {
        const { warnings, facts } = preflightWith({ ufw: "Status: inactive", "firewall-cmd": "not running", iptables: "-P INPUT ACCEPT\n-A INPUT -j KUBE-ROUTER-INPUT", nft: "table inet openpai_guard {\n\tchain guard {\n\t\ttype filter hook prerouting priority -150; policy accept;\n\t}\n}" });
        assert.strictEqual(warnings, "");
        assert.strictEqual(facts.hostFirewalls, 0);
        assert.strictEqual(preflightWith({}).facts.hostFirewalls, 0, "no firewall commands at all");
    });

    it("ufw, firewalld, iptables' INPUT policy or a final reject, an nftables input chain dropping by default: each named", () => {
        const cases: [Record<string, string>, RegExp][] = [
            [{ ufw: "Status: active\n\nTo Action From" }, /\(ufw is active\)/],
            [{ "firewall-cmd": "running" }, /\(firewalld is running\)/],
            [{ iptables: "-P INPUT DROP\n-P FORWARD DROP" }, /\(iptables' INPUT chain drops or rejects by default\)/],
            [{ iptables: "-P INPUT ACCEPT\n-A INPUT -p tcp --dport 22 -j ACCEPT\n-A INPUT -j REJECT --reject-with icmp-host-prohibited" }, /\(iptables' INPUT chain drops or rejects by default\)/],
            [{ nft: nftDrop }, /\(nftables chain 'inet filter input' drops by default\)/],
        ];
        const problemsWithout = preflightWith({}).facts.problems;
        for (const [fakes, named] of cases) {
            const { warnings, facts } = preflightWith(fakes);
            assert.match(warnings, named, JSON.stringify(fakes));
            assert.strictEqual(facts.hostFirewalls, 1, JSON.stringify(fakes));
            assert.strictEqual(facts.problems, problemsWithout, "a warning, not a problem");
        }
        // iptables-nft's INPUT chain shows in both: named once.
        const both = preflightWith({ iptables: "-P INPUT DROP", nft: "table ip filter {\n\tchain INPUT {\n\t\ttype filter hook input priority filter; policy drop;\n\t}\n}" });
        assert.strictEqual(both.facts.hostFirewalls, 1, both.warnings);
    });

    it("names the ports and protocols the cluster needs on this host, by role and overlay", () => {
        const worker = preflightWith({ ufw: "Status: active" }).warnings;
        assert.match(worker, /from the other nodes: TCP 10250 \(kubelet\), TCP 179 \(kube-router's BGP\), IP protocol 4 \(IP-in-IP between nodes of different subnets\); the pod network's traffic \(cluster\.podCidr\) forwarded\. Open them/);
        assert.doesNotMatch(worker, /6443/, "the API server's port is the master's");
        assert.match(worker, /turn the firewall off \(docs\/networks\.md\)$/m);
        const master = preflightWith({ ufw: "Status: active" }, { ROLE: "master", POD_NETWORK_OVERLAY: "full" }).warnings;
        assert.match(master, /IP protocol 4 \(IP-in-IP, cluster\.podNetworkOverlay: full\)/);
        assert.match(master, /TCP 6443 \(the API server\) from every node, the machine running Pulumi and kubectl's users; TCP 80 and 443 \(the portal\)/);
        assert.match(preflightWith({ ufw: "Status: active" }, { POD_NETWORK_OVERLAY: "full", POD_NETWORK_ENCAPSULATION: "fou" }).warnings, /UDP 5555 \(kube-router's IP-in-IP in UDP/);
        const routed = preflightWith({ ufw: "Status: active" }, { POD_NETWORK_OVERLAY: "none" }).warnings;
        assert.match(routed, /TCP 179 \(kube-router's BGP\); the pod/);
        assert.doesNotMatch(routed, /IP protocol 4|UDP 5555/);
    });
});

describe("the node step after a join, on a loaded host", () => {
    it("waits for the kubelet to register its node before labelling it", () => {
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-kubectl-"));
        try {
            // A kubectl whose node shows up at the third look, as a slow kubelet's does.
            fs.writeFileSync(path.join(bin, "kubectl"), `#!/bin/bash
echo "$*" >>"${bin}/calls"
if [[ "$1" == get ]]; then
  looks=$(($(cat "${bin}/looks" 2>/dev/null || echo 0) + 1)); echo "$looks" >"${bin}/looks"
  ((looks >= 3)) || { echo 'Error from server (NotFound): nodes "w1" not found' >&2; exit 1; }
fi
[[ "$1" != label ]] || (($(cat "${bin}/looks") >= 3)) || { echo 'labelled before it exists' >&2; exit 1; }
`, { mode: 0o755 });
            const r = runScript(renderStep("node", false, { NODE_NAME: "w1", NODE_LABELS: "pai-worker=true" }), { PATH: `${bin}:${process.env.PATH}` });
            assert.strictEqual(r.status, 0, r.stderr);
            assert.deepStrictEqual(fs.readFileSync(path.join(bin, "calls"), "utf8").trim().split("\n"),
                ["get node w1", "get node w1", "get node w1", "label node w1 pai-worker=true --overwrite"]);
        } finally {
            fs.rmSync(bin, { recursive: true, force: true });
        }
    });
});
