package app

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
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

// unwrapPathError drops the path Go puts in front of file errors, since
// our messages name the file themselves.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// readAllLimited reads at most limit bytes, refusing more.
func readAllLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("input is larger than %d bytes: not a public key", limit)
	}
	return b, nil
}
