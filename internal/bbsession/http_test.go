package bbsession

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/bbsandbox"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// settings reads the SSH settings through a fresh session of w.
func settings(w *world, base string) error {
	sess, err := w.sessions().For(context.Background(), base)
	if err != nil {
		return err
	}
	_, err = sess.Settings(context.Background())
	return err
}

func TestTLSAsGitHasIt(t *testing.T) {
	s := startSandbox(t, func(c *bbsandbox.Config) { c.TLS = true })
	s.SetAnonymousSettings(true)
	w := newWorld(t)
	writeFile(t, w.home, "ca.pem", s.CACertPEM())
	other := writeFile(t, w.home, "other.pem", startSandbox(t, func(c *bbsandbox.Config) { c.TLS = true }).CACertPEM())

	// Not trusted: a typed cause that says which CA file was used.
	var te *TLSError
	if err := settings(w, s.URL()); !errors.As(err, &te) || te.Reason != TLSUnknownAuthority || te.CAInfo != "" {
		t.Fatalf("no CA: %v", err)
	}
	w.config("http.sslCAInfo", other)
	if err := settings(w, s.URL()); !errors.As(err, &te) || te.CAInfo != other {
		t.Fatalf("another CA: %v", err)
	}
	// The URL-specific setting wins, as git picks it; ~/ is the home.
	w.config("http."+s.URL()+".sslCAInfo", "~/ca.pem")
	if err := settings(w, s.URL()); err != nil {
		t.Fatalf("http.<url>.sslCAInfo: %v", err)
	}
	// GIT_SSL_CAINFO comes before the config, as in git.
	w.setenv("GIT_SSL_CAINFO", other)
	if err := settings(w, s.URL()); !errors.As(err, &te) {
		t.Errorf("GIT_SSL_CAINFO naming another CA: %v", err)
	}
	w.setenv("GIT_SSL_CAINFO", "ca.pem") // relative: from the working directory
	if err := settings(w, s.URL()); err != nil {
		t.Errorf("GIT_SSL_CAINFO: %v", err)
	}
	w.unsetenv("GIT_SSL_CAINFO")
	// http.sslCAPath adds a directory's certificates to the roots.
	w5 := newWorld(t)
	capath := filepath.Join(w5.home, "certs")
	if err := os.Mkdir(capath, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, capath, "sandbox.pem", s.CACertPEM())
	w5.config("http.sslCAPath", capath)
	if err := settings(w5, s.URL()); err != nil {
		t.Errorf("http.sslCAPath: %v", err)
	}

	// As in git, http.sslCAInfo replaces the system roots.
	defer func(orig func() (*x509.CertPool, error)) { systemRoots = orig }(systemRoots)
	systemRoots = func() (*x509.CertPool, error) {
		p := x509.NewCertPool()
		p.AppendCertsFromPEM(s.CACertPEM())
		return p, nil
	}
	w2 := newWorld(t)
	if err := settings(w2, s.URL()); err != nil {
		t.Errorf("trusted by the system roots: %v", err)
	}
	w2.config("http.sslCAInfo", other)
	if err := settings(w2, s.URL()); !errors.As(err, &te) {
		t.Errorf("system roots trust it, http.sslCAInfo names another CA: %v", err)
	}
	// Verification off, by config or environment.
	w2.config("http.sslVerify", "false")
	if err := settings(w2, s.URL()); err != nil {
		t.Errorf("http.sslVerify=false: %v", err)
	}
	w3 := newWorld(t)
	w3.setenv("GIT_SSL_NO_VERIFY", "1")
	if err := settings(w3, s.URL()); err != nil {
		t.Errorf("GIT_SSL_NO_VERIFY: %v", err)
	}

	// A CA setting that cannot be used stops the session before any request.
	for name, value := range map[string]string{"missing": filepath.Join(w.home, "missing.pem"), "junk": writeFile(t, w.home, "junk.pem", []byte("junk"))} {
		w4 := newWorld(t)
		w4.config("http.sslCAInfo", value)
		var he *HTTPConfigError
		if err := settings(w4, s.URL()); !errors.As(err, &he) || he.Setting != "http.sslCAInfo" {
			t.Errorf("%s CA file: %v", name, err)
		}
	}
}

