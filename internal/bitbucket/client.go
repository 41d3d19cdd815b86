// Package bitbucket is a small typed client for the Bitbucket Server / Data
// Center REST calls git-bbkey needs: SSH user keys, SSH access keys, SSH
// settings, repository clone links and the server's version.
//
// Every answer is bounded (size of one answer, and bytes, time and pages of
// a listing), every failure is a typed error, and credentials never follow
// a redirect to another host.
package bitbucket

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	// defaultMaxAnswer bounds one answer; a page of keys is tens of kilobytes.
	defaultMaxAnswer = 8 << 20
	// Bounds of one listing over all its pages.
	defaultListMaxBytes = 16 << 20
	defaultListMaxTime  = 60 * time.Second
	defaultListMaxPages = 1000
	// pageLimit is the page size we ask for; the server may give fewer.
	pageLimit = 100
)

// Options configure a Client. Only BaseURL is required.
type Options struct {
	BaseURL    string       // https://host[/context]; a trailing slash is fine
	HTTPClient *http.Client // caller-built (TLS, proxy); nil: direct, system roots
	UserAgent  string       // "git-bbkey/<version>"
	Auth       Auth         // nil: anonymous (enough for settings on some servers)
	Timeout    time.Duration
	// MaxRetries is how often a 429 or 503 is retried; 0 means 3 and a
	// negative value turns retries off.
	MaxRetries int
	// APIVersion is the REST version in every path: "1.0" (default) or
	// "latest"; both are served by Bitbucket.
	APIVersion string
	// Bounds; zero means the default (8 MB per answer; 16 MB, 60 s and
	// 1000 pages per listing).
	MaxAnswerBytes int64
	ListMaxBytes   int64
	ListMaxTime    time.Duration
	ListMaxPages   int
	// Sleep waits between retries; tests replace it to record the waits.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnAuth, if set, hears how the server took the credentials: after a
	// 2xx answer to a request that carried them (accepted), and after a
	// 401 to one (rejected, with the answer). It may be called from
	// several goroutines at once.
	OnAuth func(ctx context.Context, accepted bool, rejection *Error)
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
	maxAnswer  int64
	listBytes  int64
	listTime   time.Duration
	listPages  int
	sleep      func(context.Context, time.Duration) error
	onAuth     func(context.Context, bool, *Error)

	mu   sync.Mutex
	user string // from X-AUSERNAME
}

