package bitbucket

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Time is a Bitbucket timestamp. Servers send epoch milliseconds, as a
// number or as a string of digits, and some send an ISO 8601 string; all
// are accepted. A format we do not know leaves the zero time rather than
// failing the whole answer over a date nobody needs to act on.
type Time struct{ time.Time }

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.000-0700",
	"2006-01-02T15:04:05-0700",
	"2006-01-02T15:04:05.000Z0700",
}

func (t *Time) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
	}
	if ms, err := strconv.ParseFloat(s, 64); err == nil {
		t.Time = time.UnixMilli(int64(ms)).UTC()
		return nil
	}
	for _, layout := range timeLayouts {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v
			return nil
		}
	}
	t.Time = time.Time{}
	return nil
}

// SSHKey is a key object as Bitbucket returns it.
type SSHKey struct {
	ID            int    `json:"id"`
	Text          string `json:"text"` // "type base64 comment"
	Label         string `json:"label,omitempty"`
	AlgorithmType string `json:"algorithmType,omitempty"` // "RSA", "ED25519", …
	BitLength     int    `json:"bitLength,omitempty"`
	// Fingerprint as the server gives it: unpadded base64 SHA-256, without
	// the "SHA256:" prefix. NormalizeFingerprint makes it comparable.
	Fingerprint       string `json:"fingerprint,omitempty"`
	ExpiryDays        *int   `json:"expiryDays,omitempty"`
	CreatedDate       *Time  `json:"createdDate,omitempty"`
	LastAuthenticated *Time  `json:"lastAuthenticated,omitempty"`
	Warning           string `json:"warning,omitempty"`
}

// UnmarshalJSON accepts "warning" as a string or as an object, since its
// shape is not documented.
func (k *SSHKey) UnmarshalJSON(b []byte) error {
	type plain SSHKey
	var v struct {
		plain
		Warning json.RawMessage `json:"warning"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*k = SSHKey(v.plain)
	k.Warning = warningText(v.Warning)
	return nil
}

func warningText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var obj struct{ Message string }
	if json.Unmarshal(raw, &obj) == nil && obj.Message != "" {
		return obj.Message
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		return buf.String()
	}
	return string(raw)
}

// page is Bitbucket's paged answer.
type page[T any] struct {
	Values        []T  `json:"values"`
	IsLastPage    bool `json:"isLastPage"`
	NextPageStart *int `json:"nextPageStart"`
}

// getAll follows nextPageStart until the last page. It never computes the
// next start itself, and stops with an error if the server sends a start it
// already sent (which would loop forever).
func getAll[T any](ctx context.Context, c *Client, u *url.URL) ([]T, error) {
	var all []T
	seen := map[int]bool{0: true}
	start := 0
	for range maxPages {
		q := u.Query()
		q.Set("start", strconv.Itoa(start))
		if q.Get("limit") == "" {
			q.Set("limit", strconv.Itoa(pageLimit))
		}
		pu := *u
		pu.RawQuery = q.Encode()
		var p page[T]
		if _, err := c.call(ctx, http.MethodGet, &pu, nil, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Values...)
		if p.IsLastPage {
			return all, nil
		}
		if p.NextPageStart == nil {
			return nil, &pagingError{path: u.EscapedPath(), msg: "says it is not the last page but gives no nextPageStart"}
		}
		next := *p.NextPageStart
		if seen[next] {
			return nil, &pagingError{path: u.EscapedPath(), msg: "sent nextPageStart " + strconv.Itoa(next) + " again"}
		}
		seen[next] = true
		start = next
	}
	return nil, &pagingError{path: u.EscapedPath(), msg: "has more than " + strconv.Itoa(maxPages) + " pages"}
}

type pagingError struct{ path, msg string }

func (e *pagingError) Error() string {
	return "bitbucket paging of " + e.path + " " + e.msg + "; stopped to avoid a loop"
}

// ListUserKeys lists the SSH user keys of user ("" for the authenticated
// user), over all pages.
func (c *Client) ListUserKeys(ctx context.Context, user string) ([]SSHKey, error) {
	u, err := c.endpoint("ssh", "keys")
	if err != nil {
		return nil, err
	}
	if user != "" {
		u.RawQuery = url.Values{"user": {user}}.Encode()
	}
	return getAll[SSHKey](ctx, c, u)
}

// AddUserKey registers text ("type base64 comment") as an SSH user key of
// the authenticated user. An empty label and expiryDays <= 0 are left out,
// so the server's defaults apply.
func (c *Client) AddUserKey(ctx context.Context, text, label string, expiryDays int) (*SSHKey, error) {
	u, err := c.endpoint("ssh", "keys")
	if err != nil {
		return nil, err
	}
	body := struct {
		Text       string `json:"text"`
		Label      string `json:"label,omitempty"`
		ExpiryDays int    `json:"expiryDays,omitempty"`
	}{strings.TrimSpace(text), label, max(expiryDays, 0)}
	var k SSHKey
	// 201 per the API; accept 200 from older or proxied servers.
	if _, err := c.call(ctx, http.MethodPost, u, body, &k, http.StatusOK, http.StatusCreated); err != nil {
		return nil, err
	}
	return &k, nil
}

// GetUserKey fetches one SSH user key by id.
func (c *Client) GetUserKey(ctx context.Context, id int) (*SSHKey, error) {
	u, err := c.endpoint("ssh", "keys", strconv.Itoa(id))
	if err != nil {
		return nil, err
	}
	var k SSHKey
	if _, err := c.call(ctx, http.MethodGet, u, nil, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// DeleteUserKey deletes one SSH user key. A key that is already gone (404
// from Bitbucket itself, in JSON) is not an error: the outcome is the same.
func (c *Client) DeleteUserKey(ctx context.Context, id int) error {
	u, err := c.endpoint("ssh", "keys", strconv.Itoa(id))
	if err != nil {
		return err
	}
	return ignoreNotFound(c.call(ctx, http.MethodDelete, u, nil, nil))
}

// ignoreNotFound drops a 404 that came from Bitbucket (JSON), but keeps a
// 404 page from a proxy or a wrong base URL, which means nothing was deleted.
func ignoreNotFound(_ *http.Response, err error) error {
	if IsKind(err, KindNotFound) {
		return nil
	}
	return err
}
