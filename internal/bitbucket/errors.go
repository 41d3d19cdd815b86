package bitbucket

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrInsecureURL is returned by New when credentials would travel in clear
// text: an http:// base URL that is not a loopback address.
var ErrInsecureURL = errors.New("refusing to send credentials over http:// to a host that is not loopback (use https://)")

// ErrBadBaseURL is wrapped by New's errors about the base URL itself.
var ErrBadBaseURL = errors.New("bitbucket base url is not usable")

// ErrInvalidArgument is wrapped when a call is refused before anything is
// sent: a path element such as "..", an empty slug, a permission that does
// not fit the scope.
var ErrInvalidArgument = errors.New("invalid argument")

// ErrorKind classifies an Error so that callers can pick a hint without
// matching on message text.
type ErrorKind int

const (
	KindOther           ErrorKind = iota
	KindUnauthorized              // 401: credentials rejected, or not permitted
	KindNotFound                  // 404 from Bitbucket itself (JSON)
	KindConflict                  // 409: the key is already on the system
	KindInvalidKey                // 400: key not valid or against admin policy
	KindXSRF                      // 403 from Bitbucket's XSRF filter
	KindForbidden                 // 403 for another reason (a feature switched off, a policy)
	KindTooManyRequests           // 429 after the retries ran out
	KindServer                    // 5xx
	KindNotJSON                   // an HTML or other page that is not Bitbucket's JSON
)

// Exception names Bitbucket puts in its error envelope. They are part of
// the protocol (class names), unlike the messages, which are for people.
const (
	excIncorrectPassword = "IncorrectPasswordAuthenticationException"
	excFeatureDisabled   = "FeatureDisabledException"
)

// Error is a failed Bitbucket REST call: the server answered, but not with
// success. It never holds request headers, so it cannot leak a token or
// password.
type Error struct {
	StatusCode     int
	Status         string // "404 Not Found"
	Method         string
	Base           string // the client's base URL (no user info)
	Path           string // URL path of the request, no query or userinfo
	ContentType    string
	Messages       []string // "message" of each entry in the error envelope, as sent
	ExceptionNames []string
	Kind           ErrorKind
}

// BadPassword reports whether the server named the exception it uses for
// wrong credentials, making the 401 unambiguous.
func (e *Error) BadPassword() bool { return e.HasException(excIncorrectPassword) }

// FeatureDisabled reports whether the server said the feature (access
// keys, say) is switched off on this instance.
func (e *Error) FeatureDisabled() bool { return e.HasException(excFeatureDisabled) }

