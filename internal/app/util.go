package app

import (
	"net/url"
	"strings"
)

// redactURL hides a password written into a URL (https://user:pw@host/…)
// before the URL is shown anywhere, even when the URL does not parse.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		return u.Redacted()
	}
	if i := strings.Index(raw, "://"); i >= 0 {
		if at := strings.LastIndex(raw, "@"); at > i {
			if colon := strings.Index(raw[i+3:at], ":"); colon >= 0 {
				return raw[:i+3+colon+1] + "xxxxx" + raw[at:]
			}
		}
	}
	return raw
}
