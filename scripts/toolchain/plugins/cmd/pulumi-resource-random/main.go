// Command pulumi-resource-random provides RandomPassword and RandomString to the Pulumi engine.
//
// The upstream provider (bridged from Terraform) is a Go module that the module proxy reachable
// here does not serve, so the toolchain builds this implementation of the two resources this
// project uses. Inputs, outputs and replacement semantics follow the upstream schema: any input
// change replaces the resource, and `keepers` exists only to force that.
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"openpai.local/toolchain/plugins/internal/plugin"
)

var version = "v0.0.0-dev"

const (
	passwordType = "random:index/randomPassword:RandomPassword"
	stringType   = "random:index/randomString:RandomString"
	// Terraform's default special characters for random_password and random_string.
	defaultSpecial = "!@#$%&*()-_=+[]{}<>:?"
)

var inputKeys = []string{"keepers", "length", "lower", "minLower", "minNumeric", "minSpecial", "minUpper",
	"number", "numeric", "overrideSpecial", "special", "upper"}

type provider struct {
	plugin.Provider
}

func main() {
	plugin.Serve("pulumi-resource-random", func(s *grpc.Server) {
		pulumirpc.RegisterResourceProviderServer(s, &provider{plugin.Provider{Name: "random", Version: version}})
	})
}

func checkType(t string) error {
	if t != passwordType && t != stringType {
		return status.Errorf(codes.InvalidArgument, "this random provider supports RandomPassword and RandomString, not %s", t)
	}
	return nil
}

func typeOf(urn string) string {
	return resource.URN(urn).Type().String()
}

// Check applies the upstream defaults so that state and diffs show the effective settings.
func (p *provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := checkType(typeOf(req.GetUrn())); err != nil {
		return nil, err
	}
	news, err := plugin.Unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	length := news["length"]
	if !length.HasValue() && !length.ContainsUnknowns() {
		failures = append(failures, &pulumirpc.CheckFailure{Property: "length", Reason: "length is required"})
	} else if length.IsNumber() && length.NumberValue() < 1 {
		failures = append(failures, &pulumirpc.CheckFailure{Property: "length", Reason: "length must be at least 1"})
	}
	for _, flag := range []string{"lower", "upper", "special", "numeric"} {
		if _, ok := news[resource.PropertyKey(flag)]; !ok {
			news[resource.PropertyKey(flag)] = resource.NewBoolProperty(true)
		}
	}
	for _, min := range []string{"minLower", "minUpper", "minSpecial", "minNumeric"} {
		if _, ok := news[resource.PropertyKey(min)]; !ok {
			news[resource.PropertyKey(min)] = resource.NewNumberProperty(0)
		}
	}
	if _, ok := news["number"]; !ok {
		news["number"] = news["numeric"]
	}
	inputs, err := plugin.Marshal(news)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failures}, nil
}

// Diff replaces on any input change, as upstream marks every input ForceNew.
func (p *provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := plugin.Unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	if req.GetOldInputs() != nil {
		if olds, err = plugin.Unmarshal(req.GetOldInputs()); err != nil {
			return nil, err
		}
	}
	news, err := plugin.Unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	var replaces []string
	detailed := map[string]*pulumirpc.PropertyDiff{}
	for _, key := range inputKeys {
		o, n := olds[resource.PropertyKey(key)], news[resource.PropertyKey(key)]
		if n.ContainsUnknowns() || !o.DeepEquals(n) {
			replaces = append(replaces, key)
			detailed[key] = &pulumirpc.PropertyDiff{Kind: pulumirpc.PropertyDiff_UPDATE_REPLACE, InputDiff: true}
		}
	}
	if len(replaces) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE, HasDetailedDiff: true}, nil
	}
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_SOME, Replaces: replaces, Diffs: replaces,
		DetailedDiff: detailed, HasDetailedDiff: true}, nil
}

func intInput(m resource.PropertyMap, key string) int {
	if v := m[resource.PropertyKey(key)]; v.IsNumber() {
		return int(v.NumberValue())
	}
	return 0
}

func boolInput(m resource.PropertyMap, key string) bool {
	v := m[resource.PropertyKey(key)]
	return !v.IsBool() || v.BoolValue()
}

func pick(set string) (byte, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
	if err != nil {
		return 0, err
	}
	return set[n.Int64()], nil
}

// generate follows upstream: the minimums first, the rest from every enabled class, then a shuffle.
func generate(m resource.PropertyMap) (string, error) {
	special := defaultSpecial
	if v := m["overrideSpecial"]; v.IsString() {
		special = v.StringValue()
	}
	classes := []struct {
		chars   string
		enabled bool
		min     int
	}{
		{"abcdefghijklmnopqrstuvwxyz", boolInput(m, "lower"), intInput(m, "minLower")},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZ", boolInput(m, "upper"), intInput(m, "minUpper")},
		{"0123456789", boolInput(m, "numeric") && boolInput(m, "number"), intInput(m, "minNumeric")},
		{special, boolInput(m, "special"), intInput(m, "minSpecial")},
	}
	length := intInput(m, "length")
	var out []byte
	all := ""
	for _, c := range classes {
		if !c.enabled || c.chars == "" {
			continue
		}
		all += c.chars
		for i := 0; i < c.min; i++ {
			b, err := pick(c.chars)
			if err != nil {
				return "", err
			}
			out = append(out, b)
		}
	}
	if all == "" {
		return "", fmt.Errorf("every character class is disabled")
	}
	if len(out) > length {
		return "", fmt.Errorf("the minimums add up to %d characters, more than length %d", len(out), length)
	}
	for len(out) < length {
		b, err := pick(all)
		if err != nil {
			return "", err
		}
		out = append(out, b)
	}
	for i := len(out) - 1; i > 0; i-- {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", err
		}
		out[i], out[j.Int64()] = out[j.Int64()], out[i]
	}
	return string(out), nil
}

func (p *provider) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	kind := typeOf(req.GetUrn())
	if err := checkType(kind); err != nil {
		return nil, err
	}
	props, err := plugin.Unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	outputs := props.Copy()
	if req.GetPreview() {
		outputs["result"] = resource.MakeComputed(resource.NewStringProperty(""))
		if kind == passwordType {
			outputs["bcryptHash"] = resource.MakeComputed(resource.NewStringProperty(""))
		}
		s, err := plugin.Marshal(outputs)
		return &pulumirpc.CreateResponse{Properties: s}, err
	}
	result, err := generate(props)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	id := result
	if kind == passwordType {
		hash, err := bcrypt.GenerateFromPassword([]byte(result), bcrypt.DefaultCost)
		if err != nil {
			return nil, err
		}
		outputs["bcryptHash"] = resource.MakeSecret(resource.NewStringProperty(string(hash)))
		outputs["result"] = resource.MakeSecret(resource.NewStringProperty(result))
		id = "none"
	} else {
		outputs["result"] = resource.NewStringProperty(result)
	}
	s, err := plugin.Marshal(outputs)
	return &pulumirpc.CreateResponse{Id: id, Properties: s}, err
}

// Update is reached only when Diff reported no replacement: keep the value.
func (p *provider) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	return &pulumirpc.UpdateResponse{Properties: req.GetOlds()}, nil
}

func (p *provider) Delete(context.Context, *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}
