// Package plugin holds what this project's Pulumi plugins share: serving gRPC the way the
// engine expects, property marshaling, and the provider methods with nothing to configure.
package plugin

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	sdkplugin "github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Serve listens on a free port, prints it as the first stdout line (which the engine reads),
// and serves until the engine closes the plugin.
func Serve(name string, register func(*grpc.Server)) {
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(s *grpc.Server) error {
			register(s)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: cannot listen: %v\n", name, err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

var marshalOpts = sdkplugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}

// Unmarshal decodes resource properties, keeping unknowns and secrets.
func Unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	return sdkplugin.UnmarshalProperties(s, marshalOpts)
}

// Marshal encodes resource properties, keeping unknowns and secrets.
func Marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	return sdkplugin.MarshalProperties(m, marshalOpts)
}

// Provider implements the provider methods that are the same for every provider here: the
// plugin info, a minimal schema, no provider configuration, and Read returning stored state.
type Provider struct {
	pulumirpc.UnimplementedResourceProviderServer
	Name    string
	Version string
}

func (p *Provider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: strings.TrimPrefix(p.Version, "v")}, nil
}

func (p *Provider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: fmt.Sprintf(`{"name":%q,"version":%q}`, p.Name, strings.TrimPrefix(p.Version, "v"))}, nil
}

func (p *Provider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *Provider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *Provider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

func (p *Provider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// Read returns the stored state: these resources have nothing to read back.
func (p *Provider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}
