// Package bbsandbox is a local stand-in for Bitbucket Server / Data Center,
// for tests and demos: the REST resources git-bbkey talks to (SSH user keys,
// SSH access keys, SSH settings, repositories) and an SSH server that
// accepts exactly the keys registered through REST and serves real
// repositories with the real git binary.
//
// It plays the server described in docs/bitbucket.md, including the parts
// marked unsure there (switches select one reading or the other), and it
// can misbehave on demand (FailNext, SetDelay, SSHSilent, SetFaults for
// old, proxied and hostile servers, SetRedirect, ...).
//
// Choices where docs/bitbucket.md is unsure or silent (switch in brackets):
//   - settings fingerprint value: no "SHA256:" prefix, no padding
//     [SetSettingsFingerprintFormat]; baseUrl "ssh://git@127.0.0.1:PORT"
//     with the advertised port [SetSettingsBaseURL], "port" where the SSH
//     server really listens (they differ behind a port forward,
//     Config.AdvertisedSSHPort); settings need credentials
//     [SetAnonymousSettings].
//   - key dates: epoch-millisecond numbers [SetDatesAsStrings].
//   - HTTP access tokens may add and delete personal keys
//     [SetTokensCanManageUserKeys].
//   - a key uploaded without a label gets its comment as label.
//   - `whoami` with an access key prints the key's label, else
//     "access-key-ID" [SetAccessKeyWhoami].
//   - access-key calls while access keys are disabled: 403 with
//     FeatureDisabledException.
//   - SSH disabled: the port accepts and closes at once.
//   - x/crypto always sends server-sig-algs (RFC 8308) and cannot be told
//     not to; the list leaves out rsa-sha2-* so that OpenSSH >= 8.8 refuses
//     RSA keys exactly as it does against Bitbucket [Config.AcceptRSASHA2].
//   - http(s) clone links are reported but git over HTTP is not served.
//
// Everything listens on 127.0.0.1 only. It is not part of the git-bbkey
// binary.
package bbsandbox

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// User is an account on the sandbox.
type User struct {
	Name     string
	Password string
	Tokens   []string // HTTP access tokens (Bearer, or as the Basic password)
	Admin    bool     // system administrator: every permission everywhere
}

// Project is a project with its repositories and user permissions. A
// personal project has the key "~user" (its owner is its admin).
type Project struct {
	Key     string
	Name    string
	Repos   []string // slugs
	Admins  []string // PROJECT_ADMIN (and so REPO_ADMIN on every repo)
	Readers []string // PROJECT_READ
	Writers []string // PROJECT_WRITE
}

// Config describes the sandbox to start.
type Config struct {
	ContextPath string // e.g. "/bitbucket"; "" for none
	Users       []User
	Projects    []Project
	PageLimit   int  // largest page the REST API returns (default 2, so paging is exercised)
	TLS         bool // serve HTTPS with a generated CA (see CACertPEM)
	// RequireClientCert (with TLS) accepts only clients that present a
	// certificate of a generated client CA (see ClientCertPEM).
	RequireClientCert bool
	HTTPPort          int // 0 = random loopback port
	SSHPort           int // 0 = random loopback port
	DataDir           string
	Git               string // path to git; default "git"
	// RESTOnly creates no bare repositories, so git is not needed: the
	// repositories exist for the REST API only, and git over SSH finds
	// none (for REST tests where no git is installed, such as under Wine).
	RESTOnly bool
	HostKey  ssh.Signer // nil = generate an ed25519 key

	// AdvertisedSSHPort is the port that the settings' baseUrl and the
	// clone links report, as behind a port forward (default: the real SSH
	// port; settings "port" always names the real one). 22 drops the port
	// from clone URLs.
	AdvertisedSSHPort int

	// AcceptRSASHA2: by default the SSH server, like Bitbucket, leaves
	// OpenSSH >= 8.8 no RSA signature algorithm it is willing to use, so
	// RSA keys fail with OpenSSH while Go clients (ssh-rsa) succeed. Set
	// this to accept and advertise rsa-sha2-256/512 as well.
	AcceptRSASHA2 bool

	// Logf, if set, receives one line per notable event (SSH sessions, git
	// exits). Tests can pass t.Logf.
	Logf func(format string, args ...any)
}

