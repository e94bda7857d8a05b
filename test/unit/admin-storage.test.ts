import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { hivedForStack, parseStackConfig } from "../../config";
import { paiContext } from "../../components/pai/context";
import { paiFile } from "../../components/pai/files";
import { groupConfiguration, groupSyncSpec } from "../../components/pai/manifests/rest-server";
import { storageConfigsByGroup, storageManifests } from "../../components/pai/manifests/storage";
import { paiServices } from "../../components/pai/service";
import { K8sObject } from "../../components/pai/objects";
import { configProblems, layout, rawStack } from "./helpers";
import { upstreamHas } from "./upstream-source";

const groups = [
    { name: "vision", virtualClusters: ["default"] },
    { name: "nlp", virtualClusters: ["default"] },
];
const storage = [
    { name: "team-nfs", nfs: { server: "10.0.0.5", path: "/export/team", mountOptions: ["nfsvers=4.1"] }, groups: ["vision", "default"] },
    { name: "scratch", storageClass: { name: "fast-rwx", size: "500Gi" }, share: false, groups: ["vision"] },
    { name: "datasets", existingClaim: true, groups: ["nlp", "vision"] },
];

function parse(values: Record<string, unknown>, secrets = ["kubeconfig"]) {
    return parseStackConfig(rawStack({ layout: layout(2), cluster: { mode: "existing" }, ...values }, secrets));
}

function contextFor(values: Record<string, unknown> = {}) {
    const config = parse(values);
    return paiContext(config, hivedForStack(config).config);
}

function problems(values: Record<string, unknown>, secrets = ["kubeconfig"]): string[] {
    return configProblems(() => parse(values, secrets));
}


