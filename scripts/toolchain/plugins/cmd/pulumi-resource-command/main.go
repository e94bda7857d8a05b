// Command pulumi-resource-command runs commands for the Pulumi engine: the `command:remote:Command`
// (over SSH) and `command:local:Command` (on this machine) resources of @pulumi/command 1.2.1.
//
// The upstream provider module is not served by the module proxy reachable here, so the
// toolchain builds this implementation of the one resource this project uses. It follows the
// upstream contract: `create` runs on create, `update` (else `create`) when an input other than
// `triggers` changes, `delete` on delete with the previous output in PULUMI_COMMAND_STDOUT and
// PULUMI_COMMAND_STDERR; a change of `triggers` replaces the resource. A local command runs with
// its `interpreter` (default /bin/sh -c) in `dir`, with `environment` added to this process's.
// A remote command's host, and its bastion, must offer the `hostKey` of their connection when it
// is given (hostkey.go).
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/crypto/ssh"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
	"openpai.local/toolchain/plugins/internal/plugin"
)

var version = "v0.0.0-dev"

const (
	remoteCommandType = "command:remote:Command"
	localCommandType  = "command:local:Command"
)

// updateKeys change by an update; triggerKey forces a replacement.
var updateKeys = []string{"addPreviousOutputInEnv", "connection", "create", "delete", "dir", "environment", "interpreter", "logging", "stdin", "update"}

const triggerKey = "triggers"

type provider struct {
	plugin.Provider
}

func main() {
	plugin.Serve("pulumi-resource-command", func(s *grpc.Server) {
		pulumirpc.RegisterResourceProviderServer(s, &provider{plugin.Provider{Name: "command", Version: version}})
	})
}

func checkType(urn string) error {
	if t := resource.URN(urn).Type().String(); t != remoteCommandType && t != localCommandType {
		return status.Errorf(codes.InvalidArgument, "this command provider supports %s and %s only, not %s", remoteCommandType, localCommandType, t)
	}
	return nil
}

func isLocal(urn string) bool {
	return resource.URN(urn).Type().String() == localCommandType
}

func (p *provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	news, err := plugin.Unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	if !isLocal(req.GetUrn()) && !news["connection"].HasValue() && !news["connection"].ContainsUnknowns() {
		failures = append(failures, &pulumirpc.CheckFailure{Property: "connection", Reason: "connection is required"})
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: failures}, nil
}

func (p *provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := plugin.Unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	if req.GetOldInputs() == nil {
		if olds, err = plugin.Unmarshal(req.GetOlds()); err != nil {
			return nil, err
		}
	}
	news, err := plugin.Unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	changed := func(key string) bool {
		o, n := olds[resource.PropertyKey(key)], news[resource.PropertyKey(key)]
		return n.ContainsUnknowns() || !o.DeepEquals(n)
	}
	var diffs, replaces []string
	detailed := map[string]*pulumirpc.PropertyDiff{}
	for _, key := range updateKeys {
		if changed(key) {
			diffs = append(diffs, key)
			detailed[key] = &pulumirpc.PropertyDiff{Kind: pulumirpc.PropertyDiff_UPDATE, InputDiff: true}
		}
	}
	if changed(triggerKey) {
		diffs = append(diffs, triggerKey)
		replaces = append(replaces, triggerKey)
		detailed[triggerKey] = &pulumirpc.PropertyDiff{Kind: pulumirpc.PropertyDiff_UPDATE_REPLACE, InputDiff: true}
	}
	if len(diffs) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE, HasDetailedDiff: true}, nil
	}
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_SOME, Diffs: diffs, Replaces: replaces,
		DetailedDiff: detailed, HasDetailedDiff: true}, nil
}

func stringInput(m resource.PropertyMap, key string) string {
	v := m[resource.PropertyKey(key)]
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}

func numberInput(m resource.PropertyMap, key string, fallback int) int {
	v := m[resource.PropertyKey(key)]
	if v.IsNumber() {
		return int(v.NumberValue())
	}
	return fallback
}

func objectInput(m resource.PropertyMap, key string) resource.PropertyMap {
	v := m[resource.PropertyKey(key)]
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	if v.IsObject() {
		return v.ObjectValue()
	}
	return resource.PropertyMap{}
}

type connection struct {
	host, user                            string
	port, dialErrorLimit, perDialTimeoutS int
	auth                                  []ssh.AuthMethod
	hostKey                               *hostKeyCheck
	proxy                                 *connection
}

