package bitbucket

import (
	"errors"
	"fmt"
	"mime"
	"strings"
)

// ErrInsecureURL is returned by New when credentials would travel in clear
// text: an http:// base URL that is not a loopback address.
var ErrInsecureURL = errors.New("refusing to send credentials over http:// to a host that is not loopback (use https://)")

// ErrorKind classifies an Error so that callers can pick a hint without
// matching on message text.
type ErrorKind int

const (
	KindOther           ErrorKind = iota
	KindUnauthorized              // 401: credentials rejected, or not permitted
	KindNotFound                  // 404
	KindConflict                  // 409: the key is already on the system
	KindInvalidKey                // 400: key not valid or against admin policy
	KindXSRF                      // 403: XSRF check failed
	KindTooManyRequests           // 429 after the retries ran out
	KindServer                    // 5xx
	KindNotJSON                   // an HTML or other page that is not Bitbucket's JSON
)

// incorrectPassword is the exception Bitbucket names when the credentials
// themselves are wrong (as opposed to a user without permission).
const incorrectPassword = "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException"

// Error is a failed Bitbucket REST call. It never holds request headers, so
// it cannot leak a token or password.
type Error struct {
	StatusCode     int
	Status         string // "404 Not Found"
	Method         string
	Path           string // URL path of the request, no query or userinfo
	ContentType    string
	Messages       []string // "message" of each entry in the error envelope
	ExceptionNames []string
	Kind           ErrorKind
}

// BadPassword reports whether the server named the exception it uses for
// wrong credentials, making the 401 unambiguous.
func (e *Error) BadPassword() bool {
	for _, n := range e.ExceptionNames {
		if n == incorrectPassword || strings.HasSuffix(n, ".IncorrectPasswordAuthenticationException") {
			return true
		}
	}
	return false
}

func (e *Error) Error() string {
	var what string
	switch e.Kind {
	case KindUnauthorized:
		if e.BadPassword() {
			what = "bitbucket rejected the credentials"
		} else {
			what = "bitbucket refused the request: the credentials were rejected or the user lacks permission for it"
		}
	case KindNotFound:
		what = "not found on bitbucket"
	case KindConflict:
		what = "the ssh key is already registered on bitbucket (for this or another user, or as an access key)"
	case KindInvalidKey:
		what = "bitbucket refused the request as invalid"
	case KindXSRF:
		what = "bitbucket refused the request (403, XSRF check failed or forbidden by a proxy)"
	case KindTooManyRequests:
		what = "bitbucket is rate limiting requests (429) and retries ran out"
	case KindServer:
		what = "bitbucket server error"
	case KindNotJSON:
		ct := "no content type"
		if mt, _, err := mime.ParseMediaType(e.ContentType); err == nil {
			ct = mt
		}
		what = fmt.Sprintf("the server answered with %s instead of bitbucket's JSON (a proxy, a login page or a wrong base url?)", ct)
	default:
		what = "bitbucket request failed"
	}
	var b strings.Builder
	b.WriteString(what)
	if len(e.Messages) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.TrimRight(strings.Join(e.Messages, "; "), ". "))
	}
	fmt.Fprintf(&b, " (%s %s: %s)", e.Method, e.Path, e.statusText())
	return b.String()
}

func (e *Error) statusText() string {
	if e.Status != "" {
		return e.Status
	}
	return fmt.Sprintf("HTTP %d", e.StatusCode)
}

func kindForStatus(code int) ErrorKind {
	switch {
	case code == 401:
		return KindUnauthorized
	case code == 404:
		return KindNotFound
	case code == 409:
		return KindConflict
	case code == 400:
		return KindInvalidKey
	case code == 403:
		return KindXSRF
	case code == 429:
		return KindTooManyRequests
	case code >= 500:
		return KindServer
	}
	return KindOther
}

// IsKind reports whether err is (or wraps) an *Error of the given kind.
func IsKind(err error, k ErrorKind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}
