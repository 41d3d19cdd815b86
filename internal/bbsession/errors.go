package bbsession

import (
	"errors"
	"fmt"

	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
)

// ErrNoServer means no Bitbucket base URL was found: no --server, no
// bbkey.url, no https remote naming one.
var ErrNoServer = errors.New("no Bitbucket server URL")

// ErrNoCredentials is wrapped by *NoCredentialsError.
var ErrNoCredentials = errors.New("no Bitbucket credentials")

// BaseURLError is a base URL that cannot be used. Value is shown without
// any user name or password it held.
type BaseURLError struct {
	Value    string // as given, redacted
	Source   string // "--server", "bbkey.url"
	UserInfo bool   // it held a user name or password
}

func (e *BaseURLError) Error() string {
	if e.UserInfo {
		return fmt.Sprintf("the Bitbucket URL from %s must not contain a user name or password", e.Source)
	}
	return fmt.Sprintf("%q (%s) is not a Bitbucket base URL", e.Value, e.Source)
}

// NoCredentialsError: neither BITBUCKET_TOKEN nor git credential gave a
// credential for Base.
type NoCredentialsError struct {
	Base string
	Err  error // what git credential said, if anything
}

func (e *NoCredentialsError) Error() string { return "no Bitbucket credentials for " + e.Base }
func (e *NoCredentialsError) Unwrap() []error {
	return []error{ErrNoCredentials, e.Err}
}

// InsecureError: credentials would go over plain http to a host that is
// not loopback, so they are not even asked for.
type InsecureError struct{ Base string }

func (e *InsecureError) Error() string {
	return fmt.Sprintf("refusing to send credentials to %s over plain http", e.Base)
}
func (e *InsecureError) Unwrap() error { return bitbucket.ErrInsecureURL }

// CredentialError: git credential itself failed (not "no credential").
type CredentialError struct {
	Base string
	Err  error
}

func (e *CredentialError) Error() string {
	return fmt.Sprintf("asking git credential for %s: %v", e.Base, e.Err)
}
func (e *CredentialError) Unwrap() error { return e.Err }

// TLSReason says why a certificate was refused.
type TLSReason int

const (
	TLSUnknownAuthority TLSReason = iota + 1 // signed by a CA we do not trust
	TLSHostname                              // valid, but for another name
	TLSInvalid                               // expired, not yet valid, not for servers, ...
)

// TLSError is the server's certificate refused. CAInfo is the file that
// replaced the system roots ("" when the system roots were used), so that
// the hint can name http.sslCAInfo.
type TLSError struct {
	Host   string
	CAInfo string
	Reason TLSReason
	Err    error
}

func (e *TLSError) Error() string {
	return fmt.Sprintf("the certificate of %s is not trusted: %v", e.Host, e.Err)
}
func (e *TLSError) Unwrap() error { return e.Err }

// ProxyError is a request that failed at the proxy git's settings chose.
type ProxyError struct {
	Proxy  string // redacted: no user name or password
	Source string // "http.proxy", "HTTPS_PROXY", ...
	Err    error
}

func (e *ProxyError) Error() string {
	return fmt.Sprintf("the proxy %s (from %s) failed: %v", e.Proxy, e.Source, e.Err)
}
func (e *ProxyError) Unwrap() error { return e.Err }

// HTTPConfigError is a git http setting that cannot be used: a CA file
// without certificates, a client certificate that does not load, a proxy
// URL of a kind we cannot speak.
type HTTPConfigError struct {
	Setting string // "http.sslCAInfo", "http.sslCert", "http.proxy", "HTTPS_PROXY", ...
	Value   string // redacted
	Err     error
}

func (e *HTTPConfigError) Error() string {
	return fmt.Sprintf("cannot use %s %q: %v", e.Setting, e.Value, e.Err)
}
func (e *HTTPConfigError) Unwrap() error { return e.Err }

// SSHDisabledError: the server has SSH access switched off.
type SSHDisabledError struct{ Base string }

func (e *SSHDisabledError) Error() string { return "SSH access is disabled on " + e.Base }

// CloneLinkError: the server advertised an SSH clone link that is not an
// ssh:// URL (an ext:: command, say). It is never used.
type CloneLinkError struct {
	Project, Slug string
	Link          string
}

func (e *CloneLinkError) Error() string {
	return fmt.Sprintf("the SSH clone link of %s/%s is not an ssh:// URL: %q", e.Project, e.Slug, e.Link)
}

// CloneURLError: neither the repository nor the SSH settings gave an SSH
// clone URL.
type CloneURLError struct {
	Base, Project, Slug string
	Err                 error
}

func (e *CloneURLError) Error() string {
	return fmt.Sprintf("cannot find the SSH clone URL of %s/%s on %s: %v", e.Project, e.Slug, e.Base, e.Err)
}
func (e *CloneURLError) Unwrap() error { return e.Err }

// UnsupportedError: the server's version lacks a feature the request
// needs. It is returned before anything is sent.
type UnsupportedError struct {
	Base    string
	Feature Feature
	Have    Version
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%s needs Bitbucket %s or later; %s runs %s", e.Feature, e.Feature.Since(), e.Base, e.Have)
}

// DeniedCause is the real reason behind a 401 that was not about the
// password, or a 403.
type DeniedCause int

const (
	DeniedNotPermitted      DeniedCause = iota + 1 // the user may not do this
	DeniedNotAdmin                                 // access keys need REPO_ADMIN / PROJECT_ADMIN
	DeniedAccessKeysOff                            // access keys are switched off on this server
	DeniedTokenMayNotManage                        // an HTTP access token may not change the account's keys
	DeniedXSRF                                     // Bitbucket's XSRF filter
	DeniedForbidden                                // another 403 (a proxy, a policy)
)

// DeniedError is a refusal with its cause named.
type DeniedError struct {
	Base  string
	Cause DeniedCause
	Err   *bitbucket.Error
}

func (e *DeniedError) Error() string { return e.Err.Error() }
func (e *DeniedError) Unwrap() error { return e.Err }