// Server is a running sandbox. All methods are safe for concurrent use.
type Server struct {
	cfg     Config
	context string // normalised context path: "" or "/x"
	gitPath string

	hostKey               ssh.Signer
	caPEM                 []byte
	clientCert, clientKey []byte

	httpLn  net.Listener
	httpSrv *http.Server
	sshLn   net.Listener
	sshConf *ssh.ServerConfig

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu                       sync.Mutex
	users                    map[string]*userState    // by lower-case name
	projects                 map[string]*projectState // by upper-case key
	projOrder                []string
	userKeys                 []*KeyRecord
	accessKeys               []*AccessKeyRecord
	nextKeyID                int
	nextRepoID               int
	requests                 []RequestRecord
	conns                    map[net.Conn]struct{}
	closed                   bool
	cloneCalls               int
	fail                     failPlan
	delay                    time.Duration
	sshEnabled               bool
	akEnabled                bool
	fpPrefix                 bool
	fpPadding                bool
	sshSilent                bool
	maxSessions              int
	dateStrings              bool
	tokenKeys                bool
	anonSetting              bool
	whoamiAK                 func(AccessKeyRecord) string
	sshBaseURL               string
	faults                   atomic.Pointer[Faults]
	version                  string
	redirectFrom, redirectTo string
}

type userState struct {
	User
	slug string
}

type projectState struct {
	key, name string
	id        int
	personal  bool // key "~USER"
	owner     string
	admins    []string
	readers   []string
	writers   []string
	repos     []*repoState
}

type repoState struct {
	id   int
	slug string
	dir  string
}

type failPlan struct {
	method                        string // "" = every method
	n                             int
	status                        int
	body, contentType, retryAfter string
}

// Start creates the repositories and starts the REST and SSH servers on
// 127.0.0.1. ctx bounds the start-up work only (creating repositories);
// the servers run until Close.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	s := &Server{
		cfg:         cfg,
		users:       map[string]*userState{},
		projects:    map[string]*projectState{},
		conns:       map[net.Conn]struct{}{},
		nextKeyID:   1,
		nextRepoID:  1,
		sshEnabled:  true,
		akEnabled:   true,
		maxSessions: 10,
		tokenKeys:   true,
		version:     "9.2.0",
	}
	if s.cfg.PageLimit <= 0 {
		s.cfg.PageLimit = 2
	}
	s.gitPath = cfg.Git
	if s.gitPath == "" {
		s.gitPath = "git"
	}
	s.context = strings.TrimRight(cfg.ContextPath, "/")
	if s.context != "" && !strings.HasPrefix(s.context, "/") {
		s.context = "/" + s.context
	}
	if cfg.DataDir == "" {
		return nil, errors.New("bbsandbox: Config.DataDir is required (bare repositories are created there)")
	}
	if err := s.loadState(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("bbsandbox: create data dir: %w", err)
	}
	for _, key := range s.projOrder {
		for _, r := range s.projects[key].repos {
			if cfg.RESTOnly {
				break
			}
			if err := initBareRepo(ctx, s.gitPath, r.dir); err != nil {
				return nil, err
			}
		}
	}

	s.hostKey = cfg.HostKey
	if s.hostKey == nil {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		if s.hostKey, err = ssh.NewSignerFromKey(priv); err != nil {
			return nil, err
		}
	}

	s.ctx, s.cancel = context.WithCancel(context.Background())
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()

	var err error
	if s.sshLn, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.SSHPort))); err != nil {
		return nil, fmt.Errorf("bbsandbox: listen for SSH: %w", err)
	}
	if s.httpLn, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.HTTPPort))); err != nil {
		return nil, fmt.Errorf("bbsandbox: listen for HTTP: %w", err)
	}
	if cfg.TLS {
		ca, tlsConf, err := newTLS()
		if err != nil {
			return nil, err
		}
		s.caPEM = ca
		if cfg.RequireClientCert {
			if s.clientCert, s.clientKey, err = requireClientCerts(tlsConf); err != nil {
				return nil, err
			}
		}
		s.httpLn = tlsListener(s.httpLn, tlsConf)
	}
	s.sshConf = s.newSSHConfig()
	s.httpSrv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      5 * time.Minute, // SetDelay may hold answers back
		IdleTimeout:       60 * time.Second,
		ErrorLog:          log.New(logWriter{s}, "", 0), // e.g. TLS handshakes of clients that distrust the CA
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		_ = s.httpSrv.Serve(s.httpLn)
	}()
	go func() {
		defer s.wg.Done()
		s.serveSSH()
	}()
	ok = true
	return s, nil
}

