package bbsession

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/bbsandbox"
	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// testProxy is a small forward proxy on loopback: CONNECT tunnels and
// absolute-form requests. It records the host each request was for.
type testProxy struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []string
}

func startProxy(t *testing.T) *testProxy {
	t.Helper()
	p := &testProxy{}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *testProxy) serve(w http.ResponseWriter, r *http.Request) {
	host := r.URL.Host
	if r.Method == http.MethodConnect {
		host = r.Host
	}
	p.mu.Lock()
	p.seen = append(p.seen, host)
	p.mu.Unlock()
	if r.Method != http.MethodConnect {
		out := r.Clone(r.Context())
		out.RequestURI = ""
		resp, err := (&http.Transport{}).RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body) //nolint:errcheck
		return
	}
	upstream, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	client, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n") //nolint:errcheck
	go func() { io.Copy(upstream, client); upstream.Close() }()           //nolint:errcheck
	io.Copy(client, upstream)                                             //nolint:errcheck
	client.Close()
}

func (p *testProxy) URL() string  { return p.srv.URL }
func (p *testProxy) addr() string { return strings.TrimPrefix(p.srv.URL, "http://") }

// took reports whether the proxy was asked for host, and forgets.
func (p *testProxy) took(host string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	found := false
	for _, h := range p.seen {
		found = found || h == host
	}
	p.seen = nil
	return found
}

