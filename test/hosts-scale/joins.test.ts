import * as assert from "assert";
import { Engine, must, projectEntries, projectRoot, Stack } from "../engine/harness";
import { Lab, LabEnv, LabHost } from "../lab/lab";
import { labHosts, labStackConfig } from "../hosts/lab-stack";

const { master } = labHosts;
/** Ten workers, addressed apart from the other host tests' hosts. */
const workers: LabHost[] = Array.from({ length: 10 }, (_, i) => ({ name: `pai-scale-${i + 1}`, address: `10.78.0.${101 + i}` }));
/** cluster.joinBatchSize's default. */
const batchSize = 5;
/** What the master's sshd logs when it turns new connections away (sshd.c, OpenSSH 9.2). */
const sshdRefusal = /drop connection|MaxStartups throttling|exceeded MaxStartups/;

/** When one worker's join resource started and finished, in ms since the up started. */
interface JoinTiming {
    worker: string;
    started: number;
    finished?: number;
    /** Whether it ended failed. */
    failed?: boolean;
}

/** How many of the joins ran at once, at most (a join ending as another starts counts once). */
function mostAtOnce(timings: JoinTiming[]): number {
    const edges = timings.flatMap(t => [[t.started, 1], [t.finished ?? Infinity, -1]])
        .sort(([a, da], [b, db]) => a - b || da - db);
    let running = 0;
    let most = 0;
    for (const [, delta] of edges) {
        running += delta;
        most = Math.max(most, running);
    }
    return most;
}

/**
 * Ten workers joined in one `pulumi up` on the local lab (issue 23): the joins go in
 * cluster.joinBatchSize chains, so the master's sshd, at its default MaxStartups 10:30:100, turns
 * no connection away. Its own npm script (test:hosts-scale), apart from the host tier's CI run:
 * eleven hosts provisioned at once take long on a 2-core machine.
 */
describe("ten workers joined in one up, under the master's SSH limits (the local lab)", function () {
    this.timeout(90 * 60 * 1000);
    const lab = new Lab();
    let env: LabEnv;
    let engine: Engine;
    let stack: Stack;
    const sshdLog = "/var/log/openpai-scale-test.log";

    before(async () => {
        env = lab.up();
        await lab.start([master, ...workers]);
        // Copies: the run takes the sources as they were when it started.
        engine = new Engine({ dir: projectRoot, entries: projectEntries, copies: ["index.ts", "components", "config"] });
        stack = engine.stack("lab", labStackConfig(env, { workers, devBox: false }), { "openpai:sshPrivateKey": lab.privateKey() });
        // The master's sshd logs to a file of its own (-E), read from the host's disk: nothing here
        // logs in to read it, and no journald pace decides what a read finds. VERBOSE: every login.
        const dropIn = "/etc/systemd/system/ssh.service.d/openpai-scale-test.conf";
        lab.ssh(master, `sudo mkdir -p /etc/systemd/system/ssh.service.d`
            + ` && printf '[Service]\\nExecStart=\\nExecStart=/usr/sbin/sshd -D -E ${sshdLog} -o LogLevel=VERBOSE\\n' | sudo tee ${dropIn} >/dev/null`
            + " && sudo systemctl daemon-reload && sudo systemctl restart ssh");
    });

    after(() => {
        try {
            lab.down();
        } finally {
            engine?.cleanup();
        }
    });

    it("joins all ten, at most joinBatchSize at once, each chain in order, with no connection turned away by the master's sshd", async () => {
        const logStart = lab.readHostFile(master, sshdLog).split("\n").length - 1;
        const joins = new Map<string, JoinTiming>();
        const started = Date.now();
        const r = await stack.runWatching(["up", "--yes", "--skip-preview"], line => {
            const m = /openpai-hosts-(\S+)-join (creating|created|\*\*creating failed)\b/.exec(line);
            if (!m) {
                return;
            }
            const at = Date.now() - started;
            if (m[2] === "creating" && !joins.has(m[1])) {
                joins.set(m[1], { worker: m[1], started: at });
            } else if (m[2] !== "creating") {
                joins.get(m[1])!.finished = at;
                joins.get(m[1])!.failed = m[2] !== "created";
            }
        });
        const upSeconds = (Date.now() - started) / 1000;
        const seconds = (ms?: number) => ms === undefined ? null : Math.round(ms / 100) / 10;
        for (const worker of workers) {
            const t = joins.get(worker.name);
            process.stdout.write(`${JSON.stringify({ name: `join_${worker.name}`, started_s: seconds(t?.started), finished_s: seconds(t?.finished), failed: t?.failed ?? null, unit: "s since the up started" })}\n`);
        }
        process.stdout.write(`${JSON.stringify({ name: "up_11_hosts", value: Math.round(upSeconds * 10) / 10, unit: "s" })}\n`);
        const timings = workers.map(w => joins.get(w.name));
        process.stdout.write(`${JSON.stringify({ name: "most_joins_at_once", value: mostAtOnce(timings.filter((t): t is JoinTiming => t !== undefined)), unit: "joins" })}\n`);
        // What the master's sshd logged during the up, printed before any verdict on the up.
        const sshd = lab.readHostFile(master, sshdLog).split("\n").slice(logStart).join("\n");
        const logins = (sshd.match(/Accepted publickey for /g) ?? []).length;
        const refusals = sshd.split("\n").filter(l => sshdRefusal.test(l));
        process.stdout.write(`${JSON.stringify({ name: "master_sshd_during_up", logins, refusals: refusals.length })}\n`);
        assert.deepStrictEqual(refusals, [], "the master's sshd turned connections away");
        assert.strictEqual(r.code, 0, `${r.stdout}\n${r.stderr}`);

        const kubectl = (args: string) => lab.ssh(master, `sudo kubectl --kubeconfig /etc/kubernetes/admin.conf ${args}`);
        const ready = kubectl("get nodes --no-headers").trim().split("\n").map(l => l.split(/\s+/)).filter(f => f[1] === "Ready").map(f => f[0]).sort();
        assert.deepStrictEqual(ready, [master.name, ...workers.map(w => w.name)].sort());

        assert.ok(timings.every(t => t?.finished !== undefined), `every join started and finished: ${JSON.stringify(timings)}`);
        const done = timings as JoinTiming[];
        assert.ok(mostAtOnce(done) <= batchSize, `at most ${batchSize} joins at once: ${mostAtOnce(done)}`);
        done.slice(batchSize).forEach((t, i) => assert.ok(t.started >= done[i].finished!, `${t.worker}'s join started after ${done[i].worker}'s finished`));
        // The state says so too: each join after the first batch depends on the one batchSize before.
        const resources: { urn: string; dependencies?: string[] }[] = JSON.parse(must(stack.run(["stack", "export"])).stdout).deployment.resources;
        const joinUrn = (w: LabHost) => resources.find(res => res.urn.endsWith(`::openpai-hosts-${w.name}-join`))!;
        workers.forEach((w, i) => {
            const waitsFor = workers.filter(other => joinUrn(w).dependencies?.includes(joinUrn(other).urn)).map(other => other.name);
            assert.deepStrictEqual(waitsFor, i >= batchSize ? [workers[i - batchSize].name] : [], `${w.name}'s join's dependencies`);
        });
        // Each join logs in to the master twice (token; token deleted and node labelled): the log is
        // the one sshd wrote during the up.
        assert.ok(logins >= 2 * workers.length, `the master's sshd log holds the up's logins (${logins}):\n${sshd.slice(-3000)}`);
    });
});
