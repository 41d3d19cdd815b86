package bbsession

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// proxyChoice is the proxy git would use for the server, and the hosts
// that bypass it.
type proxyChoice struct {
	url     *url.URL
	source  string // the setting or variable that named it
	noProxy string // NO_PROXY / no_proxy, as curl reads it
}

// chooseProxy picks the proxy as git's http.c does for a URL of scheme:
//
//   - http.proxy (http.<url>.proxy being the better match) when set; an
//     empty value turns proxying off, the environment included;
//   - otherwise for https HTTPS_PROXY, overridden by https_proxy when set;
//     for http only http_proxy (curl and git ignore HTTP_PROXY);
//   - if none of those is set, ALL_PROXY, overridden by all_proxy;
//   - a variable that is set but empty counts: it turns proxying off;
//   - NO_PROXY, overridden by no_proxy, lists hosts that go direct (curl's
//     rules: "*", domain suffixes, IP addresses and CIDR ranges).
//
// Unlike Go's own environment proxy, nothing is exempt by itself: git (and
// curl) send loopback addresses to the proxy too unless NO_PROXY names
// them. A value without a scheme is an http:// proxy.
func chooseProxy(cfg *Config, scheme string, get func(string) (string, bool)) (*proxyChoice, error) {
	value, set := get("http.proxy")
	source := "http.proxy"
	env := func(names ...string) {
		for _, n := range names {
			if v, ok := cfg.getenv(n); ok {
				value, set, source = v, true, n
			}
		}
	}
	if !set {
		if scheme == "https" {
			env("HTTPS_PROXY", "https_proxy")
		} else {
			env("http_proxy")
		}
	}
	if !set {
		env("ALL_PROXY", "all_proxy")
	}
	if !set || value == "" {
		return nil, nil
	}
	raw := value
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, &HTTPConfigError{Setting: source, Value: redactProxy(value), Err: errors.New("not a URL")}
	}
	u.Scheme = strings.ToLower(u.Scheme)
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
	case "socks", "socks4", "socks4a":
		return nil, &HTTPConfigError{Setting: source, Value: u.Redacted(), Err: fmt.Errorf("%s proxies are not supported (use an http, https or socks5 proxy)", u.Scheme)}
	default:
		return nil, &HTTPConfigError{Setting: source, Value: u.Redacted(), Err: fmt.Errorf("unsupported proxy scheme %q", u.Scheme)}
	}
	if u.Hostname() == "" {
		return nil, &HTTPConfigError{Setting: source, Value: u.Redacted(), Err: errors.New("no host")}
	}
	if strings.Trim(u.Path, "/") != "" {
		return nil, &HTTPConfigError{Setting: source, Value: u.Redacted(), Err: errors.New("only SOCKS proxies on localhost may have a path, and those are not supported")}
	}
	p := &proxyChoice{url: u, source: source}
	for _, n := range []string{"NO_PROXY", "no_proxy"} {
		if v, ok := cfg.getenv(n); ok {
			p.noProxy = v
		}
	}
	return p, nil
}

// redactProxy hides a password in a proxy value that did not parse.
func redactProxy(v string) string {
	if at := strings.LastIndex(v, "@"); at >= 0 {
		return "…" + v[at:]
	}
	return v
}

// forHost is the proxy for a request to host, nil for a direct connection.
// A nil choice is direct for every host.
func (p *proxyChoice) forHost(host string) *url.URL {
	if p == nil || noProxyMatch(p.noProxy, host) {
		return nil
	}
	return p.url
}

// noProxyMatch applies curl's no_proxy rules: the single value "*" matches
// every host; otherwise a comma- or space-separated list where a name
// matches the host and its subdomains (a leading or trailing dot is
// ignored, case too), and an IP address or CIDR range matches addresses
// only.
func noProxyMatch(list, host string) bool {
	list = strings.TrimSpace(list)
	if list == "" {
		return false
	}
	if list == "*" {
		return true
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	ip := net.ParseIP(host)
	for _, tok := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		if ip != nil {
			tok = strings.Trim(tok, "[]")
			if _, n, err := net.ParseCIDR(tok); err == nil && n.Contains(ip) {
				return true
			}
			if t := net.ParseIP(tok); t != nil && t.Equal(ip) {
				return true
			}
			continue
		}
		tok = strings.TrimSuffix(strings.TrimPrefix(tok, "."), ".")
		switch {
		case tok == "":
		case strings.EqualFold(tok, host):
			return true
		case len(host) > len(tok) && host[len(host)-len(tok)-1] == '.' && strings.EqualFold(host[len(host)-len(tok):], tok):
			return true
		}
	}
	return false
}
