package bitbucket

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Auth puts credentials on a request. Implementations must not show the
// secret from String or GoString.
type Auth interface {
	Apply(*http.Request)
}

type bearerToken struct{ token string }

// BearerToken authenticates with an HTTP access token
// (Authorization: Bearer).
func BearerToken(token string) Auth { return bearerToken{token} }

func (b bearerToken) Apply(r *http.Request) { r.Header.Set("Authorization", "Bearer "+b.token) }
func (b bearerToken) String() string        { return "Bearer <redacted>" }
func (b bearerToken) GoString() string      { return "bitbucket.BearerToken(<redacted>)" }

type basicAuth struct{ user, pass string }

// Basic authenticates with a user name and a password or token.
func Basic(user, pass string) Auth { return basicAuth{user, pass} }

func (b basicAuth) Apply(r *http.Request) { r.SetBasicAuth(b.user, b.pass) }
func (b basicAuth) String() string        { return fmt.Sprintf("Basic %s:<redacted>", b.user) }
func (b basicAuth) GoString() string {
	return fmt.Sprintf("bitbucket.Basic(%q, <redacted>)", b.user)
}

// ErrRedirectRefused is wrapped when a redirect would carry credentials to
// another host, or from https to http.
var ErrRedirectRefused = errors.New("refusing to follow a redirect with credentials")

// checkRedirect refuses to carry credentials to another host or from https
// to http. Go alone would drop Authorization only for hosts outside the
// original domain and would follow a downgrade to http.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	first := via[0]
	if first.Header.Get("Authorization") == "" {
		return nil
	}
	if !strings.EqualFold(req.URL.Host, first.URL.Host) {
		return fmt.Errorf("%w from %s to %s (another host: set the bitbucket url to the final address)", ErrRedirectRefused, first.URL.Host, req.URL.Host)
	}
	if first.URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("%w from https to %s", ErrRedirectRefused, req.URL.Scheme)
	}
	return nil
}
