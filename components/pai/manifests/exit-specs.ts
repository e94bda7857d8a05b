/**
 * Exit specs: what an exit code of a job means, for rest-server (job status and diagnostics,
 * src/rest-server/src/models/v2/utils/frameworkConverter.js reads
 * /k8s-job-exit-spec-configuration/k8s-job-exit-spec.yaml at start and crashes without it) and
 * for the openpai-runtime in every job pod (go/pkg/aggregator/error_aggregator.go reads
 * runtime-exit-spec.yaml: containerExitCode and log patterns). Our own table: FrameworkController
 * v1.0's completion codes (pkg/apis/frameworkcontroller/v1/completion.go), the runtime's init
 * codes (openpai-runtime src/init), common signals, and rest-server's fallbacks 256 and -8000.
 */

type Issuer = "USER" | "PAI_RUNTIME" | "PAI_FC" | "PAI_OS" | "UNKNOWN";

interface ExitCodeMeaning {
    code: number;
    phrase: string;
    issuer: Issuer;
    causer: "USER" | "PAI" | "UNKNOWN";
    type: "NONE" | "USER_FAILURE" | "PLATFORM_FAILURE" | "RESOURCE_ALLOCATION_TIMEOUT" | "UNKNOWN_FAILURE";
    stage: "LAUNCHING" | "RUNNING" | "COMPLETING" | "UNKNOWN";
    behavior: "TRANSIENT" | "PERSISTENT" | "UNKNOWN";
    reaction: "ALWAYS_RETRY" | "RETRY_TO_MAX" | "NEVER_RETRY";
    reason: string;
    solution?: string;
}

