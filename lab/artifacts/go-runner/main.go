// go-runner: the entrypoint of the lab's control-plane images, standing in for the one upstream's
// registry.k8s.io/build-image/go-runner base gives kube-apiserver, kube-controller-manager and
// kube-scheduler. Runs the command given after the flags, optionally writing its output to a
// file, passes SIGINT/SIGTERM on and exits with the command's status.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

func main() {
	logFile := flag.String("log-file", "", "append the command's standard output to this file")
	alsoStdout := flag.Bool("also-stdout", false, "with --log-file: write to standard output too")
	redirectStderr := flag.Bool("redirect-stderr", true, "treat standard error like standard output")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: go-runner [--log-file FILE [--also-stdout]] [--redirect-stderr=false] COMMAND [ARG...]")
		os.Exit(2)
	}

	var out io.Writer = os.Stdout
	if *logFile != "" {
		file, err := os.OpenFile(*logFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintf(os.Stderr, "go-runner: opening %s: %v\n", *logFile, err)
			os.Exit(1)
		}
		defer file.Close()
		out = file
		if *alsoStdout {
			out = io.MultiWriter(file, os.Stdout)
		}
	}

	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	cmd.Stdin = os.Stdin
	cmd.Stdout = out
	cmd.Stderr = os.Stderr
	if *redirectStderr {
		cmd.Stderr = out
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "go-runner: starting %s: %v\n", flag.Arg(0), err)
		os.Exit(1)
	}

	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		for sig := range signals {
			_ = cmd.Process.Signal(sig)
		}
	}()

	err := cmd.Wait()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		os.Exit(exitErr.ExitCode())
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-runner: %v\n", err)
		os.Exit(1)
	}
}
