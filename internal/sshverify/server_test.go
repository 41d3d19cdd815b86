package sshverify

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/ssh"
)

// fakeRepo is a repository the test server advertises.
type fakeRepo struct {
	refs     []string // "refs/heads/main" ...; empty → an empty repository
	readOnly bool     // git-receive-pack answers ERR
}

// testServer is an in-process SSH server that speaks just enough of
// Bitbucket's protocol: whoami, and the ref advertisement of
// git-upload-pack / git-receive-pack.
type testServer struct {
	t           testing.TB
	ln          net.Listener
	host        string
	port        int
	hostSigners []ssh.Signer
	accepts     atomic.Int32
	sessions    atomic.Int32 // session channels accepted, all connections
	refusals    atomic.Int32 // session channels refused for the limit

	mu          sync.Mutex
	authorized  [][]byte
	repos       map[string]fakeRepo
	user        string
	maxSessions int // per connection; beyond it channels are refused
	// lagging: like OpenSSH, a closed session's slot is freed only later,
	// here when the connection next gets a keepalive request.
	lagging   bool
	silent    bool // accept TCP, then say nothing
	silentCmd bool // handshake fine, commands never answer
	maxActive int  // highest number of concurrent sessions seen on one connection
	users     []string
}

func newSigner(t testing.TB, kind string) ssh.Signer {
	t.Helper()
	var priv any
	switch kind {
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		priv = k
	case "rsa":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		priv = k
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func startServer(t testing.TB, hostKeys ...ssh.Signer) *testServer {
	t.Helper()
	if len(hostKeys) == 0 {
		hostKeys = []ssh.Signer{newSigner(t, "ed25519")}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{t: t, ln: ln, host: "127.0.0.1", port: ln.Addr().(*net.TCPAddr).Port, hostSigners: hostKeys,
		repos: map[string]fakeRepo{}, user: "alice"}
	var wg sync.WaitGroup
	var connsMu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		connsMu.Lock()
		for _, c := range conns {
			c.Close()
		}
		connsMu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepts.Add(1)
			connsMu.Lock()
			conns = append(conns, c)
			connsMu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.serve(c)
			}()
		}
	}()
	return s
}

func (s *testServer) authorize(k ssh.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authorized = append(s.authorized, k.Marshal())
}

func (s *testServer) addRepo(path string, r fakeRepo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos[path] = r
}

func (s *testServer) set(f func(s *testServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *testServer) url(path string) string {
	return fmt.Sprintf("ssh://git@%s:%d%s", s.host, s.port, path)
}

func (s *testServer) serve(c net.Conn) {
	defer c.Close()
	s.mu.Lock()
	silent, silentCmd, maxSessions, lagging := s.silent, s.silentCmd, s.maxSessions, s.lagging
	s.mu.Unlock()
	if silent {
		_, _ = io.Copy(io.Discard, c)
		return
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.users = append(s.users, meta.User())
			for _, k := range s.authorized {
				if bytes.Equal(k, key.Marshal()) {
					return nil, nil
				}
			}
			return nil, fmt.Errorf("unknown key")
		},
		ServerVersion: "SSH-2.0-SSHD-UNKNOWN",
	}
	for _, k := range s.hostSigners {
		cfg.AddHostKey(k)
	}
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	var active, lagged atomic.Int32
	go func() {
		for req := range reqs {
			if req.Type == "keepalive@openssh.com" {
				active.Add(-lagged.Swap(0))
			}
			if req.WantReply {
				req.Reply(false, nil)
			}
		}
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "no")
			continue
		}
		if maxSessions > 0 && int(active.Load()) >= maxSessions {
			s.refusals.Add(1)
			nc.Reject(ssh.ResourceShortage, "too many sessions")
			continue
		}
		n := active.Add(1)
		s.mu.Lock()
		if int(n) > s.maxActive {
			s.maxActive = int(n)
		}
		s.mu.Unlock()
		ch, chReqs, err := nc.Accept()
		if err != nil {
			active.Add(-1)
			continue
		}
		s.sessions.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Count the session as gone only once it is fully closed,
			// as OpenSSH does.
			defer func() {
				if lagging {
					lagged.Add(1)
				} else {
					active.Add(-1)
				}
			}()
			s.session(ch, chReqs, silentCmd)
		}()
	}
}

func (s *testServer) session(ch ssh.Channel, reqs <-chan *ssh.Request, silentCmd bool) {
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" {
			req.Reply(false, nil)
			continue
		}
		var exec struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &exec); err != nil {
			req.Reply(false, nil)
			return
		}
		req.Reply(true, nil)
		if silentCmd {
			_, _ = io.Copy(io.Discard, ch)
			return
		}
		status := s.exec(exec.Command, ch)
		_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
		return
	}
}

func pkt(s string) string { return fmt.Sprintf("%04x%s", len(s)+4, s) }

const zeroID = "0000000000000000000000000000000000000000"

func (s *testServer) exec(cmd string, ch ssh.Channel) uint32 {
	if cmd == "whoami" {
		s.mu.Lock()
		user := s.user
		s.mu.Unlock()
		if user == "" {
			fmt.Fprintln(ch.Stderr(), "whoami: command not found")
			return 127
		}
		fmt.Fprintln(ch, user)
		return 0
	}
	prog, arg, _ := strings.Cut(cmd, " ")
	if prog != "git-upload-pack" && prog != "git-receive-pack" {
		fmt.Fprintf(ch.Stderr(), "unknown command %q\n", cmd)
		return 1
	}
	path := strings.TrimSuffix(strings.TrimPrefix(arg, "'"), "'")
	s.mu.Lock()
	repo, ok := s.repos[path]
	s.mu.Unlock()
	if !ok {
		io.WriteString(ch, pkt("ERR Repository not found\nThe requested repository does not exist, or you do not have permission to access it."))
		return 1
	}
	if prog == "git-receive-pack" && repo.readOnly {
		io.WriteString(ch, pkt("ERR You do not have permission to push to this repository"))
		return 1
	}
	var adv strings.Builder
	caps := "\x00multi_ack side-band-64k ofs-delta agent=test\n"
	if len(repo.refs) == 0 {
		adv.WriteString(pkt(zeroID + " capabilities^{}" + caps))
	}
	for i, r := range repo.refs {
		id := fmt.Sprintf("%040x", i+1)
		if i == 0 {
			adv.WriteString(pkt(id + " " + r + caps))
		} else {
			adv.WriteString(pkt(id + " " + r + "\n"))
		}
		if strings.HasPrefix(r, "refs/tags/") {
			adv.WriteString(pkt(fmt.Sprintf("%040x", i+100) + " " + r + "^{}\n"))
		}
	}
	adv.WriteString("0000")
	io.WriteString(ch, adv.String())
	// Like git: read the client's wants up to a flush (or EOF).
	buf := make([]byte, 4)
	if _, err := io.ReadFull(ch, buf); err != nil || string(buf) != "0000" {
		return 128
	}
	return 0
}
