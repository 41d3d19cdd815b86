package bbsandbox

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// ---- misbehaviour switches and inspection ----

// FailNext makes the next n REST calls answer status with body (content
// type contentType, default "application/json;charset=UTF-8"; an empty
// body becomes the error envelope) and, if retryAfter is not empty, a
// Retry-After header. Use it for 429/500/503 or an HTML error page.
func (s *Server) FailNext(n int, status int, body string, contentType string, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = failPlan{n: n, status: status, body: body, contentType: contentType, retryAfter: retryAfter}
}

// FailNextMethod is FailNext for requests with one HTTP method only (e.g.
// "POST", to fail a registration but not the listing before it).
func (s *Server) FailNextMethod(method string, n int, status int, body string, contentType string, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = failPlan{method: method, n: n, status: status, body: body, contentType: contentType, retryAfter: retryAfter}
}

// SetDelay makes every REST answer wait d (or until the client gives up).
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetSSHEnabled switches the SSH server: when off, settings say
// "enabled": false and the SSH port closes every connection at once.
func (s *Server) SetSSHEnabled(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sshEnabled = on
}

// SetAccessKeysEnabled switches access keys globally: when off, settings
// say "accessKeysEnabled": false, the access-key REST calls fail and access
// keys cannot log in over SSH.
func (s *Server) SetAccessKeysEnabled(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.akEnabled = on
}

// SetSettingsFingerprintFormat chooses how /rest/ssh/1.0/settings spells
// the host key fingerprint value: with or without the "SHA256:" prefix and
// with or without base64 padding (default: neither).
func (s *Server) SetSettingsFingerprintFormat(prefix bool, padding bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fpPrefix, s.fpPadding = prefix, padding
}

// SSHSilent makes the SSH port accept TCP connections and never say a
// word (not even the banner), for timeout tests.
func (s *Server) SSHSilent(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sshSilent = on
}

// MaxSessionsPerConn limits the channels open at once on one SSH
// connection (default 10); extra ones are rejected with ResourceShortage.
func (s *Server) MaxSessionsPerConn(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxSessions = n
}

// SetDatesAsStrings chooses how key dates are written: false (default)
// gives epoch-millisecond numbers for createdDate and lastAuthenticated;
// true gives createdDate as an ISO-8601 string and lastAuthenticated as a
// string of epoch milliseconds (as in the OpenAPI document).
func (s *Server) SetDatesAsStrings(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dateStrings = on
}

// SetTokensCanManageUserKeys chooses whether an HTTP access token (Bearer,
// or as the Basic password) may add or delete personal SSH keys (default
// true). When false such calls get 401, one reading of Atlassian's docs.
func (s *Server) SetTokensCanManageUserKeys(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenKeys = on
}

// SetSettingsBaseURL overrides the settings "baseUrl" (default
// "ssh://git@127.0.0.1:PORT"; the docs are unsure whether real servers
// include git@ and the port). "" restores the default.
func (s *Server) SetSettingsBaseURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sshBaseURL = u
}

// SetAnonymousSettings lets /rest/ssh/1.0/settings answer without
// credentials (default false: 401, as the OpenAPI document says).
func (s *Server) SetAnonymousSettings(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.anonSetting = on
}

// SetAccessKeyWhoami changes what `whoami` prints for an access key. The
// default prints the key's label, or "access-key-ID" when it has none.
func (s *Server) SetAccessKeyWhoami(f func(AccessKeyRecord) string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.whoamiAK = f
}

// UserKeys returns copies of the user keys registered for user.
func (s *Server) UserKeys(user string) []KeyRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []KeyRecord
	for _, k := range s.userKeys {
		if strings.EqualFold(k.User, user) {
			out = append(out, *k)
		}
	}
	return out
}

// AccessKeys returns copies of every access key with its grants.
func (s *Server) AccessKeys() []AccessKeyRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]AccessKeyRecord, 0, len(s.accessKeys))
	for _, k := range s.accessKeys {
		c := *k
		c.Grants = slices.Clone(k.Grants)
		out = append(out, c)
	}
	return out
}

// AddUserKey registers a user key directly (test setup without REST).
func (s *Server) AddUserKey(user, text, label string) (KeyRecord, error) {
	pk, err := parseKeyText(text)
	if err != nil {
		return KeyRecord{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[strings.ToLower(user)]
	if u == nil {
		return KeyRecord{}, fmt.Errorf("bbsandbox: no user %q", user)
	}
	if _, msg := s.keyClashLocked(pk.blob, u.Name); msg != "" {
		return KeyRecord{}, errors.New(msg)
	}
	rec := pk.record(s.nextKeyID, label, 0, time.Now())
	rec.User = u.Name
	s.nextKeyID++
	s.userKeys = append(s.userKeys, &rec)
	return rec, nil
}

// RequestRecord is one REST request as received.
type RequestRecord struct {
	Method   string
	Path     string // URL path including the context path
	RawPath  string // the path as sent, still escaped
	RawQuery string
	Header   http.Header // Authorization reduced to its scheme ("Basic", "Bearer")
	Body     string
	User     string // authenticated user, "" if none
	Status   int
	Time     time.Time
}

// Requests returns the REST requests received so far, oldest first.
func (s *Server) Requests() []RequestRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}
