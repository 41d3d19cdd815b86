package bbsandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

const (
	// sshBanner is what Bitbucket's Apache MINA SSHD says.
	sshBanner = "SSH-2.0-SSHD-UNKNOWN"
	// handshakeTimeout bounds the key exchange and authentication.
	handshakeTimeout = 30 * time.Second
	// idleTimeout ends an SSH connection on which nothing moved for this long.
	idleTimeout = 2 * time.Minute

	errRepoNotFound = "Repository not found\nThe requested repository does not exist, or you do not have permission to access it."
	errNoWrite      = "You are not permitted to access this repository"
)

func (s *Server) newSSHConfig() *ssh.ServerConfig {
	conf := &ssh.ServerConfig{
		ServerVersion: sshBanner,
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if s.principalFor(key) == nil {
				return nil, errors.New("key not registered")
			}
			return &ssh.Permissions{Extensions: map[string]string{"pubkey": string(key.Marshal())}}, nil
		},
	}
	// x/crypto always sends server-sig-algs when the client asks for
	// ext-info, and it cannot be switched off. Bitbucket sends none, which
	// leaves OpenSSH >= 8.8 nothing to sign RSA with. Advertising a list
	// without rsa-sha2-* has the same effect on OpenSSH and still lets Go
	// clients use ssh-rsa, as they do against Bitbucket.
	conf.PublicKeyAuthAlgorithms = []string{
		ssh.KeyAlgoED25519, ssh.KeyAlgoSKED25519, ssh.KeyAlgoSKECDSA256,
		ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521, ssh.KeyAlgoRSA,
	}
	if s.cfg.AcceptRSASHA2 {
		conf.PublicKeyAuthAlgorithms = append(conf.PublicKeyAuthAlgorithms, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSASHA512)
	}
	conf.AddHostKey(s.hostKey)
	return conf
}

// principal is who a key logs in as: a user or an access key.
type principal struct {
	user      *userState
	accessKey *AccessKeyRecord
	keyID     int
}

// principalFor looks a key up in the current REST state.
func (s *Server) principalFor(key ssh.PublicKey) *principal {
	blob := string(key.Marshal())
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.userKeys {
		if k.blob == blob {
			if u := s.users[strings.ToLower(k.User)]; u != nil {
				return &principal{user: u, keyID: k.ID}
			}
		}
	}
	if s.akEnabled {
		if k := s.findAccessKeyLocked(blob); k != nil {
			return &principal{accessKey: k, keyID: k.ID}
		}
	}
	return nil
}

func (s *Server) touchKey(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for _, k := range s.userKeys {
		if k.ID == id {
			k.LastAuthenticated = now
		}
	}
	for _, k := range s.accessKeys {
		if k.ID == id {
			k.LastAuthenticated = now
		}
	}
}

func (s *Server) serveSSH() {
	for {
		c, err := s.sshLn.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		if !s.trackConn(c) {
			c.Close()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrackConn(c)
			defer c.Close()
			s.handleSSHConn(c)
		}()
	}
}

// idleConn pushes the deadline forward on every read and write, so a
// stuck peer cannot hold a connection (and its goroutines) forever.
type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c *idleConn) Read(b []byte) (int, error) {
	_ = c.Conn.SetDeadline(time.Now().Add(c.idle))
	return c.Conn.Read(b)
}

func (c *idleConn) Write(b []byte) (int, error) {
	_ = c.Conn.SetDeadline(time.Now().Add(c.idle))
	return c.Conn.Write(b)
}

func (s *Server) handleSSHConn(c net.Conn) {
	s.mu.Lock()
	enabled, silent := s.sshEnabled, s.sshSilent
	s.mu.Unlock()
	if !enabled {
		return // closed at once, as if nothing listened
	}
	if silent {
		// Accept and never speak; wait for the peer or Close. Reads
		// still need a deadline, which the idle timeout provides.
		_, _ = io.Copy(io.Discard, &idleConn{Conn: c, idle: idleTimeout})
		return
	}
	// The handshake must finish in time; afterwards every read and write
	// pushes the deadline idleTimeout ahead (idleConn), so a stuck peer
	// cannot hold a connection and its goroutines forever.
	guard := time.AfterFunc(handshakeTimeout, func() { _ = c.Close() })
	sc, chans, reqs, err := ssh.NewServerConn(&idleConn{Conn: c, idle: idleTimeout}, s.sshConf)
	guard.Stop()
	if err != nil {
		s.logf("ssh handshake from %s: %v", c.RemoteAddr(), err)
		return
	}
	defer sc.Close()

	key, err := ssh.ParsePublicKey([]byte(sc.Permissions.Extensions["pubkey"]))
	if err != nil {
		return
	}
	if p := s.principalFor(key); p != nil {
		s.touchKey(p.keyID)
	}
	s.goDiscard(reqs)

	var open sync.WaitGroup
	var mu sync.Mutex
	active := 0
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only session channels are supported")
			continue
		}
		s.mu.Lock()
		limit := s.maxSessions
		s.mu.Unlock()
		mu.Lock()
		if limit > 0 && active >= limit {
			mu.Unlock()
			_ = nc.Reject(ssh.ResourceShortage, "too many sessions on this connection (max "+strconv.Itoa(limit)+")")
			continue
		}
		active++
		mu.Unlock()
		ch, chReqs, err := nc.Accept()
		if err != nil {
			mu.Lock()
			active--
			mu.Unlock()
			continue
		}
		open.Add(1)
		go func() {
			defer open.Done()
			defer func() {
				mu.Lock()
				active--
				mu.Unlock()
			}()
			s.handleSession(key, ch, chReqs)
		}()
	}
	open.Wait()
}

