//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/sshverify"
)

// floorSessions is how many sessions floor runs at once on its
// connection: OpenSSH's default MaxSessions, as verify does.
const floorSessions = 10

// floor measures what the server alone needs for verify's work: the same
// commands verify runs (whoami, and git-upload-pack reading each ref
// advertisement), at most floorSessions at once, on one SSH connection
// opened beforehand. No process starts and no handshake is timed, so it
// is a lower bound for any client on this sshd.
type floor struct {
	tb     *benchTB
	client *ssh.Client
}

func newFloor(ctx context.Context, tb *benchTB, srv *server, keyFile string) *floor {
	signer := loadSigner(tb, keyFile)
	client := dialClient(ctx, tb, srv, signer)
	tb.Cleanup(func() { client.Close() })
	// A hung server must not hang the benchmark.
	stop := context.AfterFunc(ctx, func() { client.Close() })
	tb.Cleanup(func() { stop() })
	return &floor{tb: tb, client: client}
}

// connSessions is the floor with the connection in it: dial, key
// exchange, authentication, then the same sessions, then the close. No
// process starts: it is a lower bound for any client that has to connect,
// which verify has to (the floor that "includes opening the connection").
func connSessions(ctx context.Context, tb *benchTB, srv *server, keyFile string) func(paths []string) {
	signer := loadSigner(tb, keyFile)
	return func(paths []string) {
		client := dialClient(ctx, tb, srv, signer)
		defer client.Close()
		stop := context.AfterFunc(ctx, func() { client.Close() })
		defer stop()
		(&floor{tb: tb, client: client}).sessions(paths)
	}
}

func loadSigner(tb *benchTB, keyFile string) ssh.Signer {
	keyPEM, err := os.ReadFile(keyFile)
	must(tb, err)
	signer, err := ssh.ParsePrivateKey(keyPEM)
	must(tb, err)
	return signer
}

// dialClient connects and logs in as verify does (quick ACKs, one key).
func dialClient(ctx context.Context, tb *benchTB, srv *server, signer ssh.Signer) *ssh.Client {
	addr := srv.addr
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	nc, err := (&net.Dialer{}).DialContext(dctx, "tcp", addr)
	must(tb, err)
	// The same TCP handling as verify, so neither pays for delayed ACKs.
	nc = sshverify.QuickAck(nc)
	must(tb, nc.SetDeadline(time.Now().Add(30*time.Second)))
	conn, chans, reqs, err := ssh.NewClientConn(nc, addr, &ssh.ClientConfig{User: srv.user,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.FixedHostKey(srv.hostKey),
		ClientVersion: "SSH-2.0-git-bbkey"})
	must(tb, err)
	must(tb, nc.SetDeadline(time.Time{}))
	return ssh.NewClient(conn, chans, reqs)
}

// sessions runs whoami and one git-upload-pack per path, checking each
// answer, with at most floorSessions open at once.
func (f *floor) sessions(paths []string) {
	cmds := []string{"whoami"}
	for _, p := range paths {
		cmds = append(cmds, "git-upload-pack '"+p+"'")
	}
	slots := make(chan struct{}, floorSessions)
	errs := make(chan error, len(cmds))
	for _, cmd := range cmds {
		slots <- struct{}{}
		go func() {
			defer func() { <-slots }()
			errs <- f.run(cmd)
		}()
	}
	for range cmds {
		if err := <-errs; err != nil {
			f.tb.Fatalf("floor: %v", err)
		}
	}
}

func (f *floor) run(cmd string) error {
	s, err := f.client.NewSession()
	for try := 0; err != nil && try < 20; try++ {
		// Refused: sshd had not yet freed the slot of a session that
		// just closed. Let it catch up, as verify does.
		var refused *ssh.OpenChannelError
		if !errors.As(err, &refused) {
			break
		}
		if _, _, err := f.client.SendRequest("keepalive@openssh.com", true, nil); err != nil {
			return fmt.Errorf("%s: %w", cmd, err)
		}
		s, err = f.client.NewSession()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	defer s.Close()
	var stdout, stderr bytes.Buffer
	s.Stdout, s.Stderr = &stdout, &stderr
	if cmd != "whoami" {
		// The flush ends upload-pack right after its advertisement.
		s.Stdin = strings.NewReader("0000")
	}
	if err := s.Run(cmd); err != nil {
		return fmt.Errorf("%s: %w\n%s", cmd, err, clip(stderr.Bytes()))
	}
	if cmd == "whoami" {
		if got := strings.TrimSpace(stdout.String()); got != "bench" {
			return fmt.Errorf("whoami said %q, want bench", got)
		}
		return nil
	}
	if refs := advertisedRefs(stdout.Bytes()); refs != refsPerRepo {
		return fmt.Errorf("%s: %d refs advertised, want %d\n%s", cmd, refs, refsPerRepo, clip(stdout.Bytes()))
	}
	return nil
}

// advertisedRefs counts the refs in a pkt-line ref advertisement (peeled
// "^{}" lines are not refs of their own), -1 when it is malformed.
func advertisedRefs(b []byte) int {
	refs := 0
	for len(b) >= 4 {
		n, err := strconv.ParseUint(string(b[:4]), 16, 16)
		if err != nil {
			return -1
		}
		if n == 0 {
			return refs
		}
		if n < 4 || int(n) > len(b) {
			return -1
		}
		line, _, _ := strings.Cut(string(b[4:n]), "\x00")
		if !strings.HasSuffix(strings.TrimSpace(line), "^{}") {
			refs++
		}
		b = b[n:]
	}
	return -1
}
