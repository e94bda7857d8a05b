// Command pulumi-language-nodejs is a small Node.js language host for the Pulumi engine.
//
// The upstream host is a Go module that the module proxy reachable here does not serve, so
// the toolchain builds this one instead. It speaks the same LanguageRuntime gRPC protocol and
// delegates to the scripts that ship in the program's own @pulumi/pulumi package
// (cmd/run for programs, cmd/run-policy-pack for policy packs), exactly as the upstream host does.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
	"openpai.local/toolchain/plugins/internal/plugin"
)

// version is set at build time to the Pulumi release the rest of the toolchain uses.
var version = "v0.0.0-dev"

// userActionableExit is the exit code @pulumi/pulumi uses after it has already printed a
// user-facing error: the engine must not print a second, generic one.
const userActionableExit = 32

type nodeHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	mu     sync.Mutex
	engine string
}

func main() {
	engine := ""
	for _, arg := range os.Args[1:] {
		if !strings.HasPrefix(arg, "-") {
			engine = arg
		}
	}
	plugin.Serve("pulumi-language-nodejs", func(s *grpc.Server) {
		pulumirpc.RegisterLanguageRuntimeServer(s, &nodeHost{engine: engine})
	})
}

func (h *nodeHost) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if req.GetEngineAddress() != "" {
		h.engine = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *nodeHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: strings.TrimPrefix(version, "v")}, nil
}

// sdkScript finds a script of the program's own @pulumi/pulumi package, as Node's resolution would.
func sdkScript(programDir, script string) (string, error) {
	for dir := programDir; ; dir = filepath.Dir(dir) {
		candidate := filepath.Join(dir, "node_modules", "@pulumi", "pulumi", "cmd", script)
		if _, err := os.Stat(candidate); err == nil {
			return candidate, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("@pulumi/pulumi is not installed for %s: run 'npm ci' (or npm install) there", programDir)
		}
	}
}

func programDir(info *pulumirpc.ProgramInfo, fallback string) string {
	if info != nil && info.GetProgramDirectory() != "" {
		return info.GetProgramDirectory()
	}
	return fallback
}

func runtimeOption(info *pulumirpc.ProgramInfo, name string) (*structpb.Value, bool) {
	if info == nil || info.GetOptions() == nil {
		return nil, false
	}
	v, ok := info.GetOptions().GetFields()[name]
	return v, ok
}

// runEnv builds the environment @pulumi/pulumi's cmd/run expects from the language host.
func runEnv(req *pulumirpc.RunRequest) ([]string, error) {
	config, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	keys, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	typescript := true
	if v, ok := runtimeOption(req.GetInfo(), "typescript"); ok {
		typescript = v.GetBoolValue()
	}
	env := append(os.Environ(),
		"PULUMI_CONFIG="+string(config),
		"PULUMI_CONFIG_SECRET_KEYS="+string(keys),
		"PULUMI_NODEJS_TYPESCRIPT="+strconv.FormatBool(typescript),
	)
	if v, ok := runtimeOption(req.GetInfo(), "tsconfig"); ok && v.GetStringValue() != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+v.GetStringValue())
	}
	return env, nil
}

func nodeArgs(info *pulumirpc.ProgramInfo) []string {
	if v, ok := runtimeOption(info, "nodeargs"); ok {
		return strings.Fields(v.GetStringValue())
	}
	return nil
}

