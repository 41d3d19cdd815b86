package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/credential"
	"github.com/git-bbkey/git-bbkey/internal/gitremote"
)

func serverFlag() cli.Flag {
	return &cli.StringFlag{Name: "server", Usage: "Bitbucket base `URL` (default: git config bbkey.url, else derived from an https remote)"}
}

// errNoServer means no Bitbucket URL could be found anywhere.
var errNoServer = usageError("no Bitbucket server URL",
	"pass --server https://bitbucket.example.com, or run: git config --global bbkey.url https://bitbucket.example.com")

// defaultRemoteName is bbkey.remote, else origin.
func defaultRemoteName(ctx context.Context, env *Env) (string, error) {
	name, err := env.configValue(ctx, "bbkey.remote")
	if err != nil {
		return "", err
	}
	if name == "" {
		name = "origin"
	}
	return name, nil
}

// serverURL finds the Bitbucket base URL: --server, bbkey.url, or the
// https remote of the repository in the working directory. "" if none.
func serverURL(ctx context.Context, env *Env, flag string) (string, error) {
	if flag != "" {
		return normalizeBaseURL(flag)
	}
	v, err := env.configValue(ctx, "bbkey.url")
	if err != nil {
		return "", err
	}
	if v != "" {
		return normalizeBaseURL(v)
	}
	name, err := defaultRemoteName(ctx, env)
	if err != nil {
		return "", err
	}
	// The URLs as written come first: an https remote names the server
	// even when url.<base>.insteadOf sends git over SSH.
	remote, err := env.gitRepo().Remote(ctx, name)
	if err != nil {
		return "", nil
	}
	urls := append(append([]string{}, remote.Written...), remote.URLs...)
	for _, raw := range urls {
		if u, err := gitremote.Parse(raw); err == nil {
			if base, _, _, ok := u.BitbucketRepo(); ok && base != "" {
				return base, nil
			}
		}
	}
	return "", nil
}

func normalizeBaseURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", usageError(fmt.Sprintf("%q is not a Bitbucket base URL", raw),
			"give it as https://bitbucket.example.com (with the context path, if any)")
	}
	if u.User != nil {
		return "", usageError("the Bitbucket URL must not contain a user name or password",
			"credentials come from BITBUCKET_TOKEN or git credential")
	}
	u.RawQuery, u.Fragment = "", ""
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u.String(), nil
}

// session is a Bitbucket client with the credential it uses, so that git's
// credential helpers hear about success (approve) or rejection (reject).
type session struct {
	*bitbucket.Client
	base   string
	helper *credential.Helper
	cred   *credential.Credential

	once sync.Once
}

// httpClient builds an HTTP client with TLS trust as git has it for base.
func httpClient(ctx context.Context, env *Env, base string) (*http.Client, error) {
	cfg := env.config()
	ts := bitbucket.TLSSettings{}
	if ca := env.Getenv("GIT_SSL_CAINFO"); ca != "" {
		ts.CAInfo = ca
	} else if v, ok, err := cfg.GetURLMatch(ctx, "http.sslCAInfo", base); err != nil {
		return nil, err
	} else if ok {
		ts.CAInfo = env.absPath(v)
	}
	if v, ok, err := cfg.GetURLMatch(ctx, "http.sslVerify", base); err != nil {
		return nil, err
	} else if ok && isFalse(v) {
		ts.InsecureSkipVerify = true
	}
	if env.Getenv("GIT_SSL_NO_VERIFY") != "" {
		ts.InsecureSkipVerify = true
	}
	hc, err := bitbucket.NewHTTPClient(ts, 30*time.Second)
	if err != nil {
		return nil, failuref(err, "fix http.sslCAInfo: git config --get-urlmatch http.sslCAInfo "+base)
	}
	return hc, nil
}

func isFalse(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "false", "no", "off", "0", "":
		return true
	}
	return false
}

// anonymousClient talks to Bitbucket without credentials (settings only).
func anonymousClient(ctx context.Context, env *Env, base string) (*bitbucket.Client, error) {
	hc, err := httpClient(ctx, env, base)
	if err != nil {
		return nil, err
	}
	c, err := bitbucket.New(bitbucket.Options{BaseURL: base, HTTPClient: hc, UserAgent: "git-bbkey/" + env.Version})
	if err != nil {
		return nil, clientError(err, base)
	}
	return c, nil
}