func parseConnection(m resource.PropertyMap) (*connection, error) {
	c := &connection{
		host:            stringInput(m, "host"),
		user:            stringInput(m, "user"),
		port:            numberInput(m, "port", 22),
		dialErrorLimit:  numberInput(m, "dialErrorLimit", 10),
		perDialTimeoutS: numberInput(m, "perDialTimeout", 15),
	}
	hostKey, err := newHostKeyCheck(stringInput(m, "hostKey"))
	if err != nil {
		return nil, fmt.Errorf("connection.hostKey: %w", err)
	}
	c.hostKey = hostKey
	if c.user == "" {
		c.user = "root"
	}
	if key := stringInput(m, "privateKey"); key != "" {
		var signer ssh.Signer
		if pass := stringInput(m, "privateKeyPassword"); pass != "" {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(key), []byte(pass))
		} else {
			signer, err = ssh.ParsePrivateKey([]byte(key))
		}
		if err != nil {
			return nil, fmt.Errorf("connection.privateKey: %w", err)
		}
		c.auth = append(c.auth, ssh.PublicKeys(signer))
	}
	if pass := stringInput(m, "password"); pass != "" {
		c.auth = append(c.auth, ssh.Password(pass))
	}
	if len(c.auth) == 0 {
		return nil, fmt.Errorf("connection: give privateKey or password")
	}
	if proxy := objectInput(m, "proxy"); len(proxy) > 0 {
		pc, err := parseConnection(proxy)
		if err != nil {
			return nil, fmt.Errorf("connection.proxy: %w", err)
		}
		c.proxy = pc
	}
	return c, nil
}

func (c *connection) config() *ssh.ClientConfig {
	return &ssh.ClientConfig{User: c.user, Auth: c.auth, HostKeyCallback: c.hostKey.callback, HostKeyAlgorithms: c.hostKey.algorithms,
		Timeout: time.Duration(c.perDialTimeoutS) * time.Second}
}

// dial connects, retrying with a pause between tries (hosts may be rebooting or still booting);
// a host offering another key than the expected one is refused at once: that does not pass.
func (c *connection) dial(ctx context.Context) (*ssh.Client, error) {
	address := net.JoinHostPort(c.host, strconv.Itoa(c.port))
	var last error
	for attempt := 1; attempt <= max(1, c.dialErrorLimit); attempt++ {
		client, err := c.dialOnce(ctx, address)
		if err == nil {
			return client, nil
		}
		if mismatch := (*hostKeyMismatch)(nil); errors.As(err, &mismatch) {
			return nil, err
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(min(attempt, 5)) * time.Second):
		}
	}
	return nil, fmt.Errorf("ssh %s@%s: %d attempts failed, last: %w", c.user, address, max(1, c.dialErrorLimit), last)
}

func (c *connection) dialOnce(ctx context.Context, address string) (*ssh.Client, error) {
	if c.proxy == nil {
		return ssh.Dial("tcp", address, c.config())
	}
	jump, err := c.proxy.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	conn, err := jump.Dial("tcp", address)
	if err != nil {
		jump.Close()
		return nil, err
	}
	ncc, chans, reqs, err := ssh.NewClientConn(conn, address, c.config())
	if err != nil {
		jump.Close()
		return nil, err
	}
	return ssh.NewClient(ncc, chans, reqs), nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// environment is the resource's `environment` input plus extra variables (the previous output).
func environment(props resource.PropertyMap, extraEnv map[string]string) map[string]string {
	env := map[string]string{}
	for k, v := range objectInput(props, "environment") {
		if v.IsSecret() {
			v = v.SecretValue().Element
		}
		if v.IsString() {
			env[string(k)] = v.StringValue()
		}
	}
	for k, v := range extraEnv {
		env[k] = v
	}
	return env
}

// run executes one command of a resource, here or on its remote host.
func run(ctx context.Context, urn string, props resource.PropertyMap, command string, extraEnv map[string]string) (string, string, error) {
	if isLocal(urn) {
		return runLocal(ctx, props, command, extraEnv)
	}
	return runRemote(ctx, props, command, extraEnv)
}

// runLocal executes a command on this machine with the resource's interpreter.
func runLocal(ctx context.Context, props resource.PropertyMap, command string, extraEnv map[string]string) (string, string, error) {
	interpreter := []string{"/bin/sh", "-c"}
	if v := props["interpreter"]; v.IsArray() && len(v.ArrayValue()) > 0 {
		interpreter = nil
		for _, part := range v.ArrayValue() {
			interpreter = append(interpreter, part.StringValue())
		}
	}
	cmd := exec.CommandContext(ctx, interpreter[0], append(interpreter[1:], command)...)
	cmd.Dir = stringInput(props, "dir")
	cmd.Env = os.Environ()
	for k, v := range environment(props, extraEnv) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin := stringInput(props, "stdin"); stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err := cmd.Run()
	return finish(command, "this machine", stdout.String(), stderr.String(), err)
}

// runRemote executes one command over SSH. Environment variables are exported in the command line
// itself, so they work without sshd's AcceptEnv.
func runRemote(ctx context.Context, props resource.PropertyMap, command string, extraEnv map[string]string) (string, string, error) {
	conn, err := parseConnection(objectInput(props, "connection"))
	if err != nil {
		return "", "", err
	}
	client, err := conn.dial(ctx)
	if err != nil {
		return "", "", err
	}
	defer client.Close()
	session, err := client.NewSession()
	if err != nil {
		return "", "", err
	}
	defer session.Close()
	env := environment(props, extraEnv)
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var prefix strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&prefix, "export %s=%s; ", k, shellQuote(env[k]))
	}
	var stdout, stderr bytes.Buffer
	session.Stdout, session.Stderr = &stdout, &stderr
	if stdin := stringInput(props, "stdin"); stdin != "" {
		session.Stdin = strings.NewReader(stdin)
	}
	done := make(chan error, 1)
	go func() { done <- session.Run(prefix.String() + command) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = session.Signal(ssh.SIGTERM)
		err = ctx.Err()
	}
	return finish(command, conn.host, stdout.String(), stderr.String(), err)
}