// URL is the REST base URL including the context path, e.g.
// "http://127.0.0.1:40123/bitbucket".
func (s *Server) URL() string {
	scheme := "http"
	if s.cfg.TLS {
		scheme = "https"
	}
	return scheme + "://" + s.httpLn.Addr().String() + s.context
}

// SSHAddr is the SSH listener address, "127.0.0.1:PORT".
func (s *Server) SSHAddr() string { return s.sshLn.Addr().String() }

// SSHPort is the real SSH port.
func (s *Server) SSHPort() int { return s.sshLn.Addr().(*net.TCPAddr).Port }

func (s *Server) advertisedPort() int {
	if s.cfg.AdvertisedSSHPort != 0 {
		return s.cfg.AdvertisedSSHPort
	}
	return s.SSHPort()
}

// HostKey is the SSH host public key.
func (s *Server) HostKey() ssh.PublicKey { return s.hostKey.PublicKey() }

// KnownHostsLine is the known_hosts line for the host key, in the form
// OpenSSH uses for a non-22 port: "[127.0.0.1]:PORT ssh-ed25519 AAAA...".
func (s *Server) KnownHostsLine() string {
	return fmt.Sprintf("[127.0.0.1]:%d %s", s.SSHPort(), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.HostKey()))))
}

// CACertPEM is the PEM of the CA that signed the HTTPS certificate (nil
// without TLS).
func (s *Server) CACertPEM() []byte { return slices.Clone(s.caPEM) }

// CloneURL is the SSH clone URL of a repository as Bitbucket shows it:
// "ssh://git@127.0.0.1:PORT/proj/slug.git" (project lower-case), using the
// advertised port.
func (s *Server) CloneURL(project, slug string) string {
	host := "127.0.0.1"
	if p := s.advertisedPort(); p != 22 {
		host += ":" + strconv.Itoa(p)
	}
	return "ssh://git@" + host + "/" + strings.ToLower(project) + "/" + strings.ToLower(slug) + ".git"
}

// HTTPCloneURL is the http(s) clone URL of a repository (without a user).
func (s *Server) HTTPCloneURL(project, slug string) string {
	return s.URL() + "/scm/" + strings.ToLower(project) + "/" + strings.ToLower(slug) + ".git"
}

// RepoDir is the bare repository directory of project/slug ("" if unknown).
func (s *Server) RepoDir(project, slug string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, r := s.findRepo(project, slug)
	if r == nil {
		return ""
	}
	return r.dir
}

// Close stops both servers, ends every connection and running git process,
// and waits for all goroutines. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	conns := make([]net.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	if s.cancel != nil {
		s.cancel()
	}
	if s.httpSrv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = s.httpSrv.Shutdown(sctx)
		cancel()
		_ = s.httpSrv.Close()
	} else if s.httpLn != nil {
		_ = s.httpLn.Close()
	}
	if s.sshLn != nil {
		_ = s.sshLn.Close()
	}
	for _, c := range conns {
		_ = c.Close()
	}
	s.wg.Wait()
	return nil
}

func (s *Server) trackConn(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrackConn(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf("bbsandbox: "+format, args...)
	}
}

// logWriter sends net/http's own complaints to Config.Logf (or nowhere).
type logWriter struct{ s *Server }

func (w logWriter) Write(p []byte) (int, error) {
	w.s.logf("http: %s", strings.TrimSpace(string(p)))
	return len(p), nil
}