describe("openpai:storage (team storage for jobs)", () => {
    it("takes an NFS export, a StorageClass or an existing claim, each granted to groups", () => {
        const config = parse({ groups, storage });
        assert.deepStrictEqual(config.storage.map(s => s.name), ["team-nfs", "scratch", "datasets"]);
        assert.deepStrictEqual(config.storage[0].nfs, { server: "10.0.0.5", path: "/export/team", mountOptions: ["nfsvers=4.1"], readOnly: false, size: "1Ti" });
        assert.strictEqual(config.storage[1].share, false);
    });

    it("refuses a storage with no source or two, unknown groups, repeated names and paths that are not plain", () => {
        assert.match(problems({ storage: [{ name: "a", groups: [] }] }).join("\n"), /storage\[0\]: give exactly one of nfs, storageClass or existingClaim \(found none\)/);
        assert.match(problems({ storage: [{ name: "a", existingClaim: true, storageClass: { name: "x" } }] }).join("\n"), /found storageClass, existingClaim/);
        assert.match(problems({ storage: [{ name: "a", existingClaim: true, groups: ["ghosts"] }] }).join("\n"), /storage\[0\]\.groups\[0\]: no group 'ghosts': use one of default, admingroup/);
        assert.match(problems({ storage: [{ name: "a", existingClaim: true }, { name: "a", existingClaim: true }] }).join("\n"), /storage\[1\]\.name: storage 'a' is declared twice/);
        for (const bad of ["data", "/data/../etc", "/da ta", "/data;reboot", "/$(x)"]) {
            assert.match(problems({ storage: [{ name: "a", nfs: { server: "nfs", path: bad } }] }).join("\n"), /storage\[0\]\.nfs\.path: must be an absolute path/, bad);
        }
        assert.match(problems({ storage: [{ name: "a", nfs: { server: "nfs", path: "/d", mountOptions: ["vers=4,sec=sys"] } }] }).join("\n"), /mountOptions\[0\]: must be one mount option/);
        assert.match(problems({ storage: [{ name: "Team", existingClaim: true }] }).join("\n"), /storage\[0\]\.name: a storage name must be a lowercase DNS-1123 label/);
        assert.match(problems({ storage: [{ name: "a".repeat(57), existingClaim: true }] }).join("\n"), /at most 56 characters: jobs mount it as the volume <name>-volume/);
        assert.match(problems({ storage: [{ name: "a", existingClaim: true, share: false }] }).join("\n"), /label your own claim share: "false" instead/);
    });

    it("refuses a group rest-server would delete at start: no VC and not an admin group (src/rest-server/src/models/v2/group.js syncGroupsWithVCs)", () => {
        upstreamHas("src/rest-server/src/models/v2/group.js", "groupItem.extension.acls.virtualClusters.length === 0 &&");
        assert.match(problems({ groups: [{ name: "readers" }] }).join("\n"), /groups\[0\]\.virtualClusters: is empty: rest-server deletes a group with no VC/);
        assert.deepStrictEqual(problems({ groups: [{ name: "ops", admin: true }] }), []);
    });

    it("an NFS storage is a PersistentVolume and a claim bound by name, as OpenPAI's storage guide writes them", () => {
        const objects = storageManifests(contextFor({ groups, storage }));
        const [pv, pvc, scratch] = objects as any[];
        assert.deepStrictEqual(objects.map(o => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`),
            ["PersistentVolume//pai-storage-team-nfs", "PersistentVolumeClaim/default/team-nfs", "PersistentVolumeClaim/default/scratch"]);
        assert.deepStrictEqual(pv.spec.nfs, { server: "10.0.0.5", path: "/export/team" });
        assert.deepStrictEqual(pv.spec.mountOptions, ["nfsvers=4.1"]);
        assert.strictEqual(pv.spec.persistentVolumeReclaimPolicy, "Retain", "removing the storage leaves the data");
        assert.strictEqual(pv.spec.storageClassName, "", "no default class provisions another volume for the claim");
        assert.strictEqual(pvc.spec.storageClassName, "");
        assert.strictEqual(pvc.spec.volumeName, pv.metadata.name);
        assert.deepStrictEqual(pvc.spec.accessModes, ["ReadWriteMany"]);
        assert.strictEqual(pvc.metadata.labels.share, undefined, "shared: every user mounts the whole export");
        assert.strictEqual(scratch.metadata.labels.share, "false");
        assert.strictEqual(scratch.spec.storageClassName, "fast-rwx");
        assert.strictEqual(scratch.metadata.annotations["pulumi.com/skipAwait"], "true", "a WaitForFirstConsumer class leaves it Pending until a job mounts it");
        const readOnly = storageManifests(contextFor({ storage: [{ name: "ro", nfs: { server: "nfs", path: "/d", readOnly: true } }] }))[0] as any;
        assert.strictEqual(readOnly.spec.nfs.readOnly, true);
    });

    it("puts claims where rest-server and jobs look for them (src/rest-server/src/models/v2/storage.js, job/k8s.js)", () => {
        // rest-server lists and reads claims of `default`, Bound ones only, and the NFS details of their PV.
        upstreamHas("src/rest-server/src/models/v2/storage.js", "'/api/v1/namespaces/default/persistentvolumeclaims'");
        upstreamHas("src/rest-server/src/models/v2/storage.js", ".filter((item) => item.status.phase === 'Bound')");
        upstreamHas("src/rest-server/src/models/v2/storage.js", "share: pvc.metadata.labels && pvc.metadata.labels.share !== 'false'");
        upstreamHas("src/rest-server/src/models/v2/storage.js", "storage.readOnly = pv.spec.nfs.readOnly === true;");
        // A job mounts the claim of each storage it names (its volume is <name>-volume), with the user's sub path when not shared.
        upstreamHas("src/rest-server/src/models/v2/job/k8s.js", "claimName: `${storage.name}`");
        upstreamHas("src/rest-server/src/models/v2/job/k8s.js", "name: `${storage.name}-volume`");
        upstreamHas("src/rest-server/src/models/v2/job/k8s.js", "...(storage.share === false && { subPath: jobInfo.userName })");
        for (const claim of storageManifests(contextFor({ groups, storage })).filter(o => o.kind === "PersistentVolumeClaim")) {
            assert.strictEqual(claim.metadata.namespace, "default");
        }
    });

    it("grants each group its storages in group.yaml's storageConfigs, the first one its default (src/rest-server/src/models/v2/group.js)", () => {
        upstreamHas("src/rest-server/src/models/v2/group.js", "storageConfigs.add(groupItem.extension.acls.storageConfigs[0]);");
        const ctx = contextFor({ groups, storage });
        assert.deepStrictEqual([...storageConfigsByGroup(ctx)], [["vision", ["team-nfs", "scratch", "datasets"]], ["default", ["team-nfs"]], ["nlp", ["datasets"]]]);
        const file = yaml.load(groupConfiguration(ctx)) as any;
        assert.deepStrictEqual(file.defaultGroup.extension.acls.storageConfigs, ["team-nfs"]);
        assert.deepStrictEqual(file.adminGroup.extension.acls.storageConfigs, []);
        assert.deepStrictEqual(file.grouplist.map((g: any) => [g.groupname, g.extension.acls.storageConfigs]), [["vision", ["team-nfs", "scratch", "datasets"]], ["nlp", ["datasets"]]]);
    });

    it("rest-server rolls when a group or storage changes, and its group-sync init container writes the groups first", () => {
        const restServer = (values: Record<string, unknown>) => (Object.values(paiServices).flatMap(s => s.manifests(contextFor(values)))
            .find(o => o.kind === "DaemonSet" && o.metadata.name === "rest-server") as any).spec.template;
        const before = restServer({ groups });
        const after = restServer({ groups, storage });
        assert.notStrictEqual(before.metadata.annotations["openpai.io/config-hash"], after.metadata.annotations["openpai.io/config-hash"]);
        const init = after.spec.initContainers[0];
        assert.strictEqual(init.name, "group-sync");
        assert.match(init.image, /\/rest-server:v1\.8\.0$/);
        assert.deepStrictEqual(init.command, ["node", "/group-sync/group-sync.js", "/group-sync/groups.json"]);
        const spec = JSON.parse(groupSyncSpec(contextFor({ groups, storage })));
        assert.deepStrictEqual(spec.map((g: any) => [g.groupname, g.stack]), [["admingroup", false], ["default", false], ["vision", true], ["nlp", true]]);
    });
});

/** A fake Kubernetes API for group Secrets, over HTTPS with a throwaway CA, as the init container reaches the real one. */
class FakeGroupApi {
    readonly secrets = new Map<string, any>();
    readonly requests: string[] = [];
    private server?: https.Server;
    readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "group-sync-"));

    async start(): Promise<number> {
        const made = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", path.join(this.dir, "key.pem"), "-out", path.join(this.dir, "ca.crt")], { encoding: "utf8" });
        assert.strictEqual(made.status, 0, made.stderr);
        fs.writeFileSync(path.join(this.dir, "token"), "group-sync-token\n");
        this.server = https.createServer({ key: fs.readFileSync(path.join(this.dir, "key.pem")), cert: fs.readFileSync(path.join(this.dir, "ca.crt")) }, (req, res) => {
            const chunks: Buffer[] = [];
            req.on("data", c => chunks.push(c));
            req.on("end", () => {
                this.requests.push(`${req.method} ${req.url}`);
                const reply = (status: number, body: unknown) => res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
                if (req.headers.authorization !== "Bearer group-sync-token") {
                    return reply(401, { message: "Unauthorized" });
                }
                const name = /^\/api\/v1\/namespaces\/pai-group\/secrets(?:\/([0-9a-f]+))?$/.exec(req.url ?? "");
                const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
                if (!name) {
                    return reply(404, { message: "no such path" });
                }
                if (req.method === "GET") {
                    const secret = this.secrets.get(name[1]);
                    return secret ? reply(200, secret) : reply(404, { message: "not found" });
                }
                if (req.method === "POST") {
                    this.secrets.set(body.metadata.name, { ...body, metadata: { ...body.metadata, resourceVersion: "1" } });
                    return reply(201, body);
                }
                if (req.method === "PUT") {
                    this.secrets.set(name[1], { ...body, metadata: { ...body.metadata, resourceVersion: "2" } });
                    return reply(200, body);
                }
                return reply(405, { message: "method" });
            });
        });
        await new Promise<void>(resolve => this.server!.listen(0, "127.0.0.1", resolve));
        return (this.server!.address() as { port: number }).port;
    }

    stop(): void {
        this.server?.close();
        fs.rmSync(this.dir, { recursive: true, force: true });
    }

    group(name: string): any {
        const data = this.secrets.get(Buffer.from(name).toString("hex"))?.data;
        const field = (key: string) => Buffer.from(data[key], "base64").toString();
        return data && { groupname: field("groupname"), description: field("description"), externalName: field("externalName"), extension: JSON.parse(field("extension")) };
    }

    seed(group: any): void {
        const encode = (text: string) => Buffer.from(text).toString("base64");
        this.secrets.set(Buffer.from(group.groupname).toString("hex"), {
            metadata: { name: Buffer.from(group.groupname).toString("hex"), resourceVersion: "1" },
            data: { groupname: encode(group.groupname), description: encode(group.description), externalName: encode(group.externalName), extension: encode(JSON.stringify(group.extension)) },
        });
    }
}

describe("group-sync: the stack's groups reach rest-server's group Secrets (files/group-sync.js on Node, as in rest-server's image)", () => {
    const api = new FakeGroupApi();
    let port = 0;
    const script = path.join(api.dir, "group-sync.js");

    before(async function () {
        if (spawnSync("openssl", ["version"]).status !== 0) {
            this.skip();
        }
        port = await api.start();
        fs.writeFileSync(script, paiFile("group-sync.js"));
    });
    after(() => api.stop());

    function run(spec: string): Promise<{ code: number; out: string }> {
        const specFile = path.join(api.dir, "groups.json");
        fs.writeFileSync(specFile, spec);
        return new Promise(resolve => {
            const child = spawn(process.execPath, [script, specFile], {
                env: { PATH: process.env.PATH, SERVICE_ACCOUNT_DIR: api.dir, KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(port) },
            });
            let out = "";
            child.stdout.on("data", d => out += d);
            child.stderr.on("data", d => out += d);
            child.on("close", code => resolve({ code: code ?? -1, out }));
        });
    }

    it("reads the format rest-server writes (src/rest-server/src/utils/manager/group/crudK8sSecret.js)", () => {
        upstreamHas("src/rest-server/src/utils/manager/group/crudK8sSecret.js", "const hexKey = Buffer.from(key).toString('hex');");
        upstreamHas("src/rest-server/src/utils/manager/group/crudK8sSecret.js", "extension: Buffer.from(\n          JSON.stringify(groupInstance.extension),\n        ).toString('base64'),");
    });

    it("creates missing groups, updates the stack's groups' acls and only the storages of OpenPAI's own, keeping other fields; a second run changes nothing", async () => {
        // What rest-server made at an earlier start, and what an admin changed since.
        api.seed({ groupname: "default", description: "group for default vc", externalName: "", extension: { acls: { virtualClusters: ["default", "vc9"], admin: false, storageConfigs: [] } } });
        api.seed({ groupname: "vision", description: "old", externalName: "ext", extension: { acls: { virtualClusters: ["vc0"], admin: true }, note: "kept" } });
        const first = await run(groupSyncSpec(contextFor({ groups, storage })));
        assert.strictEqual(first.code, 0, first.out);
        assert.match(first.out, /changed: created group admingroup/);
        assert.match(first.out, /changed: group vision: storages team-nfs, scratch, datasets, VCs default, admin false/);
        assert.deepStrictEqual(api.group("default").extension.acls, { virtualClusters: ["default", "vc9"], admin: false, storageConfigs: ["team-nfs"] },
            "OpenPAI's own group keeps its VCs, gets its storages");
        assert.deepStrictEqual(api.group("vision"), { groupname: "vision", description: "", externalName: "ext",
            extension: { acls: { virtualClusters: ["default"], admin: false, storageConfigs: ["team-nfs", "scratch", "datasets"] }, note: "kept" } });
        assert.deepStrictEqual(api.group("nlp").extension.acls.storageConfigs, ["datasets"]);
        const writes = api.requests.filter(r => !r.startsWith("GET")).length;
        const second = await run(groupSyncSpec(contextFor({ groups, storage })));
        assert.strictEqual(second.code, 0, second.out);
        assert.doesNotMatch(second.out, /changed/);
        assert.strictEqual(api.requests.filter(r => !r.startsWith("GET")).length, writes, "nothing written the second time");
    });

    it("fails with the API's message when it may not write (the pod does not start half-synced)", async () => {
        fs.writeFileSync(path.join(api.dir, "token"), "wrong\n");
        const r = await run(groupSyncSpec(contextFor({ groups })));
        fs.writeFileSync(path.join(api.dir, "token"), "group-sync-token\n");
        assert.strictEqual(r.code, 1);
        assert.match(r.out, /group-sync: reading group admingroup: 401 Unauthorized/);
    });
});

describe("storage objects in the program", () => {
    it("are declared by a Storage component before rest-server", () => {
        const objects: K8sObject[] = paiServices.storage.manifests(contextFor({ groups, storage }));
        assert.strictEqual(objects.length, 3);
        assert.deepStrictEqual(paiServices.storage.manifests(contextFor()), []);
    });
});