// finish trims the outputs and, on failure, names the command and where it ran, with the end of
// its stderr.
func finish(command, where, stdout, stderr string, err error) (string, string, error) {
	out, errOut := strings.TrimSuffix(stdout, "\n"), strings.TrimSuffix(stderr, "\n")
	if err != nil {
		tail := errOut
		if len(tail) > 4000 {
			tail = "..." + tail[len(tail)-4000:]
		}
		return out, errOut, fmt.Errorf("%s on %s: %w\n%s", firstLine(command), where, err, tail)
	}
	return out, errOut, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	if len(line) > 80 {
		line = line[:80] + "..."
	}
	return line
}

func previousOutputEnv(props resource.PropertyMap, olds resource.PropertyMap) map[string]string {
	if v := props["addPreviousOutputInEnv"]; v.IsBool() && !v.BoolValue() {
		return nil
	}
	return map[string]string{"PULUMI_COMMAND_STDOUT": stringInput(olds, "stdout"), "PULUMI_COMMAND_STDERR": stringInput(olds, "stderr")}
}

func withOutputs(props resource.PropertyMap, stdout, stderr string, preview bool) (*structpb.Struct, error) {
	out := props.Copy()
	if preview {
		out["stdout"] = resource.MakeComputed(resource.NewStringProperty(""))
		out["stderr"] = resource.MakeComputed(resource.NewStringProperty(""))
	} else {
		out["stdout"] = resource.NewStringProperty(stdout)
		out["stderr"] = resource.NewStringProperty(stderr)
	}
	return plugin.Marshal(out)
}

func timeoutContext(ctx context.Context, seconds float64) (context.Context, context.CancelFunc) {
	if seconds > 0 {
		return context.WithTimeout(ctx, time.Duration(seconds*float64(time.Second)))
	}
	return context.WithCancel(ctx)
}

func (p *provider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	props, err := plugin.Unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	id := resource.URN(req.GetUrn()).Name() + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if req.GetPreview() {
		s, err := withOutputs(props, "", "", true)
		return &pulumirpc.CreateResponse{Properties: s}, err
	}
	var stdout, stderr string
	if command := stringInput(props, "create"); command != "" {
		ctx, cancel := timeoutContext(ctx, req.GetTimeout())
		defer cancel()
		if stdout, stderr, err = run(ctx, req.GetUrn(), props, command, nil); err != nil {
			return nil, err
		}
	}
	s, err := withOutputs(props, stdout, stderr, false)
	return &pulumirpc.CreateResponse{Id: id, Properties: s}, err
}

func (p *provider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	olds, err := plugin.Unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	news, err := plugin.Unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		s, err := withOutputs(news, "", "", true)
		return &pulumirpc.UpdateResponse{Properties: s}, err
	}
	command := stringInput(news, "update")
	if command == "" {
		command = stringInput(news, "create")
	}
	stdout, stderr := stringInput(olds, "stdout"), stringInput(olds, "stderr")
	if command != "" {
		ctx, cancel := timeoutContext(ctx, req.GetTimeout())
		defer cancel()
		if stdout, stderr, err = run(ctx, req.GetUrn(), news, command, previousOutputEnv(news, olds)); err != nil {
			return nil, err
		}
	}
	s, err := withOutputs(news, stdout, stderr, false)
	return &pulumirpc.UpdateResponse{Properties: s}, err
}

func (p *provider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	props, err := plugin.Unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	if command := stringInput(props, "delete"); command != "" {
		ctx, cancel := timeoutContext(ctx, req.GetTimeout())
		defer cancel()
		if _, _, err := run(ctx, req.GetUrn(), props, command, previousOutputEnv(props, props)); err != nil {
			return nil, err
		}
	}
	return &emptypb.Empty{}, nil
}