const meanings: ExitCodeMeaning[] = [
    { code: 0, phrase: "Succeeded", issuer: "USER", causer: "USER", type: "NONE", stage: "COMPLETING", behavior: "UNKNOWN", reaction: "NEVER_RETRY", reason: "every task's command exited 0" },
    { code: -100, phrase: "ConfigMapExternalDeleted", issuer: "PAI_FC", causer: "UNKNOWN", type: "PLATFORM_FAILURE", stage: "RUNNING", behavior: "TRANSIENT", reaction: "ALWAYS_RETRY", reason: "the job's ConfigMap was deleted from outside" },
    { code: -101, phrase: "PodExternalDeleted", issuer: "PAI_FC", causer: "UNKNOWN", type: "PLATFORM_FAILURE", stage: "RUNNING", behavior: "TRANSIENT", reaction: "ALWAYS_RETRY", reason: "a task's pod was deleted from outside (node drained or lost?)" },
    { code: -110, phrase: "ConfigMapCreationTimeout", issuer: "PAI_FC", causer: "PAI", type: "PLATFORM_FAILURE", stage: "LAUNCHING", behavior: "TRANSIENT", reaction: "ALWAYS_RETRY", reason: "the job's ConfigMap did not appear in time" },
    { code: -111, phrase: "PodCreationTimeout", issuer: "PAI_FC", causer: "PAI", type: "PLATFORM_FAILURE", stage: "LAUNCHING", behavior: "TRANSIENT", reaction: "ALWAYS_RETRY", reason: "a task's pod did not appear in time" },
    { code: -120, phrase: "PodCreationTransientError", issuer: "PAI_FC", causer: "PAI", type: "PLATFORM_FAILURE", stage: "LAUNCHING", behavior: "TRANSIENT", reaction: "ALWAYS_RETRY", reason: "the API server refused a task's pod for now" },
    { code: -200, phrase: "PodCreationPermanentError", issuer: "PAI_FC", causer: "USER", type: "USER_FAILURE", stage: "LAUNCHING", behavior: "PERSISTENT", reaction: "NEVER_RETRY", reason: "the API server refused a task's pod", solution: "check the job's resources and image names" },
    { code: -210, phrase: "StopFrameworkRequested", issuer: "USER", causer: "USER", type: "NONE", stage: "UNKNOWN", behavior: "UNKNOWN", reaction: "NEVER_RETRY", reason: "the job was stopped" },
    { code: -220, phrase: "FrameworkAttemptCompletion", issuer: "PAI_FC", causer: "UNKNOWN", type: "NONE", stage: "COMPLETING", behavior: "UNKNOWN", reaction: "NEVER_RETRY", reason: "the job's attempt completed, so its remaining tasks were stopped" },
    { code: -230, phrase: "DeleteTaskRequested", issuer: "USER", causer: "USER", type: "NONE", stage: "UNKNOWN", behavior: "UNKNOWN", reaction: "NEVER_RETRY", reason: "a task was removed from the job" },
    { code: -300, phrase: "PodFailedWithoutFailedContainer", issuer: "PAI_OS", causer: "UNKNOWN", type: "PLATFORM_FAILURE", stage: "RUNNING", behavior: "UNKNOWN", reaction: "RETRY_TO_MAX", reason: "the pod failed but no container did (evicted, node shutdown?)" },
    { code: -310, phrase: "PodCreationUnknownError", issuer: "PAI_FC", causer: "UNKNOWN", type: "UNKNOWN_FAILURE", stage: "LAUNCHING", behavior: "UNKNOWN", reaction: "RETRY_TO_MAX", reason: "creating a task's pod failed for an unknown reason" },
    { code: 137, phrase: "ContainerKilled", issuer: "PAI_OS", causer: "UNKNOWN", type: "UNKNOWN_FAILURE", stage: "RUNNING", behavior: "UNKNOWN", reaction: "RETRY_TO_MAX", reason: "a task was killed (SIGKILL): out of memory, or stopped", solution: "ask for more memory if its log ends abruptly" },
    { code: 143, phrase: "ContainerTerminated", issuer: "PAI_OS", causer: "UNKNOWN", type: "UNKNOWN_FAILURE", stage: "RUNNING", behavior: "TRANSIENT", reaction: "RETRY_TO_MAX", reason: "a task was terminated (SIGTERM)" },
    { code: 250, phrase: "BarrierTransientFailure", issuer: "PAI_RUNTIME", causer: "PAI", type: "PLATFORM_FAILURE", stage: "LAUNCHING", behavior: "TRANSIENT", reaction: "ALWAYS_RETRY", reason: "the runtime's gang barrier could not read the job" },
    { code: 251, phrase: "BarrierTimeout", issuer: "PAI_RUNTIME", causer: "PAI", type: "RESOURCE_ALLOCATION_TIMEOUT", stage: "LAUNCHING", behavior: "TRANSIENT", reaction: "RETRY_TO_MAX", reason: "not every task of the job started within the barrier's wait" },
    { code: 252, phrase: "BarrierPermanentFailure", issuer: "PAI_RUNTIME", causer: "PAI", type: "PLATFORM_FAILURE", stage: "LAUNCHING", behavior: "PERSISTENT", reaction: "NEVER_RETRY", reason: "the runtime's gang barrier failed" },
    { code: 253, phrase: "PortConflict", issuer: "PAI_RUNTIME", causer: "PAI", type: "PLATFORM_FAILURE", stage: "LAUNCHING", behavior: "TRANSIENT", reaction: "ALWAYS_RETRY", reason: "a port scheduled for the task is in use on its node" },
    { code: 254, phrase: "ImageCheckFailed", issuer: "PAI_RUNTIME", causer: "USER", type: "USER_FAILURE", stage: "LAUNCHING", behavior: "PERSISTENT", reaction: "NEVER_RETRY", reason: "the job's image name is invalid or the registry refused it", solution: "check the image name (lowercase tag) and the registry credentials" },
    { code: 256, phrase: "UserCommandFailed", issuer: "USER", causer: "USER", type: "USER_FAILURE", stage: "RUNNING", behavior: "UNKNOWN", reaction: "RETRY_TO_MAX", reason: "a task's command exited with a non-zero code", solution: "read the task's log" },
    { code: -8000, phrase: "UnknownPlatformFailure", issuer: "UNKNOWN", causer: "UNKNOWN", type: "UNKNOWN_FAILURE", stage: "UNKNOWN", behavior: "UNKNOWN", reaction: "RETRY_TO_MAX", reason: "the job ended with a platform code this cluster does not know" },
];

/** rest-server's k8s-job-exit-spec.yaml: one entry per code with every field it reads. */
export function restServerExitSpec(): Record<string, unknown>[] {
    return meanings.map(m => ({ ...m, repro: [], solution: m.solution ? [m.solution] : [] }));
}

/** openpai-runtime's runtime-exit-spec.yaml: the codes of user commands and the runtime itself. */
export function runtimeExitSpec(): Record<string, unknown>[] {
    return meanings.filter(m => m.code > 0).map(m => ({ containerExitCode: m.code, patterns: [{ exitCode: m.code }] }));
}
