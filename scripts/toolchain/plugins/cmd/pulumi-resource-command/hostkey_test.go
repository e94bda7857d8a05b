package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"golang.org/x/crypto/ssh"
)

// sshServer is an in-process SSH server that records what clients send it: authentication
// attempts, commands and their stdin. It serves sessions (a command's exit status is 0) and, as a
// bastion, direct-tcpip forwarding.
type sshServer struct {
	address string
	mu      sync.Mutex
	// Every TCP connection accepted, every password or public key offered, every command run,
	// every stdin received.
	connections, authAttempts int
	commands, stdins          []string
}

func (s *sshServer) record(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

func (s *sshServer) seen() (connections, authAttempts int, commands, stdins []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connections, s.authAttempts, append([]string(nil), s.commands...), append([]string(nil), s.stdins...)
}

func startServer(t *testing.T, hostKeys ...ssh.Signer) *sshServer {
	t.Helper()
	s := &sshServer{}
	config := &ssh.ServerConfig{
		PasswordCallback: func(ssh.ConnMetadata, []byte) (*ssh.Permissions, error) {
			s.record(func() { s.authAttempts++ })
			return nil, nil
		},
		PublicKeyCallback: func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) {
			s.record(func() { s.authAttempts++ })
			return nil, nil
		},
	}
	for _, key := range hostKeys {
		config.AddHostKey(key)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { listener.Close() })
	s.address = listener.Addr().String()
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			s.record(func() { s.connections++ })
			go s.serve(conn, config)
		}
	}()
	return s
}

func (s *sshServer) serve(conn net.Conn, config *ssh.ServerConfig) {
	defer conn.Close()
	_, channels, requests, err := ssh.NewServerConn(conn, config)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(requests)
	for newChannel := range channels {
		switch newChannel.ChannelType() {
		case "session":
			channel, channelRequests, err := newChannel.Accept()
			if err == nil {
				go s.session(channel, channelRequests)
			}
		case "direct-tcpip":
			var target struct {
				Host     string
				Port     uint32
				OrigHost string
				OrigPort uint32
			}
			if ssh.Unmarshal(newChannel.ExtraData(), &target) != nil {
				_ = newChannel.Reject(ssh.ConnectionFailed, "bad direct-tcpip request")
				continue
			}
			upstream, err := net.Dial("tcp", net.JoinHostPort(target.Host, strconv.Itoa(int(target.Port))))
			if err != nil {
				_ = newChannel.Reject(ssh.ConnectionFailed, err.Error())
				continue
			}
			channel, channelRequests, err := newChannel.Accept()
			if err != nil {
				upstream.Close()
				continue
			}
			go ssh.DiscardRequests(channelRequests)
			go func() { _, _ = io.Copy(upstream, channel); upstream.Close() }()
			go func() { _, _ = io.Copy(channel, upstream); channel.Close() }()
		default:
			_ = newChannel.Reject(ssh.UnknownChannelType, "not served")
		}
	}
}

func (s *sshServer) session(channel ssh.Channel, requests <-chan *ssh.Request) {
	defer channel.Close()
	for req := range requests {
		if req.Type != "exec" {
			_ = req.Reply(false, nil)
			continue
		}
		var exec struct{ Command string }
		_ = ssh.Unmarshal(req.Payload, &exec)
		_ = req.Reply(true, nil)
		stdin, _ := io.ReadAll(channel)
		s.record(func() {
			s.commands = append(s.commands, exec.Command)
			s.stdins = append(s.stdins, string(stdin))
		})
		_, _ = channel.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{0}))
		return
	}
}

