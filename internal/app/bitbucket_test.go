package app

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/register"
)

// The errors of talking to Bitbucket get their exit code and next step in
// explain, by type, wherever they are wrapped.
func TestExplainBitbucketErrors(t *testing.T) {
	api := func(kind bitbucket.ErrorKind, exc ...string) *bitbucket.Error {
		return &bitbucket.Error{Kind: kind, StatusCode: 401, Method: "GET", Path: "/rest/ssh/1.0/keys", Base: "https://bb.example.com", ExceptionNames: exc}
	}
	wrap := func(err error) error { return fmt.Errorf("outer: %w", err) }
	for _, tc := range []struct {
		err  error
		code int
		hint string
	}{
		{bbsession.ErrNoServer, exitUsage, "git config --global bbkey.url"},
		{&bbsession.BaseURLError{Value: "ftp://x", Source: "--server"}, exitUsage, "give it as https://"},
		{&bbsession.BaseURLError{Value: "https://u:xxxxx@x", Source: "bbkey.url", UserInfo: true}, exitUsage, "BITBUCKET_TOKEN or git credential"},
		{wrap(&bbsession.NoCredentialsError{Base: "https://bb"}), exitFailure, "set BITBUCKET_TOKEN"},
		{&bbsession.InsecureError{Base: "http://bb"}, exitFailure, "https://"},
		{&bitbucket.RequestError{Method: "GET", URL: "https://bb/x", Base: "https://bb", Err: &bbsession.TLSError{Host: "bb", Reason: bbsession.TLSUnknownAuthority, Err: x509.UnknownAuthorityError{}}}, exitFailure, "git config --global http.sslCAInfo"},
		{&bbsession.TLSError{Host: "bb", CAInfo: "/etc/ca.pem", Reason: bbsession.TLSUnknownAuthority, Err: errors.New("x")}, exitFailure, "/etc/ca.pem (http.sslCAInfo"},
		{&bbsession.ProxyError{Proxy: "http://p", Source: "HTTPS_PROXY", Err: errors.New("refused")}, exitFailure, "HTTPS_PROXY"},
		{&bbsession.HTTPConfigError{Setting: "http.sslCert", Value: "c", Err: errors.New("bad")}, exitFailure, "fix http.sslCert"},
		{&bbsession.UnsupportedError{Base: "https://bb", Feature: bbsession.FeatureKeyExpiry}, exitFailure, "--expiry-days"},
		{&bbsession.DeniedError{Base: "https://bb", Cause: bbsession.DeniedNotAdmin, Err: api(bitbucket.KindUnauthorized)}, exitFailure, "lack the permission"},
		{&bbsession.DeniedError{Base: "https://bb", Cause: bbsession.DeniedAccessKeysOff, Err: api(bitbucket.KindForbidden)}, exitFailure, "switched off"},
		{&bbsession.DeniedError{Base: "https://bb", Cause: bbsession.DeniedTokenMayNotManage, Err: api(bitbucket.KindUnauthorized)}, exitFailure, "unset BITBUCKET_TOKEN"},
		{&bbsession.DeniedError{Base: "https://bb", Cause: bbsession.DeniedXSRF, Err: api(bitbucket.KindXSRF)}, exitFailure, "X-Atlassian-Token"},
		{&register.ScopeError{Scope: bitbucket.Scope{Project: "P", Slug: "r"}, Err: &register.ConflictError{Kind: register.RepoKey, Err: api(bitbucket.KindConflict)}}, exitFailure, "separate key"},
		{&register.ConflictError{Kind: register.UserKey, Err: api(bitbucket.KindConflict)}, exitFailure, "only once on the whole server"},
		{&register.UnconfirmedError{Base: "https://bb", Kind: register.UserKey}, exitFailure, "nothing was registered"},
		{&register.NoMatchError{Base: "https://bb", What: "id 3"}, exitFailure, "git bbkey list --server https://bb"},
		{api(bitbucket.KindUnauthorized, "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException"), exitFailure, "credentials were rejected"},
		{api(bitbucket.KindUnauthorized), exitFailure, "lack the permission"},
		{api(bitbucket.KindNotJSON), exitFailure, "is https://bb.example.com the Bitbucket base URL"},
		{&bitbucket.LimitError{Limit: bitbucket.LimitListPages}, exitFailure, "kept answering"},
		{&bitbucket.RequestError{Method: "GET", URL: "https://bb/x", Base: "https://bb", Err: errors.New("connection refused")}, exitFailure, "check that https://bb is reachable"},
	} {
		e := explain(tc.err)
		if e.Code != tc.code || !strings.Contains(strings.Join(e.Hints, "\n"), tc.hint) || e.Msg == "" {
			t.Errorf("%T %v: code %d hints %q; want code %d and a hint with %q", tc.err, tc.err, e.Code, e.Hints, tc.code, tc.hint)
		}
	}
	// An interrupt is not explained as a Bitbucket problem.
	if e := explainBitbucket(&bitbucket.RequestError{Err: context.Canceled}); e != nil {
		t.Errorf("interrupt: %+v", e)
	}
}

func TestAddResultRendering(t *testing.T) {
	scope := bitbucket.Scope{Project: "PROJ", Slug: "demo"}
	r := addResultOf(register.Result{Status: register.Updated, Kind: register.RepoKey, Scope: scope,
		Permission: bitbucket.RepoWrite, Previous: bitbucket.RepoRead, ID: 7, Fingerprint: "SHA256:x"}, "https://bb")
	if r.Status != "updated" || *r.Target != "PROJ/demo" || *r.Permission != "REPO_WRITE" || *r.ID != 7 ||
		r.Message != "changed the access key SHA256:x on PROJ/demo from REPO_READ to REPO_WRITE" {
		t.Errorf("updated: %+v", r)
	}
	r = addResultOf(register.Result{Status: register.Failed, Kind: register.UserKey, Fingerprint: "SHA256:x",
		Err: &register.UnconfirmedError{Base: "https://bb", Fingerprint: "SHA256:x", Kind: register.UserKey}}, "https://bb")
	if r.Target != nil || r.Permission != nil || r.ID != nil || r.err == nil || !strings.Contains(r.Message, "not registered") {
		t.Errorf("failed: %+v", r)
	}
}
