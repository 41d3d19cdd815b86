package bitbucket

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// TLSSettings is TLS trust as git has it (http.sslCAInfo, http.sslVerify).
//
// The zero value verifies certificates against the system roots: turning
// verification off has to be asked for by name, so a forgotten field can
// never mean "trust anyone".
type TLSSettings struct {
	CAInfo             string // PEM file of the roots to trust instead of the system's (http.sslCAInfo)
	InsecureSkipVerify bool   // http.sslVerify=false
}

// systemRoots is x509.SystemCertPool; tests replace it.
var systemRoots = x509.SystemCertPool

// NewHTTPClient builds the client New uses by default: the system roots
// (which on Unix honour SSL_CERT_FILE and SSL_CERT_DIR), or, as in git, only
// the certificates in CAInfo when it is set; timeouts on every phase; and a
// redirect policy that never carries credentials to another host.
func NewHTTPClient(ts TLSSettings, timeout time.Duration) (*http.Client, error) {
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	var pool *x509.CertPool
	if ts.CAInfo != "" {
		pem, err := os.ReadFile(ts.CAInfo)
		if err != nil {
			return nil, fmt.Errorf("reading http.sslCAInfo: %w", err)
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no PEM certificates found in %q (http.sslCAInfo)", ts.CAInfo)
		}
	} else if sys, err := systemRoots(); err == nil {
		pool = sys
	} // else nil: crypto/tls uses the system roots itself, or fails clearly
	tr := http.DefaultTransport.(*http.Transport).Clone() // keeps proxy settings from the environment
	tr.DialContext = (&net.Dialer{Timeout: min(timeout, 10*time.Second), KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = min(timeout, 10*time.Second)
	tr.ResponseHeaderTimeout = timeout
	tr.TLSClientConfig = &tls.Config{
		RootCAs:            pool,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: ts.InsecureSkipVerify, //nolint:gosec // the user's http.sslVerify=false
	}
	return &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: checkRedirect}, nil
}

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
		return fmt.Errorf("refusing to follow a redirect from %s to %s with credentials (another host: set the bitbucket url to the final address)", first.URL.Host, req.URL.Host)
	}
	if first.URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("refusing to follow a redirect from https to %s with credentials", req.URL.Scheme)
	}
	return nil
}