func newSigner(t *testing.T, kind string) ssh.Signer {
	t.Helper()
	var key any
	var err error
	switch kind {
	case "ed25519":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case "ecdsa":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "rsa":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

// authorizedKey is a host key line as the program gives it: the key, then a note.
func authorizedKey(signer ssh.Signer, note string) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " " + note
}

func connectionTo(s *sshServer, hostKey string) map[string]any {
	host, port, _ := net.SplitHostPort(s.address)
	portNumber, _ := strconv.Atoi(port)
	c := map[string]any{"host": host, "port": float64(portNumber), "user": "ubuntu", "password": "the-ssh-password",
		"dialErrorLimit": float64(5), "perDialTimeout": float64(5)}
	if hostKey != "" {
		c["hostKey"] = hostKey
	}
	return c
}

func remoteCommand(t *testing.T, connection map[string]any) (string, error) {
	t.Helper()
	props := resource.NewPropertyMapFromMap(map[string]any{"connection": connection, "stdin": "the step scripts"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stdout, _, err := runRemote(ctx, props, "sudo -n bash -s", nil)
	return stdout, err
}

func TestHostKeyOfEachTypeIsCheckedAmongSeveral(t *testing.T) {
	signers := map[string]ssh.Signer{"ed25519": newSigner(t, "ed25519"), "ecdsa": newSigner(t, "ecdsa"), "rsa": newSigner(t, "rsa")}
	// As OpenSSH 8.8+ servers: RSA host keys sign with SHA-2 only.
	rsaSHA2, err := ssh.NewSignerWithAlgorithms(signers["rsa"].(ssh.AlgorithmSigner), []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256})
	if err != nil {
		t.Fatal(err)
	}
	server := startServer(t, signers["ecdsa"], rsaSHA2, signers["ed25519"])
	for kind, signer := range signers {
		if _, err := remoteCommand(t, connectionTo(server, authorizedKey(signer, "pai-worker-1"))); err != nil {
			t.Fatalf("the host offers its %s key, given as hostKey: %v", kind, err)
		}
	}
	_, _, commands, stdins := server.seen()
	if len(commands) != 3 || commands[0] != "sudo -n bash -s" || stdins[0] != "the step scripts" {
		t.Fatalf("commands %q, stdins %q", commands, stdins)
	}
}

func TestChangedHostKeyIsRefusedBeforeAnythingIsSent(t *testing.T) {
	recorded, current := newSigner(t, "ed25519"), newSigner(t, "ed25519")
	server := startServer(t, current)
	note := "pai-worker-1 (10.78.0.11): recorded on the first up; if the host was reinstalled: pulumi up --replace 'urn:x'"
	_, err := remoteCommand(t, connectionTo(server, authorizedKey(recorded, note)))
	var mismatch *hostKeyMismatch
	if !errors.As(err, &mismatch) {
		t.Fatalf("want a host key mismatch, got %v", err)
	}
	for _, part := range []string{"the SSH host key of " + server.address + " is not the expected one",
		ssh.FingerprintSHA256(current.PublicKey()), ssh.FingerprintSHA256(recorded.PublicKey()), note, "Refused before sending anything"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("the error %q does not say %q", err, part)
		}
	}
	connections, authAttempts, commands, stdins := server.seen()
	if authAttempts != 0 || len(commands) != 0 || len(stdins) != 0 {
		t.Fatalf("sent to the host: %d authentication attempts, commands %q, stdins %q", authAttempts, commands, stdins)
	}
	if connections != 1 {
		t.Fatalf("a changed key is not retried (dialErrorLimit 5): %d connections", connections)
	}
}

func TestBastionHostKeyIsCheckedBeforeReachingTheHost(t *testing.T) {
	bastionKey, hostKey := newSigner(t, "ed25519"), newSigner(t, "ed25519")
	bastion, host := startServer(t, bastionKey), startServer(t, hostKey)
	connection := func(bastionHostKey string) map[string]any {
		c := connectionTo(host, authorizedKey(hostKey, "pai-worker-1"))
		c["proxy"] = connectionTo(bastion, bastionHostKey)
		return c
	}
	if _, err := remoteCommand(t, connection(authorizedKey(bastionKey, "the bastion"))); err != nil {
		t.Fatalf("through the bastion, both keys right: %v", err)
	}
	if _, _, commands, _ := host.seen(); len(commands) != 1 {
		t.Fatalf("the command ran %d times on the host", len(commands))
	}
	_, err := remoteCommand(t, connection(authorizedKey(newSigner(t, "ed25519"), "the bastion (jump.lab)")))
	if err == nil || !strings.Contains(err.Error(), "the SSH host key of "+bastion.address) || !strings.Contains(err.Error(), "the bastion (jump.lab)") {
		t.Fatalf("want the bastion's key refused, naming it: %v", err)
	}
	if connections, authAttempts, _, _ := bastion.seen(); connections != 2 || authAttempts != 1 {
		t.Fatalf("the bastion saw %d connections and %d authentication attempts (the first run's only)", connections, authAttempts)
	}
	if connections, _, commands, _ := host.seen(); connections != 1 || len(commands) != 1 {
		t.Fatalf("the host was reached again: %d connections, commands %q", connections, commands)
	}
}

func TestHostKeyThatDoesNotParseFailsBeforeDialing(t *testing.T) {
	server := startServer(t, newSigner(t, "ed25519"))
	_, err := remoteCommand(t, connectionTo(server, "ssh-ed25519 not-base64"))
	if err == nil || !strings.Contains(err.Error(), "connection.hostKey: failed to parse host key") {
		t.Fatalf("want a parse error naming connection.hostKey, got %v", err)
	}
	if connections, _, _, _ := server.seen(); connections != 0 {
		t.Fatalf("dialed %d times", connections)
	}
}

func TestWithoutHostKeyTheKeyIsNotCheckedAsUpstream(t *testing.T) {
	server := startServer(t, newSigner(t, "ed25519"))
	if _, err := remoteCommand(t, connectionTo(server, "")); err != nil {
		t.Fatal(err)
	}
}
