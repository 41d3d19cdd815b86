package bbsession

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
)

// systemRoots is x509.SystemCertPool; tests replace it.
var systemRoots = x509.SystemCertPool

// httpSetup is the HTTP side of a session, built once.
type httpSetup struct {
	client  *http.Client
	trusted bool
	caInfo  string
	proxy   *proxyChoice
}

// newHTTP builds the HTTP client for base with git's settings as git reads
// them for that URL (http.<url>.* included, environment first where git
// reads it first): TLS trust (GIT_SSL_CAINFO, http.sslCAInfo replacing the
// system roots; GIT_SSL_CAPATH, http.sslCAPath adding a directory's
// certificates; http.sslVerify, GIT_SSL_NO_VERIFY), a client certificate
// (GIT_SSL_CERT/http.sslCert, GIT_SSL_KEY/http.sslKey) and the proxy (see
// chooseProxy).
func newHTTP(ctx context.Context, cfg *Config, base string) (*httpSetup, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	vals, err := httpSettings(ctx, cfg, base)
	if err != nil {
		return nil, err
	}
	get := func(key string) (string, bool) {
		v, ok := vals[strings.ToLower(key)]
		return v, ok
	}
	// setting is an environment variable if set (and not empty), else the
	// git config key: git's order for GIT_SSL_* and http.ssl*.
	setting := func(env, key string) (value, name string, err error) {
		if v, ok := cfg.getenv(env); ok && v != "" {
			return v, env, nil
		}
		v, _ := get(key)
		return v, key, nil
	}

	verify := true
	if v, ok := get("http.sslVerify"); ok {
		if verify, err = gitBool(v); err != nil {
			return nil, &HTTPConfigError{Setting: "http.sslVerify", Value: v, Err: err}
		}
	}
	if _, ok := cfg.getenv("GIT_SSL_NO_VERIFY"); ok {
		verify = false
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: !verify} //nolint:gosec // the user's http.sslVerify=false

	h := &httpSetup{}
	ca, caName, err := setting("GIT_SSL_CAINFO", "http.sslCAInfo")
	if err != nil {
		return nil, err
	}
	if ca != "" {
		h.caInfo = cfg.path(ca)
		pem, err := os.ReadFile(h.caInfo)
		if err != nil {
			return nil, &HTTPConfigError{Setting: caName, Value: h.caInfo, Err: err}
		}
		tlsConf.RootCAs = x509.NewCertPool()
		if !tlsConf.RootCAs.AppendCertsFromPEM(pem) {
			return nil, &HTTPConfigError{Setting: caName, Value: h.caInfo, Err: errors.New("no PEM certificates in it")}
		}
	} else if sys, err := systemRoots(); err == nil {
		tlsConf.RootCAs = sys
	} // else nil: crypto/tls uses the system roots itself, or fails clearly
	capath, capathName, err := setting("GIT_SSL_CAPATH", "http.sslCAPath")
	if err != nil {
		return nil, err
	}
	if capath != "" {
		if tlsConf.RootCAs, err = addCAPath(tlsConf.RootCAs, cfg.path(capath)); err != nil {
			return nil, &HTTPConfigError{Setting: capathName, Value: cfg.path(capath), Err: err}
		}
	}

	cert, certName, err := setting("GIT_SSL_CERT", "http.sslCert")
	if err != nil {
		return nil, err
	}
	if cert != "" {
		c, err := loadClientCert(cfg, setting, cfg.path(cert), certName)
		if err != nil {
			return nil, err
		}
		tlsConf.Certificates = []tls.Certificate{c}
	}

	if h.proxy, err = chooseProxy(cfg, u.Scheme, get); err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = func(r *http.Request) (*url.URL, error) { return h.proxy.forHost(r.URL.Hostname()), nil }
	tr.DialContext = (&net.Dialer{Timeout: min(cfg.Timeout, 10*time.Second), KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = min(cfg.Timeout, 10*time.Second)
	tr.ResponseHeaderTimeout = cfg.Timeout
	tr.TLSClientConfig = tlsConf
	h.client = &http.Client{Transport: &transport{tr: tr, setup: h}}
	h.trusted = (u.Scheme == "https" && verify) || (bitbucket.IsLoopback(u.Hostname()) && h.proxy.forHost(u.Hostname()) == nil)
	return h, nil
}

// addCAPath adds the certificates of every PEM file in dir to pool (a
// copy), as curl adds http.sslCAPath to the roots it trusts. A nil pool
// stands for the system roots, which cannot be copied: then the directory
// is all that is trusted, unless it cannot be read.
func addCAPath(pool *x509.CertPool, dir string) (*x509.CertPool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := x509.NewCertPool()
	if pool != nil {
		out = pool.Clone()
	}
	for _, e := range entries {
		if e.Type().IsRegular() || e.Type()&os.ModeSymlink != 0 {
			if pem, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				out.AppendCertsFromPEM(pem)
			}
		}
	}
	return out, nil
}

// httpSettings reads every http.* setting that applies to base, as git
// picks them (http.<url>.* by the best match), in one git config call.
// Keys are in lower case; a key without a value is "true".
func httpSettings(ctx context.Context, cfg *Config, base string) (map[string]string, error) {
	vals := map[string]string{}
	if cfg.Config == nil {
		return vals, nil
	}
	out, ok, err := cfg.Config.GetURLMatch(ctx, "http", base)
	if err != nil || !ok {
		return vals, err
	}
	for _, line := range strings.Split(out, "\n") {
		key, value, hasValue := strings.Cut(line, " ")
		if key == "" {
			continue
		}
		if !hasValue {
			value = "true"
		}
		vals[strings.ToLower(key)] = value
	}
	return vals, nil
}

// loadClientCert loads the client certificate and its key (the key from
// the certificate file when no key file is set, as curl does). Only PEM
// files without a passphrase are supported.
func loadClientCert(cfg *Config, setting func(env, key string) (string, string, error), cert, certName string) (tls.Certificate, error) {
	typ, typName, err := setting("GIT_SSL_CERT_TYPE", "http.sslCertType")
	if err != nil {
		return tls.Certificate{}, err
	}
	if typ != "" && !strings.EqualFold(typ, "PEM") {
		return tls.Certificate{}, &HTTPConfigError{Setting: typName, Value: typ, Err: errors.New("only PEM certificates are supported")}
	}
	key, _, err := setting("GIT_SSL_KEY", "http.sslKey")
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPath := cert
	if key != "" {
		keyPath = cfg.path(key)
	}
	c, err := tls.LoadX509KeyPair(cert, keyPath)
	if err != nil {
		return tls.Certificate{}, &HTTPConfigError{Setting: certName, Value: cert, Err: err}
	}
	return c, nil
}

// path expands a path setting as git does: ~/ and ~user/, and relative
// paths from the working directory.
func (c *Config) path(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, _ := c.getenv("HOME"); home != "" {
			p = filepath.Join(home, p[1:])
		}
	} else if rest, ok := strings.CutPrefix(p, "~"); ok {
		name, tail, _ := strings.Cut(rest, "/")
		if u, err := user.Lookup(name); err == nil {
			p = filepath.Join(u.HomeDir, tail)
		}
	}
	if !filepath.IsAbs(p) && c.Dir != "" {
		p = filepath.Join(c.Dir, p)
	}
	return filepath.Clean(p)
}