// openSession resolves the base URL and credentials. With needCreds false a
// missing credential is not an error: the session is nil and the caller
// explains what to do by hand.
func openSession(ctx context.Context, env *Env, serverFlag string, needCreds bool) (*session, error) {
	base, err := serverURL(ctx, env, serverFlag)
	if err != nil {
		return nil, err
	}
	if base == "" {
		return nil, errNoServer
	}
	if env.sessions == nil { // an Env built by hand in a test
		env.sessions = &sessionCache{}
	}
	cache := env.sessions
	cache.mu.Lock()
	defer cache.mu.Unlock()
	if s := cache.m[base]; s != nil {
		return s, nil
	}
	hc, err := httpClient(ctx, env, base)
	if err != nil {
		return nil, err
	}
	s := &session{base: base}
	var auth bitbucket.Auth
	if token := env.Getenv("BITBUCKET_TOKEN"); token != "" {
		auth = bitbucket.BearerToken(token)
	} else {
		s.helper = &credential.Helper{Git: env.Git, Dir: env.Dir, Interactive: env.Prompter.CanPrompt()}
		if err := refuseInsecure(base); err != nil {
			return nil, err
		}
		s.cred, err = s.helper.Fill(ctx, base)
		if errors.Is(err, credential.ErrNoCredential) {
			if !needCreds {
				return nil, nil
			}
			return nil, failure(fmt.Sprintf("no Bitbucket credentials for %s", base),
				"set BITBUCKET_TOKEN to an HTTP access token, or store a password with: git credential approve",
				"on a terminal, git asks for them")
		}
		if err != nil {
			return nil, failuref(err)
		}
		auth = bitbucket.Basic(s.cred.Username, s.cred.Password)
	}
	s.Client, err = bitbucket.New(bitbucket.Options{BaseURL: base, HTTPClient: hc, UserAgent: "git-bbkey/" + env.Version, Auth: auth})
	if err != nil {
		return nil, clientError(err, base)
	}
	if cache.m == nil {
		cache.m = map[string]*session{}
	}
	cache.m[base] = s
	return s, nil
}

// readClient is a client for reading (settings, clone links): with the
// run's credentials when there are any (authenticated), else anonymous.
func readClient(ctx context.Context, env *Env, base string) (c *bitbucket.Client, authenticated bool, err error) {
	if s, err := openSession(ctx, env, base, false); err == nil && s != nil {
		return s.Client, true, nil
	}
	c, err = anonymousClient(ctx, env, base)
	return c, false, err
}

// refuseInsecure stops credentials from being asked for at all when they
// could only travel in clear text.
func refuseInsecure(base string) error {
	u, err := url.Parse(base)
	if err == nil && u.Scheme == "http" && !bitbucket.IsLoopback(u.Hostname()) {
		return clientError(bitbucket.ErrInsecureURL, base)
	}
	return nil
}

func clientError(err error, base string) error {
	if errors.Is(err, bitbucket.ErrInsecureURL) {
		return failure(fmt.Sprintf("refusing to send credentials to %s over plain http", base),
			"use the https:// URL of your Bitbucket server")
	}
	return failuref(err)
}

// settle tells git's credential helpers how the credential fared: approve
// after a success, reject after a 401 for a wrong password.
func (s *session) settle(ctx context.Context, err error) {
	if s == nil || s.helper == nil || s.cred == nil {
		return
	}
	var be *bitbucket.Error
	switch {
	case err == nil:
		s.once.Do(func() { s.helper.Approve(ctx, s.base, s.cred) })
	case errors.As(err, &be) && be.BadPassword():
		s.once.Do(func() { s.helper.Reject(ctx, s.base, s.cred) })
	}
}

// apiError turns a REST error into the message and next step a person needs.
func (s *session) apiError(err error) *Error {
	var be *bitbucket.Error
	if !errors.As(err, &be) {
		return failuref(err, fmt.Sprintf("check that %s is reachable", s.base))
	}
	e := failuref(err)
	switch be.Kind {
	case bitbucket.KindUnauthorized:
		if be.BadPassword() {
			e.Hints = []string{"your Bitbucket credentials were rejected: check BITBUCKET_TOKEN, or the password git credential gave"}
		} else {
			e.Hints = []string{"the credentials were accepted but lack the permission for this (access keys need REPO_ADMIN or PROJECT_ADMIN)",
				"personal access tokens cannot always change your own account: try your password through git credential"}
		}
	case bitbucket.KindInvalidKey:
		e.Hints = []string{"Bitbucket accepts ed25519 (recommended), ecdsa and rsa keys of 2048 bits or more: git bbkey generate"}
	case bitbucket.KindNotJSON:
		e.Hints = []string{fmt.Sprintf("is %s the Bitbucket base URL (with its context path)? a proxy may be answering instead", s.base)}
	}
	return e
}
