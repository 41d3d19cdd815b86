// Package bitbucket is a small typed client for the Bitbucket Server / Data
// Center REST calls git-bbkey needs: SSH user keys, SSH access keys, SSH
// settings and repository clone links.
package bitbucket

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	defaultTimeout    = 30 * time.Second
	defaultMaxRetries = 3
	defaultAPIVersion = "1.0"
	// maxRetryWait bounds one wait so that a server asking for an hour
	// (or a date far away) cannot make the tool look hung.
	maxRetryWait = 10 * time.Second
	// maxBody bounds what we read from one response; a page of keys is
	// tens of kilobytes.
	maxBody = 8 << 20
	// pageLimit is the page size we ask for; the server may give fewer.
	pageLimit = 100
	// maxPages stops a server that keeps inventing new pages.
	maxPages = 10000
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

// Options configure a Client. Only BaseURL is required.
type Options struct {
	BaseURL    string       // https://host[/context]; a trailing slash is fine
	HTTPClient *http.Client // caller-built (TLS trust); nil: NewHTTPClient with system roots
	UserAgent  string       // "git-bbkey/<version>"
	Auth       Auth         // nil: anonymous (enough for SSHSettings)
	Timeout    time.Duration
	// MaxRetries is how often a 429 or 503 is retried; 0 means 3 and a
	// negative value turns retries off.
	MaxRetries int
	// APIVersion is the REST version in every path: "1.0" (default) or
	// "latest"; both are served by Bitbucket.
	APIVersion string
	// Sleep waits between retries; tests replace it to record the waits.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client talks to one Bitbucket server. It is safe for concurrent use.
type Client struct {
	base       *url.URL // no trailing slash
	hc         *http.Client
	userAgent  string
	auth       Auth
	timeout    time.Duration
	maxRetries int
	apiVersion string
	sleep      func(context.Context, time.Duration) error

	mu   sync.Mutex
	user string // from X-AUSERNAME
}

// New checks the options and returns a client. It refuses credentials over
// plain http unless the host is loopback (ErrInsecureURL).
func New(opts Options) (*Client, error) {
	if opts.BaseURL == "" {
		return nil, errors.New("bitbucket base url is empty")
	}
	u, err := url.Parse(opts.BaseURL)
	if err != nil {
		// url.Parse errors quote the input, which could hold a password.
		return nil, errors.New("bitbucket base url does not parse as a url")
	}
	if u.User != nil {
		return nil, fmt.Errorf("bitbucket base url %q must not contain a user name or password (use git credential or BITBUCKET_TOKEN)", redactURL(u))
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, errors.New("bitbucket base url must start with https://")
	}
	if u.Host == "" {
		return nil, errors.New("bitbucket base url has no host")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("bitbucket base url %q must not have a query or fragment", redactURL(u))
	}
	if u.Scheme == "http" && opts.Auth != nil && !IsLoopback(u.Hostname()) {
		return nil, ErrInsecureURL
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")

	c := &Client{
		base:       u,
		userAgent:  opts.UserAgent,
		auth:       opts.Auth,
		timeout:    opts.Timeout,
		maxRetries: opts.MaxRetries,
		apiVersion: opts.APIVersion,
		sleep:      opts.Sleep,
	}
	if c.timeout <= 0 {
		c.timeout = defaultTimeout
	}
	if c.maxRetries == 0 {
		c.maxRetries = defaultMaxRetries
	} else if c.maxRetries < 0 {
		c.maxRetries = 0
	}
	if c.apiVersion == "" {
		c.apiVersion = defaultAPIVersion
	}
	if c.userAgent == "" {
		c.userAgent = "git-bbkey"
	}
	if c.sleep == nil {
		c.sleep = sleepContext
	}
	if opts.HTTPClient == nil {
		hc, err := NewHTTPClient(TLSSettings{}, c.timeout)
		if err != nil {
			return nil, err
		}
		c.hc = hc
	} else {
		// A copy, so that our redirect policy applies without changing the
		// caller's client.
		hc := *opts.HTTPClient
		hc.CheckRedirect = checkRedirect
		c.hc = &hc
	}
	return c, nil
}

// String and GoString show the server only: the struct holds credentials.
func (c *Client) String() string   { return "bitbucket.Client(" + c.base.String() + ")" }
func (c *Client) GoString() string { return c.String() }

// BaseURL returns the normalised base URL (no trailing slash).
func (c *Client) BaseURL() string { return c.base.String() }

// IsLoopback reports whether host (no port, no brackets) is localhost or a
// loopback address: the only places credentials may go over plain http.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redactURL keeps scheme, host and path: user info, query and fragment are
// where a secret could hide.
func redactURL(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// endpoint builds base + /rest/<plugin>/<version>/<segments...>. Each
// segment is escaped, so a project key or slug can never add path levels.
func (c *Client) endpoint(plugin string, segments ...string) (*url.URL, error) {
	parts := []string{"rest", plugin, c.apiVersion}
	parts = append(parts, segments...)
	escaped := make([]string, len(parts))
	for i, p := range parts {
		if p == "" || p == "." || p == ".." {
			return nil, fmt.Errorf("invalid path element %q", p)
		}
		escaped[i] = url.PathEscape(p)
	}
	u := c.base.JoinPath(escaped...)
	if !strings.HasPrefix(u.Path, "/") {
		// JoinPath keeps a base without a path relative.
		u.Path, u.RawPath = "/"+u.Path, ""
		if raw := "/" + strings.Join(escaped, "/"); raw != u.EscapedPath() {
			u.RawPath = raw
		}
	}
	return u, nil
}

// call is one REST request: method on u with an optional JSON body,
// decoding a 2xx JSON answer into out (if not nil). okStatus lists the
// accepted statuses; nil means any 2xx.
func (c *Client) call(ctx context.Context, method string, u *url.URL, body, out any, okStatus ...int) (*http.Response, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	for attempt := 0; ; attempt++ {
		resp, data, err := c.roundTrip(ctx, method, u, payload)
		if err != nil {
			return nil, err
		}
		if (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) && attempt < c.maxRetries {
			if err := c.sleep(ctx, retryWait(resp.Header.Get("Retry-After"), attempt, time.Now())); err != nil {
				return nil, err
			}
			continue
		}
		if !statusOK(resp.StatusCode, okStatus) {
			return resp, newError(method, u, resp, data)
		}
		if out != nil {
			if !isJSON(resp.Header.Get("Content-Type")) {
				e := newError(method, u, resp, data)
				e.Kind, e.Messages, e.ExceptionNames = KindNotJSON, nil, nil
				return resp, e
			}
			if err := json.Unmarshal(data, out); err != nil {
				// encoding/json errors name types and fields, never values.
				return resp, fmt.Errorf("cannot decode the answer to %s %s: %w", method, u.EscapedPath(), err)
			}
		}
		return resp, nil
	}
}

func statusOK(code int, ok []int) bool {
	if len(ok) == 0 {
		return code >= 200 && code < 300
	}
	for _, s := range ok {
		if code == s {
			return true
		}
	}
	return false
}

// roundTrip sends one attempt with its own timeout and reads the whole
// body, so that the timeout covers the body too.
func (c *Client) roundTrip(ctx context.Context, method string, u *url.URL, payload []byte) (*http.Response, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if method != http.MethodGet {
		// JSON plus this header is what gets past Bitbucket's XSRF filter.
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Atlassian-Token", "no-check")
	req.Header.Set("User-Agent", c.userAgent)
	if c.auth != nil {
		c.auth.Apply(req)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message would repeat the method and URL in Go's capitalised form
		}
		return nil, nil, fmt.Errorf("bitbucket request %s %s failed: %w", method, u.Redacted(), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading answer to %s %s: %w", method, u.Redacted(), err)
	}
	if len(data) > maxBody {
		return nil, nil, fmt.Errorf("answer to %s %s is larger than %d bytes", method, u.Redacted(), maxBody)
	}
	if c.auth != nil {
		if name := resp.Header.Get("X-AUSERNAME"); name != "" {
			c.mu.Lock()
			c.user = name
			c.mu.Unlock()
		}
	}
	return resp, data, nil
}

// retryWait honours Retry-After (seconds or an HTTP date), else backs off
// exponentially; either way at most maxRetryWait.
func retryWait(header string, attempt int, now time.Time) time.Duration {
	var d time.Duration
	header = strings.TrimSpace(header)
	if secs, err := strconv.Atoi(header); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(header); err == nil {
		d = t.Sub(now)
	} else {
		d = 500 * time.Millisecond << attempt
	}
	return min(max(d, 0), maxRetryWait)
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// newError turns a non-2xx answer into an *Error, reading Bitbucket's
// {"errors":[…]} envelope when there is one.
func newError(method string, u *url.URL, resp *http.Response, data []byte) *Error {
	e := &Error{
		StatusCode:  resp.StatusCode,
		Status:      resp.Status,
		Method:      method,
		Path:        u.EscapedPath(),
		ContentType: resp.Header.Get("Content-Type"),
		Kind:        kindForStatus(resp.StatusCode),
	}
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
		// No body: the status says it all.
	case isJSON(e.ContentType) || (e.ContentType == "" && len(trimmed) > 0 && trimmed[0] == '{'):
		var env struct {
			Errors []struct {
				Message       string `json:"message"`
				ExceptionName string `json:"exceptionName"`
			} `json:"errors"`
			Message string `json:"message"` // some proxies and plugins
		}
		if json.Unmarshal(trimmed, &env) != nil {
			e.Kind = KindNotJSON
			break
		}
		for _, m := range env.Errors {
			if m.Message != "" {
				e.Messages = append(e.Messages, m.Message)
			}
			if m.ExceptionName != "" {
				e.ExceptionNames = append(e.ExceptionNames, m.ExceptionName)
			}
		}
		if len(env.Errors) == 0 && env.Message != "" {
			e.Messages = append(e.Messages, env.Message)
		}
	case resp.StatusCode == http.StatusForbidden && isPlainText(e.ContentType):
		// Bitbucket's XSRF filter answers in plain text.
		if line := firstLine(trimmed); line != "" {
			e.Messages = []string{line}
		}
	default:
		e.Kind = KindNotJSON
	}
	return e
}

func isPlainText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "text/plain"
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// CurrentUser returns the user name the server reports for the credentials
// (the X-AUSERNAME header). If no authenticated call has been made yet it
// makes a cheap one. Without credentials, or if the server does not send
// the header, it returns "".
func (c *Client) CurrentUser(ctx context.Context) (string, error) {
	if c.auth == nil {
		return "", nil
	}
	c.mu.Lock()
	user := c.user
	c.mu.Unlock()
	if user != "" {
		return user, nil
	}
	u, err := c.endpoint("ssh", "keys")
	if err != nil {
		return "", err
	}
	u.RawQuery = url.Values{"limit": {"1"}}.Encode()
	if _, err := c.call(ctx, http.MethodGet, u, nil, nil); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.user, nil
}