// gitBool reads a boolean as git_config_bool does.
func gitBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes", "on":
		return true, nil
	case "false", "no", "off", "":
		return false, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return false, fmt.Errorf("not a boolean")
	}
	return n != 0, nil
}

// transport gives transport failures typed causes: a refused certificate
// (*TLSError, naming the CA file in use) and a failing proxy (*ProxyError,
// naming the setting that chose it).
type transport struct {
	tr    *http.Transport
	setup *httpSetup
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.tr.RoundTrip(r)
	if err == nil {
		return resp, nil
	}
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		noRoots  x509.SystemRootsError
		op       *net.OpError
	)
	reason := TLSReason(0)
	switch {
	case errors.As(err, &unknown), errors.As(err, &noRoots):
		reason = TLSUnknownAuthority
	case errors.As(err, &hostname):
		reason = TLSHostname
	case errors.As(err, &invalid):
		reason = TLSInvalid
	}
	if reason != 0 {
		return nil, &TLSError{Host: r.URL.Host, CAInfo: t.setup.caInfo, Reason: reason, Err: err}
	}
	if p := t.setup.proxy.forHost(r.URL.Hostname()); p != nil && errors.As(err, &op) && op.Op == "proxyconnect" {
		return nil, &ProxyError{Proxy: p.Redacted(), Source: t.setup.proxy.source, Err: err}
	}
	return nil, err
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transport.
func (t *transport) CloseIdleConnections() { t.tr.CloseIdleConnections() }
