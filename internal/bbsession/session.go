// Package bbsession is git-bbkey's conversation with one Bitbucket server
// for one run: which server (--server, bbkey.url, an https remote), HTTP
// as git has it (TLS trust, client certificates, proxies), credentials
// asked once and settled once with git's helpers, the server's SSH
// settings and version read once, and the answers every command needs:
// the SSH address users dial, the published host-key fingerprint and
// whether the channel it came over can be trusted, and the SSH clone URL
// of a repository.
//
// It takes everything it needs as explicit inputs (Config): it reads no
// environment, file or terminal of its own accord.
package bbsession

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/gitconfig"
	"github.com/git-bbkey/git-bbkey/internal/gitremote"
)

// DefaultSSHPort is where Bitbucket Server listens for SSH unless an admin
// changed it.
const DefaultSSHPort = 7999

// Config is what sessions are built from.
type Config struct {
	Git    string            // git binary for git credential ("" means "git")
	Config *gitconfig.Reader // git config as it applies in Dir
	Env    []string          // the whole environment: BITBUCKET_TOKEN, GIT_SSL_*, proxies, HOME
	Dir    string            // working directory: relative paths, git credential
	// Interactive lets git credential prompt on the terminal; otherwise
	// git's prompting is turned off.
	Interactive bool
	UserAgent   string        // "git-bbkey/<version>"
	Timeout     time.Duration // per request; 0 means 30s
	// RemoteURLs gives the URLs of the default remote, as written and then
	// as git uses them (gitremote.Repo has both); nil, or none, means no
	// remote names the server.
	RemoteURLs func(ctx context.Context) ([]string, error)
}

func (c *Config) getenv(key string) (string, bool) {
	for i := len(c.Env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(c.Env[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// Sessions holds one Session per Bitbucket base URL for a run, so that
// credentials are asked for (and settings read) once per server. Safe for
// concurrent use.
type Sessions struct {
	cfg Config
	mu  sync.Mutex
	m   map[string]*Session
}

// New returns an empty set of sessions built from cfg.
func New(cfg Config) *Sessions {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &Sessions{cfg: cfg, m: map[string]*Session{}}
}

// Resolve finds the base URL: server (the --server flag) if given, else
// git config bbkey.url, else the https remote of the default remote. It
// returns ErrNoServer when there is none and a *BaseURLError for a value
// that is not a base URL.
func (ss *Sessions) Resolve(ctx context.Context, server string) (string, error) {
	if server != "" {
		return normalize(server, "--server")
	}
	if ss.cfg.Config != nil {
		v, ok, err := ss.cfg.Config.Get(ctx, "bbkey.url")
		if err != nil {
			return "", err
		}
		if ok && strings.TrimSpace(v) != "" {
			return normalize(v, "bbkey.url")
		}
	}
	if ss.cfg.RemoteURLs != nil {
		urls, err := ss.cfg.RemoteURLs(ctx)
		if err != nil {
			return "", err
		}
		for _, raw := range urls {
			if u, err := gitremote.Parse(raw); err == nil {
				if base, _, _, ok := u.BitbucketRepo(); ok && base != "" {
					return base, nil
				}
			}
		}
	}
	return "", ErrNoServer
}

// NormalizeBaseURL checks a base URL given on the command line and returns
// it without a trailing slash, query or fragment.
func NormalizeBaseURL(raw string) (string, error) { return normalize(raw, "--server") }

func normalize(raw, source string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		shown := raw
		if err == nil && u.User != nil {
			shown = u.Redacted()
		} else if err != nil && strings.Contains(raw, "@") {
			shown = "(hidden: it may hold a password)"
		}
		return "", &BaseURLError{Value: shown, Source: source}
	}
	if u.User != nil {
		return "", &BaseURLError{Value: u.Redacted(), Source: source, UserInfo: true}
	}
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u.String(), nil
}

// Open is Resolve followed by For.
func (ss *Sessions) Open(ctx context.Context, server string) (*Session, error) {
	base, err := ss.Resolve(ctx, server)
	if err != nil {
		return nil, err
	}
	return ss.For(ctx, base)
}

// For returns the session with the server at base (a base URL, as
// Resolve or gitremote.URL.BitbucketRepo give it), creating it on first
// use: the HTTP client is built then, once.
func (ss *Sessions) For(ctx context.Context, base string) (*Session, error) {
	base, err := normalize(base, "the remote")
	if err != nil {
		return nil, err
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s := ss.m[base]; s != nil {
		return s, nil
	}
	s := &Session{base: base, cfg: &ss.cfg}
	if s.http, err = newHTTP(ctx, &ss.cfg, base); err != nil {
		return nil, err
	}
	ss.m[base] = s
	return s, nil
}

// Session is the conversation with one server. Safe for concurrent use.
type Session struct {
	base string
	cfg  *Config
	http *httpSetup

	credOnce sync.Once
	creds    *creds
	credErr  error

	anonOnce sync.Once
	anon     *bitbucket.Client
	anonErr  error

	settingsOnce sync.Once
	settings     *bitbucket.Settings
	settingsErr  error
	settingsAuth bool

	versionOnce sync.Once
	version     Version
	versionErr  error
}

// Base is the normalised base URL, e.g. "https://bitbucket.example.com/bb".
func (s *Session) Base() string { return s.base }

// String shows the server only.
func (s *Session) String() string { return "bbsession.Session(" + s.base + ")" }

// TrustedChannel reports whether an answer from this server can be
// trusted to be the server's: verified HTTPS (certificate checked, through
// a proxy or not), or a direct connection to a loopback address, which
// never leaves the machine. Plain http elsewhere, https with verification
// turned off, or loopback through a proxy are not trusted.
func (s *Session) TrustedChannel() bool { return s.http.trusted }

// options is the bitbucket.Options every client of the session shares.
func (s *Session) options(auth bitbucket.Auth) bitbucket.Options {
	return bitbucket.Options{BaseURL: s.base, HTTPClient: s.http.client, UserAgent: s.cfg.UserAgent, Auth: auth, Timeout: s.cfg.Timeout}
}

// anonymous is the client without credentials.
func (s *Session) anonymous() (*bitbucket.Client, error) {
	s.anonOnce.Do(func() { s.anon, s.anonErr = bitbucket.New(s.options(nil)) })
	return s.anon, s.anonErr
}

// Client is the client with the run's credentials, asking for them the
// first time (see Authenticate).
func (s *Session) Client(ctx context.Context) (*bitbucket.Client, error) {
	if err := s.Authenticate(ctx); err != nil {
		return nil, err
	}
	return s.creds.client, nil
}

// Reader is a client for reading (settings, clone links): with the run's
// credentials when there are any (asking once, as Authenticate does), else
// anonymous. authenticated says which.
func (s *Session) Reader(ctx context.Context) (c *bitbucket.Client, authenticated bool, err error) {
	if s.Authenticate(ctx) == nil {
		return s.creds.client, true, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	c, err = s.anonymous()
	return c, false, err
}
