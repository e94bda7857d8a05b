import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { version as commandVersion } from "@pulumi/command/package.json";

/*
 * The command provider's two resources as the host components register them: @pulumi/command's
 * provider and schema (same type tokens, same plugin version), with only the properties the
 * program sets and the one it reads (stdout). The generated classes make an Output, with its
 * promises, for every property of the schema (11 for remote.Command, 16 for local.Command); for
 * the 3,000 host resources of a 1,000-worker cluster that was ~140 MiB of a preview's peak
 * memory (bench/README.md).
 */

/** What a host step sets of a `command:remote:Command`. */
export interface RemoteCommandArgs {
    /** How to reach the host (stored as a secret: it holds the SSH key). */
    connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /** The command run on create and update. */
    create: pulumi.Input<string>;
    /** Its standard input (the step scripts). */
    stdin: pulumi.Input<string>;
    /** What of its output goes to the logs. */
    logging: "stdoutAndStderr" | "none";
}

/** A `command:remote:Command` of @pulumi/command, registered lean (see above). */
export class RemoteCommand extends pulumi.CustomResource {
    /** The command's standard output. */
    declare public readonly stdout: pulumi.Output<string>;

    constructor(name: string, args: RemoteCommandArgs, opts: pulumi.CustomResourceOptions) {
        super("command:remote:Command", name, { ...args, connection: pulumi.secret(args.connection), addPreviousOutputInEnv: false, stdout: undefined }, {
            ...opts, version: commandVersion, additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? []), "connection"],
        });
    }
}

/** What the host components set of a `command:local:Command` (run by bash on the machine running Pulumi). */
export interface LocalCommandArgs {
    /** The script run on create, and on update unless `update` is given. */
    create?: pulumi.Input<string>;
    /** The script run on update instead, with the previous stdout in PULUMI_COMMAND_STDOUT. */
    update?: pulumi.Input<string>;
    /** The script run on delete. */
    delete?: pulumi.Input<string>;
    /** Its environment (the SSH credentials, as secrets). */
    environment: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** What of its output goes to the logs (default: both streams); "none" for a command that prints a credential. */
    logging?: "stdoutAndStderr" | "none";
}

/** A `command:local:Command` of @pulumi/command running bash scripts, registered lean (see above). */
export class LocalCommand extends pulumi.CustomResource {
    /** The script's standard output. */
    declare public readonly stdout: pulumi.Output<string>;

    constructor(name: string, args: LocalCommandArgs, opts: pulumi.CustomResourceOptions) {
        super("command:local:Command", name, {
            ...args, interpreter: ["/bin/bash", "-c"], logging: args.logging ?? "stdoutAndStderr",
            addPreviousOutputInEnv: args.update !== undefined, stdout: undefined,
        }, { ...opts, version: commandVersion });
    }
}
