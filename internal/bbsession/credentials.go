package bbsession

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/credential"
)

// settleTimeout bounds telling git's helpers how a credential fared.
const settleTimeout = 10 * time.Second

// creds is the credential of a session and what became of it.
type creds struct {
	client   *bitbucket.Client
	viaToken bool // BITBUCKET_TOKEN (an HTTP access token)

	// From git credential fill only; settled once: approve after a 2xx,
	// reject after a 401 that the credential itself caused.
	helper *credential.Helper
	cred   *credential.Credential
	probe  *bitbucket.Client // the same credential, without the settling hook
	mu     sync.Mutex
	done   bool
}

// Authenticate gets the run's credentials, once per server: BITBUCKET_TOKEN
// (as a Bearer token), else `git credential fill` for the base URL (which
// may prompt when the Config allows it). Errors are a *NoCredentialsError,
// an *InsecureError (plain http to a host that is not loopback: nothing is
// asked) or a *CredentialError; the same answer is given for the rest of
// the run.
func (s *Session) Authenticate(ctx context.Context) error {
	s.credOnce.Do(func() { s.creds, s.credErr = s.authenticate(ctx) })
	return s.credErr
}

// ViaToken reports whether the credentials are BITBUCKET_TOKEN, an HTTP
// access token (which Bitbucket may not let change an account's keys).
// It is meaningful after Authenticate (or Client) returned.
func (s *Session) ViaToken() bool {
	return s.credErr == nil && s.creds != nil && s.creds.viaToken
}

func (s *Session) authenticate(ctx context.Context) (*creds, error) {
	u, err := url.Parse(s.base)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "http" && !bitbucket.IsLoopback(u.Hostname()) {
		return nil, &InsecureError{Base: s.base}
	}
	if token, _ := s.cfg.getenv("BITBUCKET_TOKEN"); token != "" {
		c, err := bitbucket.New(s.options(bitbucket.BearerToken(token)))
		if err != nil {
			return nil, err
		}
		return &creds{client: c, viaToken: true}, nil
	}
	h := &credential.Helper{Git: s.cfg.Git, Env: s.cfg.Env, Dir: s.cfg.Dir, Interactive: s.cfg.Interactive}
	cred, err := h.Fill(ctx, s.base)
	if errors.Is(err, credential.ErrNoCredential) {
		return nil, &NoCredentialsError{Base: s.base, Err: err}
	}
	if err != nil {
		return nil, &CredentialError{Base: s.base, Err: err}
	}
	auth := bitbucket.Basic(cred.Username, cred.Password)
	cr := &creds{helper: h, cred: cred}
	if cr.probe, err = bitbucket.New(s.options(auth)); err != nil {
		return nil, err
	}
	opts := s.options(auth)
	opts.OnAuth = cr.settle
	if cr.client, err = bitbucket.New(opts); err != nil {
		return nil, err
	}
	return cr, nil
}

// settle tells git's helpers how the credential fared, once: approve after
// the first 2xx; reject after a 401 that the credential caused. Bitbucket
// also answers 401 when a valid user lacks a permission, so a 401 that
// does not name a wrong password is checked with a request every signed-in
// user may make, with the same credential: only if that is refused too is
// the credential rejected. (A gateway's 401 without Bitbucket's words is
// refused again, and so rejected.)
func (c *creds) settle(ctx context.Context, accepted bool, rejection *bitbucket.Error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	switch {
	case accepted:
		_ = c.helper.Approve(ctx, c.base(), c.cred)
	case rejection != nil && rejection.BadPassword():
		_ = c.helper.Reject(ctx, c.base(), c.cred)
	default:
		_, err := c.probe.CurrentUser(ctx)
		switch {
		case err == nil:
			_ = c.helper.Approve(ctx, c.base(), c.cred)
		case bitbucket.IsKind(err, bitbucket.KindUnauthorized):
			_ = c.helper.Reject(ctx, c.base(), c.cred)
		default:
			return // no verdict (the server or the network failed): ask again next time
		}
	}
	c.done = true
}

func (c *creds) base() string { return c.probe.BaseURL() }
