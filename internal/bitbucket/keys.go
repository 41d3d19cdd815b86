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

// NewKey is a key to register: its text ("type base64 comment"), an
// optional label and an optional expiry in days (0: none).
type NewKey struct {
	Text       string
	Label      string
	ExpiryDays int
}

func (k NewKey) body() any {
	return struct {
		Text       string `json:"text"`
		Label      string `json:"label,omitempty"`
		ExpiryDays int    `json:"expiryDays,omitempty"`
	}{strings.TrimSpace(k.Text), k.Label, max(k.ExpiryDays, 0)}
}

// AddUserKey registers a key as an SSH user key of the authenticated user.
// An empty label and no expiry are left out, so the server's defaults
// apply. The key returned is what the server answered: a server that
// answers without the key gives a zero SSHKey, which the caller must not
// take as proof of anything.
func (c *Client) AddUserKey(ctx context.Context, key NewKey) (*SSHKey, error) {
	u, err := c.endpoint("ssh", "keys")
	if err != nil {
		return nil, err
	}
	var k SSHKey
	// 201 per the API; accept 200 from older or proxied servers.
	if _, err := c.call(ctx, request{method: http.MethodPost, u: u, body: key.body(), out: &k, ok: []int{http.StatusOK, http.StatusCreated}}); err != nil {
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
	_, err = c.call(ctx, request{method: http.MethodDelete, u: u})
	return ignoreNotFound(err)
}

// ignoreNotFound drops a 404 that came from Bitbucket (JSON), but keeps a
// 404 page from a proxy or a wrong base URL, which means nothing was deleted.
func ignoreNotFound(err error) error {
	if IsKind(err, KindNotFound) {
		return nil
	}
	return err
}

// CurrentUser returns the user name the server reports for the credentials
// (the X-AUSERNAME header). If no authenticated call has been made yet it
// makes a cheap one that every signed-in user may make. Without
// credentials, or if the server does not send the header, it returns "".
func (c *Client) CurrentUser(ctx context.Context) (string, error) {
	if c.auth == nil {
		return "", nil
	}
	c.mu.Lock()
	user := c.user
	c.mu.Unlock()
	if user != "" {
		return user, nil
	}
	u, err := c.endpoint("ssh", "keys")
	if err != nil {
		return "", err
	}
	u.RawQuery = url.Values{"limit": {"1"}}.Encode()
	if _, err := c.call(ctx, request{method: http.MethodGet, u: u}); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.user, nil
}