// New checks the options and returns a client. It refuses credentials over
// plain http unless the host is loopback (ErrInsecureURL).
func New(opts Options) (*Client, error) {
	if opts.BaseURL == "" {
		return nil, fmt.Errorf("%w: it is empty", ErrBadBaseURL)
	}
	u, err := url.Parse(opts.BaseURL)
	if err != nil {
		// url.Parse errors quote the input, which could hold a password.
		return nil, fmt.Errorf("%w: it does not parse as a url", ErrBadBaseURL)
	}
	switch {
	case u.User != nil:
		return nil, fmt.Errorf("%w: %q must not contain a user name or password (use git credential or BITBUCKET_TOKEN)", ErrBadBaseURL, redactURL(u))
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("%w: it must start with https://", ErrBadBaseURL)
	case u.Host == "":
		return nil, fmt.Errorf("%w: it has no host", ErrBadBaseURL)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("%w: %q must not have a query or fragment", ErrBadBaseURL, redactURL(u))
	case u.Scheme == "http" && opts.Auth != nil && !IsLoopback(u.Hostname()):
		return nil, ErrInsecureURL
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")

	c := &Client{
		base: u, userAgent: opts.UserAgent, auth: opts.Auth, timeout: opts.Timeout,
		maxRetries: opts.MaxRetries, apiVersion: opts.APIVersion, sleep: opts.Sleep, onAuth: opts.OnAuth,
		maxAnswer: orDefault(opts.MaxAnswerBytes, defaultMaxAnswer), listBytes: orDefault(opts.ListMaxBytes, defaultListMaxBytes),
		listTime: orDefault(opts.ListMaxTime, defaultListMaxTime), listPages: orDefault(opts.ListMaxPages, defaultListMaxPages),
	}
	c.timeout = orDefault(c.timeout, defaultTimeout)
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
	hc := http.Client{Transport: directTransport(c.timeout)}
	if opts.HTTPClient != nil {
		hc = *opts.HTTPClient // a copy: our redirect policy, the caller's client untouched
	}
	hc.CheckRedirect = checkRedirect
	c.hc = &hc
	return c, nil
}

func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// directTransport is the transport without a caller's client: system
// roots, no proxy, a bound on every phase.
func directTransport(timeout time.Duration) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = (&net.Dialer{Timeout: min(timeout, 10*time.Second), KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = min(timeout, 10*time.Second)
	tr.ResponseHeaderTimeout = timeout
	return tr
}

// String and GoString show the server only: the struct holds credentials.
func (c *Client) String() string   { return "bitbucket.Client(" + c.base.String() + ")" }
func (c *Client) GoString() string { return c.String() }

// BaseURL returns the normalised base URL (no trailing slash).
func (c *Client) BaseURL() string { return c.base.String() }

// IsLoopback reports whether host (no port, no brackets) is localhost or a
// loopback address: the only places credentials may go over plain http.
func IsLoopback(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
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
	parts := append([]string{"rest", plugin, c.apiVersion}, segments...)
	escaped := make([]string, len(parts))
	for i, p := range parts {
		if p == "" || p == "." || p == ".." {
			return nil, fmt.Errorf("%w: path element %q", ErrInvalidArgument, p)
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

// request is one REST call.
type request struct {
	method string
	u      *url.URL
	body   any
	out    any   // decoded from a 2xx JSON answer when not nil
	ok     []int // accepted statuses; nil means any 2xx
	limit  int64 // largest answer to read; 0 means maxAnswer
}

// call runs r, retrying 429 and 503, and returns the size of the answer.
func (c *Client) call(ctx context.Context, r request) (int64, error) {
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return 0, err
		}
	}
	if r.limit <= 0 {
		r.limit = c.maxAnswer
	}
	for attempt := 0; ; attempt++ {
		resp, data, err := c.roundTrip(ctx, r, payload)
		if err != nil {
			return 0, err
		}
		n := int64(len(data))
		if (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) && attempt < c.maxRetries {
			if err := c.sleep(ctx, retryWait(resp.Header.Get("Retry-After"), attempt, time.Now())); err != nil {
				return n, err
			}
			continue
		}
		if !statusOK(resp.StatusCode, r.ok) {
			e := c.newError(r.method, r.u, resp, data)
			if e.Kind == KindUnauthorized {
				c.told(ctx, false, e)
			}
			return n, e
		}
		c.told(ctx, true, nil)
		if r.out == nil {
			return n, nil
		}
		if r.method != http.MethodGet && len(bytes.TrimSpace(data)) == 0 {
			return n, nil // nothing to decode: the caller checks what it got
		}
		if !isJSON(resp.Header.Get("Content-Type")) {
			e := c.newError(r.method, r.u, resp, data)
			e.Kind, e.Messages, e.ExceptionNames = KindNotJSON, nil, nil
			return n, e
		}
		if err := json.Unmarshal(data, r.out); err != nil {
			return n, &DecodeError{Method: r.method, Path: r.u.EscapedPath(), Err: err}
		}
		return n, nil
	}
}

// told reports to OnAuth how a credentialed request fared.
func (c *Client) told(ctx context.Context, accepted bool, e *Error) {
	if c.auth != nil && c.onAuth != nil {
		c.onAuth(ctx, accepted, e)
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
// body (at most r.limit bytes), so that the timeout covers the body too.
func (c *Client) roundTrip(ctx context.Context, r request, payload []byte) (*http.Response, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.u.String(), rd)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if r.method != http.MethodGet {
		// JSON plus this header is what gets past Bitbucket's XSRF filter.
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Atlassian-Token", "no-check")
	req.Header.Set("User-Agent", c.userAgent)
	if c.auth != nil {
		c.auth.Apply(req)
	}
	fail := func(err error) (*http.Response, []byte, error) {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message would repeat the method and URL in Go's capitalised form
		}
		return nil, nil, &RequestError{Method: r.method, URL: r.u.Redacted(), Base: c.BaseURL(), Err: err}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, r.limit+1))
	if err != nil {
		return fail(err)
	}
	if int64(len(data)) > r.limit {
		return nil, nil, &LimitError{Method: r.method, Path: r.u.EscapedPath(), Limit: LimitAnswerBytes, MaxBytes: r.limit, Bytes: int64(len(data))}
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
		d = 500 * time.Millisecond << min(attempt, 10)
	}
	return min(max(d, 0), maxRetryWait)
}
