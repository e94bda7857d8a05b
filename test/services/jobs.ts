import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { projectRoot } from "../engine/harness";
import { PaiLab, waitFor } from "./pai-lab";

/** An example job of examples/jobs/ (OpenPAI protocol v2), renamed so each test run is new. */
export function exampleJob(file: string, name: string, changes: (job: any) => void = () => undefined): string {
    const job = yaml.load(fs.readFileSync(path.join(projectRoot, "examples", "jobs", file), "utf8")) as any;
    job.name = name;
    changes(job);
    return yaml.dump(job, { lineWidth: -1 });
}

/** What rest-server says of a job (GET /api/v2/jobs/<user>~<name>). */
export async function jobStatus(pai: PaiLab, token: string, user: string, name: string): Promise<any> {
    const r = await pai.rest("GET", `/api/v2/jobs/${user}~${name}`, { token });
    if (r.status !== 200) {
        throw new Error(`GET job ${name}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    return r.body;
}

/** Waits until rest-server reports one of `states` for the job; returns its status. */
export function jobReaches(pai: PaiLab, token: string, user: string, name: string, states: string[], timeoutMs?: number): Promise<any> {
    return waitFor(`job ${name} to be ${states.join(" or ")}`, async () => {
        const status = await jobStatus(pai, token, user, name);
        return states.includes(status.jobStatus.state) ? status : undefined;
    }, timeoutMs);
}

/** Name of a job's Framework (src/rest-server/src/models/v2/utils/name.js: md5 of "<user>~<job>"). */
export function frameworkName(user: string, name: string): string {
    return createHash("md5").update(`${user}~${name}`).digest("hex");
}

/** A job pod with the binding HiveD gave it. */
export interface JobPod {
    name: string;
    node: string;
    phase: string;
    /** hivedscheduler.microsoft.com/pod-bind-info, parsed. */
    bindInfo?: { node: string; leafCellIsolation: number[]; cellChain: string };
    /** hivedscheduler.microsoft.com/pod-leaf-cell-isolation: the GPU indices. */
    leafCells?: string;
}

/** The pods of a job: FrameworkController labels them with their Framework's name. */
export function jobPods(pai: PaiLab, user: string, name: string): JobPod[] {
    const pods = pai.json<{ items: any[] }>(["get", "pods", "-n", "default", "-l", `FC_FRAMEWORK_NAME=${frameworkName(user, name)}`]).items;
    return pods.map(p => {
        const bind = p.metadata.annotations?.["hivedscheduler.microsoft.com/pod-bind-info"];
        return {
            name: p.metadata.name,
            node: p.spec.nodeName ?? "",
            phase: p.status.phase,
            bindInfo: bind ? yaml.load(bind) as JobPod["bindInfo"] : undefined,
            leafCells: p.metadata.annotations?.["hivedscheduler.microsoft.com/pod-leaf-cell-isolation"],
        };
    });
}