// HasException reports whether the envelope names an exception whose
// simple class name is name.
func (e *Error) HasException(name string) bool {
	for _, n := range e.ExceptionNames {
		if n == name || strings.HasSuffix(n, "."+name) {
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
		what = "bitbucket refused the request (403, XSRF check failed)"
	case KindForbidden:
		what = "bitbucket refused the request (403)"
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
		return KindForbidden
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

// RequestError is a request that got no answer: the connection, TLS, a
// proxy or the time limit failed. Err is the cause (errors.As finds TLS
// and network errors, errors.Is context.DeadlineExceeded and
// context.Canceled).
type RequestError struct {
	Method string
	URL    string // redacted: scheme, host and path only
	Base   string
	Err    error
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("bitbucket request %s %s failed: %v", e.Method, e.URL, e.Err)
}

func (e *RequestError) Unwrap() error { return e.Err }

// DecodeError is a 2xx answer in JSON that does not have the expected
// shape. Err comes from encoding/json, which names types, never values.
type DecodeError struct {
	Method, Path string
	Err          error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("cannot decode the answer to %s %s: %v", e.Method, e.Path, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Limit names the bound a request or a listing hit.
type Limit int

const (
	LimitAnswerBytes Limit = iota + 1 // one answer was larger than MaxAnswerBytes
	LimitListBytes                    // a listing's pages together exceeded ListMaxBytes
	LimitListTime                     // a listing took longer than ListMaxTime
	LimitListPages                    // a listing had more than ListMaxPages pages
)

// LimitError is a request or a listing stopped by one of the client's
// bounds, so that a server that keeps talking cannot exhaust memory or
// time. Pages and Bytes say how far it got.
type LimitError struct {
	Method, Path string
	Limit        Limit
	MaxBytes     int64         // LimitAnswerBytes, LimitListBytes
	MaxTime      time.Duration // LimitListTime
	MaxPages     int           // LimitListPages
	Pages        int           // pages read completely before stopping
	Bytes        int64         // bytes read before stopping
}

func (e *LimitError) Error() string {
	var bound string
	switch e.Limit {
	case LimitAnswerBytes:
		return fmt.Sprintf("the answer to %s %s is larger than %d bytes; stopped reading", e.Method, e.Path, e.MaxBytes)
	case LimitListBytes:
		bound = fmt.Sprintf("more than %d bytes in all", e.MaxBytes)
	case LimitListTime:
		bound = fmt.Sprintf("more than %s in all", e.MaxTime)
	default:
		bound = fmt.Sprintf("more than %d pages", e.MaxPages)
	}
	return fmt.Sprintf("bitbucket listing %s stopped after %d pages (%d bytes): %s", e.Path, e.Pages, e.Bytes, bound)
}

// PagingReason says how a server's paging went wrong.
type PagingReason int

const (
	PagingNoNext PagingReason = iota + 1 // isLastPage false without nextPageStart
	PagingRepeat                         // a nextPageStart sent before (a loop)
)

// PagingError is a listing stopped because the server's paging made no
// sense.
type PagingError struct {
	Path   string
	Reason PagingReason
	Start  int // the repeated nextPageStart
}

func (e *PagingError) Error() string {
	if e.Reason == PagingRepeat {
		return fmt.Sprintf("bitbucket paging of %s sent nextPageStart %d again; stopped to avoid a loop", e.Path, e.Start)
	}
	return fmt.Sprintf("bitbucket paging of %s says it is not the last page but gives no nextPageStart; stopped", e.Path)
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

func isPlainText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "text/plain"
}

// newError turns a non-2xx answer into an *Error, reading Bitbucket's
// {"errors":[…]} envelope when there is one.
func (c *Client) newError(method string, u *url.URL, resp *http.Response, data []byte) *Error {
	e := &Error{
		StatusCode:  resp.StatusCode,
		Status:      resp.Status,
		Method:      method,
		Base:        c.BaseURL(),
		Path:        u.EscapedPath(),
		ContentType: resp.Header.Get("Content-Type"),
		Kind:        kindForStatus(resp.StatusCode),
	}
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
		// No body: the status says it all.
	case isJSON(e.ContentType) || (e.ContentType == "" && trimmed[0] == '{'):
		var env struct {
			Errors []struct {
				Message       string `json:"message"`
				ExceptionName string `json:"exceptionName"`
			} `json:"errors"`
			Message string `json:"message"` // some proxies and plugins
		}
		if json.Unmarshal(trimmed, &env) != nil {
			e.Kind = KindNotJSON
			break
		}
		for _, m := range env.Errors {
			if m.Message != "" {
				e.Messages = append(e.Messages, m.Message)
			}
			if m.ExceptionName != "" {
				e.ExceptionNames = append(e.ExceptionNames, m.ExceptionName)
			}
		}
		if len(env.Errors) == 0 && env.Message != "" {
			e.Messages = append(e.Messages, env.Message)
		}
	case resp.StatusCode == http.StatusForbidden && isPlainText(e.ContentType):
		// Bitbucket's XSRF filter answers in plain text, with this line.
		line := firstLine(trimmed)
		if strings.EqualFold(line, "XSRF check failed") {
			e.Kind = KindXSRF
		}
		if line != "" {
			e.Messages = []string{line}
		}
	default:
		e.Kind = KindNotJSON
	}
	if resp.StatusCode == http.StatusUnauthorized {
		// A 401 is about the credentials whoever sent it (Bitbucket, or a
		// gateway in front of it answering in HTML).
		e.Kind = KindUnauthorized
	}
	return e
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
