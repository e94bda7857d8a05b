package main

import (
	"bytes"
	"fmt"
	"net"

	"golang.org/x/crypto/ssh"
)

// hostKeyCheck is how a connection checks the key its host offers, as pulumi-command 1.2.1 does
// (provider/pkg/provider/remote/connection.go, SSHConfig): without `hostKey` the key is not
// checked; with one, `hostKey` is an authorized_keys line ("<type> <base64> [comment]"), a line
// that does not parse is an error, the host must offer exactly that key, and only that key's
// algorithms are negotiated (else a host with several keys could offer another, valid one).
type hostKeyCheck struct {
	callback   ssh.HostKeyCallback
	algorithms []string
}

// hostKeyMismatch is the error of a host offering another key than the connection's hostKey.
// The handshake fails before authentication, so nothing (no password, key signature, command
// or stdin) was sent to that host.
type hostKeyMismatch struct {
	address       string
	offered, want ssh.PublicKey
	// The comment of the hostKey line: whose key it is and what to do when it changed.
	note string
}

func (e *hostKeyMismatch) Error() string {
	note := ""
	if e.note != "" {
		note = " (" + e.note + ")"
	}
	return fmt.Sprintf("the SSH host key of %s is not the expected one: it offered %s %s, expected %s %s%s. "+
		"Refused before sending anything. If the host was not reinstalled, another machine may be answering at its address",
		e.address, e.offered.Type(), ssh.FingerprintSHA256(e.offered), e.want.Type(), ssh.FingerprintSHA256(e.want), note)
}

// newHostKeyCheck reads a connection's hostKey ("" means unchecked, as upstream).
func newHostKeyCheck(hostKey string) (*hostKeyCheck, error) {
	if hostKey == "" {
		//nolint:gosec // upstream's documented behaviour without a hostKey: "the host key will be ignored"
		return &hostKeyCheck{callback: ssh.InsecureIgnoreHostKey()}, nil
	}
	want, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(hostKey))
	if err != nil {
		return nil, fmt.Errorf("failed to parse host key %q: %w", firstLine(hostKey), err)
	}
	callback := func(hostname string, remote net.Addr, offered ssh.PublicKey) error {
		if bytes.Equal(offered.Marshal(), want.Marshal()) {
			return nil
		}
		return &hostKeyMismatch{address: hostname, offered: offered, want: want, note: comment}
	}
	return &hostKeyCheck{callback: callback, algorithms: signatureAlgorithms(want.Type())}, nil
}

// signatureAlgorithms are the host key algorithms that prove a key of this type. Upstream lists
// the key type alone; for RSA that is SHA-1 signatures, which OpenSSH 8.8+ servers no longer make,
// so an RSA host key is proven with the SHA-2 signatures as well.
func signatureAlgorithms(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}