// deadAddr is a loopback address where nothing listens.
func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestProxyAsGitChoosesIt runs git itself (git ls-remote over http(s),
// through libcurl) and the session with the same settings, and checks that
// both take the same route: proxy A, proxy B, or direct. Git (and curl)
// proxy loopback addresses too, which Go's environment proxy never does.
func TestProxyAsGitChoosesIt(t *testing.T) {
	testutil.RequireTool(t, "git") // the oracle
	a, b := startProxy(t), startProxy(t)
	target := deadAddr(t)
	type kv = [2]string
	for _, tc := range []struct {
		scheme      string
		config, env []kv
		want        string // "A", "B" or "direct"
	}{
		{"https", nil, nil, "direct"},
		{"https", nil, []kv{{"HTTPS_PROXY", a.URL()}}, "A"},
		{"https", nil, []kv{{"HTTPS_PROXY", a.URL()}, {"https_proxy", b.URL()}}, "B"},
		{"https", nil, []kv{{"https_proxy", a.addr()}}, "A"}, // no scheme: http://
		{"https", []kv{{"http.proxy", a.URL()}}, []kv{{"HTTPS_PROXY", b.URL()}}, "A"},
		{"https", []kv{{"http.proxy", ""}}, []kv{{"HTTPS_PROXY", b.URL()}}, "direct"},
		{"https", []kv{{"http.proxy", b.URL()}, {"http.https://" + target + ".proxy", a.URL()}}, nil, "A"},
		{"https", nil, []kv{{"ALL_PROXY", a.URL()}}, "A"},
		{"https", nil, []kv{{"ALL_PROXY", a.URL()}, {"all_proxy", b.URL()}}, "B"},
		{"https", nil, []kv{{"HTTPS_PROXY", ""}, {"ALL_PROXY", a.URL()}}, "direct"},
		{"https", nil, []kv{{"HTTPS_PROXY", a.URL()}, {"NO_PROXY", "127.0.0.1"}}, "direct"},
		{"https", nil, []kv{{"HTTPS_PROXY", a.URL()}, {"no_proxy", "127.0.0.0/8"}}, "direct"},
		{"https", nil, []kv{{"HTTPS_PROXY", a.URL()}, {"NO_PROXY", "*"}}, "direct"},
		{"https", nil, []kv{{"HTTPS_PROXY", a.URL()}, {"NO_PROXY", "example.com,localhost"}}, "A"},
		{"https", nil, []kv{{"HTTPS_PROXY", a.URL()}, {"NO_PROXY", "127.0.0.1"}, {"no_proxy", "example.com"}}, "A"},
		{"http", nil, []kv{{"http_proxy", a.URL()}}, "A"},
		{"http", nil, []kv{{"HTTP_PROXY", a.URL()}}, "direct"},
		{"http", nil, []kv{{"HTTPS_PROXY", a.URL()}}, "direct"},
		{"http", nil, []kv{{"ALL_PROXY", a.URL()}}, "A"},
		{"http", []kv{{"http.proxy", a.addr()}}, []kv{{"http_proxy", b.URL()}}, "A"},
	} {
		w := newWorld(t)
		for _, c := range tc.config {
			w.config(c[0], c[1])
		}
		for _, e := range tc.env {
			w.setenv(e[0], e[1])
		}
		route := func() string {
			switch ta, tb := a.took(target), b.took(target); {
			case ta && !tb:
				return "A"
			case tb && !ta:
				return "B"
			case !ta && !tb:
				return "direct"
			}
			return "both"
		}
		base := tc.scheme + "://" + target
		cmd := testutil.Command(t, w.git, "ls-remote", base+"/scm/proj/demo.git")
		cmd.Env, cmd.Dir = append(w.env, "GIT_TERMINAL_PROMPT=0"), w.home
		cmd.Run() //nolint:errcheck // it fails: nothing serves git there; only the route matters
		gitRoute := route()
		if err := settings(w, base); err == nil {
			t.Fatalf("%s: reading settings from a dead address succeeded", base)
		}
		ours := route()
		if ours != gitRoute || ours != tc.want {
			t.Errorf("%s config %v env %v: git goes %s, we go %s; want %s", tc.scheme, tc.config, tc.env, gitRoute, ours, tc.want)
		}
	}
}

func TestThroughAProxy(t *testing.T) {
	s := startSandbox(t, func(c *bbsandbox.Config) { c.TLS = true })
	s.SetAnonymousSettings(true)
	p := startProxy(t)
	w := newWorld(t)
	w.config("http.sslCAInfo", writeFile(t, w.home, "ca.pem", s.CACertPEM()))
	w.setenv("HTTPS_PROXY", p.URL())
	// TLS to the server inside the tunnel: verified, so trusted.
	sess := w.session(s.URL())
	if _, err := sess.Settings(context.Background()); err != nil || !sess.TrustedChannel() {
		t.Fatalf("through the proxy: %v (trusted %v)", err, sess.TrustedChannel())
	}
	if !p.took(strings.TrimPrefix(s.URL(), "https://")) {
		t.Error("the proxy saw no CONNECT for the server")
	}

	// A proxy that is not there: a typed error naming the variable, never
	// its password.
	dead := deadAddr(t)
	w.setenv("HTTPS_PROXY", "http://user:SECRET@"+dead)
	err := settings(w, s.URL())
	var pe *ProxyError
	if !errors.As(err, &pe) || pe.Source != "HTTPS_PROXY" || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("dead proxy: %v", err)
	}
	for value, setting := range map[string]string{"socks4://" + dead: "HTTPS_PROXY", "gopher://" + dead: "HTTPS_PROXY"} {
		w.setenv("HTTPS_PROXY", value)
		var he *HTTPConfigError
		if err := settings(w, s.URL()); !errors.As(err, &he) || he.Setting != setting {
			t.Errorf("HTTPS_PROXY=%s: %v", value, err)
		}
	}
}

func TestNoProxyMatch(t *testing.T) {
	for _, tc := range []struct {
		list, host string
		want       bool
	}{
		{"", "bb.example.com", false},
		{"*", "bb.example.com", true},
		{"example.com", "bb.example.com", true},
		{".example.com", "bb.example.com", true},
		{"example.com.", "BB.Example.COM", true},
		{"example.com", "example.com", true},
		{"example.com", "notexample.com", false},
		{"other.com, example.com", "bb.example.com", true},
		{"other.com example.com", "bb.example.com", true},
		{"127.0.0.1", "127.0.0.1", true},
		{"127.0.0.0/8", "127.4.5.6", true},
		{"10.0.0.0/8", "127.0.0.1", false},
		{"localhost", "127.0.0.1", false},
		{"::1", "[::1]", true},
		{"fd00::/8", "fd00::5", true},
		{"*.example.com", "bb.example.com", false}, // curl has no wildcards but the lone *
	} {
		if got := noProxyMatch(tc.list, tc.host); got != tc.want {
			t.Errorf("noProxyMatch(%q, %q) = %v, want %v", tc.list, tc.host, got, tc.want)
		}
	}
}