type exitStatus struct{ Status uint32 }

// handleSession serves one session channel: env GIT_PROTOCOL and one exec.
func (s *Server) handleSession(key ssh.PublicKey, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	var env []string
	for req := range reqs {
		switch req.Type {
		case "env":
			var kv struct{ Name, Value string }
			if ssh.Unmarshal(req.Payload, &kv) == nil && kv.Name == "GIT_PROTOCOL" {
				env = append(env, "GIT_PROTOCOL="+kv.Value)
				_ = req.Reply(true, nil)
				continue
			}
			_ = req.Reply(false, nil)
		case "exec":
			var cmd struct{ Command string }
			if ssh.Unmarshal(req.Payload, &cmd) != nil {
				_ = req.Reply(false, nil)
				continue
			}
			run := s.commandFor(key, cmd.Command, env)
			if run == nil {
				s.logf("ssh: refused command %q", cmd.Command)
				_ = req.Reply(false, nil)
				continue
			}
			_ = req.Reply(true, nil)
			s.goDiscard(reqs)
			code := run(ch)
			_ = ch.CloseWrite()
			_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(exitStatus{uint32(code)}))
			return
		default: // shell, pty-req, subsystem, x11, ...
			if req.WantReply {
				_ = req.Reply(false, nil)
			}
		}
	}
}

// commandFor parses an exec command; nil means it is refused.
func (s *Server) commandFor(key ssh.PublicKey, line string, env []string) func(ssh.Channel) int {
	line = strings.TrimSpace(line)
	if line == "whoami" {
		return func(ch ssh.Channel) int {
			p := s.principalFor(key)
			if p == nil {
				fmt.Fprintln(ch.Stderr(), "Permission denied")
				return 1
			}
			fmt.Fprintln(ch, s.whoami(p))
			return 0
		}
	}
	verb, arg, ok := strings.Cut(line, " ")
	if !ok {
		return nil
	}
	verb = strings.Replace(verb, "git ", "git-", 1)
	if verb == "git" { // "git upload-pack '...'"
		var sub string
		sub, arg, ok = strings.Cut(strings.TrimSpace(arg), " ")
		if !ok {
			return nil
		}
		verb = "git-" + sub
	}
	var need int
	switch verb {
	case "git-upload-pack", "git-upload-archive":
		need = permRead
	case "git-receive-pack":
		need = permWrite
	default:
		return nil
	}
	path := unquote(strings.TrimSpace(arg))
	return func(ch ssh.Channel) int {
		dir, have := s.resolveRepo(key, path)
		if dir == "" || have < permRead {
			writeErrPkt(ch, errRepoNotFound)
			return 1
		}
		if have < need {
			writeErrPkt(ch, errNoWrite)
			return 1
		}
		return s.runGit(strings.TrimPrefix(verb, "git-"), dir, env, ch)
	}
}

func (s *Server) whoami(p *principal) string {
	if p.user != nil {
		return p.user.Name
	}
	s.mu.Lock()
	f := s.whoamiAK
	rec := *p.accessKey
	s.mu.Unlock()
	if f != nil {
		return f(rec)
	}
	if rec.Label != "" {
		return rec.Label
	}
	return "access-key-" + strconv.Itoa(rec.ID)
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// resolveRepo finds "/proj/repo.git" (leading slash and .git optional,
// project case-insensitive) and what the key may do there.
func (s *Server) resolveRepo(key ssh.PublicKey, path string) (string, int) {
	path = strings.TrimPrefix(path, "/")
	path = strings.TrimSuffix(path, "/")
	path = strings.TrimSuffix(path, ".git")
	proj, slug, ok := strings.Cut(path, "/")
	if !ok || strings.Contains(slug, "/") {
		return "", permNone
	}
	who := s.principalFor(key)
	if who == nil {
		return "", permNone
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, r := s.findRepo(proj, slug)
	if r == nil {
		return "", permNone
	}
	if who.user != nil {
		return r.dir, s.userProjectPerm(who.user.Name, p)
	}
	return r.dir, accessKeyRepoPerm(who.accessKey, p, r)
}

// writeErrPkt writes a pkt-line "ERR msg\n", which git reports as
// "fatal: remote error: msg".
func writeErrPkt(w io.Writer, msg string) {
	payload := "ERR " + msg + "\n"
	_, _ = fmt.Fprintf(w, "%04x%s", len(payload)+4, payload)
}

// runGit runs the real git service on dir with the channel as its stdio
// and returns its exit status.
func (s *Server) runGit(service, dir string, env []string, ch ssh.Channel) int {
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.gitPath, service, dir)
	cmd.Env = gitEnv(env...)
	cmd.Stdout = ch
	cmd.Stderr = ch.Stderr()
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 1
	}
	if err := cmd.Start(); err != nil {
		s.logf("ssh: start git %s: %v", service, err)
		fmt.Fprintf(ch.Stderr(), "git %s could not be started\n", service)
		return 1
	}
	// Copy the client's input ourselves: exec would otherwise wait for
	// the channel to reach EOF even after git has exited.
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_, _ = io.Copy(stdin, ch)
		_ = stdin.Close()
	}()
	err = cmd.Wait()
	code := 0
	if err != nil {
		code = 1
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() > 0 {
			code = ee.ExitCode()
		}
	}
	s.logf("ssh: git %s %s exited %d", service, dir, code)
	// The stdin copier ends when the client sends EOF or the channel
	// closes, which handleSession does right after we return.
	return code
}

// goDiscard rejects out-of-band requests until their channel closes.
func (s *Server) goDiscard(reqs <-chan *ssh.Request) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ssh.DiscardRequests(reqs)
	}()
}
