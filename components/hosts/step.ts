import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { inlineStep, renderStep, StepName, StepSettings } from "./scripts";

/** How to reach a host over SSH (all of it is stored as a secret by @pulumi/command). */
export interface HostConnection {
    host: string;
    /** Connection attempts before the step fails. */
    dialAttempts: number;
    port: number;
    user: string;
    privateKey?: pulumi.Input<string>;
    password?: pulumi.Input<string>;
    proxy?: { host: string; port: number; user: string; privateKey?: pulumi.Input<string>; password?: pulumi.Input<string> };
}

export interface HostStepArgs {
    connection: HostConnection;
    step: StepName;
    checkOnly: boolean;
    /** Settings the script reads; Outputs (e.g. the join token) make stdin secret. */
    settings?: pulumi.Input<Record<string, pulumi.Input<string | number | boolean>>>;
    /** A step that runs on delete (e.g. kubeadm reset), with its settings. */
    onDelete?: { step: StepName; settings?: pulumi.Input<Record<string, pulumi.Input<string | number | boolean>>> };
    /** Whether stdout carries a credential (kubeconfig). */
    secretStdout?: boolean;
}

/**
 * One provisioning step on one host: a remote.Command whose stdin is the rendered script.
 * Dials are retried with pauses (hosts may be booting); a delete step runs before a replacement
 * is created, since it resets the host the new one would provision.
 */
export function hostStep(name: string, args: HostStepArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
    const render = (step: StepName, settings: HostStepArgs["settings"]) =>
        pulumi.output(settings ?? {}).apply(s => renderStep(step, args.checkOnly, s as StepSettings));
    // A secret setting (the join token) makes the rendered stdin secret on its own.
    return new command.remote.Command(name, {
        connection: {
            host: args.connection.host, port: args.connection.port, user: args.connection.user,
            privateKey: args.connection.privateKey, password: args.connection.password, proxy: args.connection.proxy,
            dialErrorLimit: args.connection.dialAttempts, perDialTimeout: 10,
        },
        create: "bash -s",
        stdin: render(args.step, args.settings),
        delete: args.onDelete ? render(args.onDelete.step, args.onDelete.settings).apply(inlineStep) : undefined,
        logging: args.secretStdout ? "none" : "stdoutAndStderr",
        addPreviousOutputInEnv: false,
    }, {
        ...opts,
        additionalSecretOutputs: args.secretStdout ? ["stdout"] : [],
        deleteBeforeReplace: args.onDelete !== undefined,
    });
}

/** `key=value` from a step's stdout (the scripts print facts that way). */
export function stdoutValue(cmd: command.remote.Command, key: string): pulumi.Output<string> {
    return cmd.stdout.apply(out => new RegExp(`^${key}=(.*)$`, "m").exec(out)?.[1] ?? "");
}
