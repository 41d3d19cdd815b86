package app

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/git-bbkey/git-bbkey/internal/gitremote"
)

// redactURL hides a password written into a URL (gitremote.Redact).
func redactURL(raw string) string { return gitremote.Redact(raw) }

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