func (h *nodeHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	dir := programDir(req.GetInfo(), req.GetPwd())
	script, err := sdkScript(dir, "run")
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	h.mu.Lock()
	engine := h.engine
	h.mu.Unlock()
	args := append(nodeArgs(req.GetInfo()), script,
		"--monitor="+req.GetMonitorAddress(),
		"--engine="+engine,
		"--project="+req.GetProject(),
		"--stack="+req.GetStack(),
		"--pwd="+req.GetPwd(),
		"--parallel="+strconv.Itoa(int(req.GetParallel())),
	)
	if req.GetOrganization() != "" {
		args = append(args, "--organization="+req.GetOrganization())
	}
	if req.GetInfo().GetRootDirectory() != "" {
		args = append(args, "--root-directory="+req.GetInfo().GetRootDirectory())
	}
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	if req.GetQueryMode() {
		args = append(args, "--query-mode")
	}
	entry := req.GetInfo().GetEntryPoint()
	if entry == "" {
		entry = "."
	}
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	env, err := runEnv(req)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = req.GetPwd()
	cmd.Env = env
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			if exit.ExitCode() == userActionableExit {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exit.ExitCode())}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("cannot start node: %v", err)}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// pulumiPackages lists the provider plugins that the installed npm packages declare.
func pulumiPackages(dir string) []*pulumirpc.PackageDependency {
	var out []*pulumirpc.PackageDependency
	seen := map[string]bool{}
	modules := filepath.Join(dir, "node_modules")
	var manifests []string
	entries, _ := os.ReadDir(modules)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "@") {
			scoped, _ := os.ReadDir(filepath.Join(modules, e.Name()))
			for _, s := range scoped {
				manifests = append(manifests, filepath.Join(modules, e.Name(), s.Name(), "package.json"))
			}
		} else {
			manifests = append(manifests, filepath.Join(modules, e.Name(), "package.json"))
		}
	}
	for _, path := range manifests {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		var pkg struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Pulumi  struct {
				Resource bool   `json:"resource"`
				Name     string `json:"name"`
				Version  string `json:"version"`
				Server   string `json:"server"`
			} `json:"pulumi"`
		}
		if json.Unmarshal(data, &pkg) != nil || !pkg.Pulumi.Resource {
			continue
		}
		name := pkg.Pulumi.Name
		if name == "" {
			name = strings.TrimPrefix(pkg.Name, "@pulumi/")
		}
		ver := pkg.Pulumi.Version
		if ver == "" {
			ver = pkg.Version
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, &pulumirpc.PackageDependency{Name: name, Kind: "resource", Version: "v" + strings.TrimPrefix(ver, "v"), Server: pkg.Pulumi.Server})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (h *nodeHost) GetRequiredPackages(_ context.Context, req *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{Packages: pulumiPackages(programDir(req.GetInfo(), "."))}, nil
}

func (h *nodeHost) GetRequiredPlugins(_ context.Context, req *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	var plugins []*pulumirpc.PluginDependency
	for _, p := range pulumiPackages(programDir(req.GetInfo(), ".")) {
		plugins = append(plugins, &pulumirpc.PluginDependency{Name: p.Name, Kind: p.Kind, Version: p.Version, Server: p.Server})
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

func (h *nodeHost) GetProgramDependencies(context.Context, *pulumirpc.GetProgramDependenciesRequest) (*pulumirpc.GetProgramDependenciesResponse, error) {
	return &pulumirpc.GetProgramDependenciesResponse{}, nil
}

func (h *nodeHost) About(context.Context, *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	out, err := exec.Command("node", "--version").Output()
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "node is not on PATH: %v", err)
	}
	path, _ := exec.LookPath("node")
	return &pulumirpc.AboutResponse{Executable: path, Version: strings.TrimSpace(string(out))}, nil
}

// InstallDependencies leaves installs to the project's own `npm ci`, which CI runs first.
func (h *nodeHost) InstallDependencies(*pulumirpc.InstallDependenciesRequest, grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse]) error {
	return nil
}

func (h *nodeHost) RuntimeOptionsPrompts(context.Context, *pulumirpc.RuntimeOptionsRequest) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

// RunPlugin runs a policy pack (kind "analyzer") or a Node.js provider, streaming its output.
func (h *nodeHost) RunPlugin(req *pulumirpc.RunPluginRequest, stream grpc.ServerStreamingServer[pulumirpc.RunPluginResponse]) error {
	dir := programDir(req.GetInfo(), req.GetPwd())
	script := "run-plugin"
	if req.GetKind() == "analyzer" {
		script = "run-policy-pack"
	}
	path, err := sdkScript(dir, script)
	if err != nil {
		return status.Error(codes.FailedPrecondition, err.Error())
	}
	args := append(nodeArgs(req.GetInfo()), path)
	args = append(args, req.GetArgs()...)
	args = append(args, dir)
	cmd := exec.CommandContext(stream.Context(), "node", args...)
	// A plugin runs in its own directory: a policy pack reads its package.json from there.
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), req.GetEnv()...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	var sendMu sync.Mutex
	send := func(msg *pulumirpc.RunPluginResponse) {
		sendMu.Lock()
		defer sendMu.Unlock()
		_ = stream.Send(msg)
	}
	var wg sync.WaitGroup
	pump := func(r io.Reader, wrap func([]byte) *pulumirpc.RunPluginResponse) {
		defer wg.Done()
		reader := bufio.NewReader(r)
		buf := make([]byte, 32*1024)
		for {
			n, err := reader.Read(buf)
			if n > 0 {
				send(wrap(append([]byte(nil), buf[:n]...)))
			}
			if err != nil {
				return
			}
		}
	}
	wg.Add(2)
	go pump(stdout, func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}}
	})
	go pump(stderr, func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}}
	})
	wg.Wait()
	code := int32(0)
	if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return err
		}
		code = int32(exit.ExitCode())
	}
	send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: code}})
	return nil
}
