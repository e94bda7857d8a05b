import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { asRoot, inlineStep, renderStep, StepName, StepSettings } from "./scripts";

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

/** Settings for a step script; Outputs (a join token, a kubeconfig) make its stdin secret. */
export type StepInputs = pulumi.Input<Record<string, pulumi.Input<string | number | boolean>>>;

export interface HostStepArgs {
    connection: HostConnection;
    step: StepName;
    checkOnly: boolean;
    /** Settings the script reads. */
    settings?: StepInputs;
    /** A step that runs on delete (e.g. drain a node), with its settings. */
    onDelete?: { step: StepName; settings?: StepInputs };
    /** Whether stdout carries a credential (kubeconfig, join token): kept secret and out of the logs. */
    secretStdout?: boolean;
    /** Run as the SSH user instead of root (the dev box's kubeconfig goes to that user's home). */
    asUser?: boolean;
    /** Connection attempts for this step, when it must outlast a reboot (wait-boot). */
    dialAttempts?: number;
}

/** Renders a step's script with its settings (secret when a setting is). */
export function renderedStep(step: StepName, checkOnly: boolean, settings?: StepInputs): pulumi.Output<string> {
    return pulumi.output(settings ?? {}).apply(s => renderStep(step, checkOnly, s as StepSettings));
}

/**
 * One provisioning step on one host: a remote.Command whose stdin is the rendered script, run as
 * root through sudo. Dials are retried with pauses (hosts may be booting).
 */
export function hostStep(name: string, args: HostStepArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
    const runner = args.asUser ? "bash -s" : asRoot(args.connection.user);
    return new command.remote.Command(name, {
        connection: {
            host: args.connection.host, port: args.connection.port, user: args.connection.user,
            privateKey: args.connection.privateKey, password: args.connection.password, proxy: args.connection.proxy,
            dialErrorLimit: args.dialAttempts ?? args.connection.dialAttempts, perDialTimeout: 10,
        },
        create: runner,
        stdin: renderedStep(args.step, args.checkOnly, args.settings),
        delete: args.onDelete ? renderedStep(args.onDelete.step, args.checkOnly, args.onDelete.settings).apply(r => inlineStep(runner, r)) : undefined,
        logging: args.secretStdout ? "none" : "stdoutAndStderr",
        addPreviousOutputInEnv: false,
    }, {
        ...opts,
        additionalSecretOutputs: args.secretStdout ? ["stdout"] : [],
    });
}

/** `key=value` from a step's stdout (the scripts print facts that way). */
export function stdoutValue(cmd: command.remote.Command, key: string): pulumi.Output<string> {
    return cmd.stdout.apply(out => new RegExp(`^${key}=(.*)$`, "m").exec(out)?.[1] ?? "");
}