func TestClientCertificates(t *testing.T) {
	testutil.RequireTool(t, "git") // the oracle
	s := startSandbox(t, func(c *bbsandbox.Config) { c.TLS = true; c.RequireClientCert = true })
	s.SetAnonymousSettings(true)
	cert, key := s.ClientCertPEM()
	w := newWorld(t)
	w.config("http.sslCAInfo", writeFile(t, w.home, "ca.pem", s.CACertPEM()))
	certFile := writeFile(t, w.home, "client.pem", cert)
	keyFile := writeFile(t, w.home, "client.key", key)
	both := writeFile(t, w.home, "both.pem", append(append([]byte{}, cert...), key...))

	// git itself is the oracle: without the certificate the handshake
	// fails; with it, the sandbox answers (a 404: it serves no git over
	// https), for git and for us alike.
	lsRemote := func(w *world) string {
		cmd := testutil.Command(t, w.git, "ls-remote", s.HTTPCloneURL("PROJ", "demo"))
		cmd.Env, cmd.Dir = append(w.env, "GIT_TERMINAL_PROMPT=0"), w.home
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	if out := lsRemote(w); strings.Contains(out, "not found") {
		t.Fatalf("git without a client certificate got through: %s", out)
	}
	var re *bitbucket.RequestError
	if err := settings(w, s.URL()); !errors.As(err, &re) {
		t.Fatalf("without a client certificate: %v", err)
	}
	w.config("http.sslCert", certFile)
	w.config("http.sslKey", keyFile)
	if out := lsRemote(w); !strings.Contains(out, "not found") {
		t.Fatalf("git with http.sslCert and http.sslKey: %s", out)
	}
	if err := settings(w, s.URL()); err != nil {
		t.Fatalf("with http.sslCert and http.sslKey: %v", err)
	}
	// One PEM file with both, from the environment.
	w2 := newWorld(t)
	w2.config("http.sslCAInfo", writeFile(t, w2.home, "ca.pem", s.CACertPEM()))
	w2.setenv("GIT_SSL_CERT", both)
	if err := settings(w2, s.URL()); err != nil {
		t.Errorf("GIT_SSL_CERT with the key in it: %v", err)
	}
	// What we cannot load is a typed error naming the setting.
	for setting, value := range map[string]string{"http.sslCertType": "P12", "http.sslKey": certFile} {
		w3 := newWorld(t)
		w3.config("http.sslCert", certFile)
		w3.config(setting, value)
		var he *HTTPConfigError
		if err := settings(w3, s.URL()); !errors.As(err, &he) {
			t.Errorf("%s=%s: %v", setting, value, err)
		}
	}
}

func TestTrustedChannel(t *testing.T) {
	for _, tc := range []struct {
		base    string
		config  [][2]string
		env     [][2]string
		trusted bool
	}{
		{"https://bb.example.invalid", nil, nil, true},
		{"https://bb.example.invalid", [][2]string{{"http.sslVerify", "false"}}, nil, false},
		{"https://bb.example.invalid", [][2]string{{"http.https://bb.example.invalid.sslVerify", "0"}}, nil, false},
		{"https://bb.example.invalid", nil, [][2]string{{"GIT_SSL_NO_VERIFY", "1"}}, false},
		{"https://bb.example.invalid", nil, [][2]string{{"HTTPS_PROXY", "http://127.0.0.1:9"}}, true}, // TLS end to end
		{"http://bb.example.invalid", nil, nil, false},
		{"http://127.0.0.1:7990", nil, nil, true},
		{"http://localhost:7990", nil, nil, true},
		{"http://[::1]:7990", nil, nil, true},
		{"https://127.0.0.1:7990", [][2]string{{"http.sslVerify", "false"}}, nil, true}, // direct loopback
		{"http://127.0.0.1:7990", [][2]string{{"http.proxy", "127.0.0.1:9"}}, nil, false},
		{"http://127.0.0.1:7990", nil, [][2]string{{"http_proxy", "http://127.0.0.1:9"}}, false},
		{"http://127.0.0.1:7990", nil, [][2]string{{"http_proxy", "http://127.0.0.1:9"}, {"NO_PROXY", "127.0.0.0/8"}}, true},
		{"http://127.0.0.1:7990", nil, [][2]string{{"HTTP_PROXY", "http://127.0.0.1:9"}}, true}, // git ignores HTTP_PROXY
	} {
		w := newWorld(t)
		for _, kv := range tc.config {
			w.config(kv[0], kv[1])
		}
		for _, kv := range tc.env {
			w.setenv(kv[0], kv[1])
		}
		if got := w.session(tc.base).TrustedChannel(); got != tc.trusted {
			t.Errorf("%s %v %v: trusted %v, want %v", tc.base, tc.config, tc.env, got, tc.trusted)
		}
	}
}
